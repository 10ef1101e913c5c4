#!/usr/bin/env bash
# virtio-blk on KVM: a raw and a qcow2 disk; the guest reads what the host
# wrote, writes its own data with fsync, and reads it back with O_DIRECT;
# the host then finds the guest's data in both images.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

random_bytes 0 1048576 >"$TMP/host.bin"
random_bytes 1048576 1048576 >"$TMP/guest.bin"
truncate -s 16M "$TMP/raw.img"
dd if="$TMP/host.bin" of="$TMP/raw.img" conv=notrunc 2>/dev/null
"$CVISOR" img create -f qcow2 "$TMP/q.qcow2" 16M >/dev/null
sha() { sha256sum "$1" | cut -d' ' -f1; }
host_sha=$(sha "$TMP/host.bin")
guest_sha=$(sha "$TMP/guest.bin")
# The guest's data comes from the host as a third, raw disk (vdc): the
# guest's own /dev/urandom would be slow here.
cmd='r() { echo "BLK $*"; }
r host $(dd if=/dev/vda bs=64k count=16 iflag=direct 2>/dev/null | sha256sum | cut -d" " -f1)
for d in vda vdb; do
dd if=/dev/vdc of=/dev/$d bs=64k count=16 seek=32 conv=fsync 2>/dev/null; r write_$d $?
r read_$d $(dd if=/dev/$d bs=64k count=16 skip=32 iflag=direct 2>/dev/null | sha256sum | cut -d" " -f1)
done'
linux_boot kvm 300 "$cmd" --memory 256M --disk "path=$TMP/raw.img" \
	--disk "path=$TMP/q.qcow2,format=qcow2" \
	--disk "path=$TMP/guest.bin,readonly=on"
got() { sed -n "s/.*BLK $1 \([0-9a-f]*\).*/\1/p" "$TMP/out" | tr -d '\r'; }

[[ $rc -eq 0 && $(got host) == "$host_sha" ]]
check nested_kvm_blk_guest_reads_host_data $? "rc=$rc got '$(got host)' want $host_sha: $(tail -c 300 "$TMP/out")"
for d in vda vdb; do
	[[ $(got "write_$d") == 0 && $(got "read_$d") == "$guest_sha" ]]
	check "nested_kvm_blk_${d}_write_read_back" $? "write '$(got "write_$d")' read '$(got "read_$d")' want $guest_sha"
done
on_raw=$(dd if="$TMP/raw.img" bs=64k count=16 skip=32 2>/dev/null | sha256sum | cut -d' ' -f1)
"$CVISOR" img convert -f qcow2 -O raw "$TMP/q.qcow2" "$TMP/q.raw" >/dev/null 2>&1
on_qcow2=$(dd if="$TMP/q.raw" bs=64k count=16 skip=32 2>/dev/null | sha256sum | cut -d' ' -f1)
[[ $on_raw == "$guest_sha" && $on_qcow2 == "$guest_sha" ]]
check nested_kvm_blk_data_in_images $? "raw $on_raw qcow2 $on_qcow2 want $guest_sha"
