#!/usr/bin/env bash
# --vnc on a real kvm_intel: the display's video memory is a KVM memory
# slot (guest stores reach it without exits) and the VNC server learns
# what changed from the slot's dirty log. The test client sees the screen
# drawn, types a command into a shell on tty1 (the virtio keyboard), and
# afterwards a fresh client's picture - built only from what the dirty log
# reported - equals screendump, which reads video memory itself, and
# differs from the screen before. A snapshot restores the screen, and a
# live migration (both dirty logs at once) keeps it.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh
cd "$TMP" || exit 1

CLIENT=/cvisor/build/tests/vnc_client
if [[ ! -x $CLIENT ]]; then
	fail nested_kvm_vnc "no $CLIENT in the host (make vnc-client before run.sh)"
	exit 0
fi
vnc() { "$CLIENT" 127.0.0.1:5900 "$@"; }

start_vm vnc boot.out 'echo 0 >/sys/class/graphics/fbcon/cursor_blink
setsid sh -c "exec sh -i </dev/tty1 >/dev/tty1 2>&1" &
echo VNC-READY
while :; do sleep 1; done' --memory 256M --vnc :0 --debug
if ! wait_for boot.out "^VNC-READY" 600 "$VM"; then
	fail nested_kvm_vnc_boot "$(grep -av 'debug: vnc' boot.out | tail -c 600)"
	exit 0
fi
grep -q "display: video memory at 0x[0-9a-f]* is memory slot" boot.out
check nested_kvm_vnc_vram_is_kvm_slot $? "$(grep -a 'video memory' boot.out | tail -n3)"

vnc wait-nonblank 300 size >size.out 2>err.out
check nested_kvm_vnc_screen_not_blank $? "$(cat err.out size.out)"

"$CVISOR" screendump vnc before.png >/dev/null 2>&1
vnc type "echo nested-vnc-\$((6 * 7)) >/dev/ttyS0" enter sleep 1000 2>err.out
wait_for boot.out "^nested-vnc-42" 120 "$VM"
check nested_kvm_vnc_keyboard $? "$(cat err.out) $(grep -av 'debug: vnc' boot.out | tail -c 300)"

vnc compare-png after.png "'$CVISOR' screendump vnc '$TMP/after.png'" 2>err.out
rc=$?
[[ $rc -eq 0 ]] && ! cmp -s before.png after.png
check nested_kvm_vnc_dirty_log_updates $? "compare rc=$rc $(cat err.out) $(cmp before.png after.png 2>&1 || true)"

"$CVISOR" snapshot vnc "$TMP/snap" --stop >snap.out 2>&1
src=$?
wait "$VM"
VM=
if [[ $src -ne 0 ]]; then
	fail nested_kvm_vnc_snapshot_restore "snapshot: $(tail -c 300 snap.out)"
	exit 0
fi
"$CVISOR" run --restore "$TMP/snap" </dev/null >restore.out 2>&1 &
VM=$!
ok=1
for _ in $(seq 60); do
	sleep 1
	vnc compare-png restored.png "'$CVISOR' screendump vnc '$TMP/restored.png'" 2>/dev/null &&
		cmp -s after.png restored.png && { ok=0; break; }
done
check nested_kvm_vnc_snapshot_restore $ok "$(tail -c 300 restore.out)"
vnc type "echo restored-\$((3 * 3)) >/dev/ttyS0" enter sleep 500 2>err.out
wait_for restore.out "^restored-9" 120 "$VM"
check nested_kvm_vnc_restored_keyboard $? "$(cat err.out) $(grep -av 'debug: vnc' restore.out | tail -c 300)"

# Live migration: the guest RAM log (migration's) and the video memory
# slot's log run side by side on the source; the destination, on display
# :1, shows the same screen and takes keys.
"$CVISOR" run --incoming tcp:127.0.0.1:4445 --name vnc2 --vnc :1 \
	</dev/null >dst.out 2>&1 &
DST=$!
sleep 1
"$CVISOR" screendump vnc premig.png >/dev/null 2>&1
timeout 600 "$CVISOR" migrate vnc tcp:127.0.0.1:4445 >m.out 2>&1
mrc=$?
wait "$VM"
VM=$DST
"$CVISOR" screendump vnc2 postmig.png >/dev/null 2>&1
[[ $mrc -eq 0 ]] && cmp -s premig.png postmig.png &&
	"$CLIENT" 127.0.0.1:5901 compare-png mig.png "'$CVISOR' screendump vnc2 '$TMP/mig.png'" 2>err.out
check nested_kvm_vnc_migration_keeps_screen $? "migrate rc=$mrc $(cat m.out err.out) $(tail -c 300 dst.out)"
"$CLIENT" 127.0.0.1:5901 type "echo migrated-\$((4 * 4)) >/dev/ttyS0" enter sleep 500 2>err.out
wait_for dst.out "^migrated-16" 120 "$VM"
check nested_kvm_vnc_migration_keyboard $? "$(cat err.out) $(tail -c 300 dst.out)"
"$CVISOR" stop vnc2 --force >/dev/null 2>&1
wait "$VM"
VM=
