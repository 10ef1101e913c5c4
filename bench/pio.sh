#!/usr/bin/env bash
# Port I/O exit cost: a guest doing 2,000,000 OUTs under cvisor, against a
# bare KVM_RUN loop (bench/pio_bare.c) running the same guest. Target:
# cvisor within 1.1x of the bare loop.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
make -C "$TOP" -s all guests "$BUILD/bench/pio_bare" >/dev/null
GUEST=$BUILD/guests/pio_loop.elf
best() {	# best-of-5 wall time in ms
	local best=0 t0 t1
	for _ in 1 2 3 4 5; do
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 </dev/null || { echo fail; return; }
		t1=$(date +%s%N)
		t=$(( (t1 - t0) / 1000000 ))
		if [[ $best -eq 0 || $t -lt $best ]]; then best=$t; fi
	done
	echo $best
}
bare=$(best "$BUILD/bench/pio_bare" "$GUEST")
cv=$(best "$BUILD/cvisor" run --accel kvm --test-exit --memory 64M --kernel "$GUEST")
echo "2,000,000 PIO exits: bare KVM_RUN loop ${bare} ms, cvisor ${cv} ms"
[[ $bare != fail && $cv != fail ]] &&
	echo "ratio cvisor/bare: $(awk -v a="$cv" -v b="$bare" 'BEGIN {printf "%.3f", a / b}') (target <= 1.1)"
