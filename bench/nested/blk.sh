#!/usr/bin/env bash
# virtio-blk on a real kvm_intel: the guest times sequential 1 MiB writes and
# reads and 4 KiB reads of its disk with O_DIRECT (dd, queue depth 1), under
# cvisor and under QEMU (virtio-blk-pci) on the same raw image; MiB/s and
# the ratios cvisor/QEMU. The image is in the Bochs host's tmpfs.
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh
# shellcheck source=bench/nested/lib.bash
. /cvisor/tests/nested/cases/lib.bash

# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
script='now() { cut -d" " -f1 /proc/uptime; }
run() { n=$1; bytes=$2; shift 2; t0=$(now); dd "$@" 2>/dev/null || { echo "BLKB $n failed"; return; }
t1=$(now); awk -v n=$n -v b=$bytes -v t0=$t0 -v t1=$t1 "BEGIN { t = t1 - t0; if (t <= 0) t = 0.01; printf \"BLKB %s %.1f\\n\", n, b / 1048576 / t }"; }
run write_1m $((48 << 20)) if=/dev/zero of=/dev/vda bs=1M count=48 oflag=direct
run read_1m $((48 << 20)) if=/dev/vda of=/dev/null bs=1M count=48 iflag=direct
run read_4k $((8 << 20)) if=/dev/vda of=/dev/null bs=4k count=2048 iflag=direct'
append=$(guest_cmdline "$script")
truncate -s 64M "$TMP/disk.img"

declare -A res
row() {
	local label=$1 job v i
	shift
	declare -A runs=()
	for ((i = 0; i < RUNS; i++)); do
		timed "$TMP/out" "$@"
		for job in write_1m read_1m read_4k; do
			v=$(sed -n "s/.*BLKB $job \([0-9.]*\).*/\1/p" "$TMP/out" | tr -d '\r')
			runs[$job]+="${v:--} "
		done
	done
	for job in write_1m read_1m read_4k; do
		v=$(printf '%s\n' ${runs[$job]} | grep -v '^-$' | median)
		res[$label.$job]=$v
		echo "BENCH blk $label $job: $v MiB/s (median of $RUNS)"
	done
}

# shellcheck disable=SC2046
row cvisor $(cvisor_cmd 256) --cmdline "$append" --disk "path=$TMP/disk.img"
row qemu "$QEMU" -M q35 -accel kvm -cpu host -m 256 -smp 1 -nographic \
	-no-reboot -nodefaults -no-user-config -serial stdio \
	-kernel "$LINUX_KERNEL" -initrd "$CVISOR_INITRD" -append "$append" \
	-drive "file=$TMP/disk.img,format=raw,if=none,id=d0,cache=writeback" \
	-device virtio-blk-pci,drive=d0
for job in write_1m read_1m read_4k; do
	echo "BENCH blk ratio cvisor/qemu $job: $(ratio "${res[cvisor.$job]}" "${res[qemu.$job]}") (above 1: cvisor faster)"
done
[[ ${res[cvisor.read_1m]} != - ]]
check nested_bench_blk_cvisor_ran $? "cvisor's guest printed no result: $(tail -c 300 "$TMP/out")"
