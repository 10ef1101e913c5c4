#!/usr/bin/env bash
# CPU topology and guest NUMA nodes (docs/cpu-memory.md):
#  - bad --cpus/--numa values: one line naming the value, exit 2;
#  - a KVM test guest (tests/guests/topology.S) reads CPUID's topology
#    leaves and the MADT, SRAT and SLIT, decoded here by iasl;
#  - Linux under --accel emu: sockets/cores/threads in sysfs and
#    /proc/cpuinfo (the test kernel), two and four NUMA nodes with their
#    CPU lists, memory ranges and distances (Debian's kernel: the test
#    kernel has no CONFIG_NUMA);
#  - host binding: each node's RAM is its own mapping with the policy
#    asked for (numa_maps), `cvisor info` reports it, vCPU threads run on
#    their host node's CPUs, a snapshot restores with the binding.
# Checks that need a host with several NUMA nodes say so and skip.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
. "$(dirname "$0")/lib.sh"

export CVISOR_RUNTIME_DIR=$TMP/run
VM=
ADDED_HUGE=0
cleanup() {
	[[ -n $VM ]] && kill -KILL "$VM" 2>/dev/null && wait "$VM" 2>/dev/null
	mountpoint -q "$TMP/huge" 2>/dev/null && umount "$TMP/huge"
	((ADDED_HUGE > 0)) &&
		echo $(($(cat /proc/sys/vm/nr_hugepages) - ADDED_HUGE)) >/proc/sys/vm/nr_hugepages
	rm -rf "$TMP"
}
trap cleanup EXIT
HOST_NODES=$(find /sys/devices/system/node -maxdepth 1 -name 'node[0-9]*' 2>/dev/null | wc -l)
((HOST_NODES > 0)) || HOST_NODES=1

# APIC ID of vCPU $1 with $2 cores and $3 threads per core (topology.h).
order() { local n=$1 o=0; while (((1 << o) < n)); do ((o++)); done; echo $o; }
apic_id() {
	local i=$1 c=$2 t=$3 tb cb
	tb=$(order "$t")
	cb=$(order "$c")
	echo $(((i / (t * c)) << (tb + cb) | (i / t % c) << tb | i % t))
}

# --- bad input: one line, exit 2 ---------------------------------------
bad() {
	local name=$1 want=$2
	shift 2
	timeout 20 "$CVISOR" run --accel emu --kernel "$GUESTS/hello.elf" "$@" \
		</dev/null >"$TMP/out" 2>&1
	rc=$?
	[[ $rc -eq 2 && $(wc -l <"$TMP/out") -eq 1 ]] && grep -qF -- "$want" "$TMP/out"
	check "numa_refuses_$name" $? "rc=$rc $(head -c 300 "$TMP/out")"
}
bad topology_product "sockets=2 x cores=2 x threads=2 is not 6 vCPUs" \
	--cpus 6,sockets=2,cores=2,threads=2
bad cpu_in_no_node "vCPUs 3 are in no node" --memory 256M --cpus 4 \
	--numa node=0,cpus=0-2,mem=256M
bad overlapping_nodes "node 1: vCPUs 1 are in another node too" \
	--memory 256M --cpus 2 --numa node=0,cpus=0-1,mem=128M \
	--numa node=1,cpus=1,mem=128M
bad sizes_not_memory "the nodes' mem adds up to 128 MiB, --memory is 256 MiB" \
	--memory 256M --cpus 2 --numa node=0,cpus=0,mem=64M \
	--numa node=1,cpus=1,mem=64M
bad sizes_over_memory "nodes 0-1 have more mem than --memory (256 MiB)" \
	--memory 256M --cpus 2 --numa node=0,cpus=0,mem=256M \
	--numa node=1,cpus=1,mem=128M
bad missing_node "node 1 is missing" --memory 256M \
	--numa node=0,cpus=0,mem=128M --numa node=2,mem=128M
bad nonexistent_host_node "host-node=$HOST_NODES does not exist on this host" \
	--memory 256M --numa node=0,cpus=0,mem=256M,host-node="$HOST_NODES"
bad policy "policy=firsttouch: expected bind, preferred or interleave" \
	--memory 256M --numa node=0,cpus=0,mem=256M,host-node=0,policy=firsttouch
bad distance "distance=0:1=5: 5 is not from 11 to 254" \
	--memory 256M --numa distance=0:1=5

