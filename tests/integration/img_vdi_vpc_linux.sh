#!/usr/bin/env bash
# A Linux guest (under --accel emu here) on VDI and VHD disks: it makes an
# ext4 file system on each (a dynamic VDI and a dynamic VHD made by
# qemu-img, a fixed VHD made by cvisor), writes a file and a raw pattern;
# the host then reads them through qemu-img: check clean, fsck clean, the
# file and the pattern intact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img_linux_lib.sh"

img_linux_setup img_vdi_vpc_linux
VDI=$TMP/d.vdi VHD=$TMP/d.vhd FIX=$TMP/f.vhd
qemu-img create -q -f vdi "$VDI" 48M
qemu-img create -q -f vpc "$VHD" 40M
"$CVISOR" img create -q -f vpc -o subformat=fixed "$FIX" 32M >/dev/null
img_linux_run img_vdi_vpc_linux "path=$VDI,format=vdi" "path=$VHD,format=vpc" \
	"path=$FIX,format=vpc"

for spec in "vda:vdi:$VDI" "vdb:vpc:$VHD" "vdc:vpc:$FIX"; do
	IFS=: read -r dev fmt img <<<"$spec"
	name=img_linux_${fmt}_$dev
	img_linux_guest_ok "$name" "$dev" "$fmt" "$img"
	if [[ $fmt == vdi ]]; then
		qemu-img check -q -f vdi "$img"
		check "${name}_qemu_check" $? "qemu-img check found errors"
	fi
	img_linux_host_reads "$name" "$dev" "$fmt" "$img"
done
