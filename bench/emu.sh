#!/usr/bin/env bash
# The software CPU against QEMU TCG in one run, same kernel, initramfs and
# command line: seconds from start to the initramfs's "userspace up" marker
# (boot to init), and seconds for a CPU-bound busybox loop in the guest
# (between "userspace up" and "result"). Both kernel forms, the bzImage and
# the ELF vmlinux (PVH entry, no decompressor), run under each. Prints each
# time and, for cvisor, the ratios boot and loop to QEMU on the same file
# (lower is better for cvisor; 1.0 is parity).
#
# Usage: bench/emu.sh [build dir]      BENCH_RUNS=n (best of n, default 1)
#        BENCH_LOOP='shell command'    replaces the CPU-bound loop
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
CVISOR=${CVISOR:-$BUILD/cvisor}
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
QEMU=${QEMU:-qemu-system-x86_64}
RUNS=${BENCH_RUNS:-1}
LOOP=${BENCH_LOOP:-'seq 1 300000 | md5sum; awk "BEGIN { for (i = 0; i < 300000; i++) s += i * 0.5; print s }"'}

skip() {
	echo "SKIP: emu_bench: $*"
	exit 0
}

[[ -x $CVISOR ]] || skip "no cvisor binary at $CVISOR"
[[ -r $ASSETS/env ]] || skip "no guest assets in $ASSETS (make assets)"
# shellcheck disable=SC1091
. "$ASSETS/env"
[[ -r ${CVISOR_KERNEL:-} && -r ${CVISOR_INITRD:-} ]] || skip "guest assets incomplete"
command -v "$QEMU" >/dev/null || skip "no $QEMU"

CMD64=$(printf %s "$LOOP" | base64 -w0)
APPEND="console=ttyS0 panic=-1 quiet cvisor.test64=$CMD64"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# Runs "$@" (a VM that powers off), prints "<boot s> <loop s>" or "fail".
# Lines are read straight from the VM: a filter in between (tr, sed) would
# buffer them and move every timestamp to the end of the run.
time_vm() {
	local start up="" done="" line now

	start=$(date +%s.%N)
	while IFS= read -r line; do
		now=$(date +%s.%N)
		case $line in
		*"cvisor-guest: userspace up"*) up=$now ;;
		*"cvisor-guest: result 0"*) done=$now ;;
		esac
	done < <(timeout 600 "$@" 2>&1 </dev/null)
	if [[ -z $up || -z $done ]]; then
		echo fail
		return
	fi
	echo "$(echo "$up - $start" | bc) $(echo "$done - $up" | bc)"
}

# Best of RUNS for each column.
best_of() {
	local b1="" b2="" r

	for ((i = 0; i < RUNS; i++)); do
		r=$(time_vm "$@")
		[[ $r == fail ]] && { echo fail; return; }
		read -r t1 t2 <<<"$r"
		[[ -z $b1 ]] || (($(echo "$t1 < $b1" | bc))) && b1=$t1
		[[ -z $b2 ]] || (($(echo "$t2 < $b2" | bc))) && b2=$t2
	done
	echo "$b1 $b2"
}

emu() {
	best_of "$CVISOR" run --accel emu --kernel "$1" --initrd "$CVISOR_INITRD" \
		--cmdline "$APPEND" --memory 256M
}

qemu() {
	best_of "$QEMU" -accel tcg -M q35 -m 256M -smp 1 -nographic \
		-no-reboot -kernel "$1" -initrd "$CVISOR_INITRD" \
		-append "$APPEND"
}

ratio() {
	echo "scale=2; $1 / $2" | bc
}

# One row: name, "<boot> <loop>" or fail or empty, and the QEMU result
# on the same kernel file to compare with (or empty for a QEMU row).
row() {
	local name=$1 r=$2 peer=$3 b l pb pl

	[[ -z $r ]] && return
	if [[ $r == fail ]]; then
		echo "FAIL: emu_bench: $name did not finish"
		return
	fi
	read -r b l <<<"$r"
	if [[ -z $peer || $peer == fail ]]; then
		printf '%-28s %8.2f %8.2f\n' "$name" "$b" "$l"
		return
	fi
	read -r pb pl <<<"$peer"
	printf '%-28s %8.2f %8.2f   ratio boot %s, loop %s\n' "$name" "$b" \
		"$l" "$(ratio "$b" "$pb")" "$(ratio "$l" "$pl")"
}

# QEMU boots the ELF vmlinux through its PVH note, as cvisor does, so
# each kernel form is compared with QEMU on the same file.
Q=$(qemu "$CVISOR_KERNEL")
[[ $Q == fail ]] && skip "QEMU TCG run failed"
QV="" V=""
if [[ -r ${CVISOR_VMLINUX:-} ]]; then
	QV=$(qemu "$CVISOR_VMLINUX")
	V=$(emu "$CVISOR_VMLINUX")
fi
E=$(emu "$CVISOR_KERNEL")
printf '%-28s %8s %8s\n' "" "boot s" "loop s"
row "qemu tcg (bzImage)" "$Q" ""
row "qemu tcg (vmlinux)" "$QV" ""
row "cvisor emu (bzImage)" "$E" "$Q"
row "cvisor emu (vmlinux)" "$V" "$QV"
