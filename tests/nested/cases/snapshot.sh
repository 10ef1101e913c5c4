#!/usr/bin/env bash
# Snapshot and restore of Linux on KVM (snapshot_linux.sh's checks, less
# the network): a counter kept in tmpfs goes on from where it was, the
# guest's clock goes on without a jump, a virtio-blk write after the
# restore reaches the image; and the self-written counting guest continues
# tick by tick. KVM state (registers, MSRs, LAPIC, kvmclock, IOAPIC, PIT)
# round-trips on a real kvm_intel here.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh
cd "$TMP" || exit 1

truncate -s 8M disk.raw
start_vm snap boot.out 'echo 0 >/tmp/c
while :; do
	i=$(cat /tmp/c); i=$((i + 1)); echo $i >/tmp/c
	echo "count $i up $(cut -d" " -f1 /proc/uptime)"
	[ $i -ge 40 ] && break
	sleep 0.25
done
printf "restored-%s" $(cat /tmp/c) | dd of=/dev/vda conv=fsync 2>/dev/null' \
	--memory 192M --disk path=disk.raw
# counts [FILE]: the counter's values, from FILE or standard input
counts() { sed -n 's/^count \([0-9]*\) up .*/\1/p' "$@"; }
uptimes() { sed -n 's/^count [0-9]* up \([0-9.]*\).*/\1/p' "$1"; }
if ! wait_for boot.out "^count 8 " 600 "$VM"; then
	fail nested_kvm_snapshot_boot "$(tail -c 400 boot.out)"
	exit 0
fi
"$CVISOR" snapshot snap "$TMP/s" --stop >snap.out 2>&1
src=$?
wait "$VM"
VM=
before=$(counts boot.out | tail -n1)
up0=$(uptimes boot.out | tail -n1)
[[ $src -eq 0 && -s s/memory && $before -lt 40 ]]
check nested_kvm_snapshot_stop $? "rc=$src last count $before $(cat snap.out)"
timeout 300 "$CVISOR" run --restore "$TMP/s" --name snap2 </dev/null >r.out 2>&1
rc=$?
up1=$(uptimes r.out | head -n1)
# The console stream across the snapshot counts 1..40 with no gap or
# repeat, wherever in a line the pause fell.
seq 1 40 >want
{ cat boot.out; grep -av '^cvisor: ' r.out; } | counts >got
[[ $rc -eq 0 ]] && cmp -s want got
check nested_kvm_snapshot_counter_goes_on $? "rc=$rc counted to $before; counts $(tr '\n' ' ' <got | tail -c 200)"
awk -v a="$up0" -v b="$up1" 'BEGIN { exit !(b > a && b - a < 10) }'
check nested_kvm_snapshot_clock_goes_on $? "uptime $up0 before, $up1 after"
[[ $(head -c 11 disk.raw) == restored-40 ]]
check nested_kvm_snapshot_disk_write $? "image starts with $(head -c 11 disk.raw | tr -cd '[:print:]')"
