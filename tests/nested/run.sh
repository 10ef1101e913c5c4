#!/usr/bin/env bash
# The nested suite: cvisor's KVM path with real Linux guests on a real
# kvm_intel.  Bochs emulates a VT-x machine with EPT; its "host" (a small
# kernel with KVM built in, from make-assets.sh --nested) boots from a GRUB
# ISO made here around the current build/cvisor, and its /init
# (host-init) runs each case in cases/ in turn.  The host's serial console
# goes to a file this script follows; it prints each case's PASS/FAIL/SKIP
# lines, the wall time of the host boot and of each case, and ends with
# "N passed, N failed, N skipped" (non-zero status if anything failed).
#
# Usage: tests/nested/run.sh [CASE...]     (default: every cases/*.sh)
#
# A case is one file, cases/NAME.sh, run by bash inside the host; it sources
# lib.sh there and prints result lines like the integration tests do.
#
# Every wait is bounded: the host must be up within NESTED_BOOT_TIMEOUT
# seconds (default 900) and each case must end within NESTED_CASE_TIMEOUT
# (default 900); otherwise that is one FAIL with the reason and Bochs is
# stopped.  Logs (serial console, Bochs' own log, its config, the ISO) stay
# in NESTED_OUT (default build/nested).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CVISOR=${CVISOR:-$TOP/build/cvisor}
GUESTS=${CVISOR_BUILD:-$TOP/build}/guests
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
OUT=${NESTED_OUT:-$TOP/build/nested}
BOOT_TIMEOUT=${NESTED_BOOT_TIMEOUT:-900}
CASE_TIMEOUT=${NESTED_CASE_TIMEOUT:-900}
# bench/nested.sh runs its own cases, with QEMU in the host as the peer.
CASES=${NESTED_CASES_DIR:-$HERE/cases}
WITH_QEMU=${NESTED_QEMU:-0}
BIOS=/usr/share/bochs/BIOS-bochs-latest
VGABIOS=/usr/share/vgabios/vgabios.bin

