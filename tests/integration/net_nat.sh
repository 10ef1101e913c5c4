#!/bin/bash
# scripts/nat-bridge.sh, without a VM: in a "host" network namespace the
# test creates, the helper makes a bridge with NAT; a second namespace
# plugged into the bridge by a veth stands in for a guest, a third is the
# outside world, with no route back to the bridge's subnet. The stand-in
# reaches the outside only through the masquerade, and the outside sees
# the host's address. Then "down" removes everything again.
. "$(dirname "$0")/lib.sh"

name=net_nat
helper=$(cd "$(dirname "$0")/../.." && pwd)/scripts/nat-bridge.sh
[[ $EUID -eq 0 ]] || { skip $name "needs root (network namespaces)"; exit 0; }
command -v nft >/dev/null || command -v iptables >/dev/null ||
	{ skip $name "neither nft nor iptables installed"; exit 0; }
command -v python3 >/dev/null || { skip $name "no python3"; exit 0; }

h=cvnath$$ g=cvnatg$$ o=cvnato$$ srvs=()
# A name of its own: the helper's dnsmasq pid file (/run) is per bridge name.
br=cvnb$$
ip netns add $h 2>/dev/null || { skip $name "cannot create a network namespace"; exit 0; }
cleanup() {
	ip netns exec $h "$helper" down $br >/dev/null 2>&1
	for p in "${srvs[@]}"; do kill "$p" 2>/dev/null; done
	ip netns del $h 2>/dev/null
	ip netns del $g 2>/dev/null
	ip netns del $o 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add $g
ip netns add $o
hx() { ip netns exec $h "$@"; }
gx() { ip netns exec $g "$@"; }
ox() { ip netns exec $o "$@"; }

hx "$helper" up $br 192.168.100.1/24 >"$TMP/up" 2>&1
check "$name: helper brings up the bridge" $? "$(cat "$TMP/up")"
hx ip -o addr show dev $br | grep -q 'inet 192.168.100.1/24'
check "$name: bridge has the given address" $? "$(hx ip -o addr show dev $br)"

# the stand-in guest: a port on the bridge, the bridge as its gateway
hx ip link add gp type veth peer name g0 netns $g
hx ip link set gp master $br up
gx ip link set lo up
gx ip addr add 192.168.100.50/24 dev g0
gx ip link set g0 up
gx ip route add default via 192.168.100.1
# the outside: the host's uplink, and the host's default route through it
hx ip link add up0 type veth peer name o0 netns $o
hx ip addr add 198.51.100.1/24 dev up0
hx ip link set up0 up
hx ip route add default via 198.51.100.2
ox ip link set lo up
ox ip addr add 198.51.100.2/24 dev o0
ox ip link set o0 up

# serve NS ADDR: a TCP server on ADDR:8000 answering with the peer address.
serve() {
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8000))
s.listen()
print("ready", flush=True)
while True:
    c, a = s.accept()
    c.sendall(a[0].encode())
    c.close()
' "$2" >"$TMP/srv-$1" 2>&1 &
	srvs+=($!)
	for _ in $(seq 50); do grep -qs ready "$TMP/srv-$1" && break; sleep 0.1; done
}
# seen ADDR: from the stand-in guest, the address ADDR:8000 saw, or an error.
seen() {
	gx python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 8000), timeout=3)
print(s.recv(64).decode())
' "$1" 2>&1 | tail -n1
}
serve $h 192.168.100.1
serve $o 198.51.100.2

got=$(seen 192.168.100.1)
[[ $got == 192.168.100.50 ]]
check "$name: a bridge port reaches the host's bridge address" $? "got '$got'"
got=$(seen 198.51.100.2)
[[ $got == 198.51.100.1 ]]
check "$name: a bridge port reaches the outside, which sees the host's address (masquerade)" $? \
	"got '$got'; rules: $(hx nft list ruleset 2>&1 | tr '\n' ' ')"

hx "$helper" up $br 192.168.100.1/24 >"$TMP/again" 2>&1
[[ $? -ne 0 ]] && grep -q "'$br' already exists" "$TMP/again"
check "$name: a second 'up' on the same name is refused" $? "$(cat "$TMP/again")"
hx "$helper" up ${br}x 192.168.300.1/24 >"$TMP/bad" 2>&1
[[ $? -ne 0 ]] && grep -q "bad address '192.168.300.1/24'" "$TMP/bad" &&
	! hx ip link show ${br}x >/dev/null 2>&1
check "$name: a bad address is refused before anything is made" $? \
	"$(cat "$TMP/bad"); $(hx ip -o link show ${br}x 2>&1)"
ip netns exec $h setpriv --reuid=65534 --regid=65534 --clear-groups \
	--inh-caps=-all --bounding-set=-all "$helper" up ${br}y >"$TMP/perm" 2>&1
[[ $? -ne 0 ]] && grep -q "needs root (or CAP_NET_ADMIN)" "$TMP/perm"
check "$name: without root the helper says what it needs" $? "$(cat "$TMP/perm")"

hx "$helper" down $br >"$TMP/down" 2>&1
check "$name: helper takes the bridge down" $? "$(cat "$TMP/down")"
! hx ip link show $br >/dev/null 2>&1 &&
	! hx nft list tables 2>/dev/null | grep -q cvisor_nat_$br
check "$name: bridge and NAT table are gone after down" $? \
	"$(hx ip -o link show $br 2>&1) $(hx nft list tables 2>&1)"
got=$(seen 198.51.100.2)
[[ $got != 198.51.100.1 && $got == *Error* ]]
check "$name: no way out once the NAT bridge is down" $? "got '$got'"
