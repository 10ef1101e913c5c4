#!/usr/bin/env bash
# Encrypted backing files, qemu-img as the oracle: a LUKS base made by
# qemu-img under a plain overlay and under an overlay encrypted with
# another key reads in cvisor img (--image-opts ...,backing.encrypt.
# key-secret=ID, two levels deep too) as qemu-img reads it; a chain cvisor
# made and wrote (img and a Linux guest with key-file= and backing.key-file=)
# reads in qemu-img, check clean; commit into an encrypted base; a VM waits
# for backing.key-secret= on its control socket; a missing or wrong backing
# key is one line and writes nothing.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/luks_lib.sh"
luks_setup img_luks_backing
printf 'base passphrase\n' >p0
printf 'top passphrase\n' >p1
printf 'neither\n' >px
SEC="--object secret,id=s0,file=p0 --object secret,id=s1,file=p1 --object secret,id=sx,file=px"
enc() { echo "encrypt.format=luks,encrypt.key-secret=$1,encrypt.iter-time=10"; }
# a chain's bytes as qemu-img reads them: OUT IMAGE-OPTS
qemu_raw() { qemu-img convert $SEC --image-opts -O raw "$2" "$1"; }
sum() { md5sum <"$1" | cut -d' ' -f1; }

# --- qemu-img makes the chains, cvisor reads them ---
qemu_create -o "$(enc s0)" base.qcow2 16M &&
	qemu-io $SEC --image-opts "driver=qcow2,file.filename=base.qcow2,encrypt.key-secret=s0" \
		-c "write -P 0x11 0 4M" -c "write -P 0x22 8M 1M" >/dev/null &&
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 plain.qcow2 &&
	qemu-io $SEC --image-opts "driver=qcow2,file.filename=plain.qcow2,backing.encrypt.key-secret=s0" \
		-c "write -P 0x33 1M 1M" >/dev/null &&
	qemu_create -o "$(enc s1)" -b base.qcow2 -F qcow2 enc.qcow2 &&
	qemu-io $SEC --image-opts "driver=qcow2,file.filename=enc.qcow2,encrypt.key-secret=s1,backing.encrypt.key-secret=s0" \
		-c "write -P 0x44 2M 1M" -c "write -z 8M 64k" >/dev/null &&
	qemu-img create -q -f qcow2 -b enc.qcow2 -F qcow2 top3.qcow2 &&
	qemu-io $SEC --image-opts "driver=qcow2,file.filename=top3.qcow2,backing.encrypt.key-secret=s1,backing.backing.encrypt.key-secret=s0" \
		-c "write -P 0x55 3M 4k" >/dev/null
check luks_backing_qemu_made $? "qemu-img could not make the chains"

P_OPTS="driver=qcow2,file.filename=plain.qcow2,backing.encrypt.key-secret=s0"
E_OPTS="driver=qcow2,file.filename=enc.qcow2,encrypt.key-secret=s1,backing.encrypt.key-secret=s0"
T_OPTS="driver=qcow2,file.filename=top3.qcow2,backing.encrypt.key-secret=s1,backing.backing.encrypt.key-secret=s0"
ok=0
for n in P E T; do
	o=${n}_OPTS
	qemu_raw "$n.q.raw" "${!o}" &&
		"$C" img convert $SEC --image-opts -O raw "${!o}" "$n.c.raw" &&
		cmp -s "$n.q.raw" "$n.c.raw" &&
		"$C" img compare -q $SEC --image-opts "${!o}" "driver=raw,file.filename=$n.q.raw" >/dev/null ||
		{ ok=1; echo "chain $n differs"; }
done
check luks_backing_qemu_chains_read $ok "cvisor reads other bytes than qemu-img"

# missing and wrong backing keys: one line naming the backing file
before=$(sum enc.qcow2)
"$C" img convert $SEC --image-opts -O raw \
	"driver=qcow2,file.filename=enc.qcow2,encrypt.key-secret=s1" x.raw >miss.out 2>&1
rc=$?
[[ $rc -eq 1 && $(wc -l <miss.out) -eq 1 ]] &&
	grep -q "backing file 'base.qcow2' is encrypted" miss.out &&
	grep -q 'backing.encrypt.key-secret' miss.out
check luks_backing_missing_key $? "rc=$rc: $(cat miss.out)"
"$C" img convert $SEC --image-opts -O raw \
	"driver=qcow2,file.filename=enc.qcow2,encrypt.key-secret=s1,backing.encrypt.key-secret=sx" x.raw >wrong.out 2>&1
