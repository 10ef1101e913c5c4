#!/bin/bash
# virtio-net over user-mode networking (libslirp), one Linux boot under the
# software CPU: DHCP lease, a download from a host HTTP server through
# 10.0.2.2 (host loopback) with a hash check, and a host connection into a
# guest TCP service through hostfwd. As root, cvisor runs in a mount
# namespace whose /etc/resolv.conf names a DNS stub the test starts on
# 127.0.0.77: the guest's lookup through 10.0.2.3 must reach it (UDP).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"

name=net_user
load_linux_assets $name || exit 0
accel=$(linux_accels | tail -n1)
[[ -n $accel ]] || { skip $name "no accelerator boots Linux here"; exit 0; }
command -v python3 >/dev/null || { skip $name "no python3"; exit 0; }


mkdir -p "$TMP/www"
head -c 300000 /dev/urandom >"$TMP/www/blob"
want=$(sha256sum <"$TMP/www/blob" | cut -d' ' -f1)
http_port=$(free_port)
fwd_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$http_port" \
	>"$TMP/http.log" 2>&1 &
http_pid=$!
dns_pid=
trap 'kill $http_pid $dns_pid 2>/dev/null; [[ -n $vm_pid ]] && kill $vm_pid 2>/dev/null; rm -rf "$TMP"' EXIT

# The host's resolver, as slirp sees it: answers files.cvisor.test A with
# 192.0.2.99, anything else with no records.
wrap=()
if [[ $EUID -eq 0 ]] && command -v unshare >/dev/null; then
	python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind(("127.0.0.77", 53))
except OSError as e:
    print("cannot bind:", e, flush=True)
    sys.exit(0)
print("ready", flush=True)
while True:
    q, a = s.recvfrom(512)
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace"))
        i += 1 + q[i]
    if len(q) < i + 5:
        continue
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    name = ".".join(labels)
    print("query", name, qtype, flush=True)
    ans = b""
    if name == "files.cvisor.test" and qtype == 1:
        ans = struct.pack(">HHHIH", 0xc00c, 1, 1, 60, 4) + socket.inet_aton("192.0.2.99")
    hdr = q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1 if ans else 0, 0, 0)
    s.sendto(hdr + q[12:i + 5] + ans, a)
