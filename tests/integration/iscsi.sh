#!/usr/bin/env bash
# iSCSI disks (--disk url=iscsi://..., cvisor img on iscsi:// URLs) against
# a real target: tgtd, the user-space target daemon, started here on
# 127.0.0.1 with file-backed LUNs. What the initiator wrote is checked in
# the target's backing files; qemu-img (with its iscsi driver, Debian's
# qemu-block-extra) is the oracle where it has one.
. "$(dirname "$0")/lib.sh"

# URL errors are usage errors: no target needed.
url_error() {
	local name=$1 url=$2 want=$3
	run_vm 30 --accel emu --kernel /dev/null --memory 64M --disk "url=$url"
	[[ $rc -ne 0 && $rc -lt 124 && $(grep -c . "$TMP/out") -eq 1 ]] &&
		grep -q -- "$want" "$TMP/out"
	check "$name" $? "rc=$rc: $(head -c 300 "$TMP/out")"
}
url_error iscsi_url_no_lun "iscsi://127.0.0.1/iqn.2026-01.test:x" "no LUN"
url_error iscsi_url_bad_port "iscsi://127.0.0.1:99999/iqn.2026-01.test:x/1" "port out of range"
url_error iscsi_url_scheme "nbd://127.0.0.1/x" "not a URL cvisor knows"
url_error iscsi_url_options "iscsi://127.0.0.1/iqn.2026-01.test:x/1?header_digest=none" "options after"
run_vm 30 --accel emu --kernel /dev/null --memory 64M \
	--disk "url=iscsi://h/iqn.x:y/1,path=/tmp/x"
