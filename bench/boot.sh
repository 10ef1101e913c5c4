#!/usr/bin/env bash
# Boot benchmark: the same kernel + initramfs under cvisor and under QEMU
# (machine types microvm and q35), several runs each. Prints, per VMM, the
# median time to the guest's first userspace line, to poweroff, the VMM's
# peak RSS, its peak RSS beyond the guest's RAM mapping, and the ratios
# cvisor/QEMU. A peer that hangs is reported as
# such after a timeout.
#
#   bench/boot.sh [runs]          (environment: CVISOR, CVISOR_ASSETS, LIMIT)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
CVISOR=${CVISOR:-$TOP/build/cvisor}
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
RUNS=${1:-5}
LIMIT=${LIMIT:-120}
MEM=256
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

[[ -r $ASSETS/env ]] || { echo "no guest assets: run 'make assets'"; exit 1; }
. "$ASSETS/env"
. "$(dirname "$0")/rss.sh"
CMD=$(printf %s 'grep -E "MemTotal|MemFree" /proc/meminfo' | base64 -w0)
APPEND="console=ttyS0 panic=-1 quiet cvisor.test64=$CMD"

# Hardware KVM boots Linux; kvm_pvm hosts cannot, so both sides fall back
# to software CPUs there (cvisor emu, QEMU TCG) and the line says so.
if [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
	CV_ACCEL=kvm QEMU_ACCEL=kvm
else
	CV_ACCEL=emu QEMU_ACCEL=tcg
fi


# run_one CMD...: prints "userspace_ms total_ms peak_rss_kib own_rss_kib"
# or "hang"/"fail". own_rss is the peak of the VMM's resident memory minus
# what sits in the guest's RAM mapping, sampled every 50 ms: the memory the
# VMM itself costs, whatever the guest touched.
run_one() {
	local start end first rc vm total own=0 hwm=0 deadline
	rm -f "$TMP/first" "$TMP/fifo"
	mkfifo "$TMP/fifo"
	while IFS= read -r line; do
		if [[ ! -e $TMP/first && $line == *"cvisor-guest: userspace up"* ]]; then
			date +%s%N >"$TMP/first"
		fi
	done <"$TMP/fifo" &
	local reader=$!
	start=$(date +%s%N)
	"$@" </dev/null >"$TMP/fifo" 2>&1 &
	vm=$!
	deadline=$((SECONDS + LIMIT))
	while kill -0 "$vm" 2>/dev/null && ((SECONDS < deadline)); do
		total=$(own_rss "$vm")
		if [[ -n $total ]] && ((total > own)); then own=$total; fi
		total=$(awk '/^VmHWM:/ {print $2}' "/proc/$vm/status" 2>/dev/null)
		[[ -n $total ]] && hwm=$total
		sleep 0.05
	done
	if kill -0 "$vm" 2>/dev/null; then
		kill -KILL "$vm"
		wait "$vm" 2>/dev/null
		wait "$reader"
		echo hang
		return
	fi
	wait "$vm"
	rc=$?
	end=$(date +%s%N)
	wait "$reader"
	if [[ ! -e $TMP/first || $rc -ne 0 ]]; then echo fail; return; fi
	first=$(cat "$TMP/first")
	echo "$(( (first - start) / 1000000 )) $(( (end - start) / 1000000 )) $hwm $own"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

# bench LABEL CMD...: runs RUNS times, prints a summary row, sets
# LAST_FIRST to the median time to userspace.
bench() {
	local label=$1 r firsts=() totals=() rsss=() owns=() status=ok
	shift
	for ((i = 0; i < RUNS; i++)); do
		r=$(run_one "$@")
		case $r in
		hang|fail) status=$r; break ;;
		*) read -r f t m o <<<"$r"
		   firsts+=("$f"); totals+=("$t"); rsss+=("$m"); owns+=("$o") ;;
		esac
	done
	if [[ $status != ok ]]; then
		printf '%-22s %s (after %ss limit or error; see log)\n' "$label" "$status" "$LIMIT"
		LAST_FIRST="" LAST_OWN=""
		return
	fi
	LAST_FIRST=$(printf '%s\n' "${firsts[@]}" | median)
	LAST_OWN=$(printf '%s\n' "${owns[@]}" | median)
	printf '%-22s userspace %6s ms   poweroff %6s ms   peak RSS %7s KiB   VMM beyond guest RAM %6s KiB\n' \
		"$label" "$LAST_FIRST" "$(printf '%s\n' "${totals[@]}" | median)" \
		"$(printf '%s\n' "${rsss[@]}" | median)" "$LAST_OWN"
}

echo "boot benchmark: $RUNS runs each, ${MEM} MiB, kernel $CVISOR_KERNEL"
echo "host: $(nproc) CPUs, $(uname -r), cvisor accel $CV_ACCEL, QEMU accel $QEMU_ACCEL"
bench "cvisor ($CV_ACCEL)" "$CVISOR" run --accel "$CV_ACCEL" --kernel "$CVISOR_KERNEL" \
	--initrd "$CVISOR_INITRD" --cmdline "$APPEND" --memory ${MEM}M --cpus 1
cv=$LAST_FIRST cv_own=$LAST_OWN
for machine in microvm q35; do
	bench "qemu $machine ($QEMU_ACCEL)" qemu-system-x86_64 -M "$machine" -accel "$QEMU_ACCEL" \
		-m $MEM -smp 1 -nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$CVISOR_KERNEL" -initrd "$CVISOR_INITRD" -append "$APPEND"
	if [[ -n $cv && -n $LAST_FIRST && $LAST_FIRST -gt 0 ]]; then
		echo "  ratio cvisor/qemu-$machine (time to userspace): $(awk -v a="$cv" -v b="$LAST_FIRST" 'BEGIN {printf "%.2f", a / b}')"
	fi
	if [[ -n $cv_own && -n $LAST_OWN && $LAST_OWN -gt 0 ]]; then
		echo "  ratio cvisor/qemu-$machine (VMM memory beyond guest RAM): $(awk -v a="$cv_own" -v b="$LAST_OWN" 'BEGIN {printf "%.2f", a / b}') (target: cvisor under 3072 KiB)"
	fi
done
