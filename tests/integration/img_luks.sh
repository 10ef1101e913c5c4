#!/usr/bin/env bash
# Encrypted qcow2 (LUKS) against qemu-img: images made by either tool open
# in the other with the same passphrase and read back equal, qemu-img check
# is clean on ours, img info matches qemu-img's; a wrong passphrase or a
# damaged LUKS header is one line and leaves the file untouched; legacy AES
# images read. Then a Linux guest writes to an encrypted disk (key-file=,
# then key-secret= handed over the control socket) and qemu-img reads what
# it wrote, and the passphrase shows in no process list, log or info.
. "$(dirname "$0")/lib.sh"
export CVISOR_RUNTIME_DIR=$TMP/run

. "$(dirname "$0")/luks_lib.sh"
luks_setup img_luks
PASS_TEXT='luks test passphrase'
printf '%s\n' "$PASS_TEXT" >pass.txt
printf 'not it\n' >wrong.txt
SEC="--object secret,id=sec0,file=pass.txt"
WRONG="--object secret,id=sec0,file=wrong.txt"
# iter-time keeps PBKDF2 short: the tests are about the format, not its cost
ENC="encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10"
opts() { echo "driver=qcow2,file.filename=$1,encrypt.key-secret=sec0"; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }

# qemu-img makes and writes it; cvisor reads it.
qemu_create -o "$ENC" q.qcow2 16M &&
	qemu-io $SEC --image-opts "$(opts q.qcow2)" -c "write -P 0xa5 0 1M" \
		-c "write -P 0x3c 5M 4k" -c "write -P 0x77 7680 512" >/dev/null
qemu-img convert $SEC --image-opts -O raw "$(opts q.qcow2)" q_by_qemu.raw
"$C" img convert $SEC --image-opts -O raw "$(opts q.qcow2)" q_by_cvisor.raw
cmp -s q_by_qemu.raw q_by_cvisor.raw &&
	[[ $(head -c 1 q_by_cvisor.raw | od -An -tx1 | tr -d ' ') == a5 ]]
check luks_qemu_made_reads_equal $? "cvisor's read differs from qemu-img's"

# other ciphers both ways: aes-128-cbc-essiv:sha256 and aes-128-xts
ok=0
for alg in "aes-128,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv" \
	"aes-128,encrypt.cipher-mode=xts,encrypt.hash-alg=sha512"; do
	rm -f e1.qcow2 e2.qcow2
	qemu_create -o "$ENC,encrypt.cipher-alg=$alg" e1.qcow2 4M &&
		qemu-io $SEC --image-opts "$(opts e1.qcow2)" \
			-c "write -P 0x61 512 70k" >/dev/null || ok=1
	"$C" img convert $SEC --image-opts -O qcow2 \
		-o "$ENC,encrypt.cipher-alg=$alg" "$(opts e1.qcow2)" e2.qcow2 || ok=1
	qemu-img compare -q $SEC --image-opts "$(opts e1.qcow2)" "$(opts e2.qcow2)" || ok=1
	diff <("$C" img info --output=json e1.qcow2) \
		<(qemu-img info --output=json e1.qcow2) >/dev/null || ok=1
	[[ $ok == 0 ]] || echo "  cipher $alg differs"
done
check luks_other_ciphers_both_ways $ok "see above"

# cvisor makes and writes it; qemu-img reads and checks it.
truncate -s 24M data.raw
dd if=/dev/urandom of=data.raw bs=64k count=40 seek=3 conv=notrunc status=none
dd if=/dev/urandom of=data.raw bs=512 count=3 seek=40000 conv=notrunc status=none
"$C" img convert $SEC -O qcow2 -o "$ENC" data.raw c.qcow2
qemu-img compare -q $SEC --image-opts "$(opts c.qcow2)" \
	"driver=raw,file.filename=data.raw"
