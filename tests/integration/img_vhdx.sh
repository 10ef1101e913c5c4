#!/usr/bin/env bash
# VHDX against qemu-img: images qemu-img made (dynamic, fixed, other block
# and log sizes) read by cvisor as qemu-img reads them, images cvisor made
# read by qemu-img (check clean, compare equal) and written on by qemu-io,
# the same info; a set log GUID, differencing and damaged files refused
# with one line; a damaged BAT read-only, named by "img check".
# A Linux guest writing VHDX disks is in img_vhdx_linux.sh.
set -u
. "$(dirname "$0")/img_lib.sh"
need_qemu_img img_vhdx

make_raw "$T/src.raw" 20

SUBS="dynamic subformat=fixed block_size=1M block_size=32M,log_size=4M
subformat=fixed,block_size=2M"
vsize() { python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])'; }
norm() { python3 -c 'import json,sys; d=json.load(sys.stdin); [d.pop(k,0) for k in ("actual-size","filename")]; print(json.dumps(d, sort_keys=True))'; }

for s in $SUBS; do
	o= n=${s//[=,]/_}
	[[ $s != dynamic ]] && o="-o $s"
	qemu-img convert -O vhdx $o "$T/src.raw" "$T/q.vhdx"
	ok "img_vhdx_${n}_qemu_made_reads" bash -c "$C img convert -f vhdx -O raw $T/q.vhdx $T/c.raw && qemu-img convert -f vhdx -O raw $T/q.vhdx $T/q.raw && cmp $T/q.raw $T/c.raw && cmp $T/src.raw $T/c.raw && $C img compare -f vhdx -F raw $T/q.vhdx $T/src.raw >/dev/null"
	ok "img_vhdx_${n}_cvisor_made_reads" bash -c "$C img convert -O vhdx $o $T/src.raw $T/c.vhdx && qemu-img check -q $T/c.vhdx && qemu-img compare -q -f raw -F vhdx $T/src.raw $T/c.vhdx"
	ok "img_vhdx_${n}_qemu_made_cvisor_check" "$C" img check -q "$T/q.vhdx"
	ok "img_vhdx_${n}_cvisor_made_cvisor_check" "$C" img check -q "$T/c.vhdx"
	ok "img_vhdx_${n}_info_json" bash -c "
		norm() { $(declare -f norm | sed 1,2d | sed '$d'); }
		[ \"\$(qemu-img info -f vhdx --output=json $T/c.vhdx | norm)\" = \"\$($C img info -f vhdx --output=json $T/c.vhdx | norm)\" ] &&
		[ \"\$(qemu-img info -f vhdx --output=json $T/q.vhdx | norm)\" = \"\$($C img info -f vhdx --output=json $T/q.vhdx | norm)\" ] &&
		[ \"\$(qemu-img info -f vhdx $T/q.vhdx | sed 1d | grep -v 'disk size')\" = \"\$($C img info -f vhdx $T/q.vhdx | sed 1d | grep -v 'disk size')\" ]"
	# qemu-io writes into a cvisor image (partial blocks, across blocks);
	# cvisor reads what it wrote, then writes over it and qemu reads back
	cp "$T/src.raw" "$T/w.raw"
	qemu-io -f vhdx -c 'write -P 0x5a 3000k 70k' -c 'write -P 0xa5 19m 1m' "$T/c.vhdx" >/dev/null
	qemu-io -f raw -c 'write -P 0x5a 3000k 70k' -c 'write -P 0xa5 19m 1m' "$T/w.raw" >/dev/null
	ok "img_vhdx_${n}_qemu_writes_cvisor_reads" bash -c "$C img compare -f vhdx -F raw $T/c.vhdx $T/w.raw >/dev/null"
	"$C" img convert -f raw -O vhdx $o "$T/w.raw" "$T/c2.vhdx" >/dev/null
	ok "img_vhdx_${n}_cvisor_rewrite" bash -c "qemu-img check -q $T/c2.vhdx && qemu-img compare -q -f raw -F vhdx $T/w.raw $T/c2.vhdx"
done

for size in 0 1000001 10M 1G 2G 101G 2T 33T; do
	rm -f "$T/qs.vhdx" "$T/cs.vhdx"
	qemu-img create -q -f vhdx "$T/qs.vhdx" "$size"
	"$C" img create -q -f vhdx "$T/cs.vhdx" "$size" >/dev/null
	q=$(qemu-img info --output=json "$T/qs.vhdx" | norm)
	c=$(qemu-img info --output=json "$T/cs.vhdx" | norm)
	m=$("$C" img info --output=json "$T/qs.vhdx" | norm)
	if [[ $q == "$c" && $q == "$m" ]] && qemu-img check -q "$T/cs.vhdx"; then
		pass "img_vhdx_size_$size"
	else
		fail "img_vhdx_size_$size" "qemu-img made $q, cvisor made $c, cvisor reads qemu's as $m"
	fi
done
rm -f "$T/qs.vhdx" "$T/cs.vhdx"
ok img_vhdx_too_large bash -c "! $C img create -q -f vhdx $T/big.vhdx 65T 2>$T/e && [ \$(wc -l <$T/e) = 1 ]"
for bad in block_size=3M block_size=512K block_size=512M log_size=1500K subformat=diff; do
	ok "img_vhdx_bad_opt_$bad" bash -c "! $C img create -q -f vhdx -o $bad $T/b.vhdx 10M 2>$T/e && [ \$(wc -l <$T/e) = 1 ] && [ ! -s $T/b.vhdx ]"
done
ok img_vhdx_listed bash -c "$C img --help 2>&1 | grep -q 'vhdx'"
ok img_vhdx_create_help bash -c "$C img create -f vhdx -o help $T/x 1M | grep -q log_size"
qemu-img create -q -f vhdx "$T/probe.vhdx" 1M
ok img_vhdx_probed bash -c "$C img info $T/probe.vhdx | grep -q 'file format: vhdx' && $C img info $T/c.vhdx | grep -q 'file format: vhdx'"

# damage: each one line on stderr, exit 1, never a crash
damage() {
	python3 - "$@" <<'PY'
import struct, sys
path, what = sys.argv[1], sys.argv[2]
f = open(path, 'r+b')
def crc32c(b):
    c = 0xffffffff
    for x in b:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ 0x82f63b78 if c & 1 else c >> 1
    return c ^ 0xffffffff
def put(off, fmt, v):
    f.seek(off); f.write(struct.pack(fmt, v))
def resum(at, n):
    f.seek(at); b = bytearray(f.read(n)); b[4:8] = b'\0' * 4
    struct.pack_into('<I', b, 4, crc32c(bytes(b))); f.seek(at); f.write(b)
def headers(off, fmt, v):
    for at in (0x10000, 0x20000):
        put(at + off, fmt, v); resum(at, 4096)
def regions(i, off, fmt, v):
    for at in (0x30000, 0x40000):
        put(at + 16 + 32 * i + off, fmt, v); resum(at, 65536)
def region(i):
    f.seek(0x30000 + 16 + 32 * i); g = f.read(16)
    return struct.unpack('<Q', f.read(8))[0], g
def find(kind):
    bat = b'\x66\x77\xc2\x2d'
    for i in range(2):
        off, g = region(i)
        if (g[:4] == bat) == (kind == 'bat'):
            return i, off
def meta_item(k):
    _, m = find('meta')
    f.seek(m + 32 + 32 * k + 16); return m, struct.unpack('<I', f.read(4))[0]
if what == 'trunc':
    f.truncate(100000)
elif what == 'magic':
    put(0, '<Q', 0)
elif what == 'headers_crc':
    put(0x10000 + 8, '<Q', 5); put(0x20000 + 8, '<Q', 5)
elif what == 'version':
    headers(66, '<H', 2)
elif what == 'log_guid':
    headers(48, '<Q', 0x1234)
elif what == 'log_past_eof':
    headers(72, '<Q', 1 << 50)
elif what == 'regions_crc':
    put(0x30000 + 8, '<I', 3); put(0x40000 + 8, '<I', 3)
elif what == 'region_count':
    for at in (0x30000, 0x40000):
        put(at + 8, '<I', 100000); resum(at, 65536)
elif what == 'bat_past_eof':
    i, _ = find('bat'); regions(i, 16, '<Q', 1 << 45)
elif what == 'bat_over_meta':
    i, _ = find('bat'); _, m = find('meta'); regions(i, 16, '<Q', m)
elif what == 'bat_over_log':
    i, _ = find('bat'); regions(i, 16, '<Q', 1 << 20)
elif what == 'bat_unaligned':
    i, off = find('bat'); regions(i, 16, '<Q', off + 4096)
elif what == 'unknown_required_region':
    regions(0, 0, '<Q', 0x1122334455667788); regions(0, 28, '<I', 1)
elif what == 'meta_magic':
    _, m = find('meta'); put(m, '<Q', 0)
elif what == 'meta_item_outside':
    m, _ = meta_item(1); put(m + 32 + 32 * 1 + 16, '<I', 0x7ffffff0)
elif what == 'meta_count':
    _, m = find('meta'); put(m + 10, '<H', 3000)
elif what == 'block_size':
    m, o = meta_item(0); put(m + o, '<I', 3 << 20)
elif what == 'parent':
    m, o = meta_item(0); put(m + o + 4, '<I', 2)
elif what == 'huge':
    m, o = meta_item(1); put(m + o, '<Q', 1 << 62)
elif what == 'size_over_bat':
    m, o = meta_item(1); put(m + o, '<Q', 60 << 40)
elif what == 'sector_size':
    m, o = meta_item(3); put(m + o, '<I', 1024)
PY
}
qemu-img create -q -f vhdx "$T/g.vhdx" 40M
qemu-io -c 'write -P 1 0 64k' -c 'write -P 2 9M 64k' "$T/g.vhdx" >/dev/null
for what in trunc magic headers_crc version log_guid log_past_eof regions_crc \
	region_count bat_past_eof bat_over_meta bat_over_log bat_unaligned \
	unknown_required_region meta_magic meta_item_outside meta_count \
	block_size parent huge size_over_bat sector_size; do
	cp "$T/g.vhdx" "$T/bad"
	damage "$T/bad" "$what"
	"$C" img info -f vhdx "$T/bad" >/dev/null 2>"$T/e"
	rc=$?
	if [[ $rc == 1 && $(wc -l <"$T/e") == 1 ]]; then
		pass "img_vhdx_damaged_$what"
	else
		fail "img_vhdx_damaged_$what" "exit $rc: $(head -c 300 "$T/e")"
	fi
done
ok img_vhdx_log_says_replay bash -c "cp $T/g.vhdx $T/bad && $(declare -f damage) && damage $T/bad log_guid && $C img info $T/bad 2>&1 | grep -q 'log needs replay'"
ok img_vhdx_parent_refused bash -c "cp $T/g.vhdx $T/bad && $(declare -f damage) && damage $T/bad parent && $C img info $T/bad 2>&1 | grep -q 'differencing'"

# BAT entries pointing past the file, over the metadata, or two blocks on
# one: qemu-img check and cvisor img check both fail; cvisor reads the
# sound blocks read-only, and no writable open
bat_entry() {
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
f = open(sys.argv[1], 'r+b')
for i in range(2):
    f.seek(0x30000 + 16 + 32 * i); g = f.read(16)
    if g[:4] == b'\x66\x77\xc2\x2d':
        bat = struct.unpack('<Q', f.read(8))[0]
f.seek(bat); e0 = struct.unpack('<Q', f.read(8))[0]
v = {'past': (1 << 40) | 6, 'dup': e0, 'meta': (1 << 20) | 6,
     'partial': e0 | 7}[sys.argv[3]]
f.seek(bat + 8 * int(sys.argv[2])); f.write(struct.pack('<Q', v))
PY
}
for dmg in past:3 dup:2 meta:4 partial:0; do
	IFS=: read -r name idx <<<"$dmg"
	cp "$T/g.vhdx" "$T/d.vhdx"
	bat_entry "$T/d.vhdx" "$idx" "$name"
	"$C" img check "$T/d.vhdx" >"$T/co" 2>&1
	cs=$?
	if [[ $cs != 0 ]] && grep -q "ERROR: BAT entry\|ERROR: blocks" "$T/co"; then
		pass "img_vhdx_check_$name"
	else
		fail "img_vhdx_check_$name" "exit $cs: $(tr '\n' ' ' <"$T/co")"
	fi
	ok "img_vhdx_${name}_no_rw" bash -c "! timeout 60 $C run --accel emu --kernel /dev/null --memory 64M --disk path=$T/d.vhdx,format=vhdx >$T/o 2>&1 && grep -q 'BAT is corrupt' $T/o"
done
ok img_vhdx_dup_reads_ro bash -c "cp $T/g.vhdx $T/d.vhdx && $(declare -f bat_entry) && bat_entry $T/d.vhdx 2 dup && $C img convert -f vhdx -O raw $T/d.vhdx $T/d.raw && qemu-img convert -f vhdx -O raw $T/g.vhdx $T/g.raw && cmp -n 9437184 $T/d.raw $T/g.raw"
# A log to replay: qemu-io writes two blocks, then the BAT entry of the
# second is undone and the header names the log entry that set it, as if
# the crash came before the BAT write. Read-only opens are refused with
# one line; "img check -r all" replays, as "qemu-img check -r all" does.
dirty_log() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
path, what = sys.argv[1], sys.argv[2]
f = open(path, 'r+b')
def crc32c(b):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82f63b78 if c & 1 else c >> 1
        t.append(c)
    c = 0xffffffff
    for x in b:
        c = t[(c ^ x) & 0xff] ^ (c >> 8)
    return c ^ 0xffffffff
def resum(at, n):
    f.seek(at); b = bytearray(f.read(n)); b[4:8] = b'\0' * 4
    struct.pack_into('<I', b, 4, crc32c(bytes(b))); f.seek(at); f.write(b)
f.seek(0x10000 + 72); log = struct.unpack('<Q', f.read(8))[0]
f.seek(log); d = f.read(1 << 20)
head = max((o for o in range(0, len(d), 4096) if d[o:o+4] == b'loge'),
           key=lambda o: struct.unpack_from('<Q', d, o + 16)[0])
guid = d[head + 32:head + 48]
bat_at = struct.unpack_from('<Q', d, head + 64 + 16)[0]
f.seek(bat_at); f.write(b'\0' * 4096)        # the BAT sector before the write
if what == 'outside':                         # the entry writes a header
    f.seek(log + head + 64 + 16); f.write(struct.pack('<Q', 0x10000))
    resum(log + head, struct.unpack_from('<I', d, head + 8)[0])
for at in (0x10000, 0x20000):
    f.seek(at + 48); f.write(guid); resum(at, 4096)
PY
}
qemu-img create -q -f vhdx "$T/L.vhdx" 40M
qemu-io -c 'write -P 1 0 64k' -c 'write -P 2 9M 64k' "$T/L.vhdx" >/dev/null
qemu-img convert -O raw "$T/L.vhdx" "$T/L.raw"
cp "$T/L.vhdx" "$T/Lq.vhdx"
dirty_log "$T/Lq.vhdx" replay
cp "$T/Lq.vhdx" "$T/Lc.vhdx"
ok img_vhdx_log_refused_ro bash -c "! $C img convert -O raw $T/Lc.vhdx $T/x.raw 2>$T/e && [ \$(wc -l <$T/e) = 1 ] && grep -q 'log needs replay' $T/e"
ok img_vhdx_log_qemu_refuses_too bash -c "! qemu-img convert -O raw $T/Lq.vhdx $T/x.raw 2>/dev/null"
qemu-img check -q -r all "$T/Lq.vhdx" >/dev/null 2>&1
ok img_vhdx_log_replayed bash -c "$C img check -q -r all $T/Lc.vhdx && qemu-img check -q $T/Lc.vhdx && $C img compare -f vhdx -F raw $T/Lc.vhdx $T/L.raw >/dev/null && qemu-img compare -q $T/Lq.vhdx $T/Lc.vhdx"
cp "$T/L.vhdx" "$T/Lo.vhdx"
dirty_log "$T/Lo.vhdx" outside
cp "$T/Lo.vhdx" "$T/Lo0.vhdx"
ok img_vhdx_log_outside_refused bash -c "! $C img check -r all $T/Lo.vhdx >/dev/null 2>$T/e && [ \$(wc -l <$T/e) = 1 ] && grep -q 'cannot be replayed' $T/e && cmp $T/Lo0.vhdx $T/Lo.vhdx"
finish
