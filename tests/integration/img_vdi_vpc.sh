#!/usr/bin/env bash
# VDI and VPC (VHD) against qemu-img: images qemu-img made read by cvisor
# as qemu-img reads them, images cvisor made read by qemu-img (compare,
# check) with the same virtual sizes and info, "img check" on a damaged VDI
# map agreeing with qemu-img check, damaged files refused with one line.
# A Linux guest writing disks of both formats is in img_vdi_vpc_linux.sh.
set -u
. "$(dirname "$0")/img_lib.sh"
need_qemu_img img_vdi_vpc

make_raw "$T/src.raw" 10

# fmt and options of each subformat, as "FMT[:OPTS]"
SUBS="vdi vdi:static=on vpc vpc:subformat=fixed vpc:force_size=on
vpc:subformat=fixed,force_size=on"

opts_of() { [[ $1 == *:* ]] && echo "-o ${1#*:}"; }

# sizes as qemu-img reads them are the same whoever made the image
for s in $SUBS; do
	f=${s%%:*} o=$(opts_of "$s") n=${s//[:=,]/_}
	qemu-img convert -O "$f" $o "$T/src.raw" "$T/q.$f"
	ok "img_${n}_qemu_made_reads" bash -c "$C img convert -f $f -O raw $T/q.$f $T/c.raw && qemu-img convert -f $f -O raw $T/q.$f $T/q.raw && cmp $T/q.raw $T/c.raw && $C img compare -f $f -F raw $T/q.$f $T/src.raw >/dev/null"
	ok "img_${n}_cvisor_made_reads" bash -c "$C img convert -O $f $o $T/src.raw $T/c.$f && qemu-img compare -q -f raw -F $f $T/src.raw $T/c.$f && cmp <(qemu-img convert -f $f -O raw $T/c.$f /dev/stdout) <(qemu-img convert -f $f -O raw $T/q.$f /dev/stdout)"
	if [[ $f == vdi ]]; then
		ok "img_${n}_cvisor_made_qemu_check" qemu-img check -q "$T/c.$f"
		ok "img_${n}_qemu_made_cvisor_check" "$C" img check -q "$T/q.$f"
	fi
	# info: the same JSON as qemu-img's (the file name and the bytes
	# used on the host aside)
	ok "img_${n}_info_json" bash -c "
		norm() { python3 -c 'import json,sys; d=json.load(sys.stdin); [d.pop(k,0) for k in (\"actual-size\",\"filename\")]; print(json.dumps(d, sort_keys=True))'; }
		[ \"\$(qemu-img info -f $f --output=json $T/c.$f | norm)\" = \"\$($C img info -f $f --output=json $T/c.$f | norm)\" ] &&
		[ \"\$(qemu-img info -f $f --output=json $T/q.$f | norm)\" = \"\$($C img info -f $f --output=json $T/q.$f | norm)\" ]"
	ok "img_${n}_map_json" bash -c "cmp <(qemu-img map -f $f --output=json $T/q.$f) <($C img map -f $f --output=json $T/q.$f)"
	for size in 0 1000001 10M 127G 200G 2040G; do
		# qemu-img cannot open the empty fixed VHD it makes
		[[ $size == 0 && $o == *fixed* ]] && continue
		rm -f "$T/qs.$f" "$T/cs.$f"
		qemu-img create -q -f "$f" $o "$T/qs.$f" "$size"
		"$C" img create -q -f "$f" $o "$T/cs.$f" "$size" >/dev/null
		q=$(qemu-img info -f "$f" --output=json "$T/qs.$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
		c=$(qemu-img info -f "$f" --output=json "$T/cs.$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
		m=$("$C" img info -f "$f" --output=json "$T/qs.$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
		if [[ $q == "$c" && $q == "$m" ]]; then
			pass "img_${n}_size_$size"
		else
			fail "img_${n}_size_$size" "qemu-img made $q, cvisor made $c, cvisor reads qemu's as $m"
		fi
		rm -f "$T/qs.$f" "$T/cs.$f"
	done
done
ok img_vpc_too_large bash -c "! $C img create -q -f vpc $T/big.vhd 2041G 2>$T/e && [ \$(wc -l <$T/e) = 1 ]"
ok img_vdi_too_large bash -c "! $C img create -q -f vdi $T/big.vdi 100P 2>$T/e && [ \$(wc -l <$T/e) = 1 ]"
ok img_vdi_no_repair bash -c "cp $T/c.vdi $T/r.vdi; qemu-img check -r all $T/r.vdi >/dev/null 2>&1; q=\$?; $C img check -r all $T/r.vdi >/dev/null 2>&1; [ \$? = \$q ] && [ \$q = 63 ]"
ok img_measure_refused bash -c "! $C img measure -O vdi --size 1G 2>$T/e && ! qemu-img measure -O vdi --size 1G 2>/dev/null && [ \$(wc -l <$T/e) = 1 ] && ! $C img measure -O vpc --size 1G 2>/dev/null"
ok img_formats_listed bash -c "$C img --help 2>&1 | grep -q 'vdi, vpc'"
ok img_vpc_create_help bash -c "$C img create -f vpc -o help $T/x 1M | grep -q force_size"

# the fixed VHD has no magic at 0: probed as raw, as qemu-img does
ok img_vpc_fixed_probes_raw bash -c "$C img info $T/c.vpc | grep -q 'file format: raw' || $C img info $T/q.vpc | grep -q 'file format: raw'"
qemu-img create -q -f vpc "$T/probe.vhd" 1M
qemu-img create -q -f vdi "$T/probe.vdi" 1M
ok img_vpc_vdi_probed bash -c "$C img info $T/probe.vhd | grep -q 'file format: vpc' && $C img info $T/probe.vdi | grep -q 'file format: vdi'"

# A VHD made by Hyper-V ("win ") is as big as its footer says, whatever
# its geometry; one by Virtual PC ("vpc ") as its geometry says.
creator() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
f = open(sys.argv[1], 'r+b')
for at in (0, None):
    if at is None:
        f.seek(-512, 2); at = f.tell()
    f.seek(at); h = bytearray(f.read(512))
    if h[:8] != b'conectix':
        continue
    h[28:32] = sys.argv[2].encode().ljust(4)[:4]
    h[48:56] = struct.pack('>Q', 10 << 20)
    h[64:68] = b'\0\0\0\0'
    struct.pack_into('>I', h, 64, ~sum(h) & 0xffffffff)
    f.seek(at); f.write(h)
PY
}
for app in "win " "vpc " "d2v " "xyz "; do
	qemu-img create -q -f vpc "$T/app.vhd" 10M
	creator "$T/app.vhd" "$app"
	q=$(qemu-img info --output=json "$T/app.vhd" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
	c=$("$C" img info --output=json "$T/app.vhd" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
	check_name="img_vpc_creator_${app// /}"
	if [[ $q == "$c" ]]; then pass "$check_name"; else fail "$check_name" "qemu-img $q, cvisor $c"; fi
done

# img check on damaged VDI maps: the same messages, counts and exit status
qemu-img create -q -f vdi "$T/m.vdi" 8M
qemu-io -c 'write -P 1 0 64k' -c 'write -P 2 1M 64k' -c 'write -P 3 5M 4k' "$T/m.vdi" >/dev/null
vdi_map() {
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
f = open(sys.argv[1], 'r+b')
f.seek(0x154); bmap = struct.unpack('<I', f.read(4))[0]
f.seek(bmap + 4 * int(sys.argv[2])); f.write(struct.pack('<I', int(sys.argv[3])))
PY
}
for dmg in "dup:1:0" "range:5:99" "extra:7:2" "count:0:4294967295"; do
	IFS=: read -r name idx val <<<"$dmg"
	cp "$T/m.vdi" "$T/d.vdi"
	vdi_map "$T/d.vdi" "$idx" "$val"
	qemu-img check "$T/d.vdi" >"$T/qo" 2>"$T/qe"
	qs=$?
	"$C" img check "$T/d.vdi" >"$T/co" 2>"$T/ce"
	cs=$?
	# the same lines; cvisor names the block that had the data block
	# first where qemu-img repeats the data block's index
	if [[ $qs == "$cs" ]] && cmp -s "$T/qo" "$T/co" &&
		cmp -s <(sed 's/used by [0-9]*$/used by/' "$T/qe") <(sed 's/used by [0-9]*$/used by/' "$T/ce"); then
		pass "img_vdi_check_$name"
	else
		fail "img_vdi_check_$name" "qemu-img $qs: $(cat "$T/qe" "$T/qo" | tr '\n' ' '); cvisor $cs: $(cat "$T/ce" "$T/co" | tr '\n' ' ')"
	fi
	# a map with bad entries reads, but takes no writes
	if [[ $qs != 0 && $name != count ]]; then
		if [[ $name == range ]]; then
			ok "img_vdi_${name}_read_fails" bash -c "! $C img convert -f vdi -O raw $T/d.vdi $T/d.raw 2>$T/e && [ \$(wc -l <$T/e) = 1 ]"
		else
			ok "img_vdi_${name}_reads" "$C" img convert -f vdi -O raw "$T/d.vdi" "$T/d.raw"
		fi
		ok "img_vdi_${name}_no_rw" bash -c "! timeout 60 $C run --accel emu --kernel /dev/null --memory 64M --disk path=$T/d.vdi,format=vdi >$T/o 2>&1 && grep -q 'block map is corrupt' $T/o"
	fi
done

# damage: each one line on stderr, exit 1, never a crash
damage() {
	python3 - "$@" <<'PY'
import struct, sys
path, what = sys.argv[1], sys.argv[2]
f = open(path, 'r+b')
def put(off, fmt, v):
    f.seek(off); f.write(struct.pack(fmt, v))
def vhd_fix_footer(at):
    f.seek(at); h = bytearray(f.read(512)); h[64:68] = b'\0\0\0\0'
    struct.pack_into('>I', h, 64, ~sum(h) & 0xffffffff); f.seek(at); f.write(h)
if what == 'vdi_trunc':
    f.truncate(100)
elif what == 'vdi_magic':
    put(0x40, '<I', 0x12345678)
elif what == 'vdi_version':
    put(0x44, '<I', 0x00020000)
elif what == 'vdi_type':
    put(0x4c, '<I', 4)
elif what == 'vdi_huge':
    put(0x170, '<Q', 1 << 62); put(0x180, '<I', 0xffffffff)
elif what == 'vdi_size_over_blocks':
    put(0x170, '<Q', 1 << 40)
elif what == 'vdi_map_past_eof':
    put(0x154, '<I', 0x7ffffe00)
elif what == 'vdi_map_over_data':
    put(0x158, '<I', 0x200)
elif what == 'vdi_block_size':
    put(0x178, '<I', 4096)
elif what == 'vhd_trunc':
    f.truncate(300)
elif what == 'vhd_checksum':
    put(0x44, '>I', 0xdeadbeef)
elif what == 'vhd_type':
    put(60, '>I', 7); vhd_fix_footer(0)
elif what == 'vhd_diff':
    put(60, '>I', 4); vhd_fix_footer(0)
elif what == 'vhd_huge':
    put(48, '>Q', 1 << 60); put(56, '>I', 0xffff10ff); vhd_fix_footer(0)
elif what == 'vhd_dyn_past_eof':
    put(16, '>Q', 1 << 40); vhd_fix_footer(0)
elif what == 'vhd_dyn_magic':
    put(512, '>Q', 0)
elif what == 'vhd_bat_past_eof':
    put(512 + 16, '>Q', 1 << 40)
elif what == 'vhd_bat_huge':
    put(512 + 28, '>I', 0xffffffff)
elif what == 'vhd_block_size':
    put(512 + 32, '>I', 12345)
elif what == 'vhd_entry_past_eof':
    put(1536, '>I', 0x7fffffff)
elif what == 'vhd_fixed_short':
    f.seek(-512, 2); at = f.tell(); f.seek(at); t = f.read(512)
    f.truncate(1024); f.seek(512); f.write(t)
PY
}
qemu-img create -q -f vdi "$T/g.vdi" 4M
qemu-img create -q -f vpc "$T/g.vhd" 8M
qemu-img create -q -f vpc -o subformat=fixed "$T/gf.vhd" 8M
for what in vdi_trunc vdi_magic vdi_version vdi_type vdi_huge \
	vdi_size_over_blocks vdi_map_past_eof vdi_map_over_data vdi_block_size \
	vhd_trunc vhd_checksum vhd_type vhd_diff vhd_huge vhd_dyn_past_eof \
	vhd_dyn_magic vhd_bat_past_eof vhd_bat_huge vhd_block_size \
	vhd_entry_past_eof vhd_fixed_short; do
	case $what in
	vdi_*) src=$T/g.vdi f=vdi ;;
	vhd_fixed*) src=$T/gf.vhd f=vpc ;;
	*) src=$T/g.vhd f=vpc ;;
	esac
	cp "$src" "$T/bad"
	damage "$T/bad" "$what"
	"$C" img info -f "$f" "$T/bad" >/dev/null 2>"$T/e"
	rc=$?
	if [[ $rc == 1 && $(wc -l <"$T/e") == 1 ]]; then
		pass "img_damaged_$what"
	else
		fail "img_damaged_$what" "exit $rc: $(head -c 300 "$T/e")"
	fi
done
finish
