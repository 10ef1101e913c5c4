#!/bin/bash
# virtio-net over tap and bridge, in a network namespace of its own: a
# bridge with an address, one guest on an existing tap (tap backend, fixed
# MAC), one on a tap cvisor makes and attaches (bridge backend). The
# guests ping each other and the bridge, and one fetches a file from the
# other (hash checked). Two Linux boots, run side by side.
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

# Guest A: existing tap, serves a random file, waits for B's "done".
read -r -d '' cmd_a <<'EOS'
cat /sys/class/net/eth0/address | sed 's/^/mac-a /'
ip link set eth0 up && ip addr add 192.168.77.11/24 dev eth0 || exit 2
ping -c 2 -W 5 192.168.77.1 >/dev/null && echo a-pinged-bridge
mkdir /www && head -c 400000 /dev/urandom >/www/f
echo "sha-a $(sha256sum /www/f | cut -d' ' -f1)"
httpd -p 8080 -h /www || exit 3
for i in $(seq 90); do ping -c 1 -W 1 192.168.77.12 >/dev/null && break; done
ping -c 2 -W 5 192.168.77.12 >/dev/null && echo a-pinged-b
timeout 120 nc -l -p 5001 | grep -q done && echo a-got-done
EOS
# Guest B: on the bridge through a tap of cvisor's, fetches A's file.
read -r -d '' cmd_b <<'EOS'
cat /sys/class/net/eth0/address | sed 's/^/mac-b /'
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
true
EOS

boot() {	# boot TAG INITRD-SCRIPT NET-SPEC
	net_initrd "$TMP/initrd-$1" "$2"
	nsx timeout --kill-after=5 240 "$CVISOR" run --accel "$accel" \
		--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
		--initrd "$TMP/initrd-$1" --memory 256M --name "net-$1" \
		--net "$3" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.test=\"sh /net-test\"" \
		</dev/null >"$TMP/out-$1" 2>&1
	echo $? >"$TMP/rc-$1"
}
boot a "$cmd_a" tap,ifname=tap0,mac=52:54:00:12:34:56 &
pids+=($!)
boot b "$cmd_b" bridge,br=br0 &
pids+=($!)
# B's tap shows up on the bridge while it runs.
ports=
for _ in $(seq 100); do
	ports=$(nsx ip -o link show master br0 2>/dev/null | grep -c cvtap)
	[[ $ports -ge 1 ]] && break
	sleep 0.2
done
wait "${pids[@]}"
pids=()

out() { grep -a "$1" "$TMP/out-$2"; }
check "$name: tap guest has the MAC from mac=" \
	"$(out '^mac-a 52:54:00:12:34:56' a >/dev/null; echo $?)" "$(out '^mac-a' a)"
check "$name: bridge backend adds its tap to br0" "$([[ $ports -ge 1 ]]; echo $?)" \
	"no cvtap port on br0"
check "$name: tap guest pings the bridge" "$(out a-pinged-bridge a >/dev/null; echo $?)" \
	"$(tail -n3 "$TMP/out-a" | tr '\n' ' ')"
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
