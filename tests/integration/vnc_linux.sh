#!/usr/bin/env bash
# A Linux guest with --vnc, driven by a libvncclient client
# (tests/vnc/vnc_client.c): the screen comes up (boot framebuffer, then the
# bochs DRM driver), typed keys reach a shell on the guest's first virtual
# terminal, absolute pointer positions reach the guest's tablet, screendump
# equals what the client received, and bad clients (wrong password,
# garbage, one that never reads, 20 at once) leave the guest running. Then
# a snapshot of the VM is restored with its screen, and the restored VM
# migrates live to another port with its screen.
. "$(dirname "$0")/lib.sh"

CLIENT=$CVISOR_BUILD/tests/vnc_client
load_linux_assets vnc_linux || exit 0
accel=$(linux_accels | head -n1)
if [[ -z $accel ]]; then
	skip vnc_linux "no accelerator here can boot Linux"
	exit 0
fi
if [[ ! -x $CLIENT ]]; then
	fail vnc_linux "no $CLIENT (make vnc-client)"
	exit 0
fi
if ! grep -q '^CONFIG_DRM_BOCHS=y' "$(dirname "$CVISOR_KERNEL")/config" 2>/dev/null; then
	skip_unless_required vnc_linux "the test kernel has no bochs DRM driver: rebuild the assets (make assets)"
	exit 0
