#!/usr/bin/env bash
# Live migration with the self-written guests, source and destination on
# this host's loopback: the counting guest (LAPIC timer ticks, a counter in
# a register and in memory) goes on at the destination from where it was,
# under each accelerator with dirty logging; and every failure - the
# destination killed, a corrupt or newer stream, a cancel, nobody
# listening - leaves the guest running on the source with one line saying
# why. tests/integration/migrate_linux.sh moves a real Linux between
# network namespaces.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tick_lib.sh"

export CVISOR_RUNTIME_DIR=$TMP/run
cd "$TMP" || exit 1
GUEST=$GUESTS/snapcount.elf
PIDS=()
trap 'kill -KILL "${PIDS[@]}" 2>/dev/null; rm -rf "$TMP"' EXIT

port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# src NAME OUT ARGS: the counting guest, until it printed a few ticks.
src() {
	local name=$1 out=$2
	shift 2
	"$CVISOR" run --name "$name" --test-exit --memory 64M \
		--kernel "$GUEST" "$@" </dev/null >"$out" 2>&1 &
	SRC=$!
	PIDS+=($SRC)
	for _ in $(seq 100); do
		(($(last_tick "$out") >= 3)) && return 0
		sleep 0.1
	done
	return 1
}

# dst PORT OUT [ARGS]: a destination waiting on 127.0.0.1:PORT.
dst() {
	local p=$1 out=$2
	shift 2
	"$CVISOR" run --incoming "tcp:127.0.0.1:$p" "$@" </dev/null >"$out" 2>&1 &
	DST=$!
	PIDS+=($DST)
	for _ in $(seq 50); do
		grep -q "waiting for a migration" "$out" && return 0
		sleep 0.1
	done
	return 1
}

# source_survives NAME OUT: the source finished the count itself.
source_survives() {
	reap "$SRC" 30
	local rc=$?
	[[ $rc -eq 0 && $(last_tick "$2") -eq 64 ]]
	check "$1" $? "source rc=$rc last tick $(last_tick "$2"): $(tail -c 300 "$2")"
}

# migrate_ok ACCEL [NAME-SUFFIX MIGRATE-ARGS...]
migrate_ok() {
	local accel=$1 how=${2:-} p
	shift
	[[ $# -gt 0 ]] && shift
	p=$(port)
	dst "$p" d.out --name "m-$accel-dst" ||
		{ fail "migrate_${accel}_destination_waits" "$(cat d.out)"; return; }
	src "m-$accel" s.out --accel "$accel" ||
		{ fail "migrate_${accel}_source_starts" "$(cat s.out)"; return; }
	"$CVISOR" migrate "m-$accel" "tcp:127.0.0.1:$p" "$@" >m.out 2>&1
	local mrc=$? t0 t1 src_rc dst_rc
	reap "$SRC" 30
	src_rc=$?
	reap "$DST" 30
	dst_rc=$?
	t0=$(last_tick s.out)
	t1=$(first_tick d.out)
	[[ $mrc -eq 0 && $src_rc -eq 0 && $dst_rc -eq 0 ]] &&
		seamless s.out d.out
	check "migrate_${accel}${how}_guest_goes_on_at_destination" $? \
		"migrate rc=$mrc $(cat m.out); source rc=$src_rc last $t0; destination rc=$dst_rc first $t1: $(tail -c 300 d.out)"
}

accels=
kvm_usable && accels=kvm
# emu has dirty logging once it can migrate at all; the test says which.
accels="$accels emu"
for accel in $accels; do
	migrate_ok "$accel"
done
# Pages zstd-compressed on the way.
read -r first _ <<<"$accels"
migrate_ok "$first" _compressed --compress

# A guest dirtying 8 MiB as fast as it runs, over a link too slow for a
# 1 ms downtime: the vCPUs are throttled, the migration still ends, and
# every page the guest checks afterwards holds its latest pass.
converge() {
	local accel=$1 p thr=0
	p=$(port)
	dst "$p" d.out --name "c-$accel-dst"
	"$CVISOR" run --name "c-$accel" --test-exit --memory 64M \
		--kernel "$GUESTS/dirtier.elf" --accel "$accel" </dev/null >s.out 2>&1 &
	SRC=$!
	PIDS+=($SRC)
	sleep 0.5
	"$CVISOR" migrate "c-$accel" "tcp:127.0.0.1:$p" --downtime-ms 1 \
		--bandwidth 40M >m.out 2>&1 &
	local mig=$!
	for _ in $(seq 100); do
		t=$("$CVISOR" info "c-$accel" --output=json 2>/dev/null |
		    sed -n 's/.*"throttle":\([0-9]*\).*/\1/p')
		[[ -n $t ]] && ((t > thr)) && thr=$t
		kill -0 $mig 2>/dev/null || break
		sleep 0.1
	done
	reap $mig 120
	local mrc=$?
	reap "$DST" 60
	local drc=$?
	reap "$SRC" 10
	[[ $mrc -eq 0 && $drc -eq 0 && $thr -gt 0 ]] && grep -q '^tick' d.out
	check "migrate_${accel}_dirtying_guest_converges" $? \
		"migrate rc=$mrc $(cat m.out); throttle seen $thr%; destination rc=$drc $(tail -c 200 d.out)"
}
for accel in $accels; do
	converge "$accel"
done

# The failures, on the first accelerator; a slow link keeps the stream
# going long enough to break it.
accel=${accels%% *}
[[ -n $accel ]] || accel=emu
SLOW=(--bandwidth 6K)

# The destination dies mid-stream.
p=$(port)
dst "$p" d.out
src m-kill s.out --accel "$accel"
"$CVISOR" migrate m-kill "tcp:127.0.0.1:$p" "${SLOW[@]}" >m.out 2>&1 &
mig=$!
sleep 1.5
kill -KILL "$DST" 2>/dev/null
reap "$mig" 60
mrc=$?
[[ $mrc -eq 1 ]] && grep -q "the guest goes on here" m.out
check migrate_destination_killed_reported $? "rc=$mrc $(cat m.out)"
source_survives migrate_destination_killed_source_goes_on s.out

# A proxy between the two: flips the byte at one offset of the stream.
proxy() {
	rm -f proxy.out
	python3 - "$1" "$2" "$3" >proxy.out 2>&1 <<'PY' &
import socket, sys, threading
lport, dport, flip = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport))
ls.listen(1)
print("ready", flush=True)
a, _ = ls.accept()
b = socket.create_connection(("127.0.0.1", dport))
def back():
    try:
        while True:
            d = b.recv(4096)
            if not d:
                break
            a.sendall(d)
        a.shutdown(socket.SHUT_WR)
    except OSError:
        pass
t = threading.Thread(target=back)
t.start()
off = 0
try:
    while True:
        d = a.recv(65536)
        if not d:
            break
        if off <= flip < off + len(d):
            d = bytearray(d)
            d[flip - off] ^= 0x20
            d = bytes(d)
        off += len(d)
        b.sendall(d)
    b.shutdown(socket.SHUT_WR)
except OSError:
    pass
# the destination's answer still goes back to the source
t.join(10)
PY
	PROXY=$!
	PIDS+=($PROXY)
	for _ in $(seq 100); do
		grep -q ready proxy.out 2>/dev/null && break
		sleep 0.1
	done
}

