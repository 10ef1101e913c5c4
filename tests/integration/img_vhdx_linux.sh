#!/usr/bin/env bash
# A Linux guest (under --accel emu here) on VHDX disks: it makes an ext4
# file system on each (a dynamic VHDX made by qemu-img, a fixed one and a
# dynamic one with 1 MiB blocks made by cvisor), writes a file and a raw
# pattern; the host then reads them through qemu-img: check clean, fsck
# clean, the file and the pattern intact.
. "$(dirname "$0")/lib.sh"

load_linux_assets img_vhdx_linux || exit 0
for tool in qemu-img e2fsck debugfs cpio; do
	command -v $tool >/dev/null ||
		{ skip img_vhdx_linux "no $tool on the host"; exit 0; }
done
accel=$(linux_accels | head -n1)
if [[ -z $accel ]]; then
	skip img_vhdx_linux "no accelerator here can boot Linux"
	exit 0
fi

DYN=$TMP/d.vhdx FIX=$TMP/f.vhdx SMALL=$TMP/s.vhdx
qemu-img create -q -f vhdx "$DYN" 48M
"$CVISOR" img create -q -f vhdx -o subformat=fixed "$FIX" 40M >/dev/null
"$CVISOR" img create -q -f vhdx -o block_size=1M,log_size=2M "$SMALL" 36M >/dev/null
mkdir -p "$TMP/ov"
head -c 300000 /dev/urandom >"$TMP/ov/data"
head -c 1048576 /dev/urandom >"$TMP/ov/pat"
(cd "$TMP/ov" && ls | cpio -o -H newc 2>/dev/null | gzip -1) >"$TMP/ov.cpio.gz"
cat "$CVISOR_INITRD" "$TMP/ov.cpio.gz" >"$TMP/initrd"

guest='r() { echo "IMG $*"; }
for d in vda vdb vdc; do
	r size_$d $(cat /sys/block/$d/size)
	mke2fs -q /dev/$d 24576; r mkfs_$d $?
	mount -t ext4 /dev/$d /mnt; r mount_$d $?
	cp /data /mnt/data; r cp_$d $?
	umount /mnt; r umount_$d $?
	dd if=/pat of=/dev/$d bs=64k seek=448 conv=fsync 2>/dev/null; r dd_$d $?
	r back_$d $(dd if=/dev/$d bs=64k skip=448 count=16 iflag=direct 2>/dev/null | md5sum | cut -d" " -f1)
done'
timeout --kill-after=5 900 "$CVISOR" run --accel "$accel" --memory 256M \
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$TMP/initrd" \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$guest" | base64 -w0)" \
	--disk "path=$DYN,format=vhdx" --disk "path=$FIX,format=vhdx" \
	--disk "path=$SMALL,format=vhdx" </dev/null >"$TMP/out" 2>&1
rc=$?
val() { tr -d '\r' <"$TMP/out" | awk -v k="$1" '$1 == "IMG" && $2 == k { print $3 }' | tail -n1; }
pat_md5=$(md5sum <"$TMP/ov/pat" | cut -d' ' -f1)
[[ $rc -eq 0 ]]
check img_vhdx_linux_boot $? "rc=$rc $(tail -c 600 "$TMP/out")"

for spec in "vda:$DYN" "vdb:$FIX" "vdc:$SMALL"; do
	IFS=: read -r dev img <<<"$spec"
	sectors=$(($(qemu-img info -f vhdx --output=json "$img" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])') / 512))
	name=img_linux_vhdx_$dev
	raw=$TMP/$dev.raw
	[[ $(val "size_$dev") == "$sectors" && $(val "mkfs_$dev") == 0 &&
		$(val "mount_$dev") == 0 && $(val "cp_$dev") == 0 &&
		$(val "umount_$dev") == 0 && $(val "dd_$dev") == 0 &&
		$(val "back_$dev") == "$pat_md5" ]]
	check "${name}_guest" $? "$(tr -d '\r' <"$TMP/out" | grep "^IMG .*_$dev" | tr '\n' ' ')"
	qemu-img check -q -f vhdx "$img"
	check "${name}_qemu_check" $? "qemu-img check found errors"
	"$CVISOR" img check -q "$img"
	check "${name}_cvisor_check" $? "cvisor img check found errors"
	qemu-img convert -f vhdx -O raw "$img" "$raw" &&
		e2fsck -fn "$raw" >"$TMP/fsck" 2>&1 &&
		debugfs -R "dump /data $TMP/got" "$raw" >/dev/null 2>&1 &&
		cmp -s "$TMP/got" "$TMP/ov/data" &&
		cmp -s -i $((448 * 65536)):0 -n 1048576 "$raw" "$TMP/ov/pat"
	check "${name}_host_reads" $? "$(tail -c 300 "$TMP/fsck")"
done
