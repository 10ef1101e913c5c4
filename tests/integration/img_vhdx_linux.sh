#!/usr/bin/env bash
# A Linux guest (under --accel emu here) on VHDX disks: it makes an ext4
# file system on each (a dynamic VHDX made by qemu-img, a fixed one and a
# dynamic one with 1 MiB blocks made by cvisor), writes a file and a raw
# pattern; the host then reads them through qemu-img: check clean, fsck
# clean, the file and the pattern intact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/img_linux_lib.sh"

img_linux_setup img_vhdx_linux
DYN=$TMP/d.vhdx FIX=$TMP/f.vhdx SMALL=$TMP/s.vhdx
qemu-img create -q -f vhdx "$DYN" 48M
"$CVISOR" img create -q -f vhdx -o subformat=fixed "$FIX" 40M >/dev/null
"$CVISOR" img create -q -f vhdx -o block_size=1M,log_size=2M "$SMALL" 36M >/dev/null
img_linux_run img_vhdx_linux "path=$DYN,format=vhdx" "path=$FIX,format=vhdx" \
	"path=$SMALL,format=vhdx"

for spec in "vda:$DYN" "vdb:$FIX" "vdc:$SMALL"; do
	IFS=: read -r dev img <<<"$spec"
	name=img_linux_vhdx_$dev
	img_linux_guest_ok "$name" "$dev" vhdx "$img"
	qemu-img check -q -f vhdx "$img"
	check "${name}_qemu_check" $? "qemu-img check found errors"
	"$CVISOR" img check -q "$img"
	check "${name}_cvisor_check" $? "cvisor img check found errors"
	img_linux_host_reads "$name" "$dev" vhdx "$img"
done
