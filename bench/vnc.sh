#!/usr/bin/env bash
# VNC benchmark: the same guest (test kernel, a shell on the framebuffer
# console, cursor blink off) under cvisor --vnc and QEMU -vnc with a
# bochs-display and virtio keyboard, in one run. For each it prints:
#   - the VMM's CPU use (percent of one core) over IDLE seconds with no
#     client, and with one connected client watching an idle screen; the
#     difference is what serving the client costs (target: < 1%);
#   - key-to-screen latency: the median time from a key event sent by the
#     client to the first screen update showing the guest's echo (input,
#     guest, framebuffer write, dirty tracking and the update together);
# and the cvisor/QEMU ratios.
#
#   bench/vnc.sh          (environment: CVISOR, CVISOR_ASSETS, IDLE=10, KEYS=9)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
CVISOR=${CVISOR:-$TOP/build/cvisor}
CLIENT=${CLIENT:-$TOP/build/tests/vnc_client}
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
IDLE=${IDLE:-10}
KEYS=${KEYS:-9}
TMP=$(mktemp -d)
VM=
cleanup() {
	[[ -n $VM ]] && kill -KILL "$VM" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

[[ -r $ASSETS/env ]] || { echo "no guest assets: run 'make assets'"; exit 1; }
. "$ASSETS/env"
[[ -x $CLIENT ]] || { echo "no $CLIENT: run 'make vnc-client'"; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64"; exit 1; }
if [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
	CV_ACCEL=kvm QEMU_ACCEL=kvm
else
	CV_ACCEL=emu QEMU_ACCEL=tcg
fi
CMD='echo 0 >/sys/class/graphics/fbcon/cursor_blink
setsid sh -c "exec sh -i </dev/tty1 >/dev/tty1 2>&1" &
sleep 2; echo BENCH-READY; while :; do sleep 10; done'
APPEND="console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$CMD" | base64 -w0)"
D=$((60 + RANDOM % 30))

ticks() {	# PID: user + system clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

cpu_pct() {	# PID SECS [client args...]: percent of a core over SECS
	local pid=$1 secs=$2 t0 t1 hz
	shift 2
	hz=$(getconf CLK_TCK)
	t0=$(ticks "$pid")
	if [[ $# -gt 0 ]]; then
		"$CLIENT" "$@" idle "$secs" >/dev/null
	else
		sleep "$secs"
	fi
	t1=$(ticks "$pid")
	awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$secs" 'BEGIN { printf "%.2f", 100 * d / hz / s }'
}

# measure NAME PORT OUT: waits for the guest, prints "idle client latency"
measure() {
	local name=$1 port=$2 out=$3 idle with lat
	for _ in $(seq 600); do
		grep -qs BENCH-READY "$out" && break
		kill -0 "$VM" 2>/dev/null || { echo "$name: VM ended: $(tail -c 300 "$out")" >&2; return 1; }
		sleep 0.2
	done
	"$CLIENT" "127.0.0.1:$port" wait-nonblank 60 >/dev/null || return 1
	sleep 3
	idle=$(cpu_pct "$VM" "$IDLE")
	with=$(cpu_pct "$VM" "$IDLE" "127.0.0.1:$port")
	lat=$("$CLIENT" "127.0.0.1:$port" latency "$KEYS" 0x78) || return 1
	echo "$idle $with $lat"
}

"$CVISOR" run --accel "$CV_ACCEL" --memory 256M --kernel "$CVISOR_KERNEL" \
	--initrd "$CVISOR_INITRD" --cmdline "$APPEND" --vnc ":$D" \
	</dev/null >"$TMP/cv.out" 2>&1 &
VM=$!
read -r cv_idle cv_with cv_lat < <(measure cvisor $((5900 + D)) "$TMP/cv.out")
kill -KILL "$VM" 2>/dev/null
wait "$VM" 2>/dev/null
qemu-system-x86_64 -accel "$QEMU_ACCEL" -m 256 -nodefaults -no-user-config \
	-kernel "$CVISOR_KERNEL" -initrd "$CVISOR_INITRD" -append "$APPEND" \
	-serial "file:$TMP/q.out" -device bochs-display \
	-device virtio-keyboard-pci -device virtio-tablet-pci \
	-vnc "127.0.0.1:$((D + 1))" </dev/null >"$TMP/q.err" 2>&1 &
VM=$!
read -r q_idle q_with q_lat < <(measure qemu $((5901 + D)) "$TMP/q.out")
kill -KILL "$VM" 2>/dev/null
wait "$VM" 2>/dev/null
VM=

echo "accelerators: cvisor $CV_ACCEL, QEMU $QEMU_ACCEL; ${IDLE} s per CPU sample, $KEYS keys"
printf '%-8s %14s %16s %14s %16s\n' VMM "no client %" "idle client %" "client cost %" "key->screen ms"
for v in cvisor qemu; do
	if [[ $v == cvisor ]]; then i=${cv_idle:-} w=${cv_with:-} l=${cv_lat:-}; else i=${q_idle:-} w=${q_with:-} l=${q_lat:-}; fi
	[[ -z $i || -z $l ]] && { printf '%-8s failed\n' "$v"; continue; }
	printf '%-8s %14s %16s %14s %16s\n' "$v" "$i" "$w" \
		"$(awk -v a="$w" -v b="$i" 'BEGIN { printf "%.2f", a - b }')" "$l"
done
if [[ -n ${cv_lat:-} && -n ${q_lat:-} ]]; then
	awk -v a="$cv_lat" -v b="$q_lat" 'BEGIN { if (b > 0) printf "latency ratio cvisor/QEMU: %.2f\n", a / b }'
fi
