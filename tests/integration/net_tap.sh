#!/bin/bash
# virtio-net over tap and bridge, in a network namespace of its own: a
# bridge with an address, one guest on an existing tap (tap backend, fixed
# MAC), one on a tap cvisor makes and attaches (bridge backend, queues=2
# but one vCPU: Linux uses one pair, so the second tap queue must get no
# frames), and one with two vCPUs on a multi_queue tap with queues=2. The
# guests ping each other and the bridge, and the others fetch a file from
# the first (hash checked); the two-vCPU guest once from each vCPU, so
# each of its transmit queues starts a flow. Three Linux boots, run side
# by side.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"

name=net_tap
[[ $EUID -eq 0 ]] || { skip $name "needs root (network namespace, taps)"; exit 0; }
[[ -c /dev/net/tun ]] || { skip $name "no /dev/net/tun"; exit 0; }
load_linux_assets $name || exit 0
accel=$(linux_accels | tail -n1)
[[ -n $accel ]] || { skip $name "no accelerator boots Linux here"; exit 0; }

ns=cvnet$$
ip netns add $ns 2>/dev/null || { skip $name "cannot create a network namespace"; exit 0; }
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	ip netns del $ns 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
nsx() { ip netns exec $ns "$@"; }
nsx ip link set lo up
nsx ip link add br0 type bridge
nsx ip addr add 192.168.77.1/24 dev br0
nsx ip link set br0 up
nsx ip tuntap add dev tap0 mode tap vnet_hdr
nsx ip link set tap0 master br0 up
nsx ip tuntap add dev tap1 mode tap multi_queue vnet_hdr
nsx ip link set tap1 master br0 up

# Frame sizes on the taps as the host kernel sees them: over 1514 bytes
# only when a guest hands it TCP segmentation (from a guest, "in") or
# accepts coalesced frames (to a guest, "out"), each negotiated offload.
ip netns exec $ns python3 -c '
import signal, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
big = {}
def done(*_):
    for k, v in sorted(big.items()):
        print(k[0], k[1], v)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
while True:
    b, a = s.recvfrom(1 << 17)
    k = (a[0], "out" if a[2] == socket.PACKET_OUTGOING else "in")
    if len(b) > big.get(k, 0):
        big[k] = len(b)
' >"$TMP/sizes" 2>&1 &
sniffer=$!
pids+=($sniffer)
for _ in $(seq 50); do grep -qs ready "$TMP/sizes" && break; sleep 0.1; done

# Guest A: existing tap, serves a random file, opens new flows into B
# (each one's first frame lands on a tap queue of the host kernel's
# choosing: one no one reads would lose it), waits for B's "done".
read -r -d '' cmd_a <<'EOS'
cat /sys/class/net/eth0/address | sed 's/^/mac-a /'
ip link set eth0 up && ip addr add 192.168.77.11/24 dev eth0 || exit 2
ping -c 2 -W 5 192.168.77.1 >/dev/null && echo a-pinged-bridge
mkdir /www && head -c 400000 /dev/urandom >/www/f
echo "sha-a $(sha256sum /www/f | cut -d' ' -f1)"
httpd -p 8080 -h /www || exit 3
(timeout 150 nc -l -p 5001 | grep -q done && echo a-got-done) &
(timeout 150 nc -l -p 5002 | grep -q done && echo a-got-done-c) &
for i in $(seq 90); do ping -c 1 -W 1 192.168.77.12 >/dev/null && break; done
ping -c 2 -W 5 192.168.77.12 >/dev/null && echo a-pinged-b
n=0
for i in $(seq 8); do
	timeout 5 wget -q -O - http://192.168.77.12:8081/x | grep -q flow-ok && n=$((n + 1))
