#!/usr/bin/env bash
# virtio-net with user-mode networking on a real kvm_intel: the guest
# downloads a file from the Bochs host's HTTP server through the VMM's
# slirp (cvisor: libslirp; QEMU: -netdev user) and times it; MiB/s and the
# ratio cvisor/QEMU.
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh
# shellcheck source=bench/nested/lib.bash
. /cvisor/tests/nested/cases/lib.bash

# A bigger file than the suite's: 2 MiB of random bytes, eight times.
for _ in 1 2 3 4 5 6 7 8; do cat /cvisor/random; done >/www/big
bytes=$(stat -c %s /www/big)
# shellcheck disable=SC2016
script='ip link set eth0 up; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2
now() { cut -d" " -f1 /proc/uptime; }
wget -q -O /dev/null '"$NESTED_HTTP"'/blob
t0=$(now); wget -q -O /dev/null '"$NESTED_HTTP"'/big && t1=$(now) &&
awk -v b='"$bytes"' -v t0=$t0 -v t1=$t1 "BEGIN { t = t1 - t0; if (t <= 0) t = 0.01; printf \"NETB %.2f\\n\", b / 1048576 / t }"'
append=$(guest_cmdline "$script")

row() {
	local label=$1 v i vals=()
	shift
	for ((i = 0; i < RUNS; i++)); do
		timed "$TMP/out" "$@"
		v=$(sed -n 's/.*NETB \([0-9.]*\).*/\1/p' "$TMP/out" | tr -d '\r')
		vals+=("${v:--}")
	done
	ROW=$(printf '%s\n' "${vals[@]}" | grep -v '^-$' | median)
	echo "BENCH net $label http download: $ROW MiB/s (median of $RUNS)"
}

# shellcheck disable=SC2046
row cvisor $(cvisor_cmd 256) --cmdline "$append" --net user
cv=$ROW
row qemu "$QEMU" -M q35 -accel kvm -cpu host -m 256 -smp 1 -nographic \
	-no-reboot -nodefaults -no-user-config -serial stdio \
	-kernel "$LINUX_KERNEL" -initrd "$CVISOR_INITRD" -append "$append" \
	-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile=
echo "BENCH net ratio cvisor/qemu http download: $(ratio "$cv" "$ROW") (above 1: cvisor faster)"
[[ $cv != - ]]
check nested_bench_net_cvisor_ran $? "cvisor's guest printed no result: $(tail -c 300 "$TMP/out")"
