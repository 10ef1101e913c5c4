#!/usr/bin/env bash
# A Linux guest on two vCPUs, snapshot with --stop and restored: its counter
# goes on from where it stopped.  On VT-x the guest runs its APICs in x2APIC
# mode, whose LAPIC state KVM reports differently from xAPIC mode: this case
# found cvisor refusing its own snapshot ("cpu1: APIC ID is not the
# vCPU's"), which the small test guests (xAPIC) and kvm_pvm never showed.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

cd "$TMP" || exit 1
count() { sed -n 's/^count \([0-9]*\).*/\1/p' "$1"; }
start_vm snap2 a.out \
	'i=0;while :;do i=$((i+1));echo "count $i";[ $i -ge 40 ] && break;sleep 0.25;done;echo COUNT-DONE' \
	--memory 128M --cpus 2
if ! wait_for a.out "count 8" 600 "$VM"; then
	fail nested_kvm_snapshot_2cpu_boot "$(tail -c 400 a.out)"
	exit 0
fi
"$CVISOR" snapshot snap2 snap --stop >snap.out 2>&1
src=$?
wait "$VM"
vrc=$?
VM=
before=$(count a.out | tail -n1)
[[ $src -eq 0 && $vrc -eq 0 && $before -lt 40 ]]
check nested_kvm_snapshot_2cpu_stop $? "snapshot rc=$src vm rc=$vrc last count $before $(cat snap.out)"

timeout --kill-after=5 300 "$CVISOR" run --restore snap --name snap2b \
	</dev/null >b.out 2>&1
rc=$?
first=$(count b.out | head -n1)
[[ $rc -eq 0 && $first -eq $((before + 1)) ]] && grep -q COUNT-DONE b.out
check nested_kvm_snapshot_2cpu_restore_goes_on $? \
	"rc=$rc counted to $before, went on at '$first': $(tail -c 400 b.out)"