fi
export CVISOR_RUNTIME_DIR=$TMP/run
NAME=vnc$$
VM=
HOLD=
cleanup() {
	[[ -n $VM ]] && kill -KILL "$VM" 2>/dev/null
	[[ -n $HOLD ]] && kill "$HOLD" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

printf 'cv1sor\n' >"$TMP/pw"
printf 'wrong\n' >"$TMP/badpw"

# The guest: no cursor blink (screens compare equal), a shell on tty1 for
# the keyboard, and the tablet's EV_ABS events on the serial console as
# "cvisor-abs CODE VALUE".
cmd='echo 0 >/sys/class/graphics/fbcon/cursor_blink
setsid sh -c "exec sh -i </dev/tty1 >/dev/tty1 2>&1" &
for e in /sys/class/input/event*; do grep -q tablet $e/device/name && ev=/dev/input/${e##*/}; grep -q "cvisor keyboard" $e/device/name && kev=/dev/input/${e##*/}; done
echo "tablet: $ev keyboard: $kev"
echo "cvisor-edid $(tr -cd a-z </sys/class/drm/card0-Virtual-1/edid)"
(exec 3<$ev; while :; do set -- $(dd bs=24 count=1 <&3 2>/dev/null | od -A n -t d4 -w24 -v); [ $# -ge 6 ] && [ $(($5 & 65535)) = 3 ] && echo "cvisor-abs $(($5 >> 16)) $6"; done) &
(exec 3<$kev; while :; do set -- $(dd bs=24 count=1 <&3 2>/dev/null | od -A n -t d4 -w24 -v); [ $# -ge 6 ] && [ $(($5 & 65535)) = 1 ] && echo "cvisor-key $(($5 >> 16)) $6"; done) &
echo VNC-READY
while :; do sleep 1; done'

# A display number nobody uses (ports 5950..5989) replaces @D@ in the
# arguments; sets PORT.
start_vm() {
	local out=$1 try
	shift
	for try in 1 2 3 4 5; do
		D=$((50 + (RANDOM % 40)))
		PORT=$((5900 + D))
		"$CVISOR" run --name "$NAME" --accel "$accel" --memory 256M \
			"${@//@D@/$D}" </dev/null >"$out" 2>&1 &
		VM=$!
		sleep 0.5
		grep -q "cannot listen" "$out" || return 0
		wait $VM
		VM=
	done
	return 1
}

wait_for() {	# FILE PATTERN SECONDS
	for _ in $(seq $(($3 * 4))); do
		grep -q -- "$2" "$1" && return 0
		kill -0 $VM 2>/dev/null || return 1
		sleep 0.25
	done
	return 1
}

start_vm "$TMP/out" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
	--initrd "$CVISOR_INITRD" \
	--vnc ":@D@,password-file=$TMP/pw" \
	--cmdline "console=ttyS0 panic=-1 video=800x600 cvisor.test64=$(printf %s "$cmd" | base64 -w0)"
# A client from the start sees the boot framebuffer (1024x768), then the
# bochs driver's mode from video= (800x600): DesktopSize.
[[ -n $VM ]] && "$CLIENT" -p "$TMP/pw" "127.0.0.1:$PORT" size wait-nonblank 180 \
	sleep 2000 size >"$TMP/early" 2>&1 &
EARLY=$!
if [[ -z $VM ]] || ! wait_for "$TMP/out" VNC-READY 180; then
	fail vnc_linux_boot "$(tail -c 800 "$TMP/out")"
	exit 0
fi
grep -q "bochs-drm" "$TMP/out" || dmesg_note=" (no bochs-drm line in the log)"
pass vnc_linux_boot

# The bochs driver read the display's EDID (its name and text strings).
grep -q "^cvisor-edid .*cvisor.*bochsdisplay" "$TMP/out"
check vnc_guest_reads_edid $? "$(grep -a 'cvisor-edid\|EDID' "$TMP/out" | head -n3)"

vnc() { "$CLIENT" -p "$TMP/pw" "127.0.0.1:$PORT" "$@"; }

# The screen is drawn (fbcon's shell prompt on tty1) in the bochs
# driver's mode; the early client followed the mode change.
vnc wait-nonblank 120 size >"$TMP/size" 2>"$TMP/err"
check vnc_screen_not_blank $? "$(cat "$TMP/err")$dmesg_note"
grep -qx 800x600 "$TMP/size"
check vnc_screen_size $? "$(cat "$TMP/size")"
wait $EARLY
[[ $? -eq 0 && $(tail -n1 "$TMP/early") == 800x600 && $(head -n1 "$TMP/early") != 800x600 ]]
check vnc_client_follows_resize $? "$(tr '\n' ' ' <"$TMP/early")"

# Keys: a command typed on tty1 writes to the serial console.
vnc type "echo vnc-$((6 * 7))-typed >/dev/ttyS0" enter sleep 500 2>"$TMP/err"
wait_for "$TMP/out" "^vnc-42-typed" 60
check vnc_keyboard_types_command $? "$(cat "$TMP/err") $(tail -c 400 "$TMP/out")"

# Pointer: absolute positions arrive scaled to 0..32767.
vnc move 100 200 sleep 300 move 799 599 sleep 300 2>"$TMP/err"
x=$((100 * 32767 / 799))
y=$((200 * 32767 / 599))
wait_for "$TMP/out" "cvisor-abs 0 $x" 30 && wait_for "$TMP/out" "cvisor-abs 1 $y" 30 &&
	wait_for "$TMP/out" "cvisor-abs 0 32767" 30 &&
	wait_for "$TMP/out" "cvisor-abs 1 32767" 30
check vnc_tablet_absolute_position $? "want x=$x y=$y: $(grep cvisor-abs "$TMP/out" | tail -n4 | tr '\n' ' ')$(cat "$TMP/err")"

# QEMU's extended key event: XT codes, one with the 0xe0 prefix (Left
# Ctrl 0x1d, Right Ctrl e0 1d), reach the guest as KEY_LEFTCTRL and
# KEY_RIGHTCTRL.
vnc xtkey 0x1d xtkey 0x9d sleep 300 2>"$TMP/err"
wait_for "$TMP/out" "cvisor-key 29 1" 30 && wait_for "$TMP/out" "cvisor-key 29 0" 30 &&
	wait_for "$TMP/out" "cvisor-key 97 1" 30
check vnc_qemu_extended_key_event $? "$(grep cvisor-key "$TMP/out" | tail -n4 | tr '\n' ' ')$(cat "$TMP/err")"

# screendump: the PNG equals what the client holds, pixel for pixel.
vnc compare-png "$TMP/shot.png" "'$CVISOR' screendump $NAME '$TMP/shot.png'" 2>"$TMP/err"
check vnc_screendump_equals_client $? "$(cat "$TMP/err")"
"$CVISOR" screendump nosuchvm "$TMP/x.png" 2>"$TMP/err"
[[ $? -ne 0 ]] && grep -q nosuchvm "$TMP/err"
check vnc_screendump_bad_name $? "$(cat "$TMP/err")"

# info shows the address and a connected client.
vnc sleep 1500 &
sleep 0.7
"$CVISOR" info "$NAME" >"$TMP/info"
wait $!
grep -q "vnc:         127.0.0.1 port $PORT, password" "$TMP/info" &&
	grep -q "  client 127.0.0.1:" "$TMP/info"
check vnc_info_address_clients $? "$(grep -A3 vnc: "$TMP/info")"

# Bad clients. A wrong password is refused...
"$CLIENT" -p "$TMP/badpw" "127.0.0.1:$PORT" size >/dev/null 2>&1
rc=$?
[[ $rc -eq 3 ]]
check vnc_wrong_password_refused $? "client rc=$rc"
sleep 1.2	# the next guess waits out the rate limit
# ...garbage after the handshake drops only that client...
vnc garbage 200000 >/dev/null 2>&1
# ...one that connects and never says anything, one that asks for full
# updates and never reads them...
exec 7<>/dev/tcp/127.0.0.1/$PORT
vnc noread 5 >/dev/null 2>&1 &
HOLD=$!
# ...and 20 at once, all of which see the screen.
pids=()
for i in $(seq 20); do
	vnc wait-nonblank 60 sleep 300 >/dev/null 2>"$TMP/many.$i" &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check vnc_twenty_clients $bad "$bad of 20 failed: $(cat "$TMP"/many.* | sort | uniq -c | head -n3)"
wait $HOLD
HOLD=
exec 7>&-
# The guest kept running and still takes keys.
vnc type "echo still-$((2 + 3))-here >/dev/ttyS0" enter sleep 300 2>"$TMP/err"
wait_for "$TMP/out" "^still-5-here" 60
check vnc_guest_survives_bad_clients $? "$(cat "$TMP/err") $(tail -c 300 "$TMP/out")"

# Snapshot with a display: the restored screen is the saved one.
"$CVISOR" screendump "$NAME" "$TMP/before.png"
"$CVISOR" snapshot "$NAME" "$TMP/snap" --stop >"$TMP/snap.out" 2>&1
src=$?
wait $VM
VM=
if [[ $src -ne 0 ]]; then
	fail vnc_snapshot_restore "snapshot: $(cat "$TMP/snap.out")"
	exit 0
fi
"$CVISOR" run --restore "$TMP/snap" </dev/null >"$TMP/out2" 2>&1 &
VM=$!
sleep 1
ok=1
for _ in $(seq 40); do
	"$CVISOR" screendump "$NAME" "$TMP/after.png" 2>/dev/null &&
		cmp -s "$TMP/before.png" "$TMP/after.png" && { ok=0; break; }
	sleep 0.5
done
check vnc_snapshot_restores_screen $ok "$(tail -c 300 "$TMP/out2")"
vnc type "echo restored-$((3 * 3)) >/dev/ttyS0" enter sleep 300 2>"$TMP/err"
wait_for "$TMP/out2" "^restored-9" 60
check vnc_snapshot_restored_keyboard $? "$(cat "$TMP/err") $(tail -c 300 "$TMP/out2")"

# Live migration with the display, on this host: the destination's own
# --vnc moves it to another port; it shows the same screen and takes keys.
D2=$((50 + (D - 49) % 40))
MPORT=$((20000 + RANDOM % 20000))
"$CVISOR" run --incoming "tcp:127.0.0.1:$MPORT" --name "${NAME}m" \
	--vnc ":$D2,password-file=$TMP/pw" </dev/null >"$TMP/out4" 2>&1 &
DST=$!
sleep 0.5
"$CVISOR" screendump "$NAME" "$TMP/before.png"
timeout 300 "$CVISOR" migrate "$NAME" "tcp:127.0.0.1:$MPORT" >"$TMP/mig" 2>&1
mrc=$?
wait $VM
VM=$DST
PORT=$((5900 + D2))
"$CVISOR" screendump "${NAME}m" "$TMP/after.png" 2>"$TMP/err"
[[ $mrc -eq 0 ]] && cmp -s "$TMP/before.png" "$TMP/after.png" &&
	vnc compare-png "$TMP/after2.png" "'$CVISOR' screendump ${NAME}m '$TMP/after2.png'" 2>>"$TMP/err"
check vnc_migration_keeps_screen $? "migrate rc=$mrc $(cat "$TMP/mig" "$TMP/err") $(tail -c 300 "$TMP/out4")"
vnc type "echo migrated-$((4 * 4)) >/dev/ttyS0" enter sleep 300 2>"$TMP/err"
wait_for "$TMP/out4" "^migrated-16" 60
check vnc_migration_keyboard $? "$(cat "$TMP/err") $(tail -c 300 "$TMP/out4")"
"$CVISOR" stop "${NAME}m" --force >/dev/null 2>&1
wait $VM
VM=

# Debian's stock kernel shows its boot messages on the display from the
# boot protocol's screen_info alone (its vesafb; bochs is a module it does
# not load here). About a minute under emu: CVISOR_TEST_DEBIAN=0 skips it.
if [[ ${CVISOR_TEST_DEBIAN:-1} == 0 ]]; then
	skip vnc_debian_boot_messages "CVISOR_TEST_DEBIAN=0"
	exit 0
fi
if [[ -z ${CVISOR_DEBIAN_KERNEL:-} || ! -r ${CVISOR_DEBIAN_KERNEL:-} ]]; then
	skip_unless_required vnc_debian_boot_messages "no Debian kernel in the assets (tests/guest/make-assets.sh --debian)"
	exit 0
fi
NAME=vncdeb$$
start_vm "$TMP/out3" --kernel "$CVISOR_DEBIAN_KERNEL" \
	--initrd "$CVISOR_DEBIAN_INITRD" --memory 512M --vnc ":@D@" \
	--cmdline "console=tty0 console=ttyS0 panic=-1 cvisor.test=\"sleep 600\""
"$CLIENT" "127.0.0.1:$PORT" wait-nonblank 240 size >"$TMP/deb.size" 2>"$TMP/err"
rc=$?
[[ $rc -eq 0 ]] && grep -qx 1024x768 "$TMP/deb.size" &&
	grep -q "vesafb: mode is 1024x768x32" "$TMP/out3"
check vnc_debian_boot_messages $? "$(cat "$TMP/err" "$TMP/deb.size") $(grep -i vesa "$TMP/out3" | head -n2)"
"$CVISOR" stop "$NAME" --force >/dev/null 2>&1
wait $VM
VM=