done
echo "a-flows-to-b $n"
echo done | timeout 5 nc 192.168.77.12 5003
wait
EOS
# Guest B: on the bridge through a tap of cvisor's, serves A's flows
# (up before its address, so before A can reach it), fetches A's file.
read -r -d '' cmd_b <<'EOS'
echo "queues-b $(ls /sys/class/net/eth0/queues | tr '\n' ' ')"
cat /sys/class/net/eth0/address | sed 's/^/mac-b /'
mkdir /wb && echo flow-ok >/wb/x && httpd -p 8081 -h /wb || exit 3
(timeout 150 nc -l -p 5003 | grep -q done && echo b-got-done) &
ip link set eth0 up && ip addr add 192.168.77.12/24 dev eth0 || exit 2
ping -c 2 -W 5 192.168.77.1 >/dev/null && echo b-pinged-bridge
for i in $(seq 90); do ping -c 1 -W 1 192.168.77.11 >/dev/null && break; done
ping -c 2 -W 5 192.168.77.11 >/dev/null && echo b-pinged-a
for i in $(seq 60); do
	wget -q -O /tmp/f http://192.168.77.11:8080/f && break
	sleep 1
done
echo "sha-b $(sha256sum /tmp/f | cut -d' ' -f1)"
echo done | timeout 5 nc 192.168.77.11 5001
wait
true
EOS
# Guest C: two vCPUs, two queue pairs; Linux sends from CPU n on queue n.
read -r -d '' cmd_c <<'EOS'
echo "queues-c $(ls /sys/class/net/eth0/queues | tr '\n' ' ')"
ip link set eth0 up && ip addr add 192.168.77.13/24 dev eth0 || exit 2
ping -c 2 -W 5 192.168.77.1 >/dev/null && echo c-pinged-bridge
for i in $(seq 90); do ping -c 1 -W 1 192.168.77.11 >/dev/null && break; done
for cpu in 0 1; do
	for i in $(seq 60); do
		taskset $((1 << cpu)) wget -q -O /tmp/f$cpu http://192.168.77.11:8080/f && break
		sleep 1
	done
	echo "sha-c$cpu $(sha256sum /tmp/f$cpu | cut -d' ' -f1)"
done
awk '$NF ~ /^virtio[0-9]+-(input|output)\.[0-9]+$/ { s = 0
	for (i = 2; $i ~ /^[0-9]+$/; i++) s += $i
	sub(/^virtio[0-9]+-/, "", $NF)
	print "irq-c", $NF, s }' /proc/interrupts
echo done | timeout 5 nc 192.168.77.11 5002
true
EOS

boot() {	# boot TAG INITRD-SCRIPT NET-SPEC [cvisor run args...]
	local tag=$1 script=$2 spec=$3
	shift 3
	net_initrd "$TMP/initrd-$tag" "$script"
	nsx timeout --kill-after=5 240 "$CVISOR" run --accel "$accel" \
		--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
		--initrd "$TMP/initrd-$tag" --memory 256M --name "net-$tag" \
		--net "$spec" "$@" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.test=\"sh /net-test\"" \
		</dev/null >"$TMP/out-$tag" 2>&1
	echo $? >"$TMP/rc-$tag"
}
boot a "$cmd_a" tap,ifname=tap0,mac=52:54:00:12:34:56 &
pids+=($!)
boot b "$cmd_b" bridge,br=br0,queues=2 &
pids+=($!)
boot c "$cmd_c" tap,ifname=tap1,queues=2 --cpus 2 &
pids+=($!)
# B's tap shows up on the bridge while it runs.
ports=
for _ in $(seq 100); do
	ports=$(nsx ip -o link show master br0 2>/dev/null | grep -c cvtap)
	[[ $ports -ge 1 ]] && break
	sleep 0.2
done
wait "${pids[@]:1}"
kill $sniffer
wait $sniffer
pids=()

out() { grep -a "$1" "$TMP/out-$2"; }
check "$name: tap guest has the MAC from mac=" \
	"$(out '^mac-a 52:54:00:12:34:56' a >/dev/null; echo $?)" "$(out '^mac-a' a)"
check "$name: bridge backend adds its tap to br0" "$([[ $ports -ge 1 ]]; echo $?)" \
	"no cvtap port on br0"
