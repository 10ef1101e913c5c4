#!/usr/bin/env bash
# "cvisor img check" must agree with "qemu-img check" on damaged copies, and
# its repairs must leave images qemu-img finds clean. Hostile headers must
# give an error, never a crash.
set -u
. "$(dirname "$0")/img_lib.sh"
need_qemu_img img_corrupt

make_raw "$T/src.raw" 4
qemu-img convert -O qcow2 -o cluster_size=4096 "$T/src.raw" "$T/good.qcow2"

# poke IMAGE WHAT: damage one structure, found through the header
poke() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
path, what = sys.argv[1], sys.argv[2]
f = open(path, 'r+b')
h = f.read(112)
cb = struct.unpack('>I', h[20:24])[0]
cs = 1 << cb
l1off = struct.unpack('>Q', h[40:48])[0]
rtoff = struct.unpack('>Q', h[48:56])[0]
order = struct.unpack('>I', h[96:100])[0]
assert order == 4
f.seek(rtoff); rb = struct.unpack('>Q', f.read(8))[0]
f.seek(l1off); l2 = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
f.seek(l2 + 8); e = struct.unpack('>Q', f.read(8))[0]   # second cluster
data = e & 0x00fffffffffffe00
def setref(cluster, v):
    f.seek(rb + cluster * 2); f.write(struct.pack('>H', v))
if what == 'leak':
    f.seek(0, 2); end = f.tell() // cs
    f.truncate((end + 2) * cs)
    setref(end, 1); setref(end + 1, 1)
elif what == 'lowref':
    setref(data // cs, 0)
elif what == 'copied':
    f.seek(l2 + 8); f.write(struct.pack('>Q', e & ~(1 << 63)))
elif what == 'unaligned':
    f.seek(l2 + 8); f.write(struct.pack('>Q', (1 << 63) | (data + 512)))
elif what == 'freehdr':
    setref(0, 0)
elif what == 'beyond':
    f.seek(l2 + 8); f.write(struct.pack('>Q', (1 << 63) | (1 << 40)))
PY
}

# both tools must give the same exit status and counts
agree() {
	local name=$1 img=$2 q c qs cs
	qemu-img check --output=json "$img" >"$T/q.json" 2>/dev/null
	qs=$?
	"$C" img check --output=json "$img" >"$T/c.json" 2>/dev/null
	cs=$?
	q=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("leaks",0), d.get("corruptions",0))' "$T/q.json")
	c=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("leaks",0), d.get("corruptions",0))' "$T/c.json")
	if [[ $qs == "$cs" && "$q" == "$c" ]]; then
		pass "$name"
	else
		fail "$name" "qemu-img exit $qs (leaks corruptions: $q), cvisor exit $cs ($c)"
	fi
}

agree img_check_clean "$T/good.qcow2"
for what in leak lowref copied unaligned; do
	cp "$T/good.qcow2" "$T/$what.qcow2"
	poke "$T/$what.qcow2" $what
	agree "img_check_$what" "$T/$what.qcow2"
done
ok img_repair_leaks bash -c "$C img check -r leaks $T/leak.qcow2 >/dev/null; qcheck $T/leak.qcow2 && qemu-img compare -q $T/src.raw $T/leak.qcow2"
ok img_repair_lowref bash -c "$C img check -r all $T/lowref.qcow2 >/dev/null; qcheck $T/lowref.qcow2 && qemu-img compare -q $T/src.raw $T/lowref.qcow2"
# qemu-img cannot repair this one; cvisor makes the entry a zero cluster
# (the poked entry was a hole in src.raw: as a zero cluster it reads the same)
ok img_repair_unaligned bash -c "$C img check -r all $T/unaligned.qcow2 >/dev/null; qcheck $T/unaligned.qcow2 && qemu-img compare -q $T/src.raw $T/unaligned.qcow2"
ok img_repair_copied bash -c "$C img check -r all $T/copied.qcow2 >/dev/null; qcheck $T/copied.qcow2 && qemu-img compare -q $T/src.raw $T/copied.qcow2"
# a refcount table entry lost: its whole range reads refcount 0
qemu-img convert -O qcow2 -o cluster_size=512 "$T/src.raw" "$T/norb.qcow2"
python3 -c "import struct,sys; f=open(sys.argv[1],'r+b'); f.seek(48); t=struct.unpack('>Q',f.read(8))[0]; f.seek(t+8); f.write(bytes(8))" "$T/norb.qcow2"
agree img_check_lost_refblock "$T/norb.qcow2"
ok img_repair_lost_refblock bash -c "$C img check -r all $T/norb.qcow2 >/dev/null; qcheck $T/norb.qcow2 && qemu-img compare -q $T/src.raw $T/norb.qcow2"

