#!/usr/bin/env bash
# Snapshot and restore of a real Linux (the suite's guest): a counter kept
# in a tmpfs file goes on from where it was, the clock goes on without a
# jump, and after the restore a virtio-blk write reaches the image and a
# new connection through user-mode networking works. One snapshot is
# restored twice, under two names.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/net_lib.sh"

name=snapshot_linux
load_linux_assets $name || exit 0
accel=$(linux_accels | head -n1)
[[ -n $accel ]] || { skip $name "no accelerator boots Linux here"; exit 0; }
export CVISOR_RUNTIME_DIR=$TMP/run
cd "$TMP" || exit 1

mkdir -p www
head -c 100000 /dev/urandom >www/blob
want=$(sha256sum <www/blob | cut -d' ' -f1)
port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory www "$port" \
	>http.log 2>&1 &
http=$!
VM=
trap 'kill $http 2>/dev/null; [[ -n $VM ]] && kill -KILL $VM 2>/dev/null; rm -rf "$TMP"' EXIT
truncate -s 16M disk.raw

read -r -d '' cmd <<EOS
cat >/tmp/dhcp <<'S'
#!/bin/sh
[ "\$1" = bound ] || exit 0
ifconfig \$interface \$ip netmask \$subnet
route add default gw \$router
S
chmod +x /tmp/dhcp
ip link set eth0 up
udhcpc -i eth0 -s /tmp/dhcp -q -n -t 5 -T 2 >/dev/null || exit 3
echo 0 >/tmp/c
while :; do
	i=\$(cat /tmp/c); i=\$((i + 1)); echo \$i >/tmp/c
	echo "count \$i up \$(cut -d' ' -f1 /proc/uptime)"
	[ \$i -ge 40 ] && break
	sleep 0.25
done
printf 'restored-%s' \$(cat /tmp/c) | dd of=/dev/vda conv=fsync 2>/dev/null
wget -q -O /tmp/f http://10.0.2.2:$port/blob &&
	echo "sha \$(sha256sum /tmp/f | cut -d' ' -f1)"
exit 0
EOS

counts() { sed -n 's/^count \([0-9]*\) up .*/\1/p' "$1"; }
uptimes() { sed -n 's/^count [0-9]* up \([0-9.]*\).*/\1/p' "$1"; }

: >boot.out
"$CVISOR" run --name lxsnap --accel "$accel" --memory 192M --net user \
	--disk path=disk.raw \
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)" \
	</dev/null >boot.out 2>&1 &
VM=$!
for _ in $(seq 600); do
	c=$(counts boot.out | tail -n1)
	[[ -n $c ]] && ((c >= 8)) && break
	kill -0 $VM 2>/dev/null || break
	sleep 0.5
done
if [[ -z ${c:-} ]] || ((c < 8)); then
	fail ${name}_boot "$(tail -c 600 boot.out)"
	exit 0
fi
"$CVISOR" snapshot lxsnap snap --stop >snap.out 2>&1
src=$?
wait $VM
vrc=$?
VM=
before=$(counts boot.out | tail -n1)
up0=$(uptimes boot.out | tail -n1)
[[ $src -eq 0 && $vrc -eq 0 && $before -lt 40 ]]
check ${name}_snapshot_stop $? "snapshot rc=$src vm rc=$vrc last count $before $(cat snap.out)"
du -k snap/memory | awk '{print "memory file: " $1 " KiB on disk of 192 MiB"}'

# restore NAME [ARGS]: output in NAME.out, status in $rc.
restore() {
	local n=$1
	shift
	timeout --kill-after=5 300 "$CVISOR" run --restore snap --name "$n" \
		"$@" </dev/null >"$n.out" 2>&1
	rc=$?
}
check_restored() {
	local out=$1.out first up1
	first=$(counts "$out" | head -n1)
	up1=$(uptimes "$out" | head -n1)
	[[ $rc -eq 0 && $first -eq $((before + 1)) &&
	   $(counts "$out" | tail -n1) -eq 40 ]]
	check ${name}_${2}_counter_goes_on $? \
		"rc=$rc counted to $before, went on at $first: $(tail -c 400 "$out")"
	awk -v a="$up0" -v b="$up1" 'BEGIN { exit !(b > a && b - a < 10) }'
	check ${name}_${2}_clock_goes_on $? "uptime $up0 before, $up1 after"
	[[ $(head -c 11 disk.raw) == restored-40 ]]
	check ${name}_${2}_disk_write_reaches_image $? \
		"image starts with '$(head -c 11 disk.raw | tr -cd '[:print:]')'"
	grep -q "sha $want" "$out"
	check ${name}_${2}_user_net_connects $? "$(grep sha "$out")"
}
restore lxsnap-a
check_restored lxsnap-a first
# The first restore wrote to the disk: the second needs --force.
: >disk.raw && truncate -s 16M disk.raw
restore lxsnap-b
[[ $rc -eq 1 ]] && grep -q "changed since the snapshot" lxsnap-b.out
check ${name}_changed_disk_refused $? "rc=$rc $(head -c 300 lxsnap-b.out)"
restore lxsnap-b --force
check_restored lxsnap-b second