check "$name: tap guest pings the bridge" "$(out a-pinged-bridge a >/dev/null; echo $?)" \
	"$(tail -n3 "$TMP/out-a" | tr '\n' ' ')"
check "$name: queues=2 guest with one vCPU uses one pair" \
	"$(out '^queues-b rx-0 tx-0 *.\?$' b >/dev/null; echo $?)" "$(out '^queues-b' b)"
check "$name: new flows into the one-pair guest all arrive" \
	"$(out '^a-flows-to-b 8' a >/dev/null && out b-got-done b >/dev/null; echo $?)" \
	"$(out '^a-flows-to-b' a) $(out b-got-done b)"
check "$name: bridge guest pings the bridge" "$(out b-pinged-bridge b >/dev/null; echo $?)" \
	"$(tail -n3 "$TMP/out-b" | tr '\n' ' ')"
check "$name: guests ping each other" \
	"$(out a-pinged-b a >/dev/null && out b-pinged-a b >/dev/null; echo $?)" \
	"$(out pinged a) $(out pinged b)"
sha_a=$(out '^sha-a' a | cut -d' ' -f2)
sha_b=$(out '^sha-b' b | cut -d' ' -f2)
check "$name: file guest to guest, hash matches" \
	"$([[ -n $sha_a && $sha_a == "$sha_b" ]]; echo $?)" "a '$sha_a' b '$sha_b'"
check "$name: both guests finish, cvisor exits 0" \
	"$(out a-got-done a >/dev/null && [[ $(cat "$TMP/rc-a") == 0 && $(cat "$TMP/rc-b") == 0 ]]; echo $?)" \
	"rc a=$(cat "$TMP/rc-a") b=$(cat "$TMP/rc-b")"
check "$name: the bridge backend's tap is gone after exit" \
	"$(! nsx ip -o link show | grep -q cvtap; echo $?)" "$(nsx ip -o link show | grep cvtap)"
size() { awk -v i="$1" -v d="$2" '$1 == i && $2 == d { print $3 }' "$TMP/sizes"; }
check "$name: a guest's TCP segmentation reaches the tap whole (HOST_TSO)" \
	"$([[ $(size tap0 in) -gt 1514 ]] 2>/dev/null; echo $?)" \
	"largest frame from guest A: '$(size tap0 in)'"
check "$name: a guest takes coalesced frames from the tap (GUEST_TSO)" \
	"$([[ $(size tap1 out) -gt 1514 ]] 2>/dev/null; echo $?)" \
	"largest frame to guest C: '$(size tap1 out)'"

# The multiqueue guest (C).
check "$name: queues=2 guest has rx-0 rx-1 tx-0 tx-1" \
	"$(out '^queues-c rx-0 rx-1 tx-0 tx-1 *.\?$' c >/dev/null; echo $?)" "$(out '^queues-c' c)"
check "$name: queues=2 guest pings the bridge" "$(out c-pinged-bridge c >/dev/null; echo $?)" \
	"$(tail -n3 "$TMP/out-c" | tr '\n' ' ')"
sha_c0=$(out '^sha-c0' c | cut -d' ' -f2)
sha_c1=$(out '^sha-c1' c | cut -d' ' -f2)
check "$name: queues=2 guest fetches the file from each vCPU, hashes match" \
	"$([[ -n $sha_a && $sha_a == "$sha_c0" && $sha_a == "$sha_c1" ]]; echo $?)" \
	"a '$sha_a' c0 '$sha_c0' c1 '$sha_c1'"
irq() { out "^irq-c $1 " c | tr -d '\r' | awk '{ print $3 }'; }
check "$name: both receive queues of the queues=2 guest carry frames" \
	"$([[ $(irq input.0) -gt 0 && $(irq input.1) -gt 0 ]] 2>/dev/null; echo $?)" "$(out '^irq-c' c | tr '\n' ' ')"
check "$name: queues=2 guest finishes, cvisor exits 0" \
	"$(out a-got-done-c a >/dev/null && [[ $(cat "$TMP/rc-c") == 0 ]]; echo $?)" \
	"rc c=$(cat "$TMP/rc-c")"
