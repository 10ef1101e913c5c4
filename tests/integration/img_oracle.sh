#!/usr/bin/env bash
# Images written by cvisor must pass "qemu-img check" and have the content
# of their source according to "qemu-img compare".
set -u
. "$(dirname "$0")/img_lib.sh"
need_qemu_img img_oracle

make_raw "$T/src.raw" 12

ok img_create_empty_check bash -c "$C img create -q -f qcow2 $T/e.qcow2 1G && qemu-img check -q $T/e.qcow2"
ok img_create_empty_reads_zero bash -c "qemu-img convert -O raw $T/e.qcow2 $T/e.raw && [ \$(stat -c %s $T/e.raw) = 1073741824 ] && cmp -s $T/e.raw <(head -c 1073741824 /dev/zero)"

for cs in 512 4096 65536 2M; do
	ok "img_convert_cluster_$cs" bash -c "$C img convert -O qcow2 -o cluster_size=$cs $T/src.raw $T/c.qcow2 && qemu-img check -q $T/c.qcow2 && qemu-img compare -q $T/src.raw $T/c.qcow2"
done
for rb in 1 8 64; do
	ok "img_convert_refbits_$rb" bash -c "$C img convert -O qcow2 -o refcount_bits=$rb,cluster_size=4096 $T/src.raw $T/r.qcow2 && qemu-img check -q $T/r.qcow2 && qemu-img compare -q $T/src.raw $T/r.qcow2"
done
ok img_convert_refcount_table_growth bash -c "$C img convert -O qcow2 -o refcount_bits=64,cluster_size=512 $T/src.raw $T/r.qcow2 && qemu-img check -q $T/r.qcow2 && qemu-img compare -q $T/src.raw $T/r.qcow2"
ok img_convert_v2 bash -c "$C img convert -O qcow2 -o compat=0.10 $T/src.raw $T/v2.qcow2 && qemu-img check -q $T/v2.qcow2 && qemu-img compare -q $T/src.raw $T/v2.qcow2 && qemu-img info $T/v2.qcow2 | grep -q 'compat: 0.10'"
for ct in zlib zstd; do
	ok "img_convert_compressed_$ct" bash -c "$C img convert -c -O qcow2 -o compression_type=$ct $T/src.raw $T/z.qcow2 && qemu-img check -q $T/z.qcow2 && qemu-img compare -q $T/src.raw $T/z.qcow2 && qemu-img info $T/z.qcow2 | grep -q 'compression type: $ct'"
done
head -c 1234567 "$T/src.raw" > "$T/odd.raw"
ok img_convert_odd_size bash -c "$C img convert -c -O qcow2 $T/odd.raw $T/odd.qcow2 && qcheck $T/odd.qcow2 && qemu-img compare -q $T/odd.raw $T/odd.qcow2 && [ \"\$(qemu-img info --output=json $T/odd.qcow2 | grep virtual)\" = \"\$($C img info --output=json $T/odd.qcow2 | grep virtual)\" ]"
ok img_convert_sparse bash -c "$C img convert -O qcow2 $T/src.raw $T/s.qcow2 && [ \$(stat -c %s $T/s.qcow2) -lt 4000000 ]"
ok img_convert_to_raw bash -c "$C img convert -O raw $T/z.qcow2 $T/back.raw && cmp $T/src.raw $T/back.raw"

# snapshots: create, overwrite, apply, delete; qemu agrees at each step
cp "$T/s.qcow2" "$T/snap.qcow2"
ok img_snapshot_create bash -c "$C img snapshot -c first $T/snap.qcow2 && qcheck $T/snap.qcow2 && qemu-img snapshot -l $T/snap.qcow2 | grep -q first"
ok img_snapshot_write bash -c "qemu-io -c 'write -P 0x5a 0 3M' $T/snap.qcow2 >/dev/null && qcheck $T/snap.qcow2"
ok img_snapshot_apply bash -c "$C img snapshot -a first $T/snap.qcow2 && qcheck $T/snap.qcow2 && qemu-img compare -q $T/src.raw $T/snap.qcow2"
ok img_snapshot_delete bash -c "$C img snapshot -d first $T/snap.qcow2 && qcheck $T/snap.qcow2 && qemu-img compare -q $T/src.raw $T/snap.qcow2 && ! qemu-img snapshot -l $T/snap.qcow2 | grep -q first"

# backing chains
ok img_backing_create bash -c "$C img create -q -f qcow2 -b s.qcow2 -F qcow2 $T/top.qcow2 && qcheck $T/top.qcow2 && qemu-img compare -q $T/src.raw $T/top.qcow2 && qemu-img info $T/top.qcow2 | grep -q 'backing file: s.qcow2'"
ok img_backing_write bash -c "qemu-io -c 'write -P 0x33 1M 1M' $T/top.qcow2 >/dev/null && cp $T/src.raw $T/expect.raw && qemu-io -f raw -c 'write -P 0x33 1M 1M' $T/expect.raw >/dev/null && $C img compare $T/expect.raw $T/top.qcow2 >/dev/null"
ok img_backing_convert bash -c "$C img convert -O qcow2 $T/top.qcow2 $T/flat.qcow2 && qcheck $T/flat.qcow2 && qemu-img compare -q $T/expect.raw $T/flat.qcow2"
ok img_rebase_safe bash -c "$C img rebase -b '' $T/top.qcow2 && qcheck $T/top.qcow2 && qemu-img compare -q $T/expect.raw $T/top.qcow2"
ok img_commit bash -c "$C img create -q -f qcow2 -b s.qcow2 -F qcow2 $T/top2.qcow2 && qemu-io -c 'write -P 0x44 0 64k' $T/top2.qcow2 >/dev/null && qemu-img convert -O raw $T/top2.qcow2 $T/want.raw && $C img commit $T/top2.qcow2 >/dev/null && qcheck $T/s.qcow2 && qcheck $T/top2.qcow2 && qemu-img compare -q $T/want.raw $T/s.qcow2 && qemu-img compare -q $T/want.raw $T/top2.qcow2"

# resize and preallocation
ok img_resize_grow bash -c "cp $T/s.qcow2 $T/g.qcow2 && $C img resize $T/g.qcow2 +3G >/dev/null && qcheck $T/g.qcow2 && qemu-img info $T/g.qcow2 | grep -q '(3233808384 bytes)'"
ok img_resize_shrink bash -c "$C img resize --shrink $T/g.qcow2 5M >/dev/null && qcheck $T/g.qcow2 && head -c 5M $T/want.raw > $T/five.raw && qemu-img compare -q $T/five.raw $T/g.qcow2"
ok img_prealloc_metadata bash -c "$C img create -q -f qcow2 -o preallocation=metadata,cluster_size=4096 $T/p.qcow2 8M && qcheck $T/p.qcow2 && qemu-img map --output=json $T/p.qcow2 | grep -q '\"data\": true'"
ok img_lazy_refcounts bash -c "$C img create -q -f qcow2 -o lazy_refcounts=on $T/l.qcow2 8M && qcheck $T/l.qcow2 && qemu-img info $T/l.qcow2 | grep -q 'lazy refcounts: true'"
finish
