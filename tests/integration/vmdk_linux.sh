#!/usr/bin/env bash
# VMDK disks under a real Linux guest (virtio-blk over the vmdk driver): a
# monolithicSparse disk and a monolithicFlat disk written by the guest
# (into allocated grains and new ones) that qemu-img then finds clean and
# equal to the same writes done to raw copies on the host, and an OVA-style
# streamOptimized disk read whole, read-only. A streamOptimized disk with
# data attached read-write is refused before the VM starts, and a guest
# cannot turn a probed raw disk into a VMDK (header or descriptor).
. "$(dirname "$0")/lib.sh"

for tool in qemu-img cpio; do
	command -v $tool >/dev/null || { skip vmdk_linux "no $tool on the host"; exit 0; }
done
MiB=$((1 << 20))
# A: sparse, made by cvisor from a raw with data. C: flat, made by qemu-img.
# S: streamOptimized, made by qemu-img.
truncate -s 64M "$TMP/a.raw"
head -c $((3 * MiB)) /dev/urandom | dd of="$TMP/a.raw" bs=1M seek=1 conv=notrunc status=none
"$CVISOR" img convert -O vmdk "$TMP/a.raw" "$TMP/a.vmdk" || { fail vmdk_linux "img convert"; exit 0; }
truncate -s 16M "$TMP/c.raw"
head -c $MiB /dev/urandom | dd of="$TMP/c.raw" bs=1M seek=4 conv=notrunc status=none
qemu-img convert -O vmdk -o subformat=monolithicFlat "$TMP/c.raw" "$TMP/c.vmdk"
truncate -s 24M "$TMP/s.raw"
head -c $((2 * MiB)) /dev/urandom | dd of="$TMP/s.raw" bs=1M seek=5 conv=notrunc status=none
yes "stream optimized" | head -c $((3 * MiB)) | dd of="$TMP/s.raw" bs=1M seek=12 conv=notrunc status=none
qemu-img convert -O vmdk -o subformat=streamOptimized "$TMP/s.raw" "$TMP/s.vmdk"
s_sha=$(sha256sum <"$TMP/s.raw" | cut -d' ' -f1)
s_file=$(sha256sum <"$TMP/s.vmdk")

