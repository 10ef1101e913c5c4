#!/usr/bin/env bash
# Live migration of Linux on KVM inside the Bochs host, source and
# destination on its loopback, two vCPUs: dirty logging (KVM_GET_DIRTY_LOG) on a real
# kvm_intel, the counter in tmpfs goes on at the destination, the disk
# image changes hands, and both ends exit 0.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh
cd "$TMP" || exit 1

truncate -s 8M disk.raw
"$CVISOR" run --incoming tcp:127.0.0.1:4444 --name mig-dst </dev/null \
	>dst.out 2>&1 &
DST=$!
start_vm mig src.out 'echo 0 >/tmp/c
while :; do
	i=$(cat /tmp/c); i=$((i + 1)); echo $i >/tmp/c
	echo "count $i"
	printf "rec %06d\n" $i | dd of=/dev/vda bs=16 seek=$i conv=fsync 2>/dev/null
	[ $i -ge 60 ] && break
	sleep 0.25
done' --memory 192M --cpus 2 --disk path=disk.raw
# counts [FILE]: the counter's values, from FILE or standard input
counts() { sed -n 's/^count \([0-9]*\)\r*$/\1/p' "$@"; }
if ! wait_for src.out "^count 8" 600 "$VM"; then
	fail nested_kvm_migrate_boot "$(tail -c 400 src.out)"
	kill -KILL "$DST" 2>/dev/null
	exit 0
fi
timeout 600 "$CVISOR" migrate mig tcp:127.0.0.1:4444 >m.out 2>&1
mrc=$?
wait "$VM"
src_rc=$?
VM=
for _ in $(seq 1200); do
	kill -0 "$DST" 2>/dev/null || break
	sleep 0.5
done
kill -KILL "$DST" 2>/dev/null
wait "$DST"
drc=$?
# The console stream across the move counts 1..60 with no gap or repeat,
# wherever in a line the pause fell.
seq 1 60 >want
{ cat src.out; grep -av '^cvisor: ' dst.out; } | counts >got
[[ $mrc -eq 0 && $src_rc -eq 0 && $drc -eq 0 ]] && cmp -s want got
check nested_kvm_migrate_counter_goes_on $? \
	"migrate rc=$mrc $(cat m.out); source rc=$src_rc, destination rc=$drc; counts $(tr '\n' ' ' <got | tail -c 200)"
recs=$(strings disk.raw | grep -c '^rec ')
[[ $recs -eq 60 ]]
check nested_kvm_migrate_disk_records $? "$recs of 60 records in the image"
