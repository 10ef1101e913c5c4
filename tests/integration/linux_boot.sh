#!/usr/bin/env bash
# A real Linux (the test kernel and busybox initramfs from make-assets.sh)
# boots to userspace: CPUs, memory, poweroff, reboot and panic handling.
. "$(dirname "$0")/lib.sh"

load_linux_assets linux_boot || exit 0
accels=$(linux_accels)
if [[ -z $accels ]]; then
	skip linux_boot "no accelerator here can boot Linux (kvm_pvm host and --accel emu unavailable)"
	exit 0
fi

for accel in $accels; do
	echo "accelerator: $accel"
	# The bzImage (64-bit boot protocol entry) once, the vmlinux after.
	for n in 1 2 4; do
		LINUX_KERNEL=$([[ $n -eq 1 ]] && echo "$CVISOR_KERNEL")
		linux_boot "$accel" 300 'echo "nproc=$(nproc)"' --cpus $n --memory 256M
		[[ $rc -eq 0 && $(guest_result) == 0 ]] && grep -q "nproc=$n" "$TMP/out"
		check "${accel}_linux_nproc_$n${LINUX_KERNEL:+_bzimage}" $? "rc=$rc, $(grep -a nproc= "$TMP/out" | head -1) $(tail -c 400 "$TMP/out")"
	done

	LINUX_KERNEL=
	linux_boot "$accel" 300 'grep MemTotal /proc/meminfo' --memory 384M
	kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
	[[ $rc -eq 0 && -n $kb && $kb -le 393216 && $kb -ge 300000 ]]
	check "${accel}_linux_memtotal" $? "rc=$rc MemTotal=${kb:-none} kB for 384M"

	# Past the PCI hole: RAM below 3 GiB and from 4 GiB on, PCI still works.
	linux_boot "$accel" 300 'grep MemTotal /proc/meminfo; grep "System RAM" /proc/iomem; echo "rng=$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | wc -c)"' --memory 5G
	kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
	[[ $rc -eq 0 && -n $kb && $kb -le 5242880 && $kb -ge 4900000 ]] &&
		grep -q "^100000000-17fffffff : System RAM" "$TMP/out" &&
		! grep -qE "^(c|d|e|f)[0-9a-f]{7}-[0-9a-f]+ : System RAM" "$TMP/out" &&
		grep -q "rng=16" "$TMP/out"
	check "${accel}_linux_memory_above_4g" $? "rc=$rc MemTotal=${kb:-none} kB for 5G $(grep -a 'System RAM\|rng=' "$TMP/out" | tr '\n' ' ')"

	linux_boot "$accel" 300 'reboot -f' --no-reboot --memory 256M
	check "${accel}_linux_reboot_no_reboot_exits_0" $rc "rc=$rc $(tail -c 300 "$TMP/out")"

	run_vm 300 --accel "$accel" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.panic=1" --memory 256M
	[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q "panic" "$TMP/out"
	check "${accel}_linux_panic_nonzero" $? "rc=$rc $(tail -c 300 "$TMP/out")"
done

# Debian's own 6.1 kernel (make-assets.sh --debian, which .ci/run calls)
# with its virtio modules loaded from the initramfs: about a minute under
# emu, so CVISOR_TEST_DEBIAN=0 leaves it out of a quick local run.
if [[ ${CVISOR_TEST_DEBIAN:-1} == 0 ]]; then
	skip linux_debian_stock_kernel "CVISOR_TEST_DEBIAN=0"
	exit 0
fi
if [[ -z ${CVISOR_DEBIAN_KERNEL:-} || ! -r ${CVISOR_DEBIAN_KERNEL:-} ]]; then
	skip linux_debian_stock_kernel "no Debian kernel in the assets (tests/guest/make-assets.sh --debian)"
	exit 0
fi
for accel in $accels; do
	echo "accelerator: $accel (Debian kernel)"
	run_vm 900 --accel "$accel" --kernel "$CVISOR_DEBIAN_KERNEL" \
		--initrd "$CVISOR_DEBIAN_INITRD" --memory 512M --cpus 2 \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.debian=1 cvisor.test64=$(printf %s 'echo "uname=$(uname -r) nproc=$(nproc)"; grep MemTotal /proc/meminfo; ls /sys/bus/virtio/devices' | base64 -w0)"
	kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
	[[ $rc -eq 0 && $(guest_result) == 0 ]] &&
		grep -qE 'uname=[0-9.]+-[0-9]+-amd64 nproc=2' "$TMP/out" &&
		[[ -n $kb && $kb -le 524288 && $kb -ge 400000 ]] &&
		grep -q virtio0 "$TMP/out"
	check "${accel}_linux_debian_stock_kernel" $? "rc=$rc MemTotal=${kb:-none} $(tail -c 400 "$TMP/out")"
done
