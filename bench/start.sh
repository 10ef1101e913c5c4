#!/usr/bin/env bash
# VMM start-up on KVM, cvisor against QEMU (microvm and q35) in one run:
# the same tiny ELF guest (bench/guests/start.S) prints a line and exits
# through port 0x501. Wall time from exec to exit is the VMM's own cost of
# creating a VM, its devices and boot state, entering the guest and tearing
# it down, which is what separates VMMs booting the same kernel on
# hardware KVM. Also peak RSS. Prints medians and cvisor/QEMU ratios.
#
#   bench/start.sh [runs]     (default 20; BUILD=dir, default build)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
CVISOR=${CVISOR:-$TOP/$BUILD/cvisor}
RUNS=${1:-20}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

[[ -r /dev/kvm && -w /dev/kvm ]] || { echo "start bench: /dev/kvm is not usable"; exit 1; }
[[ -x $CVISOR ]] || { echo "start bench: no $CVISOR (make)"; exit 1; }
GUEST=$T/start.elf
cc -nostdlib -static -no-pie -Wl,-T,"$TOP/bench/guests/start.ld" \
	-Wl,--build-id=none -o "$GUEST" "$TOP/bench/guests/start.S" || exit 1

# one_run CMD...: "ms peak_kib", or "fail" unless the guest's line came out
one_run() {
	local s e
	s=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$T/rss" "$@" </dev/null >"$T/out" 2>/dev/null
	e=$(date +%s%N)
	grep -q "start-bench: guest up" "$T/out" || { echo fail; return; }
	echo "$(((e - s) / 1000)) $(tail -n1 "$T/rss")"
}

median() { sort -n | awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : "-"}'; }

# bench LABEL CMD...: sets MED (microseconds) and prints a row
bench() {
	local label=$1 r us=() kib=()
	shift
	for ((i = 0; i < RUNS; i++)); do
		r=$(one_run "$@")
		if [[ $r == fail ]]; then
			printf '%-16s failed: %s\n' "$label" "$(head -c 200 "$T/out")"
			MED=
			return
		fi
		us+=("${r% *}")
		kib+=("${r#* }")
	done
	MED=$(printf '%s\n' "${us[@]}" | median)
	printf '%-16s start to exit %7.1f ms (median of %d)   peak RSS %6s KiB\n' \
		"$label" "$(echo "$MED / 1000" | bc -l)" "$RUNS" \
		"$(printf '%s\n' "${kib[@]}" | median)"
}

echo "host: $(nproc) CPUs, $(uname -r), KVM module: $(ls /sys/module | grep -E '^kvm_' | tr '\n' ' ')"
bench "cvisor" "$CVISOR" run --accel kvm --test-exit --memory 64M --kernel "$GUEST"
cv=$MED
for m in microvm q35; do
	bench "qemu $m" qemu-system-x86_64 -M "$m" -accel kvm -m 64M -nodefaults \
		-display none -serial stdio -no-reboot \
		-device isa-debug-exit,iobase=0x501,iosize=1 -kernel "$GUEST"
	[[ -n $cv && -n $MED ]] &&
		echo "  ratio cvisor/qemu-$m: $(echo "scale=2; $cv / $MED" | bc)"
done