cp "$T/good.qcow2" "$T/beyond.qcow2"
poke "$T/beyond.qcow2" beyond
ok img_check_beyond_eof bash -c "$C img check $T/beyond.qcow2 >/dev/null 2>&1; [ \$? = 2 ]"
ok img_read_beyond_eof_no_crash bash -c "$C img convert -O raw $T/beyond.qcow2 $T/x.raw 2>/dev/null; [ \$? -lt 128 ]"

# hostile headers: every one must be refused with a message, no crash
hostile=0
for spec in "4:4:99" "20:4:40" "20:4:0" "32:4:3" "36:4:4294967295" \
	"40:8:12345" "48:8:0" "56:4:4294967295" "60:4:4294967295" \
	"72:8:18446744073709551615" "96:4:9" "100:4:7" "8:8:65535" \
	"16:4:4000"; do
	IFS=: read -r off width val <<<"$spec"
	cp "$T/good.qcow2" "$T/h.qcow2"
	python3 -c "import struct,sys; f=open(sys.argv[1],'r+b'); f.seek($off); f.write(struct.pack('>Q' if $width==8 else '>I', $val))" "$T/h.qcow2"
	out=$("$C" img info "$T/h.qcow2" 2>&1)
	rc=$?
	if [[ $rc -ge 128 || ( $rc -eq 0 && $off != 8 && $off != 16 ) ]] ||
	   [[ $rc -ne 0 && -z "$out" ]]; then
		echo "  header field $off=$val: exit $rc: $out"
		hostile=1
	fi
done
[[ $hostile == 0 ]] && pass img_hostile_headers || fail img_hostile_headers
# a dirty image (lazy refcounts) with a wrong refcount is repaired on open
cp "$T/good.qcow2" "$T/dirty.qcow2"
poke "$T/dirty.qcow2" lowref
python3 -c "import struct,sys; f=open(sys.argv[1],'r+b'); f.seek(72); v=struct.unpack('>Q',f.read(8))[0]; f.seek(72); f.write(struct.pack('>Q',v|1))" "$T/dirty.qcow2"
ok img_dirty_repaired_on_open bash -c "$C img snapshot -c s $T/dirty.qcow2 && qcheck $T/dirty.qcow2 && qemu-img info $T/dirty.qcow2 --output=json | grep -q '\"dirty-flag\": false' && qemu-img compare -q $T/src.raw $T/dirty.qcow2"

# qemu-img's PBKDF2 benchmark gives up now and then on a busy host:
# qemu_retry (luks_lib.sh) tries it again
. "$(dirname "$0")/luks_lib.sh"
make_luks() {
	qemu_retry qemu-img create -q --object secret,id=k,data=pw -f qcow2 \
		-o encrypt.format=luks,encrypt.key-secret=k,encrypt.iter-time=10 \
		"$T/enc.qcow2" 1M
}
if make_luks; then
	# info needs no key (as qemu-img); reading data without one is refused
	ok img_encrypted_refused bash -c "$C img info $T/enc.qcow2 | grep -q 'encrypted: yes' && ! $C img convert -O raw $T/enc.qcow2 $T/enc.raw 2>$T/enc.err && grep -q encrypted $T/enc.err"
else
	echo "SKIP: img_encrypted_refused: qemu-img cannot make LUKS images"
fi
ok img_corrupt_bit_refuses_rw bash -c "cp $T/good.qcow2 $T/cb.qcow2 && python3 -c \"import struct,sys; f=open(sys.argv[1],'r+b'); f.seek(72); f.write(struct.pack('>Q',2))\" $T/cb.qcow2 && ! $C img resize $T/cb.qcow2 +1M 2>/dev/null && $C img info $T/cb.qcow2 | grep -q 'corrupt: true' && $C img check -r all $T/cb.qcow2 >/dev/null && qemu-img info $T/cb.qcow2 | grep -q 'corrupt: false'"

# refcounts that call the header free: a write must not land there
cp "$T/good.qcow2" "$T/fh.qcow2"
poke "$T/fh.qcow2" freehdr
ok img_metadata_overlap_refused bash -c "! $C img snapshot -c s $T/fh.qcow2 2>/dev/null && qemu-img info $T/fh.qcow2 | grep -q 'corrupt: true' && qemu-img compare -q $T/src.raw $T/fh.qcow2"
ok img_metadata_overlap_repaired bash -c "$C img check -r all $T/fh.qcow2 >/dev/null; qcheck $T/fh.qcow2 && $C img snapshot -c s $T/fh.qcow2 && qcheck $T/fh.qcow2 && qemu-img compare -q $T/src.raw $T/fh.qcow2"

head -c 50 "$T/good.qcow2" > "$T/short.qcow2"
ok img_truncated_header bash -c "$C img info $T/short.qcow2 2>&1 | grep -q 'truncated'"
finish
