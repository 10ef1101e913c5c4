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
# huge page pool, and the run leaves nothing behind. The pool grows by what
# the guest needs and shrinks by as much however this script ends (other
# users may grow it meanwhile); usage is read from this script's own mount,
# sized to the guest, so a parallel user of the pool does not count.
hugetlb_cleanup() {
	[[ -n ${pid:-} ]] && kill -KILL "$pid" 2>/dev/null && wait "$pid"
	mountpoint -q "$TMP/huge" && umount "$TMP/huge"
	[[ ${added:-0} -gt 0 ]] &&
		echo $(($(cat /proc/sys/vm/nr_hugepages) - added)) >/proc/sys/vm/nr_hugepages
	rm -rf "$TMP"
}
meminfo() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
mount_free() { stat -f -c %f "$TMP/huge"; }

if [[ $(id -u) -eq 0 ]] && grep -q hugetlbfs /proc/filesystems; then
	trap hugetlb_cleanup EXIT
	need=$((64 * 1024 / $(meminfo Hugepagesize)))
	old_pages=$(cat /proc/sys/vm/nr_hugepages)
	echo $((old_pages + need)) >/proc/sys/vm/nr_hugepages
	added=$(($(cat /proc/sys/vm/nr_hugepages) - old_pages))
	if [[ $added -lt $need ]]; then
		skip hugetlbfs_backed_ram "the host could not reserve $need more huge pages"
	else
		mkdir -p "$TMP/huge" && mount -t hugetlbfs -o size=64M none "$TMP/huge"
		before=$(mount_free)
		"$CVISOR" run --accel kvm --memory 64M,hugetlb="$TMP/huge" \
			--kernel "$GUESTS/spin.elf" </dev/null >"$TMP/out" 2>&1 &
		pid=$!
		for _ in $(seq 50); do grep -q spinning "$TMP/out" && break; sleep 0.1; done
		during=$(mount_free)
		kill -TERM $pid
		wait $pid
		rc=$?
		pid=
		after=$(mount_free)
		[[ $rc -eq 0 && $before -eq $need && $during -lt $before && $after -eq $before ]]
		check hugetlbfs_backed_ram $? "rc=$rc free pages in the mount before=$before during=$during after=$after"
	fi
else
	skip hugetlbfs_backed_ram "needs root and hugetlbfs"
fi