[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q "one of them" "$TMP/out"
check iscsi_url_and_path $? "rc=$rc: $(head -c 300 "$TMP/out")"

for tool in tgtd tgtadm; do
	command -v $tool >/dev/null ||
		{ skip iscsi "no $tool on the host (Debian package tgt)"; exit 0; }
done

# A port and control socket of our own, so a system tgtd (port 3260,
# control port 0) or another test run does not clash.
CTL=$((100 + $$ % 800))
PORT=$((20000 + $$ % 20000))
TGTD_LOG=$TMP/tgtd.log
tgtd_pid=
start_tgtd() {
	tgtd -f --iscsi "portal=127.0.0.1:$PORT" -C "$CTL" >>"$TGTD_LOG" 2>&1 &
	tgtd_pid=$!
	local i
	for ((i = 0; i < 100; i++)); do
		tgtadm -C "$CTL" --op show --mode sys >/dev/null 2>&1 && return 0
		kill -0 "$tgtd_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
stop_tgtd() {
	[[ -n $tgtd_pid ]] || return 0
	kill -9 "$tgtd_pid" 2>/dev/null
	wait "$tgtd_pid" 2>/dev/null
	tgtd_pid=
}
trap 'stop_tgtd; rm -rf "$TMP"' EXIT
adm() { tgtadm -C "$CTL" --lld iscsi "$@"; }

IQN=iqn.2026-01.io.cvisor.test:disk
CHAP_IQN=iqn.2026-01.io.cvisor.test:chap
THIN_IQN=iqn.2026-01.io.cvisor.test:thin
LUN=$TMP/lun.img CHAP_LUN=$TMP/chap.img THIN_LUN=$TMP/thin.img
truncate -s 64M "$LUN"
truncate -s 16M "$CHAP_LUN"
truncate -s 32M "$THIN_LUN"
# targets: 1 open to all, 2 behind CHAP (user cvisor), 3 thin-provisioned
# (UNMAP punches holes in the backing file, GET LBA STATUS finds them)
setup_targets() {
	adm --op new --mode target --tid 1 -T "$IQN" &&
		adm --op new --mode logicalunit --tid 1 --lun 1 -b "$LUN" &&
		adm --op bind --mode target --tid 1 -I ALL &&
		adm --op new --mode target --tid 2 -T "$CHAP_IQN" &&
		adm --op new --mode logicalunit --tid 2 --lun 1 -b "$CHAP_LUN" &&
		adm --op bind --mode target --tid 2 -I ALL &&
		{ adm --op show --mode account | grep -q cvisor ||
			adm --op new --mode account --user cvisor --password chap-secret-42; } &&
		adm --op bind --mode account --tid 2 --user cvisor &&
		adm --op new --mode target --tid 3 -T "$THIN_IQN" &&
		adm --op new --mode logicalunit --tid 3 --lun 1 -b "$THIN_LUN" &&
		adm --op update --mode logicalunit --tid 3 --lun 1 \
			--params thin_provisioning=1 &&
		adm --op bind --mode target --tid 3 -I ALL
}
# target 4: 4 KiB blocks, which the guest's 512-byte sectors do not
# cover (read-modify-write); optional, as older tgt lacks --blocksize
B4K_IQN=iqn.2026-01.io.cvisor.test:b4k B4K_LUN=$TMP/b4k.img
truncate -s 32M "$B4K_LUN"
setup_b4k() {
	adm --op new --mode target --tid 4 -T "$B4K_IQN" &&
		adm --op new --mode logicalunit --tid 4 --lun 1 -b "$B4K_LUN" \
			--blocksize 4096 &&
		adm --op bind --mode target --tid 4 -I ALL
}
if ! start_tgtd; then
	skip iscsi "tgtd did not start: $(tail -c 300 "$TGTD_LOG")"
	exit 0
fi
if ! setup_targets >>"$TGTD_LOG" 2>&1; then
	skip iscsi "tgtadm could not set up the targets: $(tail -c 300 "$TGTD_LOG")"
	exit 0
fi
URL=iscsi://127.0.0.1:$PORT/$IQN/1
B4K_URL=
setup_b4k >>"$TGTD_LOG" 2>&1 && B4K_URL=iscsi://127.0.0.1:$PORT/$B4K_IQN/1
CHAP_URL=iscsi://cvisor@127.0.0.1:$PORT/$CHAP_IQN/1
THIN_URL=iscsi://127.0.0.1:$PORT/$THIN_IQN/1
printf 'chap-secret-42\n' >"$TMP/chap.txt"
printf 'not-the-secret\n' >"$TMP/wrong.txt"

# img info: what qemu-img says, when its iscsi driver is installed.
"$CVISOR" img info "$URL" >"$TMP/info" 2>&1
grep -q '^file format: raw$' "$TMP/info" &&
	grep -q '^virtual size: 64 MiB (67108864 bytes)$' "$TMP/info" &&
	grep -q '^disk size: unavailable$' "$TMP/info"
check iscsi_img_info $? "$(cat "$TMP/info")"
qemu_iscsi=0
command -v qemu-img >/dev/null && qemu-img info "$URL" >"$TMP/qinfo" 2>&1 && qemu_iscsi=1
if [[ $qemu_iscsi == 1 ]]; then
	diff <(grep -v '^image:' "$TMP/info") <(grep -v '^image:' "$TMP/qinfo") >"$TMP/d"
	check iscsi_img_info_as_qemu $? "$(cat "$TMP/d")"
else
	skip iscsi_img_info_as_qemu "qemu-img has no iscsi driver here (qemu-block-extra)"
fi

# convert to the LUN: zero ranges too (the LUN holds old data), then the
# backing file equals the source; and back from the LUN into qcow2.
head -c 64M /dev/urandom >"$LUN"
qemu-img create -q -f qcow2 "$TMP/src.qcow2" 64M
qemu-io -c "write -P 0xab 1M 3M" -c "write -P 0x5c 40M 65k" -c "write -P 0x01 63M 1M" \
	"$TMP/src.qcow2" >/dev/null
"$CVISOR" img convert -f qcow2 -O raw "$TMP/src.qcow2" "$URL" >"$TMP/conv" 2>&1
rc=$?
[[ $rc -eq 0 ]] && qemu-img compare -q -f qcow2 -F raw "$TMP/src.qcow2" "$LUN"
check iscsi_img_convert_to $? "rc=$rc $(cat "$TMP/conv")"
"$CVISOR" img convert -O qcow2 "$URL" "$TMP/back.qcow2" >"$TMP/conv" 2>&1
rc=$?
[[ $rc -eq 0 ]] && qemu-img check -q "$TMP/back.qcow2" &&
	qemu-img compare -q -f qcow2 -F raw "$TMP/back.qcow2" "$LUN"
check iscsi_img_convert_from $? "rc=$rc $(cat "$TMP/conv")"
"$CVISOR" img compare "$URL" "$TMP/src.qcow2" >"$TMP/cmp" 2>&1
check iscsi_img_compare $? "$(cat "$TMP/cmp")"
if [[ $qemu_iscsi == 1 ]]; then
	qemu-img compare -q -f raw -F qcow2 "$URL" "$TMP/back.qcow2"
	check iscsi_img_compare_qemu_reads_lun $? "qemu-img sees another LUN content"
fi
# a LUN smaller than the source is refused before anything is written
qemu-img create -q -f raw "$TMP/big.raw" 128M
"$CVISOR" img convert -O raw "$TMP/big.raw" "$URL" >"$TMP/conv" 2>&1
rc=$?
[[ $rc -ne 0 && $(grep -c . "$TMP/conv") -eq 1 ]] && grep -q "less than" "$TMP/conv" &&
	qemu-img compare -q -f qcow2 -F raw "$TMP/src.qcow2" "$LUN"
check iscsi_img_convert_too_small $? "rc=$rc $(cat "$TMP/conv")"

# CHAP: the password from a file; a wrong one is one clear line.
"$CVISOR" img info "$CHAP_URL" >"$TMP/info" 2>&1
rc=$?
[[ $rc -ne 0 && $(grep -c . "$TMP/info") -eq 1 ]] && grep -q "needs a password" "$TMP/info"
check iscsi_chap_no_password $? "rc=$rc $(cat "$TMP/info")"
LIBISCSI_CHAP_PASSWORD=chap-secret-42 "$CVISOR" img info "$CHAP_URL" >"$TMP/info" 2>&1
check iscsi_chap_img_env $? "$(cat "$TMP/info")"
# qemu-img's spelling: --object secret and --image-opts driver=iscsi
printf 'chap-secret-42' >"$TMP/sec"
iopts="driver=iscsi,transport=tcp,portal=127.0.0.1:$PORT,target=$CHAP_IQN,lun=1,user=cvisor,password-secret=s0"
"$CVISOR" img info --object "secret,id=s0,file=$TMP/sec" --image-opts "$iopts" >"$TMP/info" 2>&1
rc=$?
[[ $rc -eq 0 ]] && grep -q '^virtual size: 16 MiB' "$TMP/info"
check iscsi_chap_img_image_opts $? "rc=$rc $(cat "$TMP/info")"
if [[ $qemu_iscsi == 1 ]]; then
	# qemu-img names the format after the driver given (iscsi); cvisor: raw
	qemu-img info --object "secret,id=s0,file=$TMP/sec" --image-opts "$iopts" >"$TMP/qinfo" 2>&1
	diff <(grep -vE '^(image|file format):' "$TMP/info") \
		<(grep -vE '^(image|file format):' "$TMP/qinfo") >"$TMP/d"
	check iscsi_chap_img_image_opts_as_qemu $? "$(cat "$TMP/d")"
fi
"$CVISOR" img info --object "secret,id=s0,file=$TMP/wrong.txt" --image-opts "$iopts" >"$TMP/info" 2>&1
rc=$?
[[ $rc -ne 0 && $(grep -c . "$TMP/info") -eq 1 ]] && grep -q "Authentication failure" "$TMP/info"
check iscsi_chap_img_image_opts_wrong $? "rc=$rc $(cat "$TMP/info")"
"$CVISOR" img info "${CHAP_URL/cvisor@/cvisor%chap-secret-42@}" >"$TMP/info" 2>&1
rc=$?
[[ $rc -eq 0 ]] && grep -q "visible to every user in ps" "$TMP/info" &&
	! grep -q chap-secret-42 "$TMP/info"
check iscsi_url_password_warned_not_shown $? "rc=$rc $(cat "$TMP/info")"

# Definitions: url and a relative secret file, which define stores
# absolute as it does disk paths; the VM opens the CHAP LUN from it; removing the
# definition's storage leaves the LUN and the secret alone.
export CVISOR_CONFIG_DIR=$TMP/vms CVISOR_RUNTIME_DIR=$TMP/run
mkdir -p "$TMP/def"
cp "$TMP/chap.txt" "$TMP/def/chap.txt"
cat >"$TMP/def/iv.json" <<JSON
{ "version": 1, "name": "iv", "kernel": "$GUESTS/hello.elf", "memory": "64M",
  "accel": "emu", "test-exit": true,
  "disk": [ { "url": "$CHAP_URL", "secret-file": "chap.txt" } ] }
JSON
(cd "$TMP/def" && "$CVISOR" define iv.json) >"$TMP/out" 2>&1
rc=$?
[[ $rc -eq 0 ]] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["disk"][0]; assert d=={"url": sys.argv[2], "secret-file": sys.argv[3]}, d' \
	"$CVISOR_CONFIG_DIR/iv.json" "$CHAP_URL" "$TMP/def/chap.txt"
check iscsi_definition_stored $? "rc=$rc $(head -c 300 "$TMP/out") $(cat "$CVISOR_CONFIG_DIR/iv.json" 2>&1)"
timeout 60 "$CVISOR" run --config "$CVISOR_CONFIG_DIR/iv.json" </dev/null >"$TMP/out" 2>&1
rc=$?
[[ $rc -eq 0 ]] && grep -q "hello from a cvisor test guest" "$TMP/out"
check iscsi_definition_runs $? "rc=$rc $(head -c 400 "$TMP/out")"
"$CVISOR" undefine iv --remove-storage >"$TMP/out" 2>&1
rc=$?
[[ $rc -eq 0 && -f $CHAP_LUN && -f $TMP/def/chap.txt ]] && ! grep -q removed "$TMP/out"
check iscsi_undefine_keeps_lun $? "rc=$rc $(cat "$TMP/out")"

load_linux_assets iscsi_linux || exit 0
accel=$(linux_accels | head -n1)
if [[ -z $accel ]]; then
	skip iscsi_linux "no accelerator here can boot Linux"
	exit 0
fi
run_vm 60 --accel "$accel" --memory 64M --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
	--disk "url=$CHAP_URL,secret-file=$TMP/wrong.txt"
[[ $rc -ne 0 && $rc -lt 124 && $(grep -c . "$TMP/out") -eq 1 ]] &&
	grep -q "Authentication failure" "$TMP/out"
check iscsi_chap_wrong_secret $? "rc=$rc: $(head -c 400 "$TMP/out")"

# The guest makes a file system on the LUN and writes a file and a raw
# pattern; the host reads both in the target's backing file.
head -c 300000 /dev/urandom >"$TMP/data"
mkdir -p "$TMP/ov"
cp "$TMP/data" "$TMP/ov/data"
head -c 1048576 /dev/urandom >"$TMP/ov/pat"
(cd "$TMP/ov" && ls | cpio -o -H newc 2>/dev/null | gzip -1) >"$TMP/ov.cpio.gz"
cat "$CVISOR_INITRD" "$TMP/ov.cpio.gz" >"$TMP/initrd"
# boot_cmd LIMIT GUEST-SCRIPT ARGS...: the command in BOOT, so that run in
# the background its pid is timeout's, which passes signals on to cvisor
boot_cmd() {
	local limit=$1 cmd=$2
	shift 2
	BOOT=(timeout --kill-after=5 "$limit" "$CVISOR" run --accel "$accel" --memory 256M
		--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$TMP/initrd"
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)"
		"$@")
}
boot() {
	boot_cmd "$@"
	"${BOOT[@]}" </dev/null
}
guest='r() { echo "ISCSI $*"; }
r size $(cat /sys/block/vda/size)
mke2fs -q /dev/vda; r mkfs $?
mount -t ext4 /dev/vda /mnt; r mount $?
cp /data /mnt/data; r cp $?
umount /mnt; r umount $?
dd if=/pat of=/dev/vdb bs=64k seek=8 conv=fsync 2>/dev/null; r dd $?
r chap_size $(cat /sys/block/vdb/size)
r discard_max $(cat /sys/block/vdc/queue/discard_max_bytes)
dd if=/pat of=/dev/vdc bs=64k seek=128 conv=fsync 2>/dev/null; r thin_dd $?
blkdiscard -o 8388608 -l 524288 /dev/vdc; r thin_discard $?
r ro_flag $(cat /sys/block/vdd/ro)
dd if=/pat of=/dev/vdd bs=4k count=1 seek=15000 oflag=direct 2>/dev/null; r ro_dd $?
[ -b /dev/vde ] && { dd if=/pat of=/dev/vde bs=512 count=3 seek=20001 oflag=direct 2>/dev/null; r b4k_dd $?; }'
dd if=/dev/zero of="$LUN" bs=1M count=64 conv=notrunc status=none
boot 600 "$guest" --disk "url=$URL" --disk "url=$CHAP_URL,secret-file=$TMP/chap.txt" \
	--disk "url=$THIN_URL" --disk "url=$URL,readonly=on" \
	${B4K_URL:+--disk "url=$B4K_URL"} >"$TMP/out1" 2>&1
rc=$?
val() { tr -d '\r' <"$1" | awk -v k="$2" '$1 == "ISCSI" && $2 == k { print $3 }' | tail -n1; }
[[ $rc -eq 0 && $(val "$TMP/out1" size) == 131072 && $(val "$TMP/out1" mkfs) == 0 &&
	$(val "$TMP/out1" mount) == 0 && $(val "$TMP/out1" cp) == 0 &&
	$(val "$TMP/out1" umount) == 0 ]] &&
	e2fsck -fn "$LUN" >"$TMP/fsck" 2>&1 &&
	debugfs -R "dump /data $TMP/got" "$LUN" >/dev/null 2>&1 &&
	cmp -s "$TMP/got" "$TMP/data"
check iscsi_linux_mkfs_write $? "rc=$rc $(tr -d '\r' <"$TMP/out1" | grep -E '^ISCSI|cvisor:' | tr '\n' ' ') $(tail -c 300 "$TMP/fsck" 2>/dev/null)"
[[ $(val "$TMP/out1" dd) == 0 && $(val "$TMP/out1" chap_size) == 32768 ]] &&
	cmp -s -i 524288:0 -n 1048576 "$CHAP_LUN" "$TMP/ov/pat"
check iscsi_linux_chap_disk_write $? "dd=$(val "$TMP/out1" dd) size=$(val "$TMP/out1" chap_size)"
# readonly=on: the guest sees a read-only disk and its write reaches nothing
[[ $(val "$TMP/out1" ro_flag) == 1 && $(val "$TMP/out1" ro_dd) != 0 ]] &&
	! cmp -s -i $((15000 * 4096)):0 -n 4096 "$LUN" "$TMP/ov/pat"
check iscsi_linux_readonly $? "ro=$(val "$TMP/out1" ro_flag) dd=$(val "$TMP/out1" ro_dd)"
if [[ -n $B4K_URL ]]; then
	[[ $(val "$TMP/out1" b4k_dd) == 0 ]] &&
		cmp -s -i $((20001 * 512)):0 -n 1536 "$B4K_LUN" "$TMP/ov/pat" &&
		cmp -s -n $((20001 * 512)) "$B4K_LUN" /dev/zero
	check iscsi_linux_4k_blocks_partial_write $? "dd=$(val "$TMP/out1" b4k_dd)"
else
	skip iscsi_linux_4k_blocks_partial_write "tgtadm --blocksize 4096 failed: $(tail -n 1 "$TGTD_LOG")"
fi
# the guest's discard became UNMAP: a hole in the backing file where the
# first half of the pattern was, the second half still there
[[ $(val "$TMP/out1" thin_dd) == 0 && $(val "$TMP/out1" thin_discard) == 0 ]] &&
	cmp -s -i 8388608:0 -n 524288 "$THIN_LUN" /dev/zero &&
	cmp -s -i $((8388608 + 524288)):524288 -n 524288 "$THIN_LUN" "$TMP/ov/pat" &&
	python3 -c 'import os,sys; f=os.open(sys.argv[1], os.O_RDONLY); sys.exit(os.lseek(f, 8388608, os.SEEK_DATA) == 8388608)' "$THIN_LUN"
check iscsi_linux_discard_unmaps $? "dd=$(val "$TMP/out1" thin_dd) discard=$(val "$TMP/out1" thin_discard) max=$(val "$TMP/out1" discard_max)"
# img map finds the LUN's holes through GET LBA STATUS, as qemu-img does
"$CVISOR" img map --output=json "$THIN_URL" >"$TMP/map" 2>&1
rc=$?
if [[ $qemu_iscsi == 1 ]]; then
	[[ $rc -eq 0 && $(grep -c '"zero": true' "$TMP/map") -ge 2 ]] &&
		diff "$TMP/map" <(qemu-img map --output=json "$THIN_URL") >"$TMP/d" 2>&1
	check iscsi_img_map_thin_as_qemu $? "rc=$rc $(head -c 300 "$TMP/map") $(head -c 300 "$TMP/d")"
else
	[[ $rc -eq 0 && $(grep -c '"zero": true' "$TMP/map") -ge 2 ]]
	check iscsi_img_map_thin $? "rc=$rc $(head -c 300 "$TMP/map")"
fi

# The target dies while the guest writes: requests fail (EIO in the
# guest), cvisor says so once and goes on; when the target is back the
# session comes back and writes land again.
guest='i=0; while [ $i -lt 400 ]; do
	if dd if=/pat of=/dev/vda bs=4k count=1 seek=$i oflag=direct 2>/dev/null; then s=ok; else s=fail; fi
	echo "ISCSI w$i $s"; i=$((i + 1))
	[ -e /tmp/stop ] && break
	sleep 0.2
done'
: >"$TMP/out2"
boot_cmd 600 "$guest" --disk "url=$URL"
"${BOOT[@]}" </dev/null >"$TMP/out2" 2>&1 &
vm_pid=$!
waitfor() { # waitfor PATTERN: until the guest printed it (at most 120 s)
	local i
	for ((i = 0; i < 1200; i++)); do
		tr -d '\r' <"$TMP/out2" | grep -q "$1" && return 0
		kill -0 "$vm_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
lines() { tr -d '\r' <"$TMP/out2" | grep "^ISCSI w"; }
gone_ok=1 back=1
if waitfor "^ISCSI w3 ok"; then
	stop_tgtd
	waitfor "^ISCSI w[0-9]* fail" && gone_ok=0
	start_tgtd && setup_targets >>"$TGTD_LOG" 2>&1
	# back: the last write landed, after one that failed
	for ((i = 0; i < 1200; i++)); do
		[[ $(lines | tail -n1) == *ok ]] && lines | grep -q fail && { back=0; break; }
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 0.1
	done
fi
kill -TERM "$vm_pid" 2>/dev/null
wait "$vm_pid"
rc=$?
[[ $gone_ok == 0 && $(grep -c "lost the iSCSI session" "$TMP/out2") -eq 1 ]] &&
	! grep -qiE "AddressSanitizer|runtime error|Segmentation|core dumped" "$TMP/out2"
check iscsi_target_gone $? "rc=$rc $(tr -d '\r' <"$TMP/out2" | grep -vE '^ISCSI w' | tail -c 600)"
[[ $back == 0 ]] && grep -q "iSCSI session back" "$TMP/out2"
check iscsi_target_back $? "$(lines | tail -n 3 | tr '\n' ' ') $(grep cvisor: "$TMP/out2" | tail -n 3)"
# SIGTERM ends the VM as usual, not a crash or a hang, and nothing is left
[[ $rc -eq 0 || $rc -eq 143 ]] && ! pgrep -f "127.0.0.1:$PORT/$IQN" >/dev/null
check iscsi_stops_cleanly $? "cvisor ended with status $rc; left: $(pgrep -af "127.0.0.1:$PORT/$IQN")"

# Live migration on this host: source and destination open the same LUN
# (no lock to hand over); the guest writes numbered records before and
# after, and every one is in the LUN's backing file, none missing.
dd if=/dev/zero of="$CHAP_LUN" bs=1M count=16 conv=notrunc status=none
guest='echo MIG-READY; i=0; while [ $i -lt 900 ]; do i=$((i + 1))
	printf "rec %06d\n" $i | dd of=/dev/vda bs=16 seek=$i conv=fsync 2>/dev/null
	sleep 0.2; done'
MPORT=$((PORT + 1))
mkdir -p "$TMP/runa" "$TMP/runb"
CVISOR_RUNTIME_DIR=$TMP/runb timeout 300 "$CVISOR" run --incoming "tcp:127.0.0.1:$MPORT" \
	</dev/null >"$TMP/b.out" 2>&1 &
dst=$!
boot_cmd 300 "$guest" --name imig --disk "url=$CHAP_URL,secret-file=$TMP/chap.txt"
CVISOR_RUNTIME_DIR=$TMP/runa "${BOOT[@]}" </dev/null >"$TMP/a.out" 2>&1 &
src=$!
for ((i = 0; i < 1200; i++)); do
	grep -q MIG-READY "$TMP/a.out" && break
	kill -0 $src 2>/dev/null || break
	sleep 0.1
done
sleep 3
CVISOR_RUNTIME_DIR=$TMP/runa timeout 120 "$CVISOR" migrate imig "tcp:127.0.0.1:$MPORT" \
	>"$TMP/m.out" 2>&1
mrc=$?
wait $src
src_rc=$?
check iscsi_migrate $((mrc + src_rc)) "migrate rc=$mrc $(cat "$TMP/m.out"); source rc=$src_rc $(tail -c 300 "$TMP/a.out"); dest $(tail -c 300 "$TMP/b.out")"
rec_last() { strings "$CHAP_LUN" | sed -n 's/^rec 0*\([0-9]*\)$/\1/p' | sort -n | tail -n1; }
at_switch=$(rec_last)
sleep 6
CVISOR_RUNTIME_DIR=$TMP/runb "$CVISOR" stop imig --force >/dev/null 2>&1
timeout 30 tail --pid=$dst -f /dev/null
kill -KILL $dst 2>/dev/null
wait $dst 2>/dev/null
recs=$(strings "$CHAP_LUN" | grep -c '^rec ')
last=$(rec_last)
[[ -n $last && -n $at_switch && $recs -eq $last && $last -gt $at_switch ]]
check iscsi_migrate_disk_writes_before_and_after $? "$recs records, $at_switch when the source ended, last $last; dest: $(grep cvisor: "$TMP/b.out" | tail -n 3)"