# Refused before start: no boot needed, so it runs everywhere.
run_vm 30 --accel emu --kernel /dev/null --memory 64M --disk "path=$TMP/s.vmdk,format=vmdk"
[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q "read-only" "$TMP/out" &&
	[[ $(grep -c . "$TMP/out") -le 2 ]]
check vmdk_stream_rw_refused $? "rc=$rc: $(head -c 300 "$TMP/out")"

load_linux_assets vmdk_linux || exit 0
accel=$(linux_accels | head -n1)
if [[ -z $accel ]]; then
	skip vmdk_linux "no accelerator here can boot Linux"
	exit 0
fi

mkdir -p "$TMP/ov"
head -c 262144 /dev/urandom >"$TMP/ov/p"
cat >"$TMP/ov/t.sh" <<'EOF'
r() { echo "VM $*"; }
for d in vda vdb vdc; do r size_$d $(cat /sys/block/$d/size); done
r ro_vdb $(cat /sys/block/vdb/ro)
# into allocated grains, across a grain boundary, and into new grains
dd if=/p of=/dev/vda bs=4k seek=259 conv=fsync 2>/dev/null; r w1 $?
dd if=/p of=/dev/vda bs=64k seek=700 count=3 conv=fsync 2>/dev/null; r w2 $?
dd if=/p of=/dev/vda bs=512 seek=3 count=9 conv=fsync 2>/dev/null; r w3 $?
dd if=/p of=/dev/vdc bs=1k seek=7 conv=fsync 2>/dev/null; r w4 $?
echo 3 >/proc/sys/vm/drop_caches
r rb1 $(dd if=/dev/vda bs=4k skip=259 count=64 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
r s_sha $(dd if=/dev/vdb bs=1M iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
dd if=/p of=/dev/vdb bs=4k count=1 oflag=direct 2>/dev/null; r ro_dd $?
# a VMDK header or descriptor into a probed raw image (vdd) is refused
dd if=/desc of=/dev/vdd bs=512 count=1 conv=fsync 2>/dev/null; r evil_desc $?
dd if=/kdmv of=/dev/vdd bs=512 count=1 conv=fsync 2>/dev/null; r evil_kdmv $?
dd if=/p of=/dev/vdd bs=512 count=1 conv=fsync 2>/dev/null; r plain_write $?
r done 1
EOF
{
	printf '# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\n'
	printf 'RW 2048 FLAT "a.raw" 0\n'
} | dd of="$TMP/ov/desc" bs=512 conv=sync status=none
head -c 512 "$TMP/a.vmdk" >"$TMP/ov/kdmv"
truncate -s 1M "$TMP/r.raw"
(cd "$TMP/ov" && ls | cpio -o -H newc 2>/dev/null | gzip -1) >"$TMP/ov.cpio.gz"
cat "$CVISOR_INITRD" "$TMP/ov.cpio.gz" >"$TMP/initrd"
# the same writes on the host, to raw copies
dd if="$TMP/ov/p" of="$TMP/a.raw" bs=4k seek=259 conv=notrunc status=none
dd if="$TMP/ov/p" of="$TMP/a.raw" bs=64k seek=700 count=3 conv=notrunc status=none
dd if="$TMP/ov/p" of="$TMP/a.raw" bs=512 seek=3 count=9 conv=notrunc status=none
dd if="$TMP/ov/p" of="$TMP/c.raw" bs=1k seek=7 conv=notrunc status=none
p_sha=$(sha256sum <"$TMP/ov/p" | cut -d' ' -f1)

start=$SECONDS
run_vm 900 --accel "$accel" --memory 256M \
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$TMP/initrd" \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test=\"sh /t.sh\"" \
	--disk "path=$TMP/a.vmdk,format=vmdk" \
	--disk "path=$TMP/s.vmdk,format=vmdk,readonly=on" \
	--disk "path=$TMP/c.vmdk" --disk "path=$TMP/r.raw"
echo "boot: $((SECONDS - start)) s"
val() { tr -d '\r' <"$TMP/out" | awk -v k="$1" '$1 == "VM" && $2 == k { print $3 }' | tail -n1; }
[[ $rc -eq 0 && $(val done) == 1 ]]
check vmdk_linux_boot $? "rc=$rc $(tail -c 800 "$TMP/out")"
[[ $(val evil_desc) != 0 && $(val evil_kdmv) != 0 && $(val plain_write) == 0 ]] &&
	cmp -s -n 512 "$TMP/r.raw" "$TMP/ov/p"
check vmdk_linux_probed_raw_header_refused $? "desc=$(val evil_desc) kdmv=$(val evil_kdmv) plain=$(val plain_write)"
[[ $(val size_vda) == $((64 * 2048)) && $(val size_vdb) == $((24 * 2048)) &&
	$(val size_vdc) == $((16 * 2048)) ]]
check vmdk_linux_sizes $? "vda=$(val size_vda) vdb=$(val size_vdb) vdc=$(val size_vdc)"
[[ $(val w1) == 0 && $(val w2) == 0 && $(val w3) == 0 && $(val rb1) == "$p_sha" ]] &&
	qemu-img check -q "$TMP/a.vmdk" &&
	qemu-img compare -q -f raw -F vmdk "$TMP/a.raw" "$TMP/a.vmdk"
check vmdk_linux_sparse_writes $? "dd=$(val w1)/$(val w2)/$(val w3) readback=$(val rb1)"
[[ $(val w4) == 0 ]] && qemu-img compare -q -f raw -F vmdk "$TMP/c.raw" "$TMP/c.vmdk"
check vmdk_linux_flat_writes $? "dd=$(val w4)"
[[ $(val s_sha) == "$s_sha" && $(val ro_vdb) == 1 && $(val ro_dd) != 0 &&
	$(sha256sum <"$TMP/s.vmdk") == "$s_file" ]]
check vmdk_linux_stream_read $? "sha=$(val s_sha) want $s_sha ro=$(val ro_vdb) dd=$(val ro_dd)"