rc=$?
[[ $rc -eq 1 && $(wc -l <wrong.out) -eq 1 ]] && grep -q "backing file 'base.qcow2'.*wrong passphrase" wrong.out
check luks_backing_wrong_key $? "rc=$rc: $(cat wrong.out)"
"$C" img convert $SEC --image-opts -O raw \
	"driver=qcow2,file.filename=top3.qcow2,backing.encrypt.key-secret=s1" x.raw >miss2.out 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q 'backing.backing.encrypt.key-secret' miss2.out
check luks_backing_missing_key_deeper $? "rc=$rc: $(cat miss2.out)"
"$C" img convert $SEC --image-opts -O raw "$E_OPTS,backing.driver=qcow2" x.raw >bad.out 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q "unknown option 'backing.driver'" bad.out
check luks_backing_unknown_option $? "rc=$rc: $(cat bad.out)"
# keys deeper than the chain depth cvisor img takes: one line saying so
deep=$(printf 'backing.%.0s' $(seq 16))
"$C" img convert $SEC --image-opts -O raw "$E_OPTS,${deep}encrypt.key-secret=s0" x.raw >deep.out 2>&1
rc=$?
[[ $rc -eq 1 && $(wc -l <deep.out) -eq 1 ]] && grep -q 'at most 16 levels' deep.out &&
	! grep -q 'unknown option' deep.out
check luks_backing_key_too_deep $? "rc=$rc: $(cat deep.out)"
[[ $(sum enc.qcow2) == "$before" ]]
check luks_backing_refusals_write_nothing $? "enc.qcow2 changed"

# info and create need no key (as qemu-img: metadata only)
"$C" img info --backing-chain top3.qcow2 >info.out 2>&1 &&
	[[ $(grep -c 'encrypted: yes' info.out) -eq 2 ]] &&
	"$C" img create -q -f qcow2 -b enc.qcow2 -F qcow2 top4.qcow2
check luks_backing_info_create_without_key $? "$(head -c 300 info.out)"

# --- cvisor makes and writes a chain, qemu-img reads it ---
head -c 4M /dev/urandom >seed.raw
"$C" img convert $SEC -O qcow2 -o "$(enc s0)" seed.raw cbase.qcow2 &&
	"$C" img create -q -f qcow2 $SEC -o "$(enc s1)" -b cbase.qcow2 -F qcow2 cenc.qcow2 &&
	"$C" img create -q -f qcow2 -b cbase.qcow2 -F qcow2 cplain.qcow2
check luks_backing_cvisor_made $? "cvisor could not make the chain"
CE_OPTS="driver=qcow2,file.filename=cenc.qcow2,encrypt.key-secret=s1,backing.encrypt.key-secret=s0"
CP_OPTS="driver=qcow2,file.filename=cplain.qcow2,backing.encrypt.key-secret=s0"
qemu_raw ce0.raw "$CE_OPTS" && cmp -s ce0.raw seed.raw &&
	qemu_raw cp0.raw "$CP_OPTS" && cmp -s cp0.raw seed.raw
check luks_backing_cvisor_chain_qemu_reads $? "qemu-img reads other bytes"

# commit without the base's key: the hint names the option on the
# overlay's list (backing.encrypt.key-secret), and nothing is written
before=$(sum cbase.qcow2)
"$C" img commit $SEC --image-opts "driver=qcow2,file.filename=cplain.qcow2" >nokey.out 2>&1
rc=$?
[[ $rc -eq 1 && $(wc -l <nokey.out) -eq 1 ]] &&
	grep -q "backing file 'cbase.qcow2' is encrypted.*(backing.encrypt.key-secret=ID" nokey.out &&
	[[ $(sum cbase.qcow2) == "$before" ]]
check luks_backing_commit_missing_key $? "rc=$rc: $(cat nokey.out)"

# commit: the overlay's data goes into the encrypted base, in its key
qemu-io $SEC --image-opts "$CP_OPTS" -c "write -P 0x66 64k 128k" >/dev/null &&
	qemu_raw cp1.raw "$CP_OPTS" &&
	"$C" img commit $SEC --image-opts "$CP_OPTS" >commit.out 2>&1 &&
	qemu_raw cb1.raw "driver=qcow2,file.filename=cbase.qcow2,encrypt.key-secret=s0" &&
	cmp -s cp1.raw cb1.raw &&
	qemu-img check -q $SEC --image-opts "driver=qcow2,file.filename=cbase.qcow2,encrypt.key-secret=s0"
check luks_backing_commit_into_encrypted $? "$(cat commit.out)"

