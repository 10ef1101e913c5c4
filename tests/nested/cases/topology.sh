#!/usr/bin/env bash
# CPU topology on a real kvm_intel (docs/cpu-memory.md): 6 vCPUs as 2
# sockets of 3 cores, whose APIC IDs (0-2, 4-6) are not dense. The test
# guest reads the BSP's CPUID leaf 0xB; Linux brings up every vCPU by its
# MADT APIC ID and sees the packages, cores and APIC IDs in sysfs and
# /proc/cpuinfo (numa.sh's checks under emu).
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

cpuid() {
	awk -v l="$(printf %08x "$1")" -v s="$(printf %08x "$2")" -v r="$3" \
		'$1 == "cpuid" && $2 == l && $3 == s":" {print $(3 + r)}' "$TMP/out" | tr -d '\r'
}
run_vm 120 --accel kvm --test-exit --memory 64M --cpus 6,sockets=2,cores=3 \
	--numa node=0,cpus=0-2,mem=32M --numa node=1,cpus=3-5,mem=32M \
	--kernel "$GUESTS/topology.elf"
[[ $rc -eq 0 && $(cpuid 0xb 0 1) == 00000000 && $(cpuid 0xb 0 2) == 00000001 &&
   $(cpuid 0xb 1 1) == 00000002 && $(cpuid 0xb 1 2) == 00000003 &&
   $(cpuid 0xb 1 3) == 00000201 ]] && grep -q '^acpi SRAT' "$TMP/out"
check nested_kvm_topology_cpuid $? "rc=$rc $(grep -a '^cpuid 0000000b' "$TMP/out" | tr '\n' ';')"

linux_boot kvm 600 'for c in /sys/devices/system/cpu/cpu[0-9]*; do t=$c/topology; echo "T ${c##*cpu} $(cat $t/physical_package_id) $(cat $t/core_id) $(cat $t/core_siblings_list)"; done
awk -F": " "/^processor/{p=\$2} /^apicid/{print \"A\", p, \$2}" /proc/cpuinfo' \
	--cpus 6,sockets=2,cores=3 --memory 256M
got=$(grep -aE '^[TA] [0-9]' "$TMP/out" | tr -d '\r' | tr '\n' ';')
want="T 0 0 0 0-2;T 1 0 1 0-2;T 2 0 2 0-2;T 3 1 0 3-5;T 4 1 1 3-5;T 5 1 2 3-5;A 0 0;A 1 1;A 2 2;A 3 4;A 4 5;A 5 6;"
[[ $rc -eq 0 && $(guest_result) == 0 && $got == "$want" ]]
check nested_kvm_topology_linux_2_sockets_3_cores $? "rc=$rc got: $got want: $want $(tail -c 300 "$TMP/out")"