check luks_cvisor_made_qemu_compare $? "qemu-img compare: rc=$?"
out=$(qemu-img check $SEC --image-opts "$(opts c.qcow2)" 2>&1)
check luks_cvisor_made_qemu_check $? "$out"
# ...a sparse pattern with pieces that end mid-sector, written by cvisor
python3 - <<'PY'
import os
with open("pattern.raw", "wb") as f:
    f.truncate(8 << 20)
    for off, n in ((0, 70000), (1 << 20, 3), (3 << 20, 131072), ((8 << 20) - 700, 700)):
        f.seek(off)
        f.write(os.urandom(n))
PY
"$C" img convert $SEC -O qcow2 -o "$ENC" pattern.raw w2.qcow2 &&
	qemu-img compare -q $SEC --image-opts "$(opts w2.qcow2)" \
		"driver=raw,file.filename=pattern.raw"
check luks_cvisor_writes_qemu_reads $? "qemu-img sees other bytes"

# img info: the qemu-img lines and JSON, no secret needed, no key shown
diff <("$C" img info --output=json q.qcow2) <(qemu-img info --output=json q.qcow2) >info.diff &&
	grep -q '"format": "luks"' <("$C" img info --output=json q.qcow2)
check luks_info_json_as_qemu $? "$(head -c 400 info.diff)"
"$C" img info c.qcow2 >info.txt
grep -q '^encrypted: yes' info.txt && grep -q 'format: luks' info.txt &&
	grep -q 'cipher alg: aes-256' info.txt && ! grep -q "$PASS_TEXT" info.txt
check luks_info_human $? "$(head -c 400 info.txt)"

# a wrong passphrase: one line, nonzero, the image unchanged
before=$(sha c.qcow2)
"$C" img convert $WRONG --image-opts -O raw "$(opts c.qcow2)" x.raw 2>err.txt
rc=$?
[[ $rc -eq 1 && $(wc -l <err.txt) -eq 1 ]] && grep -q 'wrong passphrase' err.txt &&
	[[ $(sha c.qcow2) == "$before" ]]
check luks_wrong_passphrase $? "rc=$rc: $(cat err.txt)"
"$C" img resize $WRONG --image-opts "$(opts c.qcow2)" 32M 2>err.txt
[[ $? -eq 1 && $(sha c.qcow2) == "$before" ]]
check luks_wrong_passphrase_resize_untouched $? "$(cat err.txt)"
# no passphrase at all
"$C" img convert -O raw c.qcow2 x.raw 2>err.txt
[[ $? -eq 1 && $(wc -l <err.txt) -eq 1 ]] && grep -q 'is encrypted' err.txt
check luks_no_passphrase $? "$(cat err.txt)"

