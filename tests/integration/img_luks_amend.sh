#!/usr/bin/env bash
# cvisor img amend on LUKS key slots, qemu-img as the oracle: a passphrase
# added by cvisor opens the image in qemu-img (and one added by qemu-img in
# cvisor), an erased one no longer does, the last active slot is never
# erased, a wrong key or a slot in use is one line and changes nothing;
# the new material is on disk (synced) before the header names it, and an
# erased slot leaves the header before its material is wiped.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/luks_lib.sh"
luks_setup img_luks_amend
printf 'first passphrase\n' >p0
printf 'second passphrase\n' >p1
printf 'third passphrase\n' >p2
printf 'wrong\n' >px
SEC="--object secret,id=s0,file=p0 --object secret,id=s1,file=p1 --object secret,id=s2,file=p2 --object secret,id=sx,file=px"
io() { echo "driver=qcow2,file.filename=a.qcow2,encrypt.key-secret=$1"; }
# does qemu-io read the image's data with the secret ID?
qemu_opens() {
	qemu-io $SEC --image-opts "$(io "$1")" -c "read -P 0x61 0 1M" 2>/dev/null |
		grep -q '^read 1048576/1048576'
}
active_slots() {
	qemu-img info --output=json a.qcow2 | python3 -c '
import json, sys
s = json.load(sys.stdin)["format-specific"]["data"]["encrypt"]["slots"]
print(" ".join(str(i) for i, x in enumerate(s) if x["active"]))'
}
sum() { md5sum <"$1" | cut -d' ' -f1; }

qemu_retry qemu-img create -q -f qcow2 $SEC \
	-o encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10 a.qcow2 4M &&
	qemu-io $SEC --image-opts "$(io s0)" -c "write -P 0x61 0 1M" >/dev/null
check luks_amend_qemu_made $? "qemu-img could not make the image"

# add: cvisor puts s1 into the first free slot; qemu-img opens with it
"$C" img amend $SEC --image-opts "$(io s0)" \
	-o encrypt.state=active,encrypt.new-secret=s1,encrypt.iter-time=10 >add.out 2>&1
rc=$?
[[ $rc -eq 0 && $(active_slots) == "0 1" ]] && qemu_opens s1 && qemu_opens s0 &&
	qemu-img check -q $SEC --image-opts "$(io s1)"
check luks_amend_add_qemu_opens $? "rc=$rc slots=$(active_slots): $(cat add.out)"

# add into a named slot; a slot in use and a wrong key are refused
"$C" img amend $SEC --image-opts "$(io s1)" \
	-o encrypt.state=active,encrypt.new-secret=s2,encrypt.keyslot=6,encrypt.iter-time=10 >add6.out 2>&1 &&
	[[ $(active_slots) == "0 1 6" ]] && qemu_opens s2
check luks_amend_add_keyslot $? "slots=$(active_slots): $(cat add6.out)"
before=$(sum a.qcow2)
"$C" img amend $SEC --image-opts "$(io s0)" \
	-o encrypt.state=active,encrypt.new-secret=sx,encrypt.keyslot=6 >busy.out 2>&1
rc1=$?
"$C" img amend $SEC --image-opts "$(io sx)" \
	-o encrypt.state=active,encrypt.new-secret=sx,encrypt.iter-time=10 >wrong.out 2>&1
rc2=$?
"$C" img amend $SEC --image-opts "$(io s0)" -o compat=0.10 >compat.out 2>&1
rc3=$?
"$C" img amend $SEC --image-opts "$(io s0)" \
	-o encrypt.state=inactive,encrypt.old-secret=sx >old.out 2>&1
rc4=$?
[[ $rc1 -eq 1 && $rc2 -eq 1 && $rc3 -eq 1 && $rc4 -eq 1 ]] &&
	grep -q 'slot 6 is in use' busy.out && grep -q 'wrong passphrase' wrong.out &&
	grep -q "'compat' is not supported" compat.out &&
	grep -q 'no LUKS key slot opens with encrypt.old-secret' old.out &&
	[[ $(cat busy.out wrong.out compat.out old.out | wc -l) -eq 4 ]] &&
	[[ $(sum a.qcow2) == "$before" ]]
check luks_amend_refusals $? "rc=$rc1/$rc2/$rc3/$rc4: $(cat busy.out wrong.out compat.out old.out)"

# erase: the slot s0 opens goes; qemu-img no longer opens with s0
"$C" img amend $SEC --image-opts "$(io s1)" \
	-o encrypt.state=inactive,encrypt.old-secret=s0 >del.out 2>&1
