#!/usr/bin/env bash
# VMDK against qemu-img as the oracle: every subformat made by qemu-img is
# read by cvisor (bytes, info, check), every subformat made by cvisor is
# clean and equal for qemu-img, writes through cvisor (img commit into a
# vmdk base) leave images qemu-img finds clean and equal, and damaged or
# hostile images and descriptors are one line and exit 1, never a crash.
set -u
. "$(dirname "$0")/img_lib.sh"
need_qemu_img img_vmdk

SUBS="monolithicSparse streamOptimized monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat"
# 2100 MiB: the twoGbMaxExtent subformats get two extents, one partial
make_raw "$T/src.raw" 2100
dd if=/dev/urandom of="$T/src.raw" bs=1M count=2 seek=2047 conv=notrunc status=none

for s in $SUBS; do
	mkdir -p "$T/q-$s" "$T/c-$s"
	q=$T/q-$s/d.vmdk c=$T/c-$s/d.vmdk
	# made by qemu-img, read by cvisor
	qemu-img convert -O vmdk -o subformat=$s "$T/src.raw" "$q"
	ok "vmdk_${s}_qemu_made_reads_equal" bash -c \
		"'$C' img convert -f vmdk -O raw '$q' '$T/back.raw' && qemu-img compare -q -f raw -F raw '$T/back.raw' '$T/src.raw'"
	ok "vmdk_${s}_qemu_made_compare" "$C" img compare "$T/src.raw" "$q"
	ok "vmdk_${s}_qemu_made_check" "$C" img check "$q"
	if [[ "$(qemu-img info "$q")" == "$("$C" img info "$q")" ]] &&
	   [[ "$(qemu-img info --output=json "$q")" == \
	      "$("$C" img info --output=json "$q")" ]]; then
		pass "vmdk_${s}_info_as_qemu_img"
	else
		fail "vmdk_${s}_info_as_qemu_img" "$(diff <(qemu-img info "$q") <("$C" img info "$q") | head -5 | tr '\n' ' ') $(diff <(qemu-img info --output=json "$q") <("$C" img info --output=json "$q") | head -5 | tr '\n' ' ')"
	fi
	# made by cvisor, read by qemu-img
	ok "vmdk_${s}_cvisor_convert" "$C" img convert -O vmdk -o subformat=$s "$T/src.raw" "$c"
	ok "vmdk_${s}_cvisor_made_qemu_check" qemu-img check "$c"
	ok "vmdk_${s}_cvisor_made_qemu_compare" qemu-img compare -f raw -F vmdk "$T/src.raw" "$c"
	rm -f "$T"/c-$s/* "$T"/q-$s/*
	ok "vmdk_${s}_cvisor_create" bash -c "'$C' img create -q -f vmdk -o subformat=$s '$c' 3G &&
		qemu-img check '$c' && qemu-img info --output=json '$c' | grep -q '\"virtual-size\": 3221225472'"
	rm -rf "$T/q-$s" "$T/c-$s"
done
rm -f "$T/back.raw"

# options qemu-img knows; a bad one is refused before anything is written
ok vmdk_create_options bash -c "'$C' img create -q -f vmdk -o adapter_type=lsilogic,hwversion=7,zeroed_grain=on '$T/o.vmdk' 1G &&
	qemu-img check '$T/o.vmdk' && grep -aq 'ddb.adapterType = \"lsilogic\"' '$T/o.vmdk'"
out=$("$C" img create -f vmdk -o subformat=bogus "$T/bad.vmdk" 1G 2>&1)
[[ $? == 1 && $(echo "$out" | wc -l) == 1 && ! -e $T/bad.vmdk ]]
check_rc=$?
[[ $check_rc == 0 ]] && pass vmdk_create_bad_subformat || fail vmdk_create_bad_subformat "$out"
out=$("$C" img create -f vmdk "$T/zero.vmdk" 0 2>&1)
[[ $? == 1 && $(echo "$out" | wc -l) == 1 && ! -e $T/zero.vmdk ]] &&
	pass vmdk_create_zero_size_refused || fail vmdk_create_zero_size_refused "$out"
ok vmdk_help_lists_format bash -c "'$C' img --help 2>&1 | grep -q vmdk"

# Writes through cvisor: qemu-io scatters writes into a qcow2 overlay of a
# vmdk base, "cvisor img commit" writes them into the base (into allocated
# grains, new grains and both tables), qemu-img must find the base clean
# and equal to the overlay.
python3 -c '
import random
random.seed(7)
for i in range(120):
    off = random.randrange(0, (2100 << 20) - 200000) & ~511
    print("write -P %d %d %d" % (i % 250 + 1, off, random.choice([512, 4096, 65536, 100352, 131072])))
' >"$T/io.cmds"
for s in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat; do
	mkdir -p "$T/w"
	qemu-img convert -O vmdk -o subformat=$s "$T/src.raw" "$T/w/base.vmdk"
	qemu-img create -q -f qcow2 -b base.vmdk -F vmdk "$T/w/top.qcow2"
	qemu-io -f qcow2 "$T/w/top.qcow2" <"$T/io.cmds" >/dev/null
	ok "vmdk_${s}_cvisor_writes" bash -c "'$C' img commit '$T/w/top.qcow2' >/dev/null &&
		qemu-img check '$T/w/base.vmdk' &&
		qemu-img compare -f qcow2 -F vmdk '$T/w/top.qcow2' '$T/w/base.vmdk'"
	rm -rf "$T/w"
done
# streamOptimized with data is read-only: a commit into it is refused
mkdir -p "$T/w"
qemu-img convert -O vmdk -o subformat=streamOptimized "$T/src.raw" "$T/w/base.vmdk"
qemu-img create -q -f qcow2 -b base.vmdk -F vmdk "$T/w/top.qcow2"
qemu-io -f qcow2 -c "write -P 9 0 4096" "$T/w/top.qcow2" >/dev/null
sum=$(md5sum <"$T/w/base.vmdk")
out=$("$C" img commit "$T/w/top.qcow2" 2>&1)
[[ $? == 1 && $out == *read-only* && $(md5sum <"$T/w/base.vmdk") == "$sum" ]]
[[ $? == 0 ]] && pass vmdk_stream_readonly || fail vmdk_stream_readonly "$out"
rm -rf "$T/w"

# refused IMAGE NAME: cvisor img info and convert give one line, exit 1
refused() {
	local name=$1 img=$2 out rc
	out=$("$C" img info -f vmdk "$img" 2>&1)
	rc=$?
	if [[ $rc != 1 || $(echo "$out" | wc -l) != 1 ]]; then
		fail "$name" "info exit $rc: $(echo "$out" | head -3 | tr '\n' ' ')"
		return
	fi
	out=$("$C" img convert -f vmdk -O raw "$img" "$T/x.raw" 2>&1)
	rc=$?
	[[ $rc == 1 && $(echo "$out" | wc -l) == 1 ]] && pass "$name" ||
		fail "$name" "convert exit $rc: $(echo "$out" | head -3 | tr '\n' ' ')"
	rm -f "$T/x.raw"
}

# poke IMAGE OFFSET FORMAT VALUE (struct format, little-endian)
poke() {
	python3 -c "import struct,sys; f=open(sys.argv[1],'r+b'); f.seek(int(sys.argv[2])); f.write(struct.pack('<'+sys.argv[3], int(sys.argv[4])))" "$@"
}
# hdr IMAGE FIELD_OFFSET SIZE: a header field, little-endian
hdr() {
	python3 -c "import struct,sys; f=open(sys.argv[1],'rb'); f.seek(int(sys.argv[2])); print(struct.unpack('<'+sys.argv[3], f.read(struct.calcsize(sys.argv[3])))[0])" "$@"
}

make_raw "$T/small.raw" 8
qemu-img convert -O vmdk "$T/small.raw" "$T/good.vmdk"
qemu-img convert -O vmdk -o subformat=streamOptimized "$T/small.raw" "$T/good-s.vmdk"
gd=$(hdr "$T/good.vmdk" 56 Q)
gt0=$(hdr "$T/good.vmdk" $((gd * 512)) I)
g1=$(hdr "$T/good.vmdk" $((gt0 * 512 + 4)) I)   # the second grain (data)

i=0
for spec in "0:I:0" "4:I:9" "20:Q:3" "20:Q:0" "20:Q:1048576" "12:Q:1152921504606846976" \
	"44:I:0" "44:I:4294967295" "56:Q:4294967295" "56:Q:18446744073709551615"; do
	IFS=: read -r off f val <<<"$spec"
	cp "$T/good.vmdk" "$T/h$i.vmdk"
	poke "$T/h$i.vmdk" "$off" "$f" "$val"
	refused "vmdk_hostile_header_${off}_$val" "$T/h$i.vmdk"
	i=$((i + 1))
done
head -c 300 "$T/good.vmdk" >"$T/trunc.vmdk"
refused vmdk_truncated_header "$T/trunc.vmdk"

# a grain table entry past the end: reads fail with one line, both checks
# report it (qemu-img stops at it and exits 1, cvisor counts it: exit 2)
cp "$T/good.vmdk" "$T/beyond.vmdk"
poke "$T/beyond.vmdk" $((gt0 * 512 + 4)) I 4000000000
out=$("$C" img convert -O raw "$T/beyond.vmdk" "$T/x.raw" 2>&1)
[[ $? == 1 && $(echo "$out" | wc -l) == 1 ]] && pass vmdk_grain_past_eof_read ||
	fail vmdk_grain_past_eof_read "$out"
qemu-img check "$T/beyond.vmdk" >/dev/null 2>&1
qrc=$?
"$C" img check "$T/beyond.vmdk" >/dev/null 2>&1
crc=$?
[[ $qrc != 0 && $crc == 2 ]] && pass vmdk_check_grain_past_eof ||
	fail vmdk_check_grain_past_eof "qemu-img exit $qrc, cvisor exit $crc"
# a grain table past the end of the file
cp "$T/good.vmdk" "$T/gtbeyond.vmdk"
poke "$T/gtbeyond.vmdk" $((gd * 512)) I 4000000000
"$C" img check "$T/gtbeyond.vmdk" >/dev/null 2>&1
[[ $? == 2 ]] && pass vmdk_check_table_past_eof || fail vmdk_check_table_past_eof "exit $?"
# a grain pointed at the grain directory: the write is refused, the
# directory stays as it was
cp "$T/good.vmdk" "$T/meta.vmdk"
poke "$T/meta.vmdk" $((gt0 * 512 + 4)) I "$gd"
qemu-img create -q -f qcow2 -b meta.vmdk -F vmdk "$T/mtop.qcow2"
qemu-io -f qcow2 -c "write -P 7 65536 65536" "$T/mtop.qcow2" >/dev/null
before=$(dd if="$T/meta.vmdk" bs=512 skip="$gd" count=4 status=none | md5sum)
out=$("$C" img commit "$T/mtop.qcow2" 2>&1)
rc=$?
after=$(dd if="$T/meta.vmdk" bs=512 skip="$gd" count=4 status=none | md5sum)
[[ $rc == 1 && $before == "$after" ]] && pass vmdk_write_into_metadata_refused ||
	fail vmdk_write_into_metadata_refused "exit $rc: $out"
"$C" img check "$T/meta.vmdk" >/dev/null 2>&1
[[ $? == 2 ]] && pass vmdk_check_grain_in_metadata || fail vmdk_check_grain_in_metadata "exit $?"

# stream-optimized: no footer, a marker for another grain, bad deflate data
sz=$(stat -c %s "$T/good-s.vmdk")
cp "$T/good-s.vmdk" "$T/s-bad.vmdk"
poke "$T/s-bad.vmdk" 0 I 0   # qemu-img's own layout has no footer; break the magic
refused vmdk_stream_bad_magic "$T/s-bad.vmdk"
"$C" img convert -O vmdk -o subformat=streamOptimized "$T/small.raw" "$T/cs.vmdk"
csz=$(stat -c %s "$T/cs.vmdk")
head -c $((csz - 1024)) "$T/cs.vmdk" >"$T/s-nofooter.vmdk"
refused vmdk_stream_no_footer "$T/s-nofooter.vmdk"
first=$((128 * 512)) # the first grain's marker in cvisor's stream layout
cp "$T/cs.vmdk" "$T/s-lba.vmdk"
poke "$T/s-lba.vmdk" "$first" Q 999
out=$("$C" img convert -O raw "$T/s-lba.vmdk" "$T/x.raw" 2>&1)
[[ $? == 1 && $(echo "$out" | wc -l) == 1 ]] && pass vmdk_stream_wrong_marker ||
	fail vmdk_stream_wrong_marker "$out"
cp "$T/cs.vmdk" "$T/s-z.vmdk"
poke "$T/s-z.vmdk" $((first + 20)) Q 1234567890123
out=$("$C" img convert -O raw "$T/s-z.vmdk" "$T/x.raw" 2>&1)
[[ $? == 1 && $(echo "$out" | wc -l) == 1 ]] && pass vmdk_stream_bad_deflate ||
	fail vmdk_stream_bad_deflate "$out"

# The stream's last grain table, directory and footer are written at
# close: a file size limit just below the finished size makes that write
# fail (EFBIG; SIGXFSZ ignored), and convert must say so and exit 1, not 0
# with a truncated image.
rm -f "$T/cs-full.vmdk"
out=$(trap '' XFSZ; ulimit -f $(((csz - 1024) / 1024)); "$C" img convert -O vmdk \
	-o subformat=streamOptimized "$T/small.raw" "$T/cs-full.vmdk" 2>&1)
rc=$?
[[ $rc == 1 && $(echo "$out" | wc -l) == 1 && $out == *cs-full.vmdk*"File too large"* ]] &&
	pass vmdk_stream_finish_error || fail vmdk_stream_finish_error "exit $rc: $out"

# Hostile descriptors: extents outside the descriptor's directory, devices,
# FIFOs, the descriptor itself, aliasing extents, absurd sizes.
mkdir -p "$T/d/sub"
truncate -s 1M "$T/d/flat.bin" "$T/d/sub/f2.bin" "$T/outside.bin"
qemu-img convert -O vmdk "$T/small.raw" "$T/d/sp.vmdk"
ln -s /dev/zero "$T/d/zero-link"
ln -s "$T/outside.bin" "$T/d/out-link"
ln -s "$T" "$T/d/dir-link"
mkfifo "$T/d/fifo"
desc() {
	{
		echo '# Disk DescriptorFile'
		echo 'version=1'
		echo 'CID=12345678'
		echo 'parentCID=ffffffff'
		echo 'createType="monolithicFlat"'
		printf '%s\n' "$@"
	} >"$T/d/h.vmdk"
}
desc 'RW 2048 FLAT "flat.bin" 0' 'RW 2048 FLAT "sub/f2.bin" 0'
ok vmdk_descriptor_relative_ok bash -c "'$C' img info '$T/d/h.vmdk' >/dev/null && qemu-img info '$T/d/h.vmdk' >/dev/null"
for bad in "RW 2048 FLAT \"$T/outside.bin\" 0" 'RW 2048 FLAT "../outside.bin" 0' \
	'RW 2048 FLAT "sub/../../outside.bin" 0' 'RW 2048 FLAT "zero-link" 0' \
	'RW 2048 FLAT "fifo" 0' 'RW 2048 FLAT "h.vmdk" 0' 'RW 2048 FLAT "/dev/zero" 0' \
	'RW 2048 FLAT "out-link" 0' 'RW 2048 FLAT "dir-link/outside.bin" 0' \
	'RW 99999999999999999999999 FLAT "flat.bin" 0' 'RW 0 FLAT "flat.bin" 0' \
	'RW 2048 FLAT "flat.bin" 99999999999999999999999' 'RW 2048 VMFSSPARSE "flat.bin"' \
	'NOACCESS 2048 FLAT "flat.bin" 0' 'RW 2048 FLAT flat.bin 0' 'RW 2048 SPARSE "flat.bin"' \
	'RW 20000 SPARSE "sp.vmdk"' 'RW 2048 FLAT "missing.bin" 0'; do
	desc "$bad"
	refused "vmdk_descriptor_refused: $bad" "$T/d/h.vmdk"
done
desc 'RW 2048 SPARSE "sp.vmdk"' 'RW 2048 SPARSE "sp.vmdk"'
refused vmdk_descriptor_same_sparse_twice "$T/d/h.vmdk"
desc 'RW 2048 FLAT "flat.bin" 0' 'RW 2048 FLAT "flat.bin" 1024'
refused vmdk_descriptor_overlapping_flat "$T/d/h.vmdk"
desc 'RW 1024 FLAT "flat.bin" 0' 'RW 1024 FLAT "flat.bin" 1024'
ok vmdk_descriptor_disjoint_flat_ok "$C" img info "$T/d/h.vmdk"
desc 'RW 2048 FLAT "flat.bin" 0' 'parentFileNameHint="base.vmdk"'
refused vmdk_descriptor_delta_disk "$T/d/h.vmdk"
desc
refused vmdk_descriptor_no_extents "$T/d/h.vmdk"
# with an explicit format, a text file that is no descriptor
echo "hello" >"$T/d/t.vmdk"
out=$("$C" img info -f vmdk "$T/d/t.vmdk" 2>&1)
[[ $? == 1 && $(echo "$out" | wc -l) == 1 ]] && pass vmdk_not_a_descriptor ||
	fail vmdk_not_a_descriptor "$out"
finish
