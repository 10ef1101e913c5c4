# Shared by tests/integration/img_*_linux.sh (sourced after lib.sh, not run):
# a Linux guest makes an ext4 file system on each of its disks vda, vdb,
# vdc, writes a file and a raw pattern; the host then reads each image
# through qemu-img.

# img_linux_setup NAME: Linux assets, host tools and an accelerator, or a
# SKIP line and exit 0. Sets $accel.
img_linux_setup() {
	load_linux_assets "$1" || exit 0
	for tool in qemu-img e2fsck debugfs cpio; do
		command -v $tool >/dev/null ||
			{ skip "$1" "no $tool on the host"; exit 0; }
	done
	accel=$(linux_accels | head -n1)
	if [[ -z $accel ]]; then
		skip "$1" "no accelerator here can boot Linux"
		exit 0
	fi
}

# img_linux_run NAME DISK-SPEC...: boots the guest on the three disks
# (--disk specs) and checks NAME_boot; its output is in $TMP/out.
img_linux_run() {
	local name=$1 guest rc disks=() d
	shift
	for d; do disks+=(--disk "$d"); done
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
		"${disks[@]}" </dev/null >"$TMP/out" 2>&1
	rc=$?
	[[ $rc -eq 0 ]]
	check "${name}_boot" $? "rc=$rc $(tail -c 600 "$TMP/out")"
}

# img_linux_val KEY: what the guest reported for KEY.
img_linux_val() {
	tr -d '\r' <"$TMP/out" | awk -v k="$1" '$1 == "IMG" && $2 == k { print $3 }' | tail -n1
}

# img_linux_guest_ok NAME DEV FMT IMG: what the guest reported for DEV
# (the size of IMG, every step, the pattern read back); NAME_guest.
img_linux_guest_ok() {
	local name=$1 dev=$2 fmt=$3 img=$4 sectors pat_md5
	sectors=$(($(qemu-img info -f "$fmt" --output=json "$img" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])') / 512))
	pat_md5=$(md5sum <"$TMP/ov/pat" | cut -d' ' -f1)
	[[ $(img_linux_val "size_$dev") == "$sectors" &&
		$(img_linux_val "mkfs_$dev") == 0 &&
		$(img_linux_val "mount_$dev") == 0 &&
		$(img_linux_val "cp_$dev") == 0 &&
		$(img_linux_val "umount_$dev") == 0 &&
		$(img_linux_val "dd_$dev") == 0 &&
		$(img_linux_val "back_$dev") == "$pat_md5" ]]
	check "${name}_guest" $? "$(tr -d '\r' <"$TMP/out" | grep "^IMG .*_$dev" | tr '\n' ' ')"
}

# img_linux_host_reads NAME DEV FMT IMG: qemu-img reads IMG as a file
# system that fsck finds clean, with the file and the pattern intact.
img_linux_host_reads() {
	local name=$1 dev=$2 fmt=$3 img=$4 raw=$TMP/$2.raw
	qemu-img convert -f "$fmt" -O raw "$img" "$raw" &&
		e2fsck -fn "$raw" >"$TMP/fsck" 2>&1 &&
		debugfs -R "dump /data $TMP/got" "$raw" >/dev/null 2>&1 &&
		cmp -s "$TMP/got" "$TMP/ov/data" &&
		cmp -s -i $((448 * 65536)):0 -n 1048576 "$raw" "$TMP/ov/pat"
	check "${name}_host_reads" $? "$(tail -c 300 "$TMP/fsck")"
}