# backing.key-secret=: the VM waits for the backing file's key on its
# control socket (a small test guest: the disks open before it runs)
export CVISOR_RUNTIME_DIR=$TMP/run
mkdir -p "$CVISOR_RUNTIME_DIR" && chmod 700 "$CVISOR_RUNTIME_DIR"
if [[ -r $GUESTS/hello.elf ]]; then
	: >ks.out
	timeout --kill-after=5 300 "$C" run --name bkvm --accel emu --test-exit \
		--memory 64M --kernel "$GUESTS/hello.elf" \
		--disk path=cenc.qcow2,format=qcow2,key-file=p1,backing.key-secret=k0 \
		</dev/null >ks.out 2>&1 &
	vm_pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q "waiting for secret 'k0'" ks.out && break
		kill -0 $vm_pid 2>/dev/null || break
		sleep 0.1
	done
	"$C" secret-set bkvm k0 p0 >ks_set.out 2>&1
	set_rc=$?
	wait $vm_pid
	rc=$?
	[[ $set_rc -eq 0 && $rc -eq 0 ]] && grep -q "backing: waiting for secret 'k0'" ks.out &&
		! grep -q 'base passphrase' ks.out
	check luks_backing_key_secret $? "set rc=$set_rc rc=$rc: $(cat ks_set.out) $(tail -c 300 ks.out)"
else
	skip luks_backing_key_secret "no test guests in $GUESTS (make guests)"
fi

# --- a Linux guest on the chains (--disk key-file=, backing.key-file=) ---
load_linux_assets img_luks_backing_linux || exit 0
accel=$(linux_accels | tail -n1)
if [[ -z $accel ]]; then
	skip img_luks_backing_linux "no accelerator here can boot Linux"
	exit 0
fi
# vda: qemu-img's encrypted overlay on its base; vdb: cvisor's encrypted
# overlay on its base. The guest reads both and writes into vdb.
want_a=$(sum E.q.raw)
want_b=$(head -c 4194304 cb1.raw | md5sum | cut -d' ' -f1)
guest_cmd='echo BK vda $(head -c 16777216 /dev/vda | md5sum)
echo BK vdb $(head -c 4194304 /dev/vdb | md5sum)
yes cvisor-backing | head -c 1048576 | dd of=/dev/vdb bs=64k seek=16 conv=fsync 2>/dev/null
echo BK wrote $(dd if=/dev/vdb bs=64k skip=16 count=16 2>/dev/null | md5sum)'
linux_boot "$accel" 900 "$guest_cmd" --memory 256M \
	--disk path=enc.qcow2,format=qcow2,readonly=on,key-file=p1,backing.key-file=p0 \
	--disk path=cenc.qcow2,format=qcow2,key-file=p1,backing.key-file=p0
got_a=$(tr -d '\r' <"$TMP/out" | awk '$1 == "BK" && $2 == "vda" { print $3 }')
got_b=$(tr -d '\r' <"$TMP/out" | awk '$1 == "BK" && $2 == "vdb" { print $3 }')
got_w=$(tr -d '\r' <"$TMP/out" | awk '$1 == "BK" && $2 == "wrote" { print $3 }')
want_w=$(yes cvisor-backing | head -c 1048576 | md5sum | cut -d' ' -f1)
[[ $got_a == "$want_a" && $got_b == "$want_b" && $got_w == "$want_w" ]]
check luks_backing_linux_reads $? "rc=$rc vda=$got_a/$want_a vdb=$got_b/$want_b wrote=$got_w: $(tail -c 300 "$TMP/out")"
qemu_raw ce2.raw "$CE_OPTS" &&
	[[ $(dd if=ce2.raw bs=64k skip=16 count=16 2>/dev/null | md5sum | cut -d' ' -f1) == "$want_w" ]] &&
	cmp -s <(head -c 1048576 ce2.raw) <(head -c 1048576 cb1.raw) &&
	qemu-img check -q $SEC --image-opts "$CE_OPTS"
check luks_backing_linux_written_read_by_qemu $? "qemu-img reads other bytes"

# a missing backing key: one line before boot, naming the option
run_vm 120 --accel "$accel" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
	--memory 64M --disk path=cenc.qcow2,format=qcow2,key-file=p1
[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q 'backing.key-file=' "$TMP/out"
check luks_backing_linux_missing_key $? "rc=$rc: $(head -c 300 "$TMP/out")"
# and the definition keeps the key file's path, not the key
export CVISOR_CONFIG_DIR=$TMP/vms
"$C" define bkdef -- --kernel "$TMP/p0" --memory 64M \
	--disk path=cenc.qcow2,format=qcow2,key-file=p1,backing.key-file=p0 >def.out 2>&1 &&
	"$C" dumpconfig bkdef >dump.out 2>&1
rc=$?
grep -q "\"backing.key-file\": \"$TMP/p0\"" dump.out && ! grep -rq 'base passphrase' dump.out "$CVISOR_CONFIG_DIR"
check luks_backing_definition_key_path $? "rc=$rc: $(cat def.out dump.out | head -c 400)"
exit 0
