#!/usr/bin/env bash
# The software CPU against QEMU TCG in one run, same kernel, initramfs and
# command line: seconds from start to the initramfs's "userspace up" marker
# (boot to init), and seconds for a CPU-bound busybox loop in the guest
# (between "userspace up" and "result"). Prints each time and the ratio
# cvisor/QEMU (lower is better for cvisor; 1.0 is parity).
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
		-no-reboot -kernel "$CVISOR_KERNEL" -initrd "$CVISOR_INITRD" \
		-append "$APPEND"
}

ratio() {
	echo "scale=2; $1 / $2" | bc
}

Q=$(qemu)
E=$(emu "$CVISOR_KERNEL")
V=""
[[ -r ${CVISOR_VMLINUX:-} ]] && V=$(emu "$CVISOR_VMLINUX")
[[ $Q == fail ]] && skip "QEMU TCG run failed"
read -r qb ql <<<"$Q"
printf '%-28s %8s %8s\n' "" "boot s" "loop s"
printf '%-28s %8.2f %8.2f\n' "qemu tcg (bzImage)" "$qb" "$ql"
for pair in "bzImage:$E" "vmlinux:$V"; do
	name=${pair%%:*}
	r=${pair#*:}
	[[ -z $r ]] && continue
	if [[ $r == fail ]]; then
		echo "FAIL: emu_bench: cvisor emu ($name) did not finish"
		continue
	fi
	read -r eb el <<<"$r"
	printf '%-28s %8.2f %8.2f   ratio boot %s, loop %s\n' \
		"cvisor emu ($name)" "$eb" "$el" "$(ratio "$eb" "$qb")" \
		"$(ratio "$el" "$ql")"
done
