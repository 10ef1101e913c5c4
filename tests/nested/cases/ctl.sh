#!/usr/bin/env bash
# The control socket on KVM: pause stops the guest (its ticks stop and the
# VM reports paused), resume lets it go on, and stop presses the ACPI power
# button, which the guest answers by powering off (mgmt_kvm.sh and
# mgmt_linux.sh's checks).  The test kernel has no ACPI button driver, so
# the guest watches its GED interrupt count as acpid would.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

start_vm ctl "$TMP/out" \
	'g0=$(grep Ged /proc/interrupts);i=0;while :;do i=$((i+1));echo "tick $i";g=$(grep Ged /proc/interrupts);[ "$g" != "$g0" ] && { echo POWER-BUTTON;exit 0;};sleep 0.5;done' \
	--memory 128M --cpus 2
if ! wait_for "$TMP/out" "tick 3" 600 "$VM"; then
	fail nested_kvm_ctl_boot "$(tail -c 400 "$TMP/out")"
	exit 0
fi
ticks() { grep -c '^tick' "$TMP/out"; }

"$CVISOR" pause ctl
prc=$?
sleep 1
a=$(ticks)
state=$("$CVISOR" list | awk '$1 == "ctl" {print $3}')
sleep 5
b=$(ticks)
"$CVISOR" resume ctl
rrc=$?
c=$b
for _ in $(seq 60); do
	c=$(ticks)
	((c > b)) && break
	sleep 0.5
done
[[ $prc -eq 0 && $rrc -eq 0 && $a -eq $b && $c -gt $b && $state == paused ]]
check nested_kvm_pause_resume $? "pause rc=$prc resume rc=$rrc ticks $a -> $b (state $state) -> $c"

t0=$SECONDS
"$CVISOR" stop ctl --timeout 120
src=$?
wait "$VM"
vrc=$?
VM=
[[ $src -eq 0 && $vrc -eq 0 ]] && grep -q POWER-BUTTON "$TMP/out"
check nested_kvm_stop_power_button $? "stop rc=$src vm rc=$vrc after $((SECONDS - t0)) s: $(tail -c 300 "$TMP/out")"
