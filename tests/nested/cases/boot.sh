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

# Four vCPUs and RAM on both sides of the PCI hole (two memory slots): RAM
# below 3 GiB and from 4 GiB on, none in the hole, PCI (virtio-rng) works.
# 3.5 GiB, as cvisor allows at most twice the 2 GiB Bochs host's RAM.
linux_boot kvm 300 'echo "nproc=$(nproc)"; grep MemTotal /proc/meminfo; grep "System RAM" /proc/iomem; echo "rng=$(dd if=/dev/hwrng bs=16 count=1 2>/dev/null | wc -c)"' \
	--cpus 4 --memory 3584M
kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
[[ $rc -eq 0 && -n $kb && $kb -le 3670016 && $kb -ge 3400000 ]] &&
	grep -q "nproc=4" "$TMP/out" &&
	grep -q "^100000000-11fffffff : System RAM" "$TMP/out" &&
	! grep -qE "^(c|d|e|f)[0-9a-f]{7}-[0-9a-f]+ : System RAM" "$TMP/out" &&
	grep -q "rng=16" "$TMP/out"
check nested_kvm_boot_4cpu_memory_above_4g $? "rc=$rc MemTotal=${kb:-none} kB for 3584M $(grep -a 'nproc=\|System RAM\|rng=' "$TMP/out" | tr '\n' ' ')"
