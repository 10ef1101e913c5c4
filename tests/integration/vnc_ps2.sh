#!/usr/bin/env bash
# A Linux guest with --vnc but without its virtio input driver
# (initcall_blacklist), as a guest without virtio drivers is: the VNC
# client's keys reach a shell through the PS/2 keyboard, and its pointer
# moves the PS/2 mouse on the i8042's aux port, which Linux's psmouse
# finds (an IntelliMouse, for the wheel) and reports through evdev as
# relative motion, buttons and wheel steps. A snapshot taken meanwhile
# restores the mouse with the rest.
. "$(dirname "$0")/lib.sh"

CLIENT=$CVISOR_BUILD/tests/vnc_client
load_linux_assets vnc_ps2 || exit 0
accel=$(linux_accels | head -n1)
if [[ -z $accel ]]; then
	skip vnc_ps2 "no accelerator here can boot Linux"
	exit 0
fi
if [[ ! -x $CLIENT ]]; then
	fail vnc_ps2 "no $CLIENT (make vnc-client)"
	exit 0
fi
if ! grep -q '^CONFIG_MOUSE_PS2=y' "$(dirname "$CVISOR_KERNEL")/config" 2>/dev/null; then
	skip_unless_required vnc_ps2 "the test kernel has no PS/2 mouse driver: rebuild the assets (make assets)"
	exit 0
fi
export CVISOR_RUNTIME_DIR=$TMP/run
NAME=vncps2$$
VM=
cleanup() {
	[[ -n $VM ]] && kill -KILL "$VM" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

# The guest: the input devices' names, a shell on tty1 for the keyboard,
# and the PS/2 mouse's events on the serial console as
# "cvisor-ev TYPE CODE VALUE".
cmd='grep "^N: Name" /proc/bus/input/devices | sed "s/^/cvisor-dev /"
setsid sh -c "exec sh -i </dev/tty1 >/dev/tty1 2>&1" &
for e in /sys/class/input/event*; do grep -q "PS/2.*Mouse" $e/device/name && mev=/dev/input/${e##*/}; done
echo "mouse: $mev"
(exec 3<$mev; while :; do set -- $(dd bs=24 count=1 <&3 2>/dev/null | od -A n -t d4 -w24 -v); [ $# -ge 6 ] && [ $(($5 & 65535)) != 0 ] && echo "cvisor-ev $(($5 & 65535)) $(($5 >> 16)) $6"; done) &
echo VNC-READY
while :; do sleep 1; done'

start_vm() {	# OUT ARGS...: a free display number replaces @D@; sets PORT
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

vnc() { "$CLIENT" "127.0.0.1:$PORT" "$@"; }

start_vm "$TMP/out" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
	--initrd "$CVISOR_INITRD" --vnc ":@D@" \
	--cmdline "console=ttyS0 panic=-1 initcall_blacklist=virtio_input_driver_init cvisor.test64=$(printf %s "$cmd" | base64 -w0)"
if [[ -z $VM ]] || ! wait_for "$TMP/out" VNC-READY 180; then
	fail vnc_ps2_boot "$(tail -c 800 "$TMP/out")"
	exit 0
fi
pass vnc_ps2_boot

# The guest sees an IntelliMouse on the aux port and no virtio input.
grep -q "cvisor-dev .*ImPS/2 Generic Wheel Mouse" "$TMP/out" &&
	grep -q "cvisor-dev .*AT Translated Set 2 keyboard" "$TMP/out" &&
	! grep -q "cvisor-dev .*cvisor" "$TMP/out" &&
	grep -q "^mouse: /dev/input/event" "$TMP/out"
check vnc_ps2_mouse_found $? "$(grep -E 'cvisor-dev|^mouse:|i8042|serio' "$TMP/out" | tr '\n' ' ')"

# Keys through the PS/2 keyboard.
vnc wait-nonblank 120 type "echo ps2-$((6 * 7))-typed >/dev/ttyS0" enter sleep 500 2>"$TMP/err"
wait_for "$TMP/out" "^ps2-42-typed" 60
check vnc_ps2_keyboard_types_command $? "$(cat "$TMP/err") $(tail -c 400 "$TMP/out")"

# The pointer: 50 right and 20 up with the left button down, released,
# one wheel step up. evdev: EV_REL REL_X 50, REL_Y -20 (screen down is
# positive), EV_KEY BTN_LEFT 1 then 0, EV_REL REL_WHEEL 1.
pointer_test() {	# OUT NAME DX
	local out=$1 name=$2 dx=$3
	vnc move 100 100 sleep 200 pointer $((100 + dx)) 80 1 sleep 200 \
		move $((100 + dx)) 80 sleep 200 pointer $((100 + dx)) 80 8 \
		move $((100 + dx)) 80 sleep 500 2>"$TMP/err"
	wait_for "$out" "cvisor-ev 2 0 $dx" 30 &&
		wait_for "$out" "cvisor-ev 2 1 -20" 30 &&
		wait_for "$out" "cvisor-ev 1 272 1" 30 &&
		wait_for "$out" "cvisor-ev 1 272 0" 30 &&
		wait_for "$out" "cvisor-ev 2 8 1" 30
	check "$name" $? "$(cat "$TMP/err") $(grep cvisor-ev "$out" | tail -n8 | tr '\n' ' ')"
}
pointer_test "$TMP/out" vnc_ps2_mouse_motion_buttons_wheel 50

# The mouse's state (wheel mode, reporting on) survives a snapshot.
"$CVISOR" snapshot "$NAME" "$TMP/snap" --stop >"$TMP/snap.out" 2>&1
src=$?
wait $VM
VM=
if [[ $src -ne 0 ]]; then
	fail vnc_ps2_snapshot_restore "snapshot: $(cat "$TMP/snap.out")"
	exit 0
fi
"$CVISOR" run --restore "$TMP/snap" </dev/null >"$TMP/out2" 2>&1 &
VM=$!
sleep 1
pointer_test "$TMP/out2" vnc_ps2_snapshot_restore 37
"$CVISOR" stop "$NAME" --force >/dev/null 2>&1
wait $VM
VM=