# damaged LUKS header and key slots: one line each, no crash
luks_off=$(qemu-img info --output=json c.qcow2 >/dev/null; python3 - <<'PY'
import struct
d = open("c.qcow2", "rb").read(65536)
p = struct.unpack(">I", d[100:104])[0]
while True:
    t, n = struct.unpack(">II", d[p:p + 8])
    if t == 0x0537be77:
        print(struct.unpack(">Q", d[p + 8:p + 16])[0]); break
    if t == 0:
        print(0); break
    p += 8 + (n + 7) // 8 * 8
PY
)
ok=0
for what in magic:0:X version:7:9 keybytes:111:3 hash:72:z slotstate:208:1 \
	slotoffset:248:127 stripes:252:255 mkiters:164:255 material:5000:1; do
	name=${what%%:*} rest=${what#*:}
	cp c.qcow2 bad.qcow2
	# that byte, or its complement where it was that byte already
	# (key material is random: 1 in 256 images had a 1 there)
	python3 - bad.qcow2 $((luks_off + ${rest%%:*})) "${rest#*:}" <<'PY'
import sys
f = open(sys.argv[1], "r+b")
off, want = int(sys.argv[2]), ord(sys.argv[3][0])
f.seek(off)
if f.read(1)[0] == want:
    want ^= 0xff
f.seek(off)
f.write(bytes([want]))
PY
	"$C" img convert $SEC --image-opts -O raw "$(opts bad.qcow2)" x.raw 2>err.txt
	rc=$?
	if [[ $rc -ne 1 || $(wc -l <err.txt) -ne 1 ]]; then
		ok=1
		echo "  corrupt $name: rc=$rc $(head -c 200 err.txt)"
	fi
done
check luks_corrupt_header_one_line $ok "see above"
"$C" img check bad.qcow2 >/dev/null 2>&1
[[ $? -lt 128 ]]
check luks_corrupt_check_no_crash $? "img check crashed"

# legacy AES (method 1): read, never created
qemu_create -o encrypt.format=aes,encrypt.key-secret=sec0 a.qcow2 4M &&
	qemu-io $SEC --image-opts "$(opts a.qcow2)" -c "write -P 0x42 512 64k" >/dev/null 2>&1
if [[ -s a.qcow2 ]]; then
	qemu-img convert $SEC --image-opts -O raw "$(opts a.qcow2)" a_qemu.raw
	"$C" img convert $SEC --image-opts -O raw "$(opts a.qcow2)" a_cvisor.raw
	cmp -s a_qemu.raw a_cvisor.raw && "$C" img info a.qcow2 | grep -q 'format: aes'
	check luks_legacy_aes_reads $? "legacy AES image reads differently"
else
	skip luks_legacy_aes_reads "this qemu-img no longer makes AES images"
fi
"$C" img create -f qcow2 $SEC -o encrypt.format=aes,encrypt.key-secret=sec0 no.qcow2 1M 2>err.txt
[[ $? -eq 1 && ! -e no.qcow2 && $(wc -l <err.txt) -eq 1 ]]
check luks_legacy_aes_create_refused $? "$(cat err.txt)"

# data= works and warns that ps shows it
"$C" img info --object secret,id=s1,data=x --image-opts \
	"driver=qcow2,file.filename=q.qcow2,encrypt.key-secret=s1" >/dev/null 2>err.txt
grep -q 'visible.*ps' err.txt
check luks_secret_data_warns $? "$(cat err.txt)"

# every image command takes --image-opts with the key
ok=0
for cmd in "check" "map" "measure -O qcow2" "snapshot -c s1" "snapshot -l" \
	"resize" "compare"; do
	case $cmd in
	resize) args=("$(opts c.qcow2)" 32M) ;;
	compare) args=("$(opts c.qcow2)" "driver=raw,file.filename=data.raw") ;;
	*) args=("$(opts c.qcow2)") ;;
	esac
	# shellcheck disable=SC2086
	"$C" img $cmd $SEC --image-opts "${args[@]}" >cmd.out 2>&1 ||
		{ ok=1; echo "  img $cmd: $(head -c 200 cmd.out)"; }
done
qemu-img check -q $SEC --image-opts "$(opts c.qcow2)" || ok=1
truncate -s 32M data.raw
qemu-img compare -q $SEC --image-opts "$(opts c.qcow2)" "driver=raw,file.filename=data.raw" || ok=1
check luks_image_opts_every_command $ok "see above"

# a definition carries the key file's path (made absolute), never the key
export CVISOR_CONFIG_DIR=$TMP/vms
"$C" define luksdef -- --kernel "$TMP/pass.txt" --memory 64M \
	--disk path=c.qcow2,format=qcow2,key-file=pass.txt >def.out 2>&1 &&
	"$C" dumpconfig luksdef >dump.out 2>&1
rc=$?
grep -q "\"key-file\": \"$TMP/pass.txt\"" dump.out &&
	! grep -rq "$PASS_TEXT" dump.out "$CVISOR_CONFIG_DIR"
check luks_definition_has_key_path_only $? "rc=$rc: $(cat def.out dump.out | head -c 400)"

# --- a Linux guest on an encrypted disk ---
load_linux_assets img_luks_linux || exit 0
accel=$(linux_accels | tail -n1)
if [[ -z $accel ]]; then
	skip img_luks_linux "no accelerator here can boot Linux"
	exit 0
