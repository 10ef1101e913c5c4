#!/usr/bin/env bash
# virtio-net: iperf3 between the test guest and the host, cvisor against
# QEMU in the same run, over a tap (QEMU: -netdev tap,vhost=off) and over
# user-mode networking (QEMU: -netdev user), virtio-net-pci on both sides.
# Prints Gbit/s guest->host (tx) and host->guest (rx) and the ratio
# cvisor/QEMU (higher is better for cvisor).
#
# The host's iperf3 and its libraries ride into the guest as an initramfs
# appended to the test one. The tap runs in a network namespace of its own
# (needs root; without it only user mode runs). Needs hardware KVM: under
# an emulator the numbers would measure the CPU emulation, so it skips.
#
# Usage: bench/net.sh [build dir]        (BENCH_RUNTIME=seconds per direction)
#        BENCH_ACCEL=emu bench/net.sh    smoke-test the script without KVM
set -u
. "$(dirname "$0")/lib.sh"
bench_init net_bench "${1:-}"
RUNTIME=${BENCH_RUNTIME:-10}
bench_assets
command -v iperf3 >/dev/null || skip "no iperf3 on the host to put in the guest"
command -v "$QEMU" >/dev/null || skip "no $QEMU"
command -v cpio >/dev/null || skip "no cpio"
ACCEL=${BENCH_ACCEL:-kvm}
if [[ $ACCEL == kvm ]]; then
	hw_kvm || skip "no hardware KVM on this host"
	QEMU_ACCEL="accel=kvm -cpu host"
else
	echo "warning: BENCH_ACCEL=$ACCEL compares emulators, not virtio-net"
	QEMU_ACCEL="accel=tcg"
fi

TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/cvisor-bench.XXXXXX")
NS=cvbench$$
SERVER_PID=
cleanup() {
	[[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null
	ip netns del $NS 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
[[ -n ${BENCH_KEEP:-} ]] && trap "echo kept \$TMP" EXIT

# iperf3 and everything it loads, as an initramfs overlay.
mkdir -p "$TMP/root/usr/bin"
cp -L "$(command -v iperf3)" "$TMP/root/usr/bin/iperf3"
ldd "$(command -v iperf3)" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}' |
while read -r lib; do
	mkdir -p "$TMP/root$(dirname "$lib")"
	cp -L "$lib" "$TMP/root$lib"
done
[[ -s $TMP/root/usr/bin/iperf3 ]] || skip "cannot copy iperf3 into the guest"

# make_initrd NAME GUEST-IP GATEWAY SERVER PORT
make_initrd() {
	cat >"$TMP/root/net-test" <<EOS
ip link set eth0 up
ip addr add $2/24 dev eth0
ip route add default via $3
iperf3 -v >/dev/null 2>&1 || { echo "BENCH-ERROR iperf3 does not run in the guest"; exit 1; }
for i in 1 2 3 4 5; do ping -c 1 -W 1 $4 >/dev/null 2>&1 && break; done
iperf3 -c $4 -p $5 -t $RUNTIME -f g | awk '/receiver/ { print "BENCH tx", \$(NF-2) }'
iperf3 -c $4 -p $5 -t $RUNTIME -f g -R | awk '/receiver/ { print "BENCH rx", \$(NF-2) }'
EOS
	(cd "$TMP/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$TMP/$1.cpio.gz"
	cat "$CVISOR_INITRD" "$TMP/$1.cpio.gz" >"$TMP/initrd-$1"
}

append="console=ttyS0 quiet panic=-1 cvisor.test=\"sh /net-test\""
limit=$((RUNTIME * 2 + ${BENCH_BOOT_LIMIT:-120}))

# run WHO MODE [prefix...]: one boot; output in $TMP/WHO-MODE.out
run() {
	local who=$1 mode=$2 net
	shift 2
	if [[ $who == cvisor ]]; then
		[[ $mode == tap ]] && net=tap,ifname=tap0 || net=user
		timeout "$limit" "$@" "$CVISOR" run --accel "$ACCEL" --memory 1G \
			--cpus 2 --kernel "$CVISOR_KERNEL" --initrd "$TMP/initrd-$mode" \
			--cmdline "$append" --net "$net" \
			</dev/null >"$TMP/$who-$mode.out" 2>&1
	else
		[[ $mode == tap ]] &&
			net=tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off ||
			net=user,id=n0
		# shellcheck disable=SC2086
		timeout "$limit" "$@" "$QEMU" -machine q35,$QEMU_ACCEL -m 1G -smp 2 \
			-kernel "$CVISOR_KERNEL" -initrd "$TMP/initrd-$mode" \
			-append "$append" -netdev "$net" \
			-device virtio-net-pci,netdev=n0 \
			-display none -serial stdio -no-reboot -monitor none \
			</dev/null >"$TMP/$who-$mode.out" 2>&1
	fi
}

modes=()
# user mode: iperf3 on the host's loopback, 10.0.2.2 from the guest
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
make_initrd user 10.0.2.15 10.0.2.2 10.0.2.2 "$port"
iperf3 -s -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
SERVER_PID=$!
sleep 0.5
run cvisor user
run qemu user
kill $SERVER_PID 2>/dev/null
wait $SERVER_PID 2>/dev/null
SERVER_PID=
modes+=(user)

# tap: a namespace with tap0 at 192.168.78.1, iperf3 listening there
if [[ $EUID -ne 0 ]] || ! ip netns add $NS 2>/dev/null; then
	echo "SKIP: net_bench: tap: needs root for a network namespace and a tap"
else
	ip -n $NS link set lo up
	ip -n $NS tuntap add dev tap0 mode tap vnet_hdr
	ip -n $NS addr add 192.168.78.1/24 dev tap0
	ip -n $NS link set tap0 up
	make_initrd tap 192.168.78.2 192.168.78.1 192.168.78.1 5201
	ip netns exec $NS iperf3 -s -B 192.168.78.1 -p 5201 >/dev/null 2>&1 &
	SERVER_PID=$!
	sleep 0.5
	run cvisor tap ip netns exec $NS
	run qemu tap ip netns exec $NS
	modes+=(tap)
fi

status=0
for mode in "${modes[@]}"; do
	for who in cvisor qemu; do
		grep -q '^BENCH ' <(tr -d '\r' <"$TMP/$who-$mode.out") || {
			echo "FAIL: net_bench: no results from $who over $mode:"
			tail -n 20 "$TMP/$who-$mode.out"
			status=1
		}
	done
done
[[ $status == 0 ]] || exit 1

printf '%-10s %14s %14s %8s\n' test cvisor-Gbit/s qemu-Gbit/s ratio
for mode in "${modes[@]}"; do
	for dir in tx rx; do
		c=$(tr -d '\r' <"$TMP/cvisor-$mode.out" | awk -v d=$dir '$1 == "BENCH" && $2 == d {print $3}')
		q=$(tr -d '\r' <"$TMP/qemu-$mode.out" | awk -v d=$dir '$1 == "BENCH" && $2 == d {print $3}')
		ratio=$(awk -v c="${c:-0}" -v q="${q:-0}" 'BEGIN { if (q > 0) printf "%.2f", c / q; else print "n/a" }')
		printf '%-10s %14s %14s %8s\n' "$mode-$dir" "${c:-none}" "${q:-none}" "$ratio"
	done
done
echo "PASS: net_bench"
