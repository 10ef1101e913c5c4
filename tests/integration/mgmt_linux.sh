#!/usr/bin/env bash
# Managing a running Linux guest (one boot): virtio-balloon gives touched
# guest memory back to the host, guest stats and events reach the control
# socket, and stop presses the ACPI power button, which the guest answers by
# powering off (stop forcing after a timeout: mgmt_kvm.sh).
. "$(dirname "$0")/lib.sh"

load_linux_assets mgmt_linux || exit 0
accel=$(linux_accels | head -n1)
if [[ -z $accel ]]; then
	skip mgmt_linux "no accelerator here can boot Linux"
	exit 0
fi
export CVISOR_RUNTIME_DIR=$TMP/run
VM=
EV=
cleanup() {
	[[ -n $VM ]] && kill -KILL "$VM" 2>/dev/null
	[[ -n $EV ]] && kill "$EV" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null; }

# The guest touches ~110 MiB (a file in its RAM-backed root, then freed),
# then prints its GED (ACPI power button) interrupt count every second and,
# like acpid would, powers off once the count moves (the test kernel has no
# ACPI button driver). Free page reporting is off so that only the balloon
# releases memory.
cmd='dd if=/dev/zero of=/f bs=1M count=160;rm /f;echo MGMT-READY;g0=$(grep Ged /proc/interrupts);while :;do g=$(grep Ged /proc/interrupts);echo "$g";[ "$g" != "$g0" ] && { echo POWER-BUTTON;exit 0;};sleep 1;done'
"$CVISOR" run --name lx1 --accel "$accel" --memory 256M \
	--balloon=free-page-reporting=off \
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)" \
	</dev/null >"$TMP/out" 2>&1 &
VM=$!
for _ in $(seq 240); do
	grep -q MGMT-READY "$TMP/out" && break
	kill -0 $VM 2>/dev/null || break
	sleep 0.5
done
if ! grep -q MGMT-READY "$TMP/out"; then
	fail mgmt_linux_boot "$(tail -c 600 "$TMP/out")"
	exit 0
fi

# A client that collects pushed events.
SOCK=$CVISOR_RUNTIME_DIR/lx1.sock python3 - >"$TMP/events" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["SOCK"])
s.sendall(b'{"id":"w","cmd":"status"}\n')
while True:
    d = s.recv(4096)
    if not d:
        break
    sys.stdout.write(d.decode())
    sys.stdout.flush()
PY
EV=$!
for _ in $(seq 100); do grep -q '"id":"w"' "$TMP/events" && break; sleep 0.1; done

sleep 1
before=$(rss_kb $VM)
"$CVISOR" balloon lx1 64M
brc=$?
for _ in $(seq 120); do
	after=$(rss_kb $VM)
	((before - after >= 64 * 1024)) && break
	sleep 0.5
done
[[ $brc -eq 0 ]] && ((before - after >= 64 * 1024))
check mgmt_balloon_returns_memory $? "rc=$brc RSS ${before} kB -> ${after} kB"

cat >"$TMP/check.py" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))
b = i["balloon"]
assert b["target"] == 64 << 20, b
assert b["actual"] <= 72 << 20, b		# the guest got (nearly) there
assert b["inflated"] >= 128 << 20, b
assert b["reported"] == 0, b
PY
for _ in $(seq 60); do
	"$CVISOR" info lx1 --output=json >"$TMP/info.json"
	python3 "$TMP/check.py" "$TMP/info.json" 2>/dev/null && break
	sleep 0.5
done
python3 "$TMP/check.py" "$TMP/info.json" >"$TMP/check.out" 2>&1
check mgmt_balloon_info_actual $? "$(tail -n1 "$TMP/check.out")"
# Stats come every few seconds once the driver is up.
for _ in $(seq 40); do
	"$CVISOR" info lx1 >"$TMP/info.txt"
	grep -q "guest total-memory" "$TMP/info.txt" && break
	sleep 0.5
done
grep -q "guest free-memory" "$TMP/info.txt" && grep -q "guest total-memory" "$TMP/info.txt"
check mgmt_balloon_guest_stats $? "$(cat "$TMP/info.txt")"
grep -q '"event":"balloon-changed"' "$TMP/events"
check mgmt_balloon_changed_event $? "$(cat "$TMP/events")"

# Deflate: the guest may have its memory back.
"$CVISOR" balloon lx1 256M
for _ in $(seq 60); do
	"$CVISOR" info lx1 --output=json >"$TMP/info2.json"
	grep -q "\"actual\":$((256 << 20))" "$TMP/info2.json" && break
	sleep 0.5
done
grep -q "\"actual\":$((256 << 20))" "$TMP/info2.json"
check mgmt_balloon_deflates $? "$(head -c 400 "$TMP/info2.json")"

# stop: the power button makes the guest power off well before the timeout.
t0=$SECONDS
"$CVISOR" stop lx1 --timeout 60
rc=$?
wait $VM
vrc=$?
VM=
took=$((SECONDS - t0))
[[ $rc -eq 0 && $vrc -eq 0 && $took -lt 60 ]] && grep -q POWER-BUTTON "$TMP/out"
check mgmt_stop_power_button_powers_off $? "stop rc=$rc vm rc=$vrc after ${took}s: $(tail -c 300 "$TMP/out")"
wait $EV 2>/dev/null
EV=
grep -q '"event":"shutdown","reason":"poweroff"' "$TMP/events"
check mgmt_linux_shutdown_event $? "$(tail -c 300 "$TMP/events")"

# Free page reporting (on by default): memory the guest frees goes back to
# the host without a balloon target.
cmd='dd if=/dev/zero of=/f bs=1M count=96;echo FILLED;rm /f;echo FREED;while :;do sleep 1;done'
"$CVISOR" run --name lx2 --accel "$accel" --memory 192M --balloon \
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)" \
	</dev/null >"$TMP/out2" 2>&1 &
VM=$!
peak=0
for _ in $(seq 240); do
	r=$(rss_kb $VM)
	((${r:-0} > peak)) && peak=$r
	grep -q FREED "$TMP/out2" && break
	kill -0 $VM 2>/dev/null || break
	sleep 0.25
done
# The guest reports free memory every couple of seconds, never-touched
# pages first as often as not: wait for the freed file's pages to be among
# the reported ones, which is when the RSS falls.
rep=0
for _ in $(seq 60); do
	rep=$("$CVISOR" info lx2 --output=json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["balloon"]["reported"])' 2>/dev/null)
	now=$(rss_kb $VM)
	((${rep:-0} >= 48 << 20 && peak - ${now:-0} >= 48 * 1024)) && break
	sleep 0.5
done
# Most of the 96 MiB file came back: reported, and the VMM's RSS fell.
((${rep:-0} >= 48 << 20 && peak - ${now:-0} >= 48 * 1024))
check mgmt_balloon_free_page_reporting $? "reported ${rep:-?} bytes, RSS peak $peak kB now ${now:-?} kB: $(tail -c 300 "$TMP/out2")"
"$CVISOR" stop lx2 --force >/dev/null
wait $VM 2>/dev/null
VM=
