#!/usr/bin/env bash
# A real Linux (the test kernel and busybox initramfs from make-assets.sh)
# boots to userspace: CPUs, memory, poweroff, reboot and panic handling.
. "$(dirname "$0")/lib.sh"

load_linux_assets linux_boot || exit 0
accels=$(linux_accels)
if [[ -z $accels ]]; then
	skip_unless_required linux_boot "no accelerator here can boot Linux (kvm_pvm host and --accel emu unavailable)"
	exit 0
fi

# tests/run.sh kills this script after TEST_TIMEOUT seconds. Each boot has
# its own limit, cut to what is left of that (less a margin), so on a slow
# host the boot that ran out of time is the one that fails, by name.
deadline=$((SECONDS + ${TEST_TIMEOUT:-600} - 15))

# step WANT: sets $limit to WANT seconds or what is left, if less; fails
# when too little is left to boot at all.
step() {
	limit=$((deadline - SECONDS))
	[[ $limit -gt $1 ]] && limit=$1
	[[ $limit -ge 10 ]]
}

# why: the end of the output, led by the status or the timeout that hit.
why() {
	if [[ $rc -eq 124 || $rc -eq 137 ]]; then
		printf 'timed out after %d s: ' "$limit"
	else
		printf 'rc=%d ' "$rc"
	fi
	printf '%s' "$*"
}

# no_time NAME: the FAIL line of a step the script had no time left for.
no_time() {
	fail "$1" "no time left within the runner's ${TEST_TIMEOUT:-600} s (an earlier step was slow)"
}

for accel in $accels; do
	echo "accelerator: $accel"
	# The bzImage (64-bit boot protocol entry) once, the vmlinux after.
	for n in 1 2 4; do
		LINUX_KERNEL=$([[ $n -eq 1 ]] && echo "$CVISOR_KERNEL")
		name=${accel}_linux_nproc_$n${LINUX_KERNEL:+_bzimage}
		step 120 || { no_time "$name"; continue; }
		linux_boot "$accel" "$limit" 'echo "nproc=$(nproc)"' --cpus $n --memory 256M
		[[ $rc -eq 0 && $(guest_result) == 0 ]] && grep -q "nproc=$n" "$TMP/out"
		check "$name" $? "$(why "$(grep -a nproc= "$TMP/out" | head -1) $(tail -c 400 "$TMP/out")")"
	done

	LINUX_KERNEL=
	name=${accel}_linux_memtotal
	if step 120; then
		linux_boot "$accel" "$limit" 'grep MemTotal /proc/meminfo' --memory 384M
		kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
		[[ $rc -eq 0 && -n $kb && $kb -le 393216 && $kb -ge 300000 ]]
		check "$name" $? "$(why "MemTotal=${kb:-none} kB for 384M")"
	else
		no_time "$name"
	fi

	# Past the PCI hole: RAM below 3 GiB and from 4 GiB on, PCI still works.
	name=${accel}_linux_memory_above_4g
	if step 120; then
		linux_boot "$accel" "$limit" 'grep MemTotal /proc/meminfo; grep "System RAM" /proc/iomem; echo "rng=$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | wc -c)"' --memory 5G
		kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
		[[ $rc -eq 0 && -n $kb && $kb -le 5242880 && $kb -ge 4900000 ]] &&
			grep -q "^100000000-17fffffff : System RAM" "$TMP/out" &&
			! grep -qE "^(c|d|e|f)[0-9a-f]{7}-[0-9a-f]+ : System RAM" "$TMP/out" &&
			grep -q "rng=16" "$TMP/out"
		check "$name" $? "$(why "MemTotal=${kb:-none} kB for 5G $(grep -a 'System RAM\|rng=' "$TMP/out" | tr '\n' ' ')")"
	else
		no_time "$name"
	fi

	name=${accel}_linux_reboot_no_reboot_exits_0
	if step 120; then
		linux_boot "$accel" "$limit" 'reboot -f' --no-reboot --memory 256M
		check "$name" $rc "$(why "$(tail -c 300 "$TMP/out")")"
	else
		no_time "$name"
	fi

	name=${accel}_linux_panic_nonzero
	if step 120; then
		run_vm "$limit" --accel "$accel" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
			--cmdline "console=ttyS0 panic=-1 quiet cvisor.panic=1" --memory 256M
		[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q "panic" "$TMP/out"
		check "$name" $? "$(why "$(tail -c 300 "$TMP/out")")"
	else
		no_time "$name"
	fi
done

# Debian's own 6.1 kernel (make-assets.sh --debian, which .ci/run calls)
# with its virtio modules loaded from the initramfs: about a minute under
# emu, so CVISOR_TEST_DEBIAN=0 leaves it out of a quick local run.
if [[ ${CVISOR_TEST_DEBIAN:-1} == 0 ]]; then
	skip linux_debian_stock_kernel "CVISOR_TEST_DEBIAN=0"
	exit 0
fi
if [[ -z ${CVISOR_DEBIAN_KERNEL:-} || ! -r ${CVISOR_DEBIAN_KERNEL:-} ]]; then
	skip_unless_required linux_debian_stock_kernel "no Debian kernel in the assets (tests/guest/make-assets.sh --debian)"
	exit 0
fi
for accel in $accels; do
	echo "accelerator: $accel (Debian kernel)"
	name=${accel}_linux_debian_stock_kernel
	# the last step: whatever time is left
	step 900 || { no_time "$name"; continue; }
	# It ends with Linux's own reboot (reboot -f, no reboot= option):
	# with a hardware-reduced FADT it tries an EFI reset and then jumps
	# to the real-mode reset vector, which must reset the VM
	# (reset_vector.c), and --no-reboot then exits 0
	run_vm "$limit" --accel "$accel" --kernel "$CVISOR_DEBIAN_KERNEL" \
		--initrd "$CVISOR_DEBIAN_INITRD" --memory 512M --cpus 2 \
		--no-reboot \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.debian=1 cvisor.test64=$(printf %s 'echo "uname=$(uname -r) nproc=$(nproc)"; grep MemTotal /proc/meminfo; ls /sys/bus/virtio/devices; echo debian-reboot; reboot -f' | base64 -w0)"
	kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
	[[ $rc -eq 0 ]] && grep -q '^debian-reboot' "$TMP/out" &&
		grep -qE 'uname=[0-9.]+-[0-9]+-amd64 nproc=2' "$TMP/out" &&
		[[ -n $kb && $kb -le 524288 && $kb -ge 400000 ]] &&
		grep -q virtio0 "$TMP/out"
	check "$name" $? "$(why "MemTotal=${kb:-none} $(tail -c 400 "$TMP/out")")"
done
