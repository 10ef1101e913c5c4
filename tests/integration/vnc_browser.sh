#!/usr/bin/env bash
# noVNC in a real browser: a Linux guest with --vnc and a websocket port,
# noVNC (Debian's novnc package) served on localhost, headless Chromium
# opening it; its screenshot must hold the guest's screen (cvisor
# screendump) pixel for pixel, so the canvas is neither blank nor stale.
. "$(dirname "$0")/lib.sh"

NOVNC=${NOVNC:-/usr/share/novnc}
CHROMIUM=$(command -v chromium || command -v chromium-browser)
load_linux_assets vnc_browser || exit 0
accel=$(linux_accels | head -n1)
if [[ -z $accel ]]; then
	skip vnc_browser "no accelerator here can boot Linux"
	exit 0
fi
if [[ -z $CHROMIUM || ! -r $NOVNC/vnc_lite.html ]]; then
	skip_unless_required vnc_browser "needs chromium and novnc (scripts/install-deps.sh)"
	exit 0
fi
if ! grep -q '^CONFIG_DRM_BOCHS=y' "$(dirname "$CVISOR_KERNEL")/config" 2>/dev/null; then
	skip_unless_required vnc_browser "the test kernel has no bochs DRM driver: rebuild the assets (make assets)"
	exit 0
fi
export CVISOR_RUNTIME_DIR=$TMP/run
NAME=novnc$$
VM=
HTTP=
cleanup() {
	[[ -n $VM ]] && kill -KILL "$VM" 2>/dev/null
	[[ -n $HTTP ]] && kill "$HTTP" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

cmd='echo 0 >/sys/class/graphics/fbcon/cursor_blink
setsid sh -c "exec sh -i </dev/tty1 >/dev/tty1 2>&1" &
echo NOVNC-READY; while :; do sleep 1; done'
for try in 1 2 3 4 5; do
	D=$((10 + RANDOM % 40))
	WS=$((5700 + D))
	"$CVISOR" run --name "$NAME" --accel "$accel" --memory 256M \
		--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
		--initrd "$CVISOR_INITRD" --vnc ":$D,websocket=$WS" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)" \
		</dev/null >"$TMP/out" 2>&1 &
	VM=$!
	sleep 0.5
	grep -q "cannot listen" "$TMP/out" || break
	wait $VM
	VM=
done
for _ in $(seq 400); do
	grep -q NOVNC-READY "$TMP/out" && break
	kill -0 $VM 2>/dev/null || break
	sleep 0.25
done
if ! grep -q NOVNC-READY "$TMP/out"; then
	fail vnc_browser_boot "$(tail -c 600 "$TMP/out")"
	exit 0
fi
HTTPPORT=$((6700 + D))
python3 -m http.server "$HTTPPORT" --bind 127.0.0.1 --directory "$NOVNC" \
	>"$TMP/http.log" 2>&1 &
HTTP=$!
sleep 1

# The screen settles (the shell's prompt drawn), then the browser looks.
ok=1
for try in 1 2 3 4 5; do
	sleep 1
	rm -rf "$TMP/chromium"
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$TMP/chromium" --window-size=1300,1000 \
		--force-device-scale-factor=1 --virtual-time-budget=10000 \
		--screenshot="$TMP/shot.png" \
		"http://127.0.0.1:$HTTPPORT/vnc_lite.html?host=127.0.0.1&port=$WS" \
		>"$TMP/chromium.log" 2>&1
	"$CVISOR" screendump "$NAME" "$TMP/screen.png" || break
	if python3 "$(dirname "$0")/png_find.py" "$TMP/shot.png" "$TMP/screen.png" \
		>"$TMP/find.out" 2>&1; then
		ok=0
		break
	fi
done
check vnc_browser_novnc_shows_screen $ok "$(cat "$TMP/find.out") $(tail -n3 "$TMP/chromium.log")"
"$CVISOR" stop "$NAME" --force >/dev/null 2>&1
wait $VM
VM=
