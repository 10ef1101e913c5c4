#!/usr/bin/env bash
# The serial console: piped input reaches the guest; on a terminal Ctrl-A x
# quits and the terminal settings are restored.
. "$(dirname "$0")/lib.sh"

if ! kvm_usable; then
	skip console "/dev/kvm is not available for the echo guest"
	exit 0
fi

printf 'hello-through-uart\nq' | timeout 20 "$CVISOR" run --accel kvm \
	--test-exit --memory 64M --kernel "$GUESTS/echo.elf" >"$TMP/out" 2>&1
rc=$?
[[ $rc -eq 0 ]] && grep -q "hello-through-uart" "$TMP/out"
check console_piped_input_echoed $? "rc=$rc $(head -c 300 "$TMP/out")"

if ! command -v script >/dev/null; then
	skip console_tty "script(1) is not installed"
	exit 0
fi
# Under a pseudo-terminal: typed text is echoed, Ctrl-A h prints help,
# Ctrl-A x quits with status 0 and stty settings come back unchanged.
cat >"$TMP/tty.sh" <<EOS
stty -g >"$TMP/before"
"$CVISOR" run --accel kvm --memory 64M --kernel "$GUESTS/echo.elf"
echo "status=\$?"
stty -g >"$TMP/after"
EOS
{ sleep 1; printf 'typed'; sleep 0.5; printf '\001h'; sleep 0.5; printf '\001x'; sleep 1; } |
	timeout 20 script -qfec "bash $TMP/tty.sh" /dev/null >"$TMP/out" 2>&1
grep -q "typed" "$TMP/out"
check console_tty_input_echoed $? "$(head -c 400 "$TMP/out")"
grep -q "C-a x" "$TMP/out"
check console_tty_ctrl_a_h_help $? "$(head -c 400 "$TMP/out")"
grep -q "status=0" "$TMP/out"
check console_tty_ctrl_a_x_quits $? "$(head -c 400 "$TMP/out")"
cmp -s "$TMP/before" "$TMP/after"
check console_tty_settings_restored $? "stty before: $(cat "$TMP/before" 2>/dev/null) after: $(cat "$TMP/after" 2>/dev/null)"