# --- KVM test guest: CPUID and ACPI tables -----------------------------
# table SIG: the table the guest printed, as a file iasl decoded into SIG.dsl
table() {
	sed -n "s/^acpi $1 \([0-9a-f]*\).*/\1/p" "$TMP/out" | xxd -r -p >"$TMP/$1.dat" &&
		[[ -s $TMP/$1.dat ]] &&
		(cd "$TMP" && iasl -d "$1.dat" >/dev/null 2>&1) && [[ -s $TMP/$1.dsl ]]
}
# field SIG NAME: the values of NAME in SIG.dsl, one per line
field() { sed -n "s/.*\] *$2 : \([0-9A-Fa-f]*\).*/\1/p" "$TMP/$1.dsl"; }
# cpuid LEAF SUB REG(1-4): a register of a CPUID line, in hex
cpuid() {
	awk -v l="$(printf %08x "$1")" -v s="$(printf %08x "$2")" -v r="$3" \
		'$1 == "cpuid" && $2 == l && $3 == s":" {print $(3 + r)}' "$TMP/out" | tr -d '\r'
}

if ! kvm_usable; then
	skip numa_kvm_guest_topology "/dev/kvm is not available"
elif ! command -v iasl >/dev/null || ! command -v xxd >/dev/null; then
	skip numa_kvm_guest_topology "needs iasl (acpica-tools) and xxd"