pass=0 fail=0 skip=0
result() {
	echo "$1: $2"
	case $1 in
	PASS) pass=$((pass + 1)) ;;
	FAIL) fail=$((fail + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	esac
}
finish() {
	echo "$pass passed, $fail failed, $skip skipped"
	[[ $fail -eq 0 ]]
	exit
}

if [[ $# -gt 0 ]]; then
	cases=("$@")
else
	cases=()
	for f in "$CASES"/*.sh; do
		cases+=("$(basename "$f" .sh)")
	done
fi
for c in "${cases[@]}"; do
	[[ -f $CASES/$c.sh ]] || {
		echo "nested: no case '$c' ($CASES/$c.sh)" >&2
		exit 2
	}
done

# Preconditions: without them the suite skips, as the Linux tests do.
why=
# A host kernel named in the environment wins over the assets' env file.
nested_kernel=${CVISOR_NESTED_KERNEL:-}
# shellcheck disable=SC1091
[[ -r $ASSETS/env ]] && . "$ASSETS/env"
CVISOR_NESTED_KERNEL=${nested_kernel:-${CVISOR_NESTED_KERNEL:-}}
for tool in bochs grub-mkrescue xorriso lz4 cpio; do
	command -v $tool >/dev/null || why="no $tool (scripts/install-deps.sh)"
done
[[ -r $BIOS && -r $VGABIOS ]] || why="no Bochs BIOS $BIOS or $VGABIOS (scripts/install-deps.sh)"
[[ -r ${CVISOR_NESTED_KERNEL:-} ]] ||
	why="no host kernel in $ASSETS (tests/guest/make-assets.sh --nested)"
[[ -r ${CVISOR_KERNEL:-} && -r ${CVISOR_INITRD:-} ]] ||
	why="no guest assets in $ASSETS (tests/guest/make-assets.sh)"
[[ -x $CVISOR && -r $GUESTS/exec_mmio.elf ]] ||
	why="no $CVISOR or $GUESTS (make all guests)"
if [[ -n $why ]]; then
	# .ci/run sets CVISOR_REQUIRE_ASSETS=1: there a missing piece fails.
	if [[ ${CVISOR_REQUIRE_ASSETS:-0} == 1 ]]; then
		result FAIL "nested: $why (CVISOR_REQUIRE_ASSETS=1)"
	else
		result SKIP "nested: $why"
	fi
	finish
fi

mkdir -p "$OUT"
# One Bochs at a time on this machine: it takes a whole CPU for many minutes.
exec 8>"$ASSETS/.nested.lock"
flock -w 3600 8 || {
	result FAIL "nested: another nested run held $ASSETS/.nested.lock for an hour"
	finish
}
work=$(mktemp -d)
bochs_pid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	if [[ -n $bochs_pid ]]; then
		kill -KILL -- "-$bochs_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the host's initramfs and ISO -------------------------------------------

t0=$SECONDS
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,dev,proc,sys,tmp,root,etc,assets} \
	"$root"/cvisor/{build/guests,tests/integration,tests/nested/cases}

# copy_exe FILE DEST: FILE to DEST in the host, with the shared libraries
# it needs at the paths the dynamic loader looks for them.
copy_exe() {
	local lib
	install -D -m 0755 "$1" "$root$2"
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[[ -e $root$lib ]] || install -D -m 0755 "$lib" "$root$lib"
	done
}
cp /bin/busybox "$root/bin/busybox"
install -m 0755 "$HERE/host-init" "$root/init"
copy_exe "$CVISOR" /cvisor/build/cvisor
# Debug info is most of the binary; every byte is copied by an emulated CPU.
strip --strip-debug "$root/cvisor/build/cvisor"
copy_exe "$(command -v bash)" /usr/local/bin/bash
# lib.sh's run_vm needs GNU timeout's --kill-after, snapshot.sh GNU cp's
# --sparse.
copy_exe "$(command -v timeout)" /usr/local/bin/timeout
copy_exe "$(command -v cp)" /usr/local/bin/cp
# cvisor dlopen()s libslirp for --net user, libvncserver for --vnc (no
# case uses iSCSI: libiscsi stays out).
for so in 'libslirp\.so\.0' 'libvncserver\.so\.1'; do
	lib=$(ldconfig -p | awk "/$so /{p = \$NF} END {print p}")
	[[ -n $lib ]] && copy_exe "$lib" "$lib"
done
cp "$GUESTS"/*.elf "$root/cvisor/build/guests/"
# The benchmark peer (bench/nested.sh): QEMU, its libraries and the
# firmware a direct kernel boot reads (SeaBIOS, the linuxboot option ROM,
# qboot for microvm); Debian's QEMU looks for them in these directories.
if [[ $WITH_QEMU == 1 ]]; then
	qemu=$(command -v qemu-system-x86_64) || {
		result FAIL "nested: NESTED_QEMU=1 but no qemu-system-x86_64"
		finish
	}
	copy_exe "$qemu" /usr/bin/qemu-system-x86_64
	strip --strip-unneeded "$root/usr/bin/qemu-system-x86_64" 2>/dev/null || true
	for fw in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
		/usr/share/qemu/kvmvapic.bin /usr/share/qemu/qboot.rom \
		/usr/share/qemu/bios-microvm.bin; do
		[[ -e $fw ]] && install -D -m 0644 "$(readlink -f "$fw")" "$root$fw"
	done
fi
# The VNC test client (make vnc-client), with libvncclient.
vnc_client=${CVISOR_BUILD:-$TOP/build}/tests/vnc_client
[[ -x $vnc_client ]] && copy_exe "$vnc_client" /cvisor/build/tests/vnc_client
# The integration tests' helpers, and scripts a case may run as they are.
cp "$TOP"/tests/integration/*.sh "$root/cvisor/tests/integration/"
cp "$HERE/lib.sh" "$root/cvisor/tests/nested/"
cp "$CASES"/* "$root/cvisor/tests/nested/cases/"
# Random bytes for the cases (test data, the HTTP server's file): reading
# /dev/urandom in the host costs minutes of Bochs time.
head -c $((2 << 20)) /dev/urandom >"$root/cvisor/random"
cp "$CVISOR_KERNEL" "$root/assets/bzImage"
cp "$CVISOR_INITRD" "$root/assets/initramfs.cpio.gz"
cat >"$root/assets/env" <<EOF
CVISOR_KERNEL=/assets/bzImage
CVISOR_INITRD=/assets/initramfs.cpio.gz
CVISOR_REQUIRE_ASSETS=${CVISOR_REQUIRE_ASSETS:-0}
EOF
# Debian's kernel is 9 MiB more to load: only for the case that boots it.
if [[ " ${cases[*]} " == *" debian "* && -r ${CVISOR_DEBIAN_KERNEL:-} ]]; then
	cp "$CVISOR_DEBIAN_KERNEL" "$root/assets/debian-vmlinuz"
	cp "$CVISOR_DEBIAN_INITRD" "$root/assets/debian-initrd.img"
	cat >>"$root/assets/env" <<EOF
CVISOR_DEBIAN_KERNEL=/assets/debian-vmlinuz
CVISOR_DEBIAN_INITRD=/assets/debian-initrd.img
EOF
fi

iso=$work/iso
mkdir -p "$iso/boot/grub"
cp "$CVISOR_NESTED_KERNEL" "$iso/vmlinuz"
# LZ4 (legacy frame, what the kernel unpacks) decompresses fastest in Bochs.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0) | lz4 -l -9 -q >"$iso/initrd"
list=$(IFS=,; echo "${cases[*]}")
cat >"$iso/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
echo nested-grub: loading
linux /vmlinuz console=ttyS0,115200 loglevel=4 panic=0 random.trust_cpu=on nested.cases=$list nested.case_timeout=$CASE_TIMEOUT
initrd /initrd
echo nested-grub: loaded
boot
EOF
grub-mkrescue -o "$OUT/host.iso" "$iso" >"$OUT/grub-mkrescue.log" 2>&1 || {
	result FAIL "nested: grub-mkrescue failed: $(tail -n 3 "$OUT/grub-mkrescue.log")"
	finish
}
echo "nested: host ISO $(($(stat -c %s "$OUT/host.iso") >> 20)) MiB" \
	"(initramfs $(($(stat -c %s "$iso/initrd") >> 10)) KiB) made in $((SECONDS - t0)) s"

# --- Bochs ------------------------------------------------------------------

# Headless (rfb display without waiting for a viewer), no sound, the
# debugger told to continue at once; the first serial port is the host's
# console.  corei7_haswell_4770 has VT-x with EPT and unrestricted guest.
cat >"$OUT/bochsrc" <<EOF
megs: 2048
cpu: model=corei7_haswell_4770, count=1, ips=200000000
clock: sync=none, time0=local
romimage: file=$BIOS
vgaromimage: file=$VGABIOS
ata0-master: type=cdrom, path=$OUT/host.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$OUT/serial.log
display_library: rfb, options="timeout=0"
sound: driver=dummy
speaker: enabled=0
mouse: enabled=0
log: $OUT/bochs.log
panic: action=fatal
error: action=ignore
info: action=ignore
debug: action=ignore
EOF
echo c >"$work/debugger.rc"
: >"$OUT/serial.log"
: >"$OUT/console-times.log"
rm -f "$OUT/bochs.log"
# Bochs' rfb display listens on 0.0.0.0, the first free port from 5900 on;
# in a network namespace of its own it is unreachable and takes no port
# from anyone else (cvisor's VNC tests among them).
netns=()
if unshare -n true 2>/dev/null; then
	netns=(unshare -n)
elif unshare -rn true 2>/dev/null; then
	netns=(unshare -rn)
fi
started=$SECONDS
# setsid: Bochs and anything it starts are one process group to kill.
setsid "${netns[@]}" bochs -q -f "$OUT/bochsrc" -rc "$work/debugger.rc" \
	</dev/null >"$OUT/bochs.out" 2>&1 &
bochs_pid=$!

# --- following the host's console --------------------------------------------

current=        # the case running now
case_start=0
case_fails=0
fail_lines=0    # lines after a FAIL still to show as its reason
done_cases=()
host_up=
deadline=$((SECONDS + BOOT_TIMEOUT))
seen=0
why=
finished=0

# Handles one line of the host's console; console-times.log gets it with
# the wall time (seconds since Bochs started) it was seen at.
on_line() {
	local line=$1 name rc
	echo "$((SECONDS - started)) $line" >>"$OUT/console-times.log"
	case $line in
	"nested-host: up"*)
		host_up=$((SECONDS - started))
		echo "nested: host up after $host_up s"
		deadline=$((SECONDS + CASE_TIMEOUT)) ;;
	"nested-host: kvm"*) echo "nested: ${line#nested-host: }" ;;
	"nested-case: begin "*)
		current=${line#nested-case: begin }
		case_start=$SECONDS case_fails=0
		deadline=$((SECONDS + CASE_TIMEOUT)) ;;
	"nested-case: end "*)
		read -r name rc <<<"${line#nested-case: end }"
		if [[ $rc != 0 && $case_fails -eq 0 ]]; then
			result FAIL "$name (exit status $rc in the host)"
		fi
		echo "nested: case $name took $((SECONDS - case_start)) s"
		done_cases+=("$name")
		current= ;;
	"nested-host: done"*) finished=1 ;;
	PASS:* | SKIP:*) result "${line%%:*}" "${line#*: }" ;;
	BENCH*) echo "$line" ;;
	FAIL:*)
		case_fails=$((case_fails + 1))
		result FAIL "${line#FAIL: }"
		fail_lines=20
		return ;;
	"nested-dmesg: "*) echo "nested: host ${line#nested-}" ;;
	*"Kernel panic"*) why="the host kernel panicked: $line" ;;
	*)
		# A failure's reason often goes on over several lines.
		if [[ $fail_lines -gt 0 ]]; then
			echo "    $line"
			fail_lines=$((fail_lines - 1))
		fi
		return ;;
	esac
	fail_lines=0
}

while [[ $finished -eq 0 && -z $why ]]; do
	n=$(wc -l <"$OUT/serial.log")
	if [[ $n -gt $seen ]]; then
		while IFS= read -r line; do
			on_line "${line%$'\r'}"
		done < <(sed -n "$((seen + 1)),${n}p" "$OUT/serial.log")
		seen=$n
		continue
	fi
	if ! kill -0 "$bochs_pid" 2>/dev/null; then
		why="Bochs exited: $(tail -n 3 "$OUT/bochs.out" | tr '\n' ' ')"
	elif [[ $SECONDS -ge $deadline ]]; then
		if [[ -z $host_up ]]; then
			why="host not up within $BOOT_TIMEOUT s"
		else
			why="no end within $CASE_TIMEOUT s"
		fi
	else
		sleep 1
	fi
done

total=$((SECONDS - started))
kill -KILL -- "-$bochs_pid" 2>/dev/null || true
wait "$bochs_pid" 2>/dev/null || true
bochs_pid=
if [[ -n $why ]]; then
	tailmsg=$(tail -c 600 "$OUT/serial.log" | tr -d '\r' | tr '\n' ' ')
	if [[ -z $host_up ]]; then
		result FAIL "nested_host_boot: $why; console: $tailmsg"
	elif [[ -n $current ]]; then
		result FAIL "$current: $why; console: $tailmsg"
	else
		result FAIL "nested_host: $why; console: $tailmsg"
	fi
	for c in "${cases[@]}"; do
		[[ $c == "$current" || " ${done_cases[*]} " == *" $c "* ]] ||
			result SKIP "$c: not run ($why)"
	done
fi
echo "nested: total $total s in Bochs (host up after ${host_up:-?} s); logs in $OUT"
finish
