#!/usr/bin/env bash
# virtio-blk end to end under a real Linux guest: raw and qcow2 disks in
# --disk order, ext4 data that survives a power cycle and reads the same on
# the host, flush, readonly=on, reads past the end, discard and
# write-zeroes, the image lock while a VM runs, and errors before start.
#
# The guest script is too long for the kernel command line (255 bytes for
# the ELF vmlinux), so it travels as /t.sh in a cpio archive appended to the
# initramfs; the guest prints "BLK <key> <value>" lines the host parses.
. "$(dirname "$0")/lib.sh"

# Errors before the VM starts: no boot needed, so they run everywhere.
pre_start_error() {
	local name=$1 path=$2 want=$3
	run_vm 30 --accel emu --kernel /dev/null --memory 64M --disk "path=$path"
	[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q "disk '$path'.*$want" "$TMP/out"
	check "$name" $? "rc=$rc: $(head -c 300 "$TMP/out")"
}
pre_start_error blk_missing_file_error "$TMP/no-such.img" "No such file"
mkdir "$TMP/dir.img"
pre_start_error blk_directory_error "$TMP/dir.img" "is a directory"

load_linux_assets blk_linux || exit 0
for tool in mkfs.ext4 debugfs e2fsck qemu-img cpio; do
	command -v $tool >/dev/null ||
		{ skip blk_linux "no $tool on the host"; exit 0; }
done
accel=$(linux_accels | head -n1)
if [[ -z $accel ]]; then
	skip blk_linux "no accelerator here can boot Linux"
	exit 0
fi

MiB=$((1 << 20))
# ROOT: ext4 (vda). SCRATCH: raw random bytes (vdb). RO: ext4 with a known
# file, attached readonly=on (vdc). QC: ext4 in qcow2 (vdd). Sizes differ so
# the guest's view of each size proves the order.
ROOT=$TMP/root.img SCRATCH=$TMP/scratch.img RO=$TMP/ro.img QC=$TMP/q.qcow2
truncate -s 48M "$ROOT" && mkfs.ext4 -q -F "$ROOT" || { fail blk_linux "mkfs.ext4"; exit 0; }
head -c $((24 * MiB)) /dev/urandom >"$SCRATCH"
truncate -s 16M "$RO" && mkfs.ext4 -q -F "$RO" &&
	head -c 100000 /dev/urandom >"$TMP/known" &&
	debugfs -w -R "write $TMP/known known" "$RO" >/dev/null 2>&1
known_sha=$(sha256sum <"$TMP/known" | cut -d' ' -f1)
ro_sha=$(sha256sum <"$RO")
truncate -s 40M "$TMP/q.raw" && mkfs.ext4 -q -F "$TMP/q.raw" &&
	qemu-img convert -f raw -O qcow2 "$TMP/q.raw" "$QC" && rm "$TMP/q.raw"
# ODD: a raw image that ends inside a sector (vde), on the O_DIRECT path
# when this file system has one.
ODD=$TMP/odd.img
head -c $((2 * MiB + 256 * 1024 + 100)) /dev/urandom >"$ODD"
odd_cache=writeback
dd if=/dev/zero of="$TMP/probe" bs=4k count=1 oflag=direct status=none 2>/dev/null &&
	odd_cache=none
odd_tail=$( (tail -c 100 "$ODD"; head -c 412 /dev/zero) | sha256sum | cut -d' ' -f1)
# the whole disk in one read: requests of 1280 KiB and 1024.5 KiB (more
# than one bounce buffer), the last crossing the end
odd_all=$( (cat "$ODD"; head -c 412 /dev/zero) | md5sum | cut -d' ' -f1)
sync

# BLKZEROOUT has no busybox command: a tiny static helper does it.
cat >"$TMP/zeroout.c" <<'EOF'
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
int main(int argc, char **argv)
{
	uint64_t r[2];
	int fd = argc == 4 ? open(argv[1], O_WRONLY) : -1;

	if (fd < 0)
		return 2;
	r[0] = strtoull(argv[2], 0, 0);
	r[1] = strtoull(argv[3], 0, 0);
	return ioctl(fd, BLKZEROOUT, r) ? 1 : 0;
}
EOF
mkdir -p "$TMP/ov"
# Random data comes from the host: /dev/urandom is slow under emu.
head -c 262144 /dev/urandom >"$TMP/ov/d1"
head -c 196608 /dev/urandom >"$TMP/ov/d2"
head -c $MiB /dev/urandom >"$TMP/ov/p"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
# The first sector of a qcow2 image with a backing file on the host.
qemu-img create -q -f qcow2 -b "$TMP/known" -F raw "$TMP/evil.qcow2" 1M &&
	head -c 512 "$TMP/evil.qcow2" >"$TMP/ov/evil"
d1_sha=$(sha "$TMP/ov/d1") d2_sha=$(sha "$TMP/ov/d2") p_sha=$(sha "$TMP/ov/p")
cc -static -O2 -o "$TMP/ov/zeroout" "$TMP/zeroout.c" 2>/dev/null || rm -f "$TMP/ov/zeroout"

# Boot 1. The guest prints "BLK ready" after its first writes and waits
# (bounded) for the host to write GOGOGOGO over sector 0 of the scratch
# disk; meanwhile the host checks the flushed data and the image lock.
cat >"$TMP/ov/t1.sh" <<EOF
r() { echo "BLK \$* \$(cut -d' ' -f1 /proc/uptime)"; }
for d in vda vdb vdc vdd vde; do r size_\$d \$(cat /sys/block/\$d/size); done
r ro_vdc \$(cat /sys/block/vdc/ro)
r wc_vda \$(cat /sys/block/vda/queue/write_cache | tr ' ' _)
mkdir -p /a /c /q
mount -t ext4 /dev/vda /a; r mount_vda \$?
cp /d1 /a/data; r data_sha \$(sha256sum /a/data | cut -d' ' -f1)
mkdir /a/dir && echo hello >/a/dir/f; sync; r umount_vda_rc \$(umount /a; echo \$?)
mount -t ext4 /dev/vdd /q; r mount_vdd \$?
cp /d2 /q/data; r qdata_sha \$(sha256sum /q/data | cut -d' ' -f1)
dd if=/dev/zero of=/q/big bs=64k count=16 2>/dev/null; sync; rm /q/big; sync
r fstrim_vdd \$(fstrim /q >/dev/null 2>&1; echo \$?)
r umount_vdd_rc \$(umount /q; echo \$?)
dd if=/p of=/dev/vdb bs=64k seek=16 conv=fsync 2>/dev/null; r pat_dd \$?
cap=\$(cat /sys/block/vdb/size)
dd if=/dev/vdb of=/tmp/o bs=512 skip=\$cap count=8 iflag=direct 2>/dev/null
r oor_rc \$? ; r oor_bytes \$(stat -c %s /tmp/o)
dd if=/dev/vdb of=/tmp/o bs=512 skip=\$((cap - 1)) count=8 iflag=direct 2>/dev/null
r tail_rc \$? ; r tail_bytes \$(stat -c %s /tmp/o)
# busybox mount falls back to read-only: the mount must end up ro
mount -t ext4 -o rw /dev/vdc /c 2>/dev/null
r ro_mount_rw \$(touch /c/x 2>/dev/null; echo \$?)\$(grep -c ' /c ext4 rw' /proc/mounts)
umount /c 2>/dev/null
mount -t ext4 -o ro /dev/vdc /c; r ro_mount_ro \$?
r known_sha \$(sha256sum /c/known | cut -d' ' -f1); umount /c
dd if=/dev/zero of=/dev/vdc bs=4k count=1 oflag=direct 2>/dev/null; r ro_dd \$?
c=\$(cat /sys/block/vde/size)
r odd_all \$(dd if=/dev/vde bs=\$((c * 512)) count=1 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
r odd_read \$(dd if=/dev/vde bs=512 skip=\$((c - 1)) count=1 2>/dev/null | sha256sum | cut -d' ' -f1)
dd if=/p of=/dev/vde bs=512 seek=\$((c - 1)) count=1 2>/dev/null; r odd_write \$?
# a qcow2 header into probed raw (vdb) is refused; format=raw (vde) takes it
dd if=/evil of=/dev/vdb bs=512 count=1 conv=fsync 2>/dev/null; r evil_probed \$?
r evil_read_vdb \$(dd if=/dev/vdb bs=512 count=1 iflag=direct 2>/dev/null | head -c 3 | tr -dc A-Z)
dd if=/evil of=/dev/vde bs=512 count=1 conv=fsync 2>/dev/null; r evil_explicit \$?
r ready 1
i=0
while [ \$i -lt 1200 ] && [ "\$(dd if=/dev/vdb bs=512 count=1 iflag=direct 2>/dev/null | head -c 8)" != GOGOGOGO ]; do
	i=\$((i + 1)); sleep 0.1
done
r go \$i
blkdiscard -o $((4 * MiB)) -l $((8 * MiB)) /dev/vdb; r discard \$?
if [ -x /zeroout ]; then /zeroout /dev/vdb $((14 * MiB)) $((2 * MiB)); r zeroout \$?; fi
r nonzero \$(dd if=/dev/vdb bs=64k skip=224 count=32 iflag=direct 2>/dev/null | tr -d '\\000' | wc -c)
r alive 1
EOF
# Boot 2 (two vCPUs, so two queues per disk): the data survived the power
# cycle; the qcow2 device is unbound and bound again (reset, queues set up
# anew) before use; both disks then take writes in parallel. The guest also
# reads /dev/hwrng (virtio-rng) and talks both ways on /dev/hvc0, a
# virtio-console on a pty the host side opens.
cat >"$TMP/ov/t2.sh" <<'EOF'
r() { echo "BLK $*"; }
r serial_vda $(cat /sys/block/vda/serial)
dev=$(basename "$(readlink -f /sys/block/vdb/device/..)")
echo "$dev" >/sys/bus/pci/drivers/virtio-pci/unbind
r unbound $(ls /sys/block | tr '\n' ,)
echo "$dev" >/sys/bus/pci/drivers/virtio-pci/bind
i=0
while [ ! -b /dev/vdb ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
r rebound $(ls /sys/block | tr '\n' ,)
mkdir -p /a /q
mount -t ext4 /dev/vda /a; r mount_vda $?
r data_sha $(sha256sum /a/data | cut -d' ' -f1)
r dir_f $(cat /a/dir/f)
mount -t ext4 /dev/vdb /q; r mount_vdb $?
r qdata_sha $(sha256sum /q/data | cut -d' ' -f1)
cp /d2 /a/c2 & cp /d1 /q/c1 & wait
sync; echo 3 >/proc/sys/vm/drop_caches
r c1_sha $(sha256sum /q/c1 | cut -d' ' -f1)
r c2_sha $(sha256sum /a/c2 | cut -d' ' -f1)
r umount_rc $(umount /a /q; echo $?)
r rng_current $(cat /sys/class/misc/hw_random/rng_current)
r hwrng_bytes $(dd if=/dev/hwrng bs=32 count=4 2>/dev/null | wc -c)
echo "hvc-out-$(cat /sys/block/vda/size)" >/dev/hvc0; r hvc_out $?
r hvc_ready 1
read -t 60 l </dev/hvc0; r hvc_in "$l"
EOF
(cd "$TMP/ov" && ls | cpio -o -H newc 2>/dev/null | gzip -1) >"$TMP/ov.cpio.gz"
cat "$CVISOR_INITRD" "$TMP/ov.cpio.gz" >"$TMP/initrd"

# boot_bg SCRIPT OUT disk args...: boots in the background, pid in $vm_pid.
boot_bg() {
	local script=$1 out=$2
	shift 2
	: >"$out"
	timeout --kill-after=5 600 "$CVISOR" run --accel "$accel" --memory 256M \
		--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$TMP/initrd" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.test=\"sh /$script\"" \
		"$@" </dev/null >"$out" 2>&1 &
	vm_pid=$!
}
# val OUT KEY: the guest's value for KEY.
val() {
	tr -d '\r' <"$1" | awk -v k="$2" '$1 == "BLK" && $2 == k { print $3 }' | tail -n1
}
# wait_key OUT KEY: until the guest printed KEY or the VM ended.
wait_key() {
	local i
	for ((i = 0; i < 6000; i++)); do
		[[ -n $(val "$1" "$2") ]] && return 0
		kill -0 "$vm_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

start=$SECONDS
O1=$TMP/out1
boot_bg t1.sh "$O1" --disk "path=$ROOT" --disk "path=$SCRATCH" \
	--disk "path=$RO,readonly=on" --disk "path=$QC,format=qcow2" \
	--disk "path=$ODD,cache=$odd_cache,format=raw"
if wait_key "$O1" ready; then
	# Flushed by the guest, visible in the file while the VM runs.
	host_pat=$(dd if="$SCRATCH" bs=64k skip=16 count=16 2>/dev/null | sha256sum | cut -d' ' -f1)
	[[ $host_pat == "$p_sha" && $(val "$O1" pat_dd) == 0 ]]
	check blk_flush_visible_while_running $? "dd=$(val "$O1" pat_dd) want $p_sha host $host_pat"
	for spec in "rw:path=$ROOT" "ro:path=$ROOT,readonly=on" "qcow2:path=$QC,format=qcow2"; do
		run_vm 30 --accel emu --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
			--memory 64M --disk "${spec#*:}"
		[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q "is locked" "$TMP/out"
		check "blk_lock_${spec%%:*}" $? "rc=$rc: $(head -c 300 "$TMP/out")"
	done
	# readers share: a second reader runs, a writer is refused
	run_vm 30 --accel emu --test-exit --memory 64M --kernel "$GUESTS/hello.elf" \
		--disk "path=$RO,readonly=on"
	check blk_lock_readers_share $rc "rc=$rc: $(head -c 300 "$TMP/out")"
	run_vm 30 --accel emu --test-exit --memory 64M --kernel "$GUESTS/hello.elf" \
		--disk "path=$RO"
	[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q "is locked" "$TMP/out"
	check blk_lock_writer_vs_reader $? "rc=$rc: $(head -c 300 "$TMP/out")"
	blocks_before=$(stat -c %b "$SCRATCH")
else
	fail blk_linux "guest never got ready: $(tail -c 600 "$O1")"
fi
printf GOGOGOGO | dd of="$SCRATCH" conv=notrunc status=none
wait "$vm_pid"
rc=$?
echo "boot 1: $((SECONDS - start)) s"
[[ -n ${BLK_VERBOSE:-} ]] && tr -d '\r' <"$O1" | grep '^BLK '
[[ $rc -eq 0 ]] && grep -q 'cvisor-guest: result 0' "$O1" && [[ $(val "$O1" alive) == 1 ]]
check blk_linux_boot1 $? "rc=$rc $(tail -c 800 "$O1")"

[[ $(val "$O1" size_vda) == $((48 * 2048)) && $(val "$O1" size_vdb) == $((24 * 2048)) &&
	$(val "$O1" size_vdc) == $((16 * 2048)) && $(val "$O1" size_vdd) == $((40 * 2048)) ]]
check blk_disk_order $? "sizes vda=$(val "$O1" size_vda) vdb=$(val "$O1" size_vdb) vdc=$(val "$O1" size_vdc) vdd=$(val "$O1" size_vdd)"
[[ $(val "$O1" wc_vda) == write_back ]]
check blk_flush_negotiated $? "write_cache=$(val "$O1" wc_vda)"
[[ $(val "$O1" mount_vda) == 0 && $(val "$O1" umount_vda_rc) == 0 && $(val "$O1" data_sha) == "$d1_sha" ]]
check blk_ext4_raw_write $? "mount=$(val "$O1" mount_vda) umount=$(val "$O1" umount_vda_rc)"

# Reads at and across the end: no data, no error storm, the VM goes on.
[[ $(val "$O1" oor_bytes) == 0 && $(val "$O1" tail_bytes) == 512 ]]
check blk_read_past_end $? "past end: rc=$(val "$O1" oor_rc) $(val "$O1" oor_bytes) bytes; last sector: rc=$(val "$O1" tail_rc) $(val "$O1" tail_bytes) bytes"

[[ $(val "$O1" ro_vdc) == 1 && $(val "$O1" ro_mount_rw) == 10 && $(val "$O1" ro_mount_ro) == 0 &&
	$(val "$O1" known_sha) == "$known_sha" && $(val "$O1" ro_dd) != 0 &&
	$(sha256sum <"$RO") == "$ro_sha" ]]
check blk_readonly $? "ro=$(val "$O1" ro_vdc) mount rw=$(val "$O1" ro_mount_rw) ro=$(val "$O1" ro_mount_ro) dd=$(val "$O1" ro_dd) known=$(val "$O1" known_sha)"

# The partial last sector reads as zeroes past the end of the file, and
# takes a write (the file grows to whole sectors, as under QEMU).
[[ $(val "$O1" size_vde) == 4609 && $(val "$O1" odd_read) == "$odd_tail" &&
	$(val "$O1" odd_all) == "$odd_all" &&
	$(val "$O1" odd_write) == 0 && $(stat -c %s "$ODD") == $((4609 * 512)) ]] &&
	cmp -s -i $((4608 * 512)):0 -n 512 "$ODD" "$TMP/ov/p"
check blk_partial_last_sector_cache_$odd_cache $? "size=$(val "$O1" size_vde) read $(val "$O1" odd_read) want $odd_tail whole $(val "$O1" odd_all) want $odd_all write=$(val "$O1" odd_write) file $(stat -c %s "$ODD") bytes"

# A guest must not turn a probed raw image into a qcow2 image (whose
# backing file would let it read host files on the next boot).
[[ $(val "$O1" evil_probed) != 0 && $(val "$O1" evil_read_vdb) != QFI &&
	$(val "$O1" evil_explicit) == 0 && $(head -c 3 "$ODD") == QFI ]]
check blk_probed_raw_refuses_image_header $? "probed: dd=$(val "$O1" evil_probed), read back $(val "$O1" evil_read_vdb); format=raw: dd=$(val "$O1" evil_explicit)"

# Discard punches holes; write-zeroes reads back as zeroes, in both views.
zero_sha=$(head -c $((2 * MiB)) /dev/zero | sha256sum | cut -d' ' -f1)
blocks_after=$(stat -c %b "$SCRATCH")
[[ $(val "$O1" discard) == 0 && -n ${blocks_before:-} &&
	$((blocks_before - blocks_after)) -ge $((7 * MiB / 512)) ]] &&
	cmp -s -n $((8 * MiB)) -i $((4 * MiB)):0 "$SCRATCH" /dev/zero
check blk_discard_punches_holes $? "rc=$(val "$O1" discard) 512-byte blocks ${blocks_before:-?} -> $blocks_after"
if [[ -x $TMP/ov/zeroout ]]; then
	host_zero=$(dd if="$SCRATCH" bs=64k skip=224 count=32 2>/dev/null | sha256sum | cut -d' ' -f1)
	[[ $(val "$O1" zeroout) == 0 && $(val "$O1" nonzero) == 0 && $host_zero == "$zero_sha" ]]
	check blk_write_zeroes $? "rc=$(val "$O1" zeroout) guest saw $(val "$O1" nonzero) nonzero bytes; host sha $host_zero"
else
	skip blk_write_zeroes "cannot build a static BLKZEROOUT helper (cc -static)"
fi

start=$SECONDS
O2=$TMP/out2
boot_bg t2.sh "$O2" --cpus 2 --disk "path=$ROOT,cache=none,serial=root-disk" --disk "path=$QC" \
	--virtio-console pty
pty=
for ((i = 0; i < 100; i++)); do
	pty=$(tr -d '\r' <"$O2" | sed -n 's|^virtio-console: guest /dev/hvc0 is on ||p')
	[[ -n $pty ]] && break
	sleep 0.1
done
cat_pid= pty_ok=0
if [[ -c $pty ]]; then
	pty_ok=1
	cat "$pty" >"$TMP/hvc" 2>/dev/null &
	cat_pid=$!
	wait_key "$O2" hvc_ready && printf 'ping-from-host\n' >"$pty"
fi
wait "$vm_pid"
rc=$?
[[ -n $cat_pid ]] && kill "$cat_pid" 2>/dev/null
echo "boot 2: $((SECONDS - start)) s"
[[ $rc -eq 0 && $(val "$O2" mount_vda) == 0 && -n $(val "$O1" data_sha) &&
	$(val "$O2" data_sha) == "$d1_sha" && $(val "$O2" dir_f) == hello ]]
check blk_ext4_raw_persists $? "rc=$rc sha boot1 $(val "$O1" data_sha) boot2 $(val "$O2" data_sha) $(tail -c 400 "$O2")"
[[ $(val "$O2" serial_vda) == root-disk && $(val "$O2" unbound) == vda, &&
	$(val "$O2" rebound) == vda,vdb, ]]
check blk_serial_and_rebind $? "serial=$(val "$O2" serial_vda) unbound=$(val "$O2" unbound) rebound=$(val "$O2" rebound)"
[[ $(val "$O2" c1_sha) == "$d1_sha" && $(val "$O2" c2_sha) == "$d2_sha" && $(val "$O2" umount_rc) == 0 ]]
check blk_parallel_writes_two_queues $? "c1 $(val "$O2" c1_sha) c2 $(val "$O2" c2_sha) umount=$(val "$O2" umount_rc)"
[[ $(val "$O2" rng_current) == virtio_rng.* && $(val "$O2" hwrng_bytes) == 128 ]]
check virtio_rng_linux $? "rng_current=$(val "$O2" rng_current) bytes=$(val "$O2" hwrng_bytes)"
[[ $pty_ok == 1 && $(val "$O2" hvc_out) == 0 && $(val "$O2" hvc_in) == ping-from-host ]] &&
	grep -q "hvc-out-$((48 * 2048))" "$TMP/hvc"
check virtio_console_pty_linux $? "pty '$pty' out=$(val "$O2" hvc_out) in='$(val "$O2" hvc_in)' host saw '$(head -c 200 "$TMP/hvc" 2>/dev/null)'"
host_sha=$(debugfs -R "cat /data" "$ROOT" 2>/dev/null | sha256sum | cut -d' ' -f1)
e2fsck -fn "$ROOT" >"$TMP/fsck" 2>&1
[[ $? -eq 0 && $host_sha == "$d1_sha" ]]
check blk_ext4_raw_host_view $? "host sha $host_sha; $(tail -n 3 "$TMP/fsck")"

[[ $(val "$O1" mount_vdd) == 0 && $(val "$O1" umount_vdd_rc) == 0 && $(val "$O2" mount_vdb) == 0 &&
	$(val "$O1" qdata_sha) == "$d2_sha" && $(val "$O2" qdata_sha) == "$d2_sha" ]]
check blk_qcow2_ext4_persists $? "mount $(val "$O1" mount_vdd)/$(val "$O2" mount_vdb) sha $(val "$O1" qdata_sha) / $(val "$O2" qdata_sha)"
qemu-img check "$QC" >"$TMP/qcheck" 2>&1
check blk_qcow2_check_clean $? "$(tail -n 5 "$TMP/qcheck")"
qemu-img convert -f qcow2 -O raw "$QC" "$TMP/q.raw" &&
	host_sha=$(debugfs -R "cat /data" "$TMP/q.raw" 2>/dev/null | sha256sum | cut -d' ' -f1)
[[ $host_sha == "$d2_sha" ]]
check blk_qcow2_host_view $? "host sha $host_sha"
