#!/usr/bin/env bash
# The test kernel boots to userspace on KVM with 1 and 2 vCPUs and sees its
# CPUs and memory (linux_boot.sh's checks), with kvmclock available.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

for n in 1 2; do
	linux_boot kvm 300 'echo "nproc=$(nproc)"; grep MemTotal /proc/meminfo
echo "clocks=$(cat /sys/devices/system/clocksource/clocksource0/available_clocksource)"' \
		--cpus $n --memory 256M
	kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
	[[ $rc -eq 0 && $(guest_result) == 0 && -n $kb && $kb -le 262144 &&
		$kb -ge 200000 ]] && grep -q "nproc=$n" "$TMP/out"
	check "nested_kvm_boot_${n}cpu" $? \
		"rc=$rc $(grep -a nproc= "$TMP/out" | head -1) MemTotal=${kb:-none} $(tail -c 400 "$TMP/out")"
	# Registered; the guest prefers an invariant TSC when it has one.
	grep -q "clocks=.*kvm-clock" "$TMP/out"
	check "nested_kvm_boot_${n}cpu_kvmclock" $? "$(grep -a 'clocks=' "$TMP/out")"
done
