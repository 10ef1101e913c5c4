#!/usr/bin/env bash
# Images made by qemu-img (compressed, snapshots, backing chains, v2, odd
# cluster sizes) must read in cvisor exactly as qemu-img reads them.
set -u
. "$(dirname "$0")/img_lib.sh"
need_qemu_img img_qemu_made

make_raw "$T/src.raw" 10

# same_as_qemu NAME IMAGE: cvisor's raw conversion equals qemu-img's
same_as_qemu() {
	ok "$1" bash -c "qemu-img convert -O raw $2 $T/q.raw && $C img convert -O raw $2 $T/c.raw && cmp $T/q.raw $T/c.raw && $C img compare $2 $T/q.raw >/dev/null"
}

for ct in zlib zstd; do
	qemu-img convert -c -O qcow2 -o compression_type=$ct "$T/src.raw" "$T/z_$ct.qcow2"
	same_as_qemu "img_read_compressed_$ct" "$T/z_$ct.qcow2"
	ok "img_check_compressed_$ct" "$C" img check -q "$T/z_$ct.qcow2"
done
for cs in 512 16384 2M; do
	qemu-img convert -O qcow2 -o cluster_size=$cs "$T/src.raw" "$T/cs.qcow2"
	same_as_qemu "img_read_cluster_$cs" "$T/cs.qcow2"
done
qemu-img convert -O qcow2 -o compat=0.10 "$T/src.raw" "$T/v2.qcow2"
same_as_qemu img_read_v2 "$T/v2.qcow2"

# snapshots made by qemu: read the active state, apply and delete them
qemu-img convert -O qcow2 "$T/src.raw" "$T/sn.qcow2"
qemu-img snapshot -c base "$T/sn.qcow2"
qemu-io -c 'write -P 0x77 512k 2M' -c 'write -z 4M 1M' "$T/sn.qcow2" >/dev/null
same_as_qemu img_read_with_snapshot "$T/sn.qcow2"
ok img_list_qemu_snapshot bash -c "$C img snapshot -l $T/sn.qcow2 | grep -q base"
ok img_apply_qemu_snapshot bash -c "$C img snapshot -a base $T/sn.qcow2 && qcheck $T/sn.qcow2 && qemu-img compare -q $T/src.raw $T/sn.qcow2"
ok img_delete_qemu_snapshot bash -c "$C img snapshot -d base $T/sn.qcow2 && qcheck $T/sn.qcow2 && qemu-img compare -q $T/src.raw $T/sn.qcow2"

# snapshots in a v2 image made by qemu, then more made by cvisor
qemu-img convert -O qcow2 -o compat=0.10,cluster_size=4096 "$T/src.raw" "$T/sn2.qcow2"
qemu-img snapshot -c q1 "$T/sn2.qcow2"
ok img_v2_snapshots bash -c "$C img snapshot -c c1 $T/sn2.qcow2 && $C img snapshot -d q1 $T/sn2.qcow2 && qcheck $T/sn2.qcow2 && $C img snapshot -c c2 $T/sn2.qcow2 && $C img snapshot -a c1 $T/sn2.qcow2 && qcheck $T/sn2.qcow2 && qemu-img compare -q $T/src.raw $T/sn2.qcow2 && [ \$(qemu-img snapshot -l $T/sn2.qcow2 | grep -c ' c[12] ') = 2 ]"

# a three-level backing chain with a raw base and zero clusters
qemu-img create -q -f qcow2 -b src.raw -F raw "$T/mid.qcow2"
qemu-io -c 'write -P 0x21 0 1M' -c 'write -z 2M 512k' "$T/mid.qcow2" >/dev/null
qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 "$T/top.qcow2"
qemu-io -c 'write -P 0x42 768k 1M' -c 'discard 0 64k' "$T/top.qcow2" >/dev/null
same_as_qemu img_read_backing_chain "$T/top.qcow2"
ok img_info_backing_chain bash -c "[ \$($C img info --backing-chain $T/top.qcow2 | grep -c '^image:') = 3 ]"