# corrupt OFFSET NAME WANT: the destination refuses, the source goes on.
corrupt() {
	local off=$1 name=$2 want=$3 p q
	p=$(port)
	q=$(port)
	dst "$p" d.out
	proxy "$q" "$p" "$off"
	src "m-$name" s.out --accel "$accel"
	"$CVISOR" migrate "m-$name" "tcp:127.0.0.1:$q" >m.out 2>&1
	local mrc=$?
	reap "$DST" 10
	local drc=$?
	[[ $mrc -eq 1 && $drc -ne 0 ]] && grep -q -- "$want" m.out &&
		grep -q -- "$want" d.out
	check "migrate_${name}_refused" $? "migrate rc=$mrc $(cat m.out); destination rc=$drc $(tail -c 300 d.out)"
	source_survives "migrate_${name}_source_goes_on" s.out
	kill "$PROXY" 2>/dev/null
}
corrupt 8 newer_format "version"
corrupt 3000 corrupt_byte "corrupt"

# Cancel: the guest stays.
p=$(port)
dst "$p" d.out
src m-cancel s.out --accel "$accel"
"$CVISOR" migrate m-cancel "tcp:127.0.0.1:$p" "${SLOW[@]}" >m.out 2>&1 &
mig=$!
sleep 1
"$CVISOR" info m-cancel --output=json >info.out 2>&1
"$CVISOR" migrate --cancel m-cancel >c.out 2>&1
crc=$?
reap "$mig" 60
mrc=$?
grep -q '"migration":{"status":"active"' info.out
check migrate_info_shows_progress $? "$(grep -o '"migration":[^}]*}' info.out)"
[[ $crc -eq 0 && $mrc -eq 1 ]] && grep -q cancelled m.out
check migrate_cancel $? "cancel rc=$crc migrate rc=$mrc $(cat m.out)"
source_survives migrate_cancel_source_goes_on s.out
kill -KILL "$DST" 2>/dev/null

# Nobody listening.
src m-nobody s.out --accel "$accel"
"$CVISOR" migrate m-nobody "tcp:127.0.0.1:$(port)" >m.out 2>&1
mrc=$?
[[ $mrc -eq 1 ]] && grep -q "cannot connect" m.out
check migrate_nobody_listening $? "rc=$mrc $(cat m.out)"
source_survives migrate_nobody_listening_source_goes_on s.out

# Bad arguments: one line, exit 2.
"$CVISOR" migrate m-none udp:1.2.3.4:5 >m.out 2>&1
mrc=$?
"$CVISOR" run --incoming tcp:127.0.0.1:0 </dev/null >r.out 2>&1
rrc=$?
[[ $rrc -eq 1 ]] && grep -q "port must be" r.out
check migrate_bad_incoming_port $? "rc=$rrc $(cat r.out)"
"$CVISOR" migrate m-none tcp:127.0.0.1:1 --downtime-ms 0 >m2.out 2>&1
[[ $? -eq 2 && $(wc -l <m2.out) -eq 1 ]]
check migrate_bad_downtime $? "$(cat m2.out)"