' >"$TMP/dns.log" 2>&1 &
	dns_pid=$!
	for _ in $(seq 50); do grep -qs -e ready -e cannot "$TMP/dns.log" && break; sleep 0.1; done
	echo "nameserver 127.0.0.77" >"$TMP/resolv.conf"
	grep -qs ready "$TMP/dns.log" &&
		wrap=(unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$TMP/resolv.conf")
fi

# Only with the stub in place: else slirp would ask the host's real resolver.
dns_lookup=
[[ ${#wrap[@]} -gt 0 ]] &&
	dns_lookup="nslookup files.cvisor.test 10.0.2.3 2>&1 | sed 's/^/dns: /'"

# udhcpc calls this script with the lease in its environment.
read -r -d '' cmd <<EOS
cat >/tmp/dhcp <<'S'
#!/bin/sh
[ "\$1" = bound ] || exit 0
ifconfig \$interface \$ip netmask \$subnet
route add default gw \$router
echo "lease \$ip router \$router dns \$dns"
S
chmod +x /tmp/dhcp
cat /sys/class/net/eth0/address | sed 's/^/mac /'
cat /sys/class/net/eth1/address | sed 's/^/mac1 /'
# control queue: RX mode and MAC address commands
ip link set eth0 promisc on && ip link set eth0 address 52:54:00:ab:cd:ef &&
	echo ctrl-ok
ip link set eth0 up
echo "carrier \$(cat /sys/class/net/eth0/carrier)"
udhcpc -i eth0 -s /tmp/dhcp -q -n -t 5 -T 2 || exit 3
wget -q -O /tmp/blob http://10.0.2.2:$http_port/blob || exit 4
echo "sha \$(sha256sum /tmp/blob | cut -d' ' -f1)"
$dns_lookup
# driver unbind + bind: the device resets and starts again
v=\$(basename \$(readlink /sys/class/net/eth0/device))
echo \$v >/sys/bus/virtio/drivers/virtio_net/unbind
echo \$v >/sys/bus/virtio/drivers/virtio_net/bind
i=\$(ls /sys/bus/virtio/devices/\$v/net/)
echo "rebound \$v as \$i"
ip link set \$i up && ip addr add 10.0.2.15/24 dev \$i
wget -q -O /tmp/blob2 http://10.0.2.2:$http_port/blob &&
	echo "sha-after-reset \$(sha256sum /tmp/blob2 | cut -d' ' -f1)"
ip link set eth1 up
udhcpc -i eth1 -s /tmp/dhcp -q -n -t 5 -T 2 2>/dev/null
echo fwd-listening
timeout 60 nc -l -p 7777 </tmp/blob || exit 5
EOS

# The script rides in an initramfs appended to the test one: the ELF
# kernel's command line is too short for it.
net_initrd "$TMP/initrd" "$cmd"
timeout --kill-after=5 120 "${wrap[@]}" "$CVISOR" run --accel "$accel" \
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$TMP/initrd" \
	--memory 256M --name net-user-test \
	--net "user,hostfwd=tcp:127.0.0.1:$fwd_port-:7777,hostfwd=udp::$(free_port)-:9" \
	--net user,net=10.9.0.0/16 \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test=\"sh /net-test\"" \
	</dev/null >"$TMP/out" 2>&1 &
vm_pid=$!

# The host side of hostfwd: connect once the guest listens, read to EOF.
for _ in $(seq 600); do
	grep -qs fwd-listening "$TMP/out" && break
	kill -0 $vm_pid 2>/dev/null || break
	sleep 0.2
done
got=$(python3 - "$fwd_port" <<'EOF2'
import hashlib, socket, sys, time
port = int(sys.argv[1])
for _ in range(50):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit(1)
h = hashlib.sha256()
n = 0
while True:
    b = s.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
    if n >= 300000:
        break
s.close()
print(h.hexdigest())
EOF2
)
wait $vm_pid
rc=$?
vm_pid=

grep -q "lease 10.0.2.15 router 10.0.2.2 dns 10.0.2.3" "$TMP/out"
check "$name: DHCP lease 10.0.2.15 via 10.0.2.2, DNS 10.0.2.3" $? \
	"$(grep -a -E 'lease|result' "$TMP/out" | tr '\n' ' ') rc=$rc"
grep -q "sha $want" "$TMP/out"
check "$name: guest downloads from host 127.0.0.1 via 10.0.2.2" $? \
	"$(grep -a -E '^sha|result' "$TMP/out" | tr '\n' ' ')"
[[ $got == "$want" ]]
check "$name: host reads a guest TCP service through hostfwd" $? \
	"got '${got}' want $want"
[[ $(guest_result) == 0 && $rc == 0 ]]
check "$name: guest test command and cvisor exit cleanly" $? \
	"result '$(guest_result)' rc=$rc: $(tail -n5 "$TMP/out" | tr '\n' ' ')"
if [[ ${#wrap[@]} -gt 0 ]]; then
	grep -q "^dns: .*192\.0\.2\.99" "$TMP/out" &&
		grep -q "^query files.cvisor.test 1" "$TMP/dns.log"
	check "$name: guest resolves a name through 10.0.2.3 (host resolver, UDP)" $? \
		"guest: $(grep -a '^dns:' "$TMP/out" | tr '\n' ' ') stub: $(head -c 200 "$TMP/dns.log")"
else
	skip "$name: DNS through 10.0.2.3" \
		"needs root for a mount namespace and a stub resolver on 127.0.0.77:53 ($(head -c 100 "$TMP/dns.log" 2>/dev/null))"
fi
grep -q "^ctrl-ok" "$TMP/out"
check "$name: control queue takes promisc and a new MAC" $? \
	"$(grep -a -i -E 'ctrl|virtio_net' "$TMP/out" | head -3 | tr '\n' ' ')"
grep -q "^carrier 1" "$TMP/out"
check "$name: link status reads up (carrier 1)" $? \
	"$(grep -a '^carrier' "$TMP/out")"
grep -q "^mac 52:54:00:" "$TMP/out"
check "$name: MAC address is locally administered 52:54:00:xx" $? \
	"$(grep -a '^mac' "$TMP/out")"
mac0=$(sed -n 's/^mac \([0-9a-f:]*\).*/\1/p' "$TMP/out")
mac1=$(sed -n 's/^mac1 \([0-9a-f:]*\).*/\1/p' "$TMP/out")
[[ $mac1 == 52:54:00:* && $mac1 != "$mac0" ]]
check "$name: a second --net is a second NIC with its own MAC" $? \
	"eth0 '$mac0' eth1 '$mac1'"
grep -q "lease 10.9.0.15 router 10.9.0.2 dns 10.9.0.3" "$TMP/out"
check "$name: net=10.9.0.0/16 moves DHCP, gateway and DNS" $? \
	"$(grep -a 'lease' "$TMP/out" | tr '\n' ' ')"
grep -q "^rebound virtio[0-9]* as eth" "$TMP/out" &&
	grep -q "sha-after-reset $want" "$TMP/out"
check "$name: works again after a driver unbind/bind (device reset)" $? \
	"$(grep -a -E 'rebound|sha-after|virtio' "$TMP/out" | head -3 | tr '\n' ' ')"