# unknown header extensions survive a header rewrite (rebase)
qemu-img create -q -f qcow2 "$T/ext.qcow2" 1M
truncate -s 1M "$T/base.img"
python3 - "$T/ext.qcow2" <<'PY'
import struct, sys
f = open(sys.argv[1], 'r+b')
h = bytearray(f.read(65536))
hl = struct.unpack('>I', h[100:104])[0]
p, exts = hl, []
while True:
    t, l = struct.unpack('>II', h[p:p + 8])
    if t == 0:
        break
    exts.append(h[p:p + 8 + ((l + 7) & ~7)])
    p += 8 + ((l + 7) & ~7)
new = struct.pack('>II', 0x0badcafe, 5) + b'hello\0\0\0'
area = new + b''.join(exts) + bytes(8)
h[hl:hl + len(area)] = area
f.seek(0); f.write(h)
PY
ok img_unknown_ext_kept bash -c "$C img rebase -u -b base.img -F raw $T/ext.qcow2 && qcheck $T/ext.qcow2 && grep -q hello $T/ext.qcow2 && python3 -c \"import sys; d=open(sys.argv[1],'rb').read(4096); sys.exit(d.find(bytes.fromhex('0badcafe')) < 0 or d.find(bytes.fromhex('6803f857')) < 0)\" $T/ext.qcow2 && qemu-img info $T/ext.qcow2 | grep -q 'backing file: base.img'"

# info: the same JSON keys and values as qemu-img
qemu-img convert -O qcow2 "$T/src.raw" "$T/qsnap.qcow2"
qemu-img snapshot -c qemu-made "$T/qsnap.qcow2"
cp "$T/qsnap.qcow2" "$T/csnap.qcow2"
"$C" img snapshot -c cvisor-made "$T/csnap.qcow2"
ok img_snapshot_list_same bash -c "[ \"\$($C img snapshot -l $T/csnap.qcow2)\" = \"\$(qemu-img snapshot -l $T/csnap.qcow2)\" ]"
ok img_info_json_keys bash -c "
	for f in $T/top.qcow2 $T/z_zstd.qcow2 $T/src.raw $T/csnap.qcow2; do
		qemu-img info --output=json \$f | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop(\"actual-size\",0); print(json.dumps(d, sort_keys=True))' > $T/qi.json
		$C img info --output=json \$f | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop(\"actual-size\",0); print(json.dumps(d, sort_keys=True))' > $T/ci.json
		cmp $T/qi.json $T/ci.json || { diff $T/qi.json $T/ci.json; exit 1; }
	done"
ok img_info_human_same bash -c "
	for f in $T/top.qcow2 $T/v2.qcow2 $T/csnap.qcow2 $T/z_zstd.qcow2; do
		diff <(qemu-img info --backing-chain \$f | grep -v '^disk size') <($C img info --backing-chain \$f | grep -v '^disk size') || exit 1
		diff <(qemu-img info --backing-chain --output=json \$f | grep -v actual-size) <($C img info --backing-chain --output=json \$f | grep -v actual-size) || exit 1
	done"
ok img_map_json bash -c "qemu-img map --output=json $T/top.qcow2 > $T/qm && $C img map --output=json $T/top.qcow2 > $T/cm && python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); strip=lambda l:[(e[\"start\"],e[\"length\"],e[\"depth\"],e[\"zero\"],e[\"data\"]) for e in l]; sys.exit(strip(a)!=strip(b))' $T/qm $T/cm"
ok img_measure bash -c "[ \"\$(qemu-img measure -O qcow2 $T/src.raw)\" = \"\$($C img measure -O qcow2 $T/src.raw)\" ] && [ \"\$(qemu-img measure -O qcow2 --size 7G)\" = \"\$($C img measure -O qcow2 --size 7G)\" ]"
finish