fi
"$C" img create -q -f qcow2 $SEC -o "$ENC" vm.qcow2 16M
qemu-io $SEC --image-opts "$(opts vm.qcow2)" -c "write -P 0x5a 4M 64k" >/dev/null
want_guest=$(yes cvisor-luks | head -c 1048576 | md5sum | cut -d' ' -f1)
want_qemu=$(head -c 65536 /dev/zero | tr '\0' 'Z' | md5sum | cut -d' ' -f1)
guest_cmd='yes cvisor-luks | head -c 1048576 >/dev/vda; sync
echo LUKS wrote $(head -c 1048576 /dev/vda | md5sum)
echo LUKS qemu $(dd if=/dev/vda bs=64k skip=64 count=1 2>/dev/null | md5sum)
sleep ${LUKS_SLEEP:-0}'
linux_boot "$accel" 600 "$guest_cmd" --memory 256M \
	--disk path=vm.qcow2,format=qcow2,key-file=pass.txt
got_w=$(tr -d '\r' <"$TMP/out" | awk '$1 == "LUKS" && $2 == "wrote" { print $3 }')
got_q=$(tr -d '\r' <"$TMP/out" | awk '$1 == "LUKS" && $2 == "qemu" { print $3 }')
[[ $got_w == "$want_guest" && $got_q == "$want_qemu" ]]
check luks_linux_guest_reads_writes $? "rc=$rc wrote=$got_w qemu=$got_q"
qemu-img convert $SEC --image-opts -O raw "$(opts vm.qcow2)" vm.raw
[[ $(head -c 1048576 vm.raw | md5sum | cut -d' ' -f1) == "$want_guest" ]]
check luks_linux_written_read_by_qemu $? "qemu-img reads other bytes"
out=$(qemu-img check $SEC --image-opts "$(opts vm.qcow2)" 2>&1)
check luks_linux_qemu_check $? "$out"

# the wrong key: one line before boot
printf 'nope' >wrong.key
run_vm 60 --accel "$accel" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
	--memory 64M --disk path=vm.qcow2,format=qcow2,key-file=wrong.key
[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q 'wrong passphrase' "$TMP/out"
check luks_linux_wrong_key $? "rc=$rc: $(head -c 300 "$TMP/out")"

# key-secret: the VM waits for "cvisor secret-set" on its control socket
mkdir -p "$CVISOR_RUNTIME_DIR" && chmod 700 "$CVISOR_RUNTIME_DIR"
cmd64=$(printf %s "cat /dev/vda | head -c 1048576 | md5sum | sed 's/^/LUKS secret /'; sleep 20" | base64 -w0)
: >secret.out
timeout --kill-after=5 600 "$C" run --name luksvm --accel "$accel" --memory 256M \
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$cmd64" \
	--disk path=vm.qcow2,format=qcow2,key-secret=k0 </dev/null >secret.out 2>&1 &
vm_pid=$!
for ((i = 0; i < 300; i++)); do
	grep -q "waiting for secret 'k0'" secret.out && break
	sleep 0.1
done
"$C" secret-set luksvm k0 pass.txt >set.out 2>&1
set_rc=$?
for ((i = 0; i < 3000; i++)); do
	grep -q 'LUKS secret' secret.out && break
	kill -0 $vm_pid 2>/dev/null || break
	sleep 0.1
done
got=$(tr -d '\r' <secret.out | awk '$1 == "LUKS" && $2 == "secret" { print $3 }')
ps_line=$(ps -o args= -p $vm_pid 2>/dev/null)
"$C" info luksvm >info_vm.out 2>&1
kill $vm_pid 2>/dev/null
wait $vm_pid 2>/dev/null
[[ $set_rc -eq 0 && $got == "$want_guest" ]]
check luks_linux_key_secret $? "set rc=$set_rc ($(cat set.out)) got=$got: $(tail -c 300 secret.out)"
! grep -q "$PASS_TEXT" secret.out info_vm.out && [[ $ps_line != *"$PASS_TEXT"* ]] &&
	[[ -n $ps_line ]]
check luks_key_not_shown $? "passphrase seen in ps, log or info"

# snapshot and restore: the snapshot holds the key file's path, not the
# key; restoring reads the key file again (and fails in one line without it)
read -r -d '' cmd <<'EOS'
i=0
while [ $i -lt 30 ]; do i=$((i + 1)); echo "count $i"; sleep 0.25; done
printf restored-luks | dd of=/dev/vda conv=fsync 2>/dev/null
echo "LUKS after $(head -c 13 /dev/vda)"
EOS
: >snapboot.out
timeout --kill-after=5 600 "$C" run --name lukssnap --accel "$accel" --memory 192M \
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)" \
	--disk path=vm.qcow2,format=qcow2,key-file=pass.txt </dev/null >snapboot.out 2>&1 &
