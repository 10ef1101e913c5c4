#!/bin/bash
# virtio-net bad input: each --net mistake is one line naming the value,
# and cvisor exits before the guest runs: status 2 for a malformed SPEC (a
# usage error, found while parsing), 1 for a backend that cannot be opened.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"

name=net_errors
kernel=$GUESTS/hello.elf
[[ -r $kernel ]] || { skip $name "no test guests (make guests)"; exit 0; }

# expect WHAT SPEC PATTERN [command prefix...]: a backend error (status 1)
# usage WHAT SPEC PATTERN: a malformed SPEC (status 2)
want=1
expect() {
	local what=$1 spec=$2 pat=$3
	shift 3
	timeout 20 "$@" "$CVISOR" run --accel emu --test-exit --memory 64M \
		--kernel "$kernel" --net "$spec" </dev/null >"$TMP/out" 2>&1
	rc=$?
	if [[ $rc != "$want" ]]; then
		fail "$name: $what" "exit status $rc: $(head -c 300 "$TMP/out")"
	elif ! grep -q -- "$pat" "$TMP/out"; then
		fail "$name: $what" "no '$pat' in: $(head -c 300 "$TMP/out")"
	else
		pass "$name: $what"
	fi
}
usage() {
	want=2 expect "$@"
}

usage "unknown backend" "vde,sock=/x" "unknown backend 'vde'"
usage "malformed hostfwd" "user,hostfwd=tcp::22" "bad hostfwd.*'tcp::22'"
usage "hostfwd port out of range" "user,hostfwd=tcp::70000-:22" "'tcp::70000-:22'"
usage "hostfwd bad protocol" "user,hostfwd=sctp::2222-:22" "'sctp::2222-:22'"
usage "malformed mac" "user,mac=52:54:00:12:34" "bad MAC address.*'52:54:00:12:34'"
usage "multicast mac" "user,mac=01:00:5e:00:00:01" "'01:00:5e:00:00:01'"
usage "malformed net" "user,net=10.0.2.0/33" "bad network.*'10.0.2.0/33'"
usage "net with host bits" "user,net=10.0.2.7/24" "'10.0.2.7/24'"
usage "unknown option" "user,speed=fast" "unknown option 'speed'"
usage "tap without ifname" "tap" "tap needs ifname"
expect "missing tap" "tap,ifname=cvnosuch0" "tap 'cvnosuch0' does not exist"
expect "not a tap" "tap,ifname=lo" "'lo' is not a tap"
expect "missing bridge" "bridge,br=cvnobr0" "bridge 'cvnobr0' does not exist"
usage "queues=0" "tap,ifname=tap0,queues=0" "bad queues (want a number from 1 to 16): '0'"
usage "queues over 16" "bridge,br=br0,queues=17" "bad queues.*'17'"
usage "queues not a number" "tap,ifname=tap0,queues=two" "bad queues.*'two'"
usage "queues with user mode" "user,queues=2" "user mode (libslirp) has a single queue"

# nine NICs: one more than a VM takes
nets=()
for _ in $(seq 9); do nets+=(--net user); done
timeout 20 "$CVISOR" run --accel emu --test-exit --memory 64M --kernel "$kernel" \
	"${nets[@]}" </dev/null >"$TMP/out" 2>&1
rc=$?
[[ $rc == 2 ]] && grep -q "at most 8 --net options" "$TMP/out"
check "$name: a ninth --net" $? "exit status $rc: $(head -c 300 "$TMP/out")"

# hostfwd onto a port someone holds
port=$(free_port)
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$port" &
holder=$!
# until it listens (a fixed pause lost the race on a loaded host)
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
expect "hostfwd port in use" "user,hostfwd=tcp:127.0.0.1:$port-:22" \
	"hostfwd cannot listen on tcp 127.0.0.1:$port"
kill $holder 2>/dev/null
wait $holder 2>/dev/null

# libslirp is opened only for --net user: a VM without it runs on a host
# that lacks it, and --net user says what is missing. The library is hidden
# behind an empty file in a private mount namespace.
lib=$(ldconfig -p | sed -n 's/.*libslirp\.so\.0 .*=> //p' | head -n1)
if [[ $EUID -ne 0 || -z $lib ]] || ! command -v unshare >/dev/null; then
	skip "$name: libslirp missing" "needs root, unshare and libslirp"
else
	hide="mount --bind /dev/null $(readlink -f "$lib") && exec \"\$@\""
	timeout 20 unshare -m sh -c "$hide" sh "$CVISOR" run --accel emu \
		--test-exit --memory 64M --kernel "$kernel" </dev/null >"$TMP/out" 2>&1
	check "$name: no --net user runs without libslirp" $? "$(head -c 300 "$TMP/out")"
	expect "libslirp missing" "user" "user-mode networking needs libslirp.so.0 (Debian package libslirp0)" \
		unshare -m sh -c "$hide" sh
fi

# No permission: an unprivileged user, in a namespace with a root tap and bridge.
if [[ $EUID -ne 0 || ! -c /dev/net/tun ]]; then
	skip "$name: permission messages" "needs root to set up"
elif ns=cvnete$$ && ! ip netns add $ns 2>/dev/null; then
	skip "$name: permission messages" "cannot create a network namespace"
else
	ip -n $ns tuntap add dev tap0 mode tap
	ip -n $ns link add br0 type bridge
	expect "queues=2 on a tap without multi_queue" "tap,ifname=tap0,queues=2" \
		"tap 'tap0' was made without multi_queue, queues=2 needs it" ip netns exec $ns
	# no /dev/net/tun to open (an empty /dev/net in a mount namespace)
	expect "no /dev/net/tun" "tap,ifname=tap0" \
		"tap 'tap0': cannot open /dev/net/tun: No such file or directory" \
		ip netns exec $ns unshare -m sh -c 'mount -t tmpfs none /dev/net && exec "$@"' sh
	# a single-queue tap another process holds
	ip netns exec $ns python3 -c 'import fcntl, os, struct, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"tap0", 0x1002))
print("held", flush=True)
time.sleep(30)' >"$TMP/held" 2>&1 &
	holder=$!
	for _ in $(seq 50); do grep -qs held "$TMP/held" && break; sleep 0.1; done
	expect "tap held by another process" "tap,ifname=tap0" \
		"tap 'tap0': cannot attach: .*in use by another process" ip netns exec $ns
	kill $holder 2>/dev/null
	wait $holder 2>/dev/null
	nobody=(ip netns exec $ns setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)
	if "${nobody[@]}" test -x "$CVISOR"; then
		expect "tap without permission" "tap,ifname=tap0" \
			"tap 'tap0'.*needs root or CAP_NET_ADMIN" "${nobody[@]}"
		expect "bridge without permission" "bridge,br=br0" \
			"bridge 'br0'.*needs root or CAP_NET_ADMIN" "${nobody[@]}"
	else
		skip "$name: permission messages" "$CVISOR not executable by nobody"
	fi
	ip netns del $ns
fi