else
	# 12 vCPUs: 2 sockets of 3 cores of 2 threads (APIC IDs not dense);
	# node 1 spans the MMIO hole: [2G, 3G) and [4G, 4.5G).
	run_vm 60 --accel kvm --test-exit --memory 3584M \
		--cpus 12,sockets=2,cores=3,threads=2 \
		--numa node=0,cpus=0-5,mem=2G \
		--numa node=1,cpus=6-11,mem=1536M,host-node=0 \
		--numa distance=0:1=17 --kernel "$GUESTS/topology.elf"
	[[ $rc -eq 0 ]] && grep -q "topology: done" "$TMP/out"
	check numa_kvm_guest_runs $? "rc=$rc $(head -c 300 "$TMP/out")"

	# CPUID (the BSP, APIC ID 0): SMT level 1 bit/2 threads, core level
	# 3 bits/6 logical CPUs, 8 IDs per package in leaf 1.
	b1=$(cpuid 1 0 2)
	[[ $(cpuid 0xb 0 1) == 00000001 && $(cpuid 0xb 0 2) == 00000002 &&
	   $(cpuid 0xb 0 3) == 00000100 && $(cpuid 0xb 1 1) == 00000003 &&
	   $(cpuid 0xb 1 2) == 00000006 && $(cpuid 0xb 1 3) == 00000201 &&
	   $(cpuid 0xb 0 4) == 00000000 && ${b1:0:4} == 0008 ]]
	check numa_kvm_guest_cpuid_topology_leaves $? \
		"$(grep -a '^cpuid' "$TMP/out" | tr '\n' ';')"
	max=$((16#$(cpuid 0 0 1)))
	if ((max >= 0x1f)); then
		[[ $(cpuid 0x1f 0 1) == 00000001 && $(cpuid 0x1f 1 1) == 00000003 &&
		   $(cpuid 0x1f 1 3) == 00000201 ]]
		check numa_kvm_guest_cpuid_leaf_1f $? "$(grep -a '^cpuid 0000001f' "$TMP/out" | tr '\n' ';')"
	else
		skip numa_kvm_guest_cpuid_leaf_1f "this host's KVM offers basic leaves up to $(printf %#x "$max")"
	fi

	want=$(for i in $(seq 0 11); do printf '%02X\n' "$(apic_id "$i" 3 2)"; done)
	table APIC && [[ $(field APIC "Local Apic ID") == "$want" ]]
	check numa_kvm_guest_madt_apic_ids $? "MADT: $(field APIC 'Local Apic ID' 2>/dev/null | tr '\n' ' ') want $(echo "$want" | tr '\n' ' ')"

	# SRAT: every APIC ID with its node, node 1's RAM in two ranges
	table SRAT &&
		[[ $(field SRAT "Apic ID") == "$want" &&
		   $(field SRAT "Proximity Domain Low(8)" | tr '\n' ' ') == "00 00 00 00 00 00 01 01 01 01 01 01 " &&
		   $(field SRAT "Base Address" | tr '\n' ' ') == "0000000000000000 0000000080000000 0000000100000000 " &&
		   $(field SRAT "Address Length" | tr '\n' ' ') == "0000000080000000 0000000040000000 0000000020000000 " &&
		   $(field SRAT "Proximity Domain" | tr '\n' ' ') == "00000000 00000001 00000001 " ]]
	check numa_kvm_guest_srat $? "$(grep -E 'Apic ID|Proximity|Base Address|Address Length' "$TMP/SRAT.dsl" 2>/dev/null | tr -s ' ' | tr '\n' ';' | head -c 600)"

	table SLIT && grep -q "Locality   0 : 0A 11" "$TMP/SLIT.dsl" &&
		grep -q "Locality   1 : 11 0A" "$TMP/SLIT.dsl"
	check numa_kvm_guest_slit $? "$(grep Locality "$TMP/SLIT.dsl" 2>/dev/null | tr '\n' ';')"

	# Without --numa: no SRAT or SLIT, flat topology as before.
	run_vm 30 --accel kvm --test-exit --memory 64M --cpus 3 \
		--kernel "$GUESTS/topology.elf"
	[[ $rc -eq 0 ]] && ! grep -qE '^acpi (SRAT|SLIT)' "$TMP/out" &&
		[[ $(cpuid 0xb 1 2) == 00000003 && $(cpuid 0xb 1 1) == 00000002 ]]
	check numa_kvm_guest_flat_without_options $? "rc=$rc $(grep -a '^cpuid 0000000b\|^acpi' "$TMP/out" | cut -c1-40 | tr '\n' ';')"
fi

# --- hugetlbfs per node -------------------------------------------------
# Each node is a file of its own on the mount, bound as asked: two huge
# mappings in numa_maps, one bind:0, one not bound. The pool grows by what
# the guest may use and shrinks back however the script ends.
if ! kvm_usable; then
	skip numa_hugetlb_file_per_node "/dev/kvm is not available"
elif [[ $(id -u) -ne 0 ]] || ! grep -q hugetlbfs /proc/filesystems; then
	skip numa_hugetlb_file_per_node "needs root and hugetlbfs"
else
	need=$((64 * 1024 / $(awk '$1 == "Hugepagesize:" {print $2}' /proc/meminfo)))
	old_pages=$(cat /proc/sys/vm/nr_hugepages)
	echo $((old_pages + need)) >/proc/sys/vm/nr_hugepages
	ADDED_HUGE=$(($(cat /proc/sys/vm/nr_hugepages) - old_pages))
	if ((ADDED_HUGE < need)); then
		skip numa_hugetlb_file_per_node "the host could not reserve $need more huge pages"
	else
		mkdir -p "$TMP/huge" && mount -t hugetlbfs -o size=64M none "$TMP/huge"
		"$CVISOR" run --accel kvm --memory 64M,hugetlb="$TMP/huge" --cpus 2 \
			--numa node=0,cpus=0,mem=32M,host-node=0 --numa node=1,cpus=1,mem=32M \
			--kernel "$GUESTS/spin.elf" </dev/null >"$TMP/out" 2>&1 &
		VM=$!
		for _ in $(seq 50); do grep -q spinning "$TMP/out" && break; sleep 0.2; done
		huge=$(grep -E ' huge( |$)' "/proc/$VM/numa_maps" 2>/dev/null)
		kill -TERM $VM
		wait $VM
		rc=$?
		VM=
		[[ $rc -eq 0 && $(echo "$huge" | grep -c .) -eq 2 &&
		   $(echo "$huge" | grep -c ' bind:0 ') -eq 1 ]]
		check numa_hugetlb_file_per_node $? "rc=$rc numa_maps: $(echo "$huge" | cut -c1-80 | tr '\n' ';')"
	fi
fi

if ! load_linux_assets numa_linux; then
	exit 0
fi

# --- Linux: sockets, cores, threads ------------------------------------
# The guest prints, per CPU: package, core, its thread siblings and its
# package's CPUs (sysfs), then /proc/cpuinfo's apicid, siblings, cores.
topo_cmd='for c in /sys/devices/system/cpu/cpu[0-9]*; do t=$c/topology; echo "T ${c##*cpu} $(cat $t/physical_package_id) $(cat $t/core_id) $(cat $t/thread_siblings_list) $(cat $t/core_siblings_list)"; done
awk -F": " "/^processor/{p=\$2} /^siblings/{s=\$2} /^cpu cores/{c=\$2} /^apicid/{print \"C\", p, \$2, s, c}" /proc/cpuinfo'
# expect_topology CPUS CORES THREADS: the lines a right guest prints
expect_topology() {
	local n=$1 c=$2 t=$3 i per pkg first
	per=$((c * t))
	for ((i = 0; i < n; i++)); do
		pkg=$((i / per))
		first=$((i - i % t))
		echo "T $i $pkg $((i / t % c)) $([[ $t -gt 1 ]] && echo "$first-$((first + t - 1))" || echo $i) $((pkg * per))-$((pkg * per + per - 1))"
	done
	for ((i = 0; i < n; i++)); do
		echo "C $i $(apic_id "$i" "$c" "$t") $per $c"
	done
}
for spec in "8 2 2 2" "6 2 3 1"; do
	read -r n s c t <<<"$spec"
	name="numa_linux_emu_topology_${s}s_${c}c_${t}t"
	linux_boot emu 300 "$topo_cmd" --memory 256M --cpus "$n,sockets=$s,cores=$c,threads=$t"
	got=$(grep -aE '^[TC] [0-9]' "$TMP/out" | tr -d '\r' | sort -k1,1r -k2,2n)
	want=$(expect_topology "$n" "$c" "$t" | sort -k1,1r -k2,2n)
	[[ $rc -eq 0 && $(guest_result) == 0 && "$got" == "$want" ]]
	check "$name" $? "rc=$rc got: $(echo "$got" | tr '\n' ';') want: $(echo "$want" | tr '\n' ';')"
done

# --- host binding ------------------------------------------------------
# A running guest with three nodes, one per policy, all on host node 0:
# numa_maps shows each node's mapping with its policy; cvisor info lists
# the nodes; vCPUs of bound nodes run on host node 0's CPUs.
# start_vm NAME ARGS...: the test kernel sleeping under --name NAME, once
# its userspace is up; pid in $VM, console in $TMP/vm.out.
start_vm() {
	local name=$1
	shift
	${WRAP:-} "$CVISOR" run --name "$name" --accel emu --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
		--initrd "$CVISOR_INITRD" "$@" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s 'echo NUMA-READY; sleep 600' | base64 -w0)" \
		</dev/null >"$TMP/vm.out" 2>&1 &
	VM=$!
	for _ in $(seq 600); do
		grep -qs NUMA-READY "$TMP/vm.out" && return 0
		kill -0 $VM 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}
# The VMM starts confined to one CPU (taskset): a vCPU of a bound node
# leaves that for its host node's CPUs, unless affinity= names it.
node0_cpus=$(cat /sys/devices/system/node/node0/cpulist 2>/dev/null)
last_cpu=$(($(nproc) - 1))
name=numa1
WRAP="taskset -c $last_cpu" start_vm $name --memory 384M --cpus 3,affinity=2:0 \
	--numa node=0,cpus=0,mem=128M,host-node=0,policy=bind \
	--numa node=1,cpus=1,mem=128M,host-node=0,policy=preferred \
	--numa node=2,cpus=2,mem=128M,host-node=0,policy=interleave
grep -q NUMA-READY "$TMP/vm.out"
check numa_binding_guest_boots $? "$(tail -c 300 "$TMP/vm.out")"
maps=$(cat "/proc/$VM/numa_maps" 2>/dev/null)
# The three node mappings: 128 MiB apart, each with its policy.
policies=$(echo "$maps" | awk '/bind:0|prefer:0|interleave:0/ {print $1, $2}')
base=$(echo "$policies" | awk '$2 == "bind:0" {print $1; exit}')
[[ -n $base ]] &&
	echo "$policies" | grep -q "^$(printf %x $((16#$base + (128 << 20)))) prefer:0$" &&
	echo "$policies" | grep -q "^$(printf %x $((16#$base + (256 << 20)))) interleave:0$"
check numa_binding_policies_in_numa_maps $? "$(echo "$policies" | tr '\n' ';')"
# Pages the guest touched in the bound node are on host node 0.
bound=$(echo "$maps" | awk -v b="$base" '$1 == b' | grep -o ' N0=[0-9]*' | cut -d= -f2)
[[ -n $bound && $bound -gt 0 ]]
check numa_binding_pages_on_host_node_0 $? "$(echo "$maps" | awk -v b="$base" '$1 == b')"
"$CVISOR" info $name >"$TMP/info" 2>&1
grep -q "node 0:  vcpus 0, 128 MiB, bind host node 0; resident: host node 0 [1-9][0-9]* KiB" "$TMP/info" &&
	grep -q "node 1:  vcpus 1, 128 MiB, preferred host node 0" "$TMP/info" &&
	grep -q "node 2:  vcpus 2, 128 MiB, interleave host node 0" "$TMP/info" &&
	grep -q "topology:    1 sockets x 3 cores x 1 threads" "$TMP/info"
check numa_info_reports_nodes $? "$(grep -A4 topology "$TMP/info" | tr '\n' ';')"
"$CVISOR" info $name --output=json >"$TMP/info.json" 2>&1
got=$(grep -o '"vcpu_threads":.*' "$TMP/info.json" | grep -o '"cpus":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ')
if [[ $node0_cpus == "$last_cpu" ]]; then
	skip numa_vcpus_on_host_node_cpus "host node 0 has one CPU: a vCPU on it cannot be told from one left alone"
else
	[[ -n $node0_cpus && $got == "$node0_cpus $node0_cpus 0 " ]]
	check numa_vcpus_on_host_node_cpus $? "host node 0: CPUs $node0_cpus, VMM on $last_cpu; vCPU threads on: $got (want $node0_cpus $node0_cpus 0)"
fi
# A snapshot restores each node as its own mapping with its policy.
"$CVISOR" snapshot $name "$TMP/snap" --stop >"$TMP/snap.out" 2>&1
src=$?
wait $VM
VM=
"$CVISOR" run --restore "$TMP/snap" --name numa2 </dev/null >"$TMP/r.out" 2>&1 &
VM=$!
ok=1
for _ in $(seq 100); do
	sleep 0.2
	maps=$(cat "/proc/$VM/numa_maps" 2>/dev/null)
	echo "$maps" | grep -q ' bind:0 ' && echo "$maps" | grep -q ' prefer:0 ' &&
		echo "$maps" | grep -q ' interleave:0 ' && { ok=0; break; }
done
[[ $src -eq 0 && $ok -eq 0 ]]
check numa_snapshot_restore_keeps_binding $? "snapshot rc=$src $(cat "$TMP/snap.out") $(echo "$maps" | grep -E 'bind|prefer|interleave' | cut -c1-60 | tr '\n' ';')"
"$CVISOR" stop numa2 --force >/dev/null 2>&1
wait $VM
VM=

# Host node 1 (a host with two nodes): a guest node bound there has its
# pages there and nowhere else, and its vCPU runs on that node's CPUs.
if ((HOST_NODES < 2)); then
	skip numa_binding_to_second_host_node "this host has one NUMA node (needs two: the pages of a guest node bound to host node 1 land there)"
	skip numa_vcpus_on_second_host_node "this host has one NUMA node (needs two: a vCPU follows its node's host-node=1)"
else
	h1=$(find /sys/devices/system/node -maxdepth 1 -name 'node[0-9]*' | sed 's/.*node//' | sort -n | sed -n 2p)
	if start_vm numa3 --memory 256M --cpus 2 \
		--numa node=0,cpus=0,mem=128M,host-node="$h1",policy=bind \
		--numa node=1,cpus=1,mem=128M; then
		line=$(grep " bind:$h1 " "/proc/$VM/numa_maps")
		on=$(echo "$line" | grep -o " N$h1=[0-9]*" | cut -d= -f2)
		others=$(echo "$line" | grep -o ' N[0-9]*=' | grep -vc " N$h1=")
		[[ -n $on && $on -gt 0 && $others -eq 0 ]]
		check numa_binding_to_second_host_node $? "$line"
		"$CVISOR" info numa3 --output=json >"$TMP/info.json" 2>&1
		want=$(cat "/sys/devices/system/node/node$h1/cpulist")
		grep -q "\"vcpu_threads\":\[{\"id\":0,\"tid\":[0-9]*,\"cpus\":\"$want\"}" "$TMP/info.json"
		check numa_vcpus_on_second_host_node $? "node$h1 cpus $want; $(grep -o '"vcpu_threads":.*' "$TMP/info.json" | head -c 200)"
	else
		fail numa_binding_to_second_host_node "the guest did not boot: $(tail -c 300 "$TMP/vm.out")"
	fi
	"$CVISOR" stop numa3 --force >/dev/null 2>&1
	wait $VM
	VM=
fi

# --- Linux NUMA nodes (Debian's kernel) --------------------------------
if [[ ${CVISOR_TEST_DEBIAN:-1} == 0 ]]; then
	skip numa_linux_nodes "CVISOR_TEST_DEBIAN=0"
	exit 0
fi
if [[ -z ${CVISOR_DEBIAN_KERNEL:-} || ! -r ${CVISOR_DEBIAN_KERNEL:-} ]]; then
	skip_unless_required numa_linux_nodes "no Debian kernel in the assets (tests/guest/make-assets.sh --debian)"
	exit 0
fi
node_cmd='for n in /sys/devices/system/node/node[0-9]*; do echo "N ${n##*node} cpus=$(cat $n/cpulist) dist=$(cat $n/distance | tr " " ,) kb=$(awk "/MemTotal/{print \$4}" $n/meminfo)"; done; dmesg | grep -o "SRAT: Node [0-9]* PXM [0-9]* \[mem [0-9a-fx-]*\]" | sed "s/^/S /"'
# numa_linux NAME MEMORY CPUS EXPECTED-N-LINES EXPECTED-S-LINES NODE-SIZES-MiB ARGS...
numa_linux() {
	local name=$1 mem=$2 cpus=$3 want_n=$4 want_s=$5 sizes=$6 got_n got_s i=0 sz kb bad=
	shift 6
	run_vm 900 --accel emu --kernel "$CVISOR_DEBIAN_KERNEL" \
		--initrd "$CVISOR_DEBIAN_INITRD" --memory "$mem" --cpus "$cpus" "$@" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.debian=1 cvisor.test64=$(printf %s "$node_cmd" | base64 -w0)"
	got_n=$(grep -a '^N [0-9]' "$TMP/out" | tr -d '\r' | sed 's/ kb=.*//')
	got_s=$(grep -a '^S SRAT' "$TMP/out" | tr -d '\r')
	# Each node has most of its memory (the kernel keeps some for itself).
	for sz in $sizes; do
		kb=$(grep -a "^N $i " "$TMP/out" | sed -n 's/.* kb=\([0-9]*\).*/\1/p')
		[[ -n $kb && $kb -le $((sz * 1024)) && $kb -ge $((sz * 1024 * 6 / 10)) ]] || bad="$bad node$i=${kb:-none}kB/${sz}MiB"
		i=$((i + 1))
	done
	[[ $rc -eq 0 && $(guest_result) == 0 && "$got_n" == "$want_n" && "$got_s" == "$want_s" && -z $bad ]]
	check "$name" $? "rc=$rc$bad got: $(echo "$got_n $got_s" | tr '\n' ';') want: $(echo "$want_n $want_s" | tr '\n' ';') $(tail -c 300 "$TMP/out")"
}
# Two nodes, node 1 across the MMIO hole: [2G, 3G) and [4G, 4.5G).
numa_linux numa_linux_emu_two_nodes 3584M 4,sockets=2,cores=2 \
	"N 0 cpus=0-1 dist=10,20
N 1 cpus=2-3 dist=20,10" \
	"S SRAT: Node 0 PXM 0 [mem 0x00000000-0x7fffffff]
S SRAT: Node 1 PXM 1 [mem 0x80000000-0xbfffffff]
S SRAT: Node 1 PXM 1 [mem 0x100000000-0x11fffffff]" "2048 1536" \
	--numa node=0,cpus=0-1,mem=2G --numa node=1,cpus=2-3,mem=1536M
# Four nodes, one vCPU each, distances given one way and both ways.
numa_linux numa_linux_emu_four_nodes 512M 4 \
	"N 0 cpus=0 dist=10,15,20,30
N 1 cpus=1 dist=15,10,25,20
N 2 cpus=2 dist=20,25,10,40
N 3 cpus=3 dist=30,20,40,10" \
	"S SRAT: Node 0 PXM 0 [mem 0x00000000-0x07ffffff]
S SRAT: Node 1 PXM 1 [mem 0x08000000-0x0fffffff]
S SRAT: Node 2 PXM 2 [mem 0x10000000-0x17ffffff]
S SRAT: Node 3 PXM 3 [mem 0x18000000-0x1fffffff]" "128 128 128 128" \
	--numa node=0,cpus=0,mem=128M --numa node=1,cpus=1,mem=128M \
	--numa node=2,cpus=2,mem=128M --numa node=3,cpus=3,mem=128M \
	--numa distance=0:1=15 --numa distance=0:3=30 --numa distance=1:2=25 \
	--numa distance=2:3=40 --numa distance=3:2=40