vm_pid=$!
for ((i = 0; i < 3000; i++)); do
	grep -q '^count 5' snapboot.out && break
	kill -0 $vm_pid 2>/dev/null || break
	sleep 0.1
done
"$C" snapshot lukssnap snap --stop >snap.out 2>&1
src=$?
wait $vm_pid
[[ $src -eq 0 ]] && ! grep -rq "$PASS_TEXT" snap
check luks_snapshot_without_key $? "rc=$src $(cat snap.out) $(tail -c 300 snapboot.out)"
mv pass.txt pass.away
timeout --kill-after=5 120 "$C" run --restore snap --name lukssnap2 </dev/null >restore1.out 2>&1
rc=$?
mv pass.away pass.txt
[[ $rc -eq 1 ]] && grep -q 'key file' restore1.out
check luks_restore_needs_key_file $? "rc=$rc: $(head -c 300 restore1.out)"
timeout --kill-after=5 600 "$C" run --restore snap --name lukssnap3 </dev/null >restore2.out 2>&1
rc=$?
got=$(tr -d '\r' <restore2.out | awk '$1 == "LUKS" && $2 == "after" { print $3 }')
qemu-img convert $SEC --image-opts -O raw "$(opts vm.qcow2)" vm2.raw
[[ $rc -eq 0 && $got == restored-luks && $(head -c 13 vm2.raw) == restored-luks ]]
check luks_restore_with_key $? "rc=$rc got=$got: $(tail -c 300 restore2.out)"

# live migration: the destination rebuilds the VM from the stream's
# command line and reads the key file itself; the guest's writes after
# the move land in the image in the same encryption
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
read -r -d '' cmd <<'EOS'
echo MIG-READY
i=0
while [ $i -lt 60 ]; do
	i=$((i + 1))
	printf 'rec %06d\n' $i | dd of=/dev/vda bs=16 seek=$i conv=fsync 2>/dev/null
	sleep 0.2
done
echo "LUKS migrated $(dd if=/dev/vda bs=16 skip=60 count=1 2>/dev/null)"
EOS
timeout --kill-after=5 600 "$C" run --incoming "tcp:127.0.0.1:$port" --name luksdst \
	</dev/null >mig_dst.out 2>&1 &
dst_pid=$!
: >mig_src.out
timeout --kill-after=5 600 "$C" run --name lukssrc --accel "$accel" --memory 128M \
	--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)" \
	--disk path=vm.qcow2,format=qcow2,key-file=pass.txt </dev/null >mig_src.out 2>&1 &
src_pid=$!
for ((i = 0; i < 3000; i++)); do
	grep -q MIG-READY mig_src.out && break
	kill -0 $src_pid 2>/dev/null || break
	sleep 0.1
done
sleep 2
"$C" migrate lukssrc "tcp:127.0.0.1:$port" >mig.out 2>&1
mrc=$?
wait $src_pid
wait $dst_pid
drc=$?
qemu-img convert $SEC --image-opts -O raw "$(opts vm.qcow2)" vm3.raw
last=$(dd if=vm3.raw bs=16 skip=60 count=1 2>/dev/null | head -c 10)
[[ $mrc -eq 0 && $drc -eq 0 && $last == "rec 000060" ]] &&
	grep -q 'LUKS migrated rec' mig_dst.out
check luks_migration $? "migrate rc=$mrc dst rc=$drc last='$last': $(cat mig.out) $(tail -c 300 mig_dst.out)"
exit 0