rc=$?
[[ $rc -eq 0 && $(active_slots) == "1 6" ]] && ! qemu_opens s0 && qemu_opens s1 &&
	qemu-img check -q $SEC --image-opts "$(io s1)"
check luks_amend_erase_qemu_refuses_old $? "rc=$rc slots=$(active_slots): $(cat del.out)"
"$C" img amend $SEC --image-opts "$(io s1)" \
	-o encrypt.state=inactive,encrypt.keyslot=6 >del6.out 2>&1 &&
	[[ $(active_slots) == "1" ]] && ! qemu_opens s2
check luks_amend_erase_keyslot $? "slots=$(active_slots): $(cat del6.out)"

# the last active slot stays, by passphrase or by number
before=$(sum a.qcow2)
"$C" img amend $SEC --image-opts "$(io s1)" \
	-o encrypt.state=inactive,encrypt.old-secret=s1 >last1.out 2>&1
rc1=$?
"$C" img amend $SEC --image-opts "$(io s1)" \
	-o encrypt.state=inactive,encrypt.keyslot=1 >last2.out 2>&1
rc2=$?
[[ $rc1 -eq 1 && $rc2 -eq 1 && $(sum a.qcow2) == "$before" ]] &&
	grep -q 'last active LUKS key slot' last1.out && qemu_opens s1
check luks_amend_last_slot_stays $? "rc=$rc1/$rc2: $(cat last1.out last2.out)"

# the reverse: a slot qemu-img adds opens in cvisor, and cvisor erases it
qemu_retry qemu-img amend $SEC --image-opts "$(io s1)" \
	-o encrypt.state=active,encrypt.new-secret=s2,encrypt.keyslot=3,encrypt.iter-time=10 &&
	"$C" img convert $SEC --image-opts -O raw "$(io s2)" r.raw &&
	[[ $(head -c 1048576 r.raw | md5sum) == $(head -c 1048576 /dev/zero | tr '\0' a | md5sum) ]] &&
	"$C" img amend $SEC --image-opts "$(io s2)" \
		-o encrypt.state=inactive,encrypt.old-secret=s1 >del2.out 2>&1 &&
	[[ $(active_slots) == "3" ]] && qemu_opens s2 && ! qemu_opens s1
check luks_amend_qemu_added_slot $? "slots=$(active_slots): $(cat del2.out 2>/dev/null)"

# crash order: material synced before the header that activates it; the
# header (inactive) synced before the wipe. strace shows the writes in order.
if command -v strace >/dev/null; then
	off=$(qemu-img info --output=json a.qcow2 | python3 -c '
import json, sys
print(json.load(sys.stdin)["format-specific"]["data"]["encrypt"]["slots"][0]["key-offset"])')
	strace -f -s 0 -e trace=pwrite64,fdatasync -o add.trace "$C" img amend $SEC \
		--image-opts "$(io s2)" \
		-o encrypt.state=active,encrypt.new-secret=s0,encrypt.keyslot=0,encrypt.iter-time=10 >/dev/null 2>&1
	strace -f -s 0 -e trace=pwrite64,fdatasync -o del.trace "$C" img amend $SEC \
		--image-opts "$(io s2)" -o encrypt.state=inactive,encrypt.keyslot=0 >/dev/null 2>&1
	seq_of() { grep -E 'pwrite64|fdatasync' "$1" | sed -E 's/.*pwrite64\([0-9]+, "[^"]*"(\.\.\.)?, ([0-9]+), ([0-9]+)\).*/W \2 \3/; s/.*fdatasync.*/S/' | tr '\n' ' '; }
	a=$(seq_of add.trace)
	d=$(seq_of del.trace)
	# add: W <material> S W 592 <area> S; erase: W 592 <area> S W <material> S
	[[ $a =~ ^W\ ([0-9]+)\ ([0-9]+)\ S\ W\ 592\ ([0-9]+)\ S\ $ ]] &&
		(( BASH_REMATCH[2] == BASH_REMATCH[3] + off )) &&
		[[ $d =~ ^W\ 592\ ([0-9]+)\ S\ W\ ([0-9]+)\ ([0-9]+)\ S\ $ ]] &&
		(( BASH_REMATCH[3] == BASH_REMATCH[1] + off ))
	check luks_amend_write_order $? "add: $a / erase: $d (slot 0 at +$off)"
else
	skip luks_amend_write_order "strace is not installed"
fi
qemu-img check -q $SEC --image-opts "$(io s2)" && qemu_opens s2
check luks_amend_final_check $? "qemu-img check or open failed"
exit 0
