#!/usr/bin/env bash
# Live migration of a real Linux between two "hosts": network namespaces
# ha and hb, each with a bridge whose uplink goes to a switch namespace,
# where a client namespace hc is plugged in too. The guest sits on a
# bridged tap (cvisor --net bridge) and serves an echo over TCP (busybox
# nc); the client sends a numbered line every 100 ms and checks every
# echo, across the migration from ha to hb: the connection survives and no
# line is lost. The guest writes numbered records to its disk, one shared
# image file, before and after; all of them are in the file afterwards.
. "$(dirname "$0")/lib.sh"

name=migrate_linux
[[ $EUID -eq 0 ]] || { skip $name "needs root (network namespaces, taps)"; exit 0; }
[[ -c /dev/net/tun ]] || { skip $name "no /dev/net/tun"; exit 0; }
load_linux_assets $name || exit 0
accel=$(linux_accels | head -n1)
[[ -n $accel ]] || { skip $name "no accelerator boots Linux here"; exit 0; }

id=$$
sw=cvsw$id ha=cvha$id hb=cvhb$id hc=cvhc$id
for ns in $sw $ha $hb $hc; do
	ip netns add $ns 2>/dev/null ||
		{ skip $name "cannot create network namespaces"; exit 0; }
done
PIDS=()
cleanup() {
	kill -KILL "${PIDS[@]}" 2>/dev/null
	for ns in $sw $ha $hb $hc; do ip netns del $ns 2>/dev/null; done
	[[ -n ${KEEP_TMP:-} ]] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP" || exit 1

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
nsx $sw ip link add sw0 type bridge
nsx $sw ip link set sw0 up
# plug NS ADDR: a veth from the switch into NS; hosts get a bridge br0
plug() {
	local ns=$1 addr=$2 dev
	ip link add "up$ns" netns $sw type veth peer name eth0 netns "$ns"
	nsx $sw ip link set "up$ns" master sw0 up
	nsx "$ns" ip link set lo up
	if [[ $ns == "$hc" ]]; then
		dev=eth0
	else
		nsx "$ns" ip link add br0 type bridge
		nsx "$ns" ip link set eth0 master br0
		nsx "$ns" ip link set br0 up
		dev=br0
	fi
	nsx "$ns" ip link set eth0 up
	nsx "$ns" ip addr add "$addr/24" dev $dev
}
plug $ha 10.77.0.1
plug $hb 10.77.0.2
plug $hc 10.77.0.3

truncate -s 16M disk.raw
read -r -d '' cmd <<'EOS'
ip link set eth0 up
ip addr add 10.77.0.10/24 dev eth0
nc -l -p 5000 -e /bin/cat &
echo MIG-READY
i=0
while :; do
	i=$((i + 1))
	printf 'rec %06d\n' $i | dd of=/dev/vda bs=16 seek=$i conv=fsync 2>/dev/null
	sleep 0.2
	[ $i -ge 900 ] && break
done
EOS
mkdir -p runa runb
VMARGS=(--name lxm --accel "$accel" --memory 128M --net bridge,br=br0
	--disk path=disk.raw
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD"
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)")

CVISOR_RUNTIME_DIR=$TMP/runb nsx $hb "$CVISOR" run \
	--incoming tcp:10.77.0.2:4444 </dev/null >b.out 2>&1 &
DST=$!
PIDS+=($DST)
CVISOR_RUNTIME_DIR=$TMP/runa nsx $ha "$CVISOR" run "${VMARGS[@]}" \
	</dev/null >a.out 2>&1 &
SRC=$!
PIDS+=($SRC)
for _ in $(seq 600); do
	grep -q MIG-READY a.out && break
	kill -0 $SRC 2>/dev/null || break
	sleep 0.5
done
if ! grep -q MIG-READY a.out; then
	fail ${name}_boot "$(tail -c 600 a.out)"
	exit 0
fi

# The client: a line every 100 ms, each echo checked, for 20 s.
nsx $hc python3 - >client.out 2>&1 <<'PY' &
import socket, time
s = None
for _ in range(100):
    try:
        s = socket.create_connection(("10.77.0.10", 5000), timeout=2)
        break
    except OSError:
        time.sleep(0.2)
if s is None:
    print("cannot connect")
    raise SystemExit(1)
s.settimeout(30)
f = s.makefile("rwb")
sent = ok = 0
worst = 0.0
end = time.time() + 20
while time.time() < end:
    t = time.time()
    line = b"line %06d\n" % sent
    f.write(line)
    f.flush()
    sent += 1
    if f.readline() == line:
        ok += 1
    worst = max(worst, time.time() - t)
    time.sleep(0.1)
print("sent %d echoed %d worst %.3f s" % (sent, ok, worst), flush=True)
PY
CLIENT=$!
PIDS+=($CLIENT)
sleep 4
CVISOR_RUNTIME_DIR=$TMP/runa "$CVISOR" migrate lxm tcp:10.77.0.2:4444 >m.out 2>&1
mrc=$?
wait $SRC
src_rc=$?
check ${name}_migrate_succeeds $((mrc + src_rc)) \
	"migrate rc=$mrc $(cat m.out); source rc=$src_rc $(tail -c 300 a.out)"
wait $CLIENT
read -r _ sent _ echoed _ worst _ <client.out
[[ -n $sent && $sent -gt 100 && $sent == "$echoed" ]]
check ${name}_tcp_connection_survives $? "$(cat client.out)"

# A few more records at the destination, then the VM stops.
sleep 3
CVISOR_RUNTIME_DIR=$TMP/runb "$CVISOR" stop lxm --force >/dev/null 2>&1
reap() { timeout "$2" tail --pid="$1" -f /dev/null; kill -KILL "$1" 2>/dev/null; wait "$1"; }
reap $DST 30
recs=$(strings disk.raw | grep -c '^rec ')
last=$(strings disk.raw | sed -n 's/^rec 0*\([0-9]*\)$/\1/p' | sort -n | tail -n1)
[[ -n $last && $recs -eq $last && $last -gt 30 ]]
check ${name}_disk_writes_before_and_after $? \
	"$recs records, last $last"
