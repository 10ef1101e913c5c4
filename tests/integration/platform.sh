#!/usr/bin/env bash
# Platform devices with test guests on KVM: ACPI tables and poweroff,
# reset with and without --no-reboot, pvpanic.
. "$(dirname "$0")/lib.sh"

if ! kvm_usable; then
	skip platform "/dev/kvm is not available"
	exit 0
fi

run_vm 20 --accel kvm --memory 64M --kernel "$GUESTS/acpi_poweroff.elf"
[[ $rc -eq 0 ]] && grep -q "RSDP found" "$TMP/out"
check acpi_rsdp_and_poweroff_exit_0 $? "rc=$rc $(head -c 300 "$TMP/out")"

run_vm 20 --accel kvm --memory 64M --no-reboot --kernel "$GUESTS/acpi_reset.elf"
[[ $rc -eq 0 && $(grep -c "reset-guest booted" "$TMP/out") -eq 1 ]]
check reset_with_no_reboot_exits_0 $? "rc=$rc $(head -c 300 "$TMP/out")"

# Without --no-reboot the guest starts again from scratch.
timeout --kill-after=2 3 "$CVISOR" run --accel kvm --memory 64M \
	--kernel "$GUESTS/acpi_reset.elf" </dev/null >"$TMP/out" 2>&1
n=$(grep -c "reset-guest booted" "$TMP/out")
[[ $n -ge 2 ]]
check reset_reboots_guest $? "booted $n times"

run_vm 20 --accel kvm --memory 64M --kernel "$GUESTS/pvpanic.elf"
[[ $rc -eq 1 ]] && grep -q "panic" "$TMP/out"
check pvpanic_exits_nonzero $? "rc=$rc $(head -c 300 "$TMP/out")"

# Guest RAM on a hugetlbfs mount: the pages the guest touches come from the
# reserved huge page pool, and the run leaves nothing behind.
if [[ $(id -u) -eq 0 ]] && grep -q hugetlbfs /proc/filesystems; then
	old=$(cat /proc/sys/vm/nr_hugepages)
	echo 64 >/proc/sys/vm/nr_hugepages
	mkdir -p "$TMP/huge" && mount -t hugetlbfs none "$TMP/huge"
	"$CVISOR" run --accel kvm --memory 64M,hugetlb="$TMP/huge" \
		--kernel "$GUESTS/spin.elf" </dev/null >"$TMP/out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do grep -q spinning "$TMP/out" && break; sleep 0.1; done
	free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	total=$(awk '/HugePages_Total/ {print $2}' /proc/meminfo)
	kill -TERM $pid
	wait $pid
	rc=$?
	after=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
	umount "$TMP/huge"
	echo "$old" >/proc/sys/vm/nr_hugepages
	[[ $rc -eq 0 && $free -lt $total && $after -eq $total ]]
	check hugetlbfs_backed_ram $? "rc=$rc free=$free total=$total after=$after"
else
	skip hugetlbfs_backed_ram "needs root and hugetlbfs"
fi
