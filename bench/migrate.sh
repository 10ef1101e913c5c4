#!/usr/bin/env bash
# Live migration benchmark: the same kernel + initramfs under cvisor and
# QEMU, source and destination on this host's loopback, for an idle guest
# and one that rewrites 16 MiB every second. The guest prints a line every
# 10 ms; each line is stamped with the host's clock as it arrives, so the
# downtime is the largest gap between two lines (from the source's last to
# the destination's first) - the guest's own clock does not see the pause.
# Prints per VMM and workload the total migration time and that downtime,
# with cvisor/QEMU ratios.
#
#   bench/migrate.sh              (environment: CVISOR, CVISOR_ASSETS, QEMU)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
CVISOR=${CVISOR:-$TOP/build/cvisor}
QEMU=${QEMU:-qemu-system-x86_64}
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
MEM=256
TMP=$(mktemp -d)
export CVISOR_RUNTIME_DIR=$TMP/run
PIDS=()
trap 'kill -KILL "${PIDS[@]}" 2>/dev/null; rm -rf "$TMP"' EXIT

[[ -r $ASSETS/env ]] || { echo "no guest assets: run 'make assets'"; exit 1; }
. "$ASSETS/env"
command -v "$QEMU" >/dev/null || { echo "no $QEMU"; exit 1; }
command -v socat >/dev/null || { echo "needs socat"; exit 1; }
if [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
	CV_ACCEL=kvm QEMU_ACCEL=kvm
else
	CV_ACCEL=emu QEMU_ACCEL=tcg
fi
now() { date +%s%N; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

guest_cmd() {
	local dirty=$1 c
	c='i=0; while :; do i=$((i+1)); echo "beat $i"; sleep 0.01; done'
	[[ $dirty == busy ]] &&
		c="(while :; do dd if=/dev/zero of=/dirty bs=1M count=16 2>/dev/null; sleep 1; done) & $c"
	printf 'console=ttyS0 panic=-1 quiet cvisor.test64=%s' "$(printf %s "$c" | base64 -w0)"
}

# stamp OUT: each line of stdin, prefixed with the host time in ns
stamp() {
	while IFS= read -r line; do
		printf '%s %s\n' "$(now)" "${line%$'\r'}"
	done >"$1"
}

# gap FILE...: the largest gap in ms between consecutive beat lines
gap() {
	cat "$@" | grep ' beat ' | sort -n |
		awk 'NR > 1 && $1 - p > g { g = $1 - p } { p = $1 } END { printf "%d", g / 1000000 }'
}

wait_beats() {
	for _ in $(seq 3000); do
		grep -q ' beat 50$' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# Prints "total_ms downtime_ms" or "fail".
cvisor_one() {
	local dirty=$1 p t0 t1
	p=$(port)
	"$CVISOR" run --incoming "tcp:127.0.0.1:$p" --name bm-dst </dev/null 2>&1 |
		stamp "$TMP/dst" &
	PIDS+=($!)
	"$CVISOR" run --name bm-src --accel "$CV_ACCEL" --memory ${MEM}M \
		--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
		--cmdline "$(guest_cmd "$dirty")" </dev/null 2>&1 | stamp "$TMP/src" &
	PIDS+=($!)
	wait_beats "$TMP/src" || { echo fail; return; }
	sleep 2
	t0=$(now)
	"$CVISOR" migrate bm-src "tcp:127.0.0.1:$p" >/dev/null 2>&1 || { echo fail; return; }
	t1=$(now)
	sleep 1
	"$CVISOR" stop bm-dst --force >/dev/null 2>&1
	wait
	echo "$(((t1 - t0) / 1000000)) $(gap "$TMP/src" "$TMP/dst")"
}

hmp() { printf '%s\n' "$2" | socat - "UNIX-CONNECT:$1" 2>/dev/null; }

qemu_one() {
	local dirty=$1 p t0 t1 vm
	p=$(port)
	local common=(-accel "$QEMU_ACCEL" -M q35 -m $MEM -nodefaults -no-user-config
		-display none -serial stdio -kernel "$CVISOR_KERNEL"
		-initrd "$CVISOR_INITRD" -append "$(guest_cmd "$dirty")")
	"$QEMU" "${common[@]}" -monitor "unix:$TMP/qd.mon,server,nowait" \
		-incoming "tcp:127.0.0.1:$p" </dev/null 2>&1 | stamp "$TMP/qdst" &
	PIDS+=($!)
	"$QEMU" "${common[@]}" -monitor "unix:$TMP/qs.mon,server,nowait" \
		</dev/null 2>&1 | stamp "$TMP/qsrc" &
	PIDS+=($!)
	wait_beats "$TMP/qsrc" || { echo fail; return; }
	sleep 2
	t0=$(now)
	hmp "$TMP/qs.mon" "migrate -d tcp:127.0.0.1:$p" >/dev/null
	for _ in $(seq 30000); do
		hmp "$TMP/qs.mon" "info migrate" | grep -q 'Migration status: completed' && break
		sleep 0.01
	done
	t1=$(now)
	sleep 1
	hmp "$TMP/qs.mon" quit >/dev/null
	hmp "$TMP/qd.mon" quit >/dev/null
	wait
	echo "$(((t1 - t0) / 1000000)) $(gap "$TMP/qsrc" "$TMP/qdst")"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "migration benchmark: ${MEM} MiB guest, cvisor $CV_ACCEL vs QEMU q35 $QEMU_ACCEL, loopback"
printf '%-8s %-16s %10s %10s %8s\n' guest measure cvisor qemu ratio
for dirty in idle busy; do
	rm -f "$TMP"/src "$TMP"/dst "$TMP"/qsrc "$TMP"/qdst
	c=$(cvisor_one $dirty)
	q=$(qemu_one $dirty)
	[[ $c == fail || $q == fail ]] && { echo "$dirty: cvisor '$c' qemu '$q'"; continue; }
	read -r ct cd <<<"$c"
	read -r qt qd <<<"$q"
	printf '%-8s %-16s %10s %10s %8s\n' $dirty "total (ms)" "$ct" "$qt" "$(ratio "$ct" "$qt")"
	printf '%-8s %-16s %10s %10s %8s\n' $dirty "downtime (ms)" "$cd" "$qd" "$(ratio "$cd" "$qd")"
done
