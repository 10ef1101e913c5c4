#!/usr/bin/env bash
# cvisor img and qemu-img side by side: the same command on identical copies
# of a small set of images must give the same exit status and stdout, and
# leave images with the same content.
set -u
. "$(dirname "$0")/img_lib.sh"
need_qemu_img img_cli

W=$T/w
mkdir -p "$W"
(
	cd "$W" || exit 1
	make_raw base.raw 4
	qemu-img convert -O qcow2 base.raw a.qcow2
	qemu-img snapshot -c snap1 a.qcow2
	qemu-io -c 'write -P 0x61 0 128k' a.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 top.qcow2
	qemu-io -c 'write -P 0x62 64k 128k' top.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 4M
	qemu-img snapshot -c s v2.qcow2
	qemu-img create -q -f qcow2 empty.qcow2 4M
) || { fail img_cli_setup; finish; }

# same NAME ARGS...: "qemu-img ARGS" in $T/q and "cvisor img ARGS" in $T/c,
# each on a fresh copy of $W: same exit status and, on success, stdout
same() {
	local name=$1 qrc crc
	shift
	rm -rf "$T/q" "$T/c"
	cp -a "$W" "$T/q"
	cp -a "$W" "$T/c"
	(cd "$T/q" && qemu-img "$@") >"$T/q.out" 2>/dev/null
	qrc=$?
	(cd "$T/c" && "$C" img "$@") >"$T/c.out" 2>"$T/c.err"
	crc=$?
	# (on errors qemu-img has printed its "Formatting" line: not compared)
	if [[ $qrc != "$crc" ]]; then
		fail "$name" "exit $crc, qemu-img $qrc: $(head -c 200 "$T/c.err")"
	elif [[ $qrc == 0 ]] && ! cmp -s "$T/q.out" "$T/c.out"; then
		fail "$name" "$(diff "$T/q.out" "$T/c.out" | head -n 4 | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

# both runs left FILE with the same guest content
same_content() {
	ok "$1" qemu-img compare -q "$T/q/$2" "$T/c/$2"
}

same img_cli_create_backing_needs_fmt create -f qcow2 -b a.qcow2 n.qcow2
same img_cli_create_backing_fmt_alone create -f qcow2 -F qcow2 n.qcow2 1M
same img_cli_create_raw_rejects_qcow2_opts create -f raw -o cluster_size=4k n.raw 1M
same img_cli_create_raw_prealloc create -f raw -o preallocation=full n.raw 1M
ok img_cli_create_raw_full_allocated bash -c "[ \$(du -k $T/c/n.raw | cut -f1) -ge 1024 ]"
same img_cli_create_raw_prealloc_metadata create -f raw -o preallocation=metadata n.raw 1M
same img_cli_check_empty check empty.qcow2
same img_cli_check_data check a.qcow2
same img_cli_check_json check --output=json a.qcow2
same img_cli_compare_usage compare a.qcow2
same img_cli_rebase_needs_fmt rebase -u -b base.raw top.qcow2
same img_cli_snapshot_list_raw snapshot -l base.raw
same img_cli_snapshot_list_none snapshot -l empty.qcow2
same img_cli_snapshot_dup_name snapshot -c snap1 a.qcow2
ok img_cli_snapshot_dup_listed bash -c "[ \$(qemu-img snapshot -l $T/c/a.qcow2 | grep -c ' snap1 ') = 2 ] && qcheck $T/c/a.qcow2"
same img_cli_snapshot_delete_by_id snapshot -d 1 a.qcow2
same img_cli_snapshot_apply_by_id snapshot -a 1 a.qcow2
same_content img_cli_snapshot_apply_by_id_data a.qcow2
same img_cli_resize_v2_snapshots resize v2.qcow2 +1M
same img_cli_resize_shrink_snapshot resize --shrink a.qcow2 1M
ok img_cli_resize_shrink_snapshot_check bash -c "qcheck $T/c/a.qcow2 && $C img snapshot -a snap1 $T/c/a.qcow2 && qcheck $T/c/a.qcow2 && qemu-img compare -q $T/w/base.raw $T/c/a.qcow2 && qemu-img info $T/c/a.qcow2 | grep -q '(4194304 bytes)'"
# both SCRIPT: run SCRIPT in fresh copies $T/q and $T/c of $W with $IMG
# set to "qemu-img" and to "cvisor img"
both() {
	rm -rf "$T/q" "$T/c"
	cp -a "$W" "$T/q"
	cp -a "$W" "$T/c"
	(cd "$T/q" && IMG=qemu-img bash -c "$1") >/dev/null 2>&1
	(cd "$T/c" && IMG="$C img" bash -c "$1") >/dev/null 2>&1
}

# a grown overlay must not show what its backing file holds past the old end
both 'qemu-img create -q -f qcow2 -b base.raw -F raw o.qcow2 1M && $IMG resize o.qcow2 4M'
same_content img_cli_resize_overlay_grow o.qcow2
ok img_cli_resize_overlay_grow_check qcheck "$T/c/o.qcow2"
both 'qemu-img create -q -f qcow2 -b base.raw -F raw o.qcow2 &&
	$IMG resize --shrink o.qcow2 512k && $IMG resize o.qcow2 4M'
same_content img_cli_resize_overlay_shrink_grow o.qcow2
ok img_cli_resize_overlay_shrink_grow_check qcheck "$T/c/o.qcow2"
# a.qcow2 came from qemu-img convert, which leaves holes in clusters: both
# tools take them for zeroes (qemu-img's preallocation heuristic)
same img_cli_map_overlay map top.qcow2
same img_cli_map_overlay_json map --output=json top.qcow2
same img_cli_measure_overlay measure -O qcow2 top.qcow2
same img_cli_measure_overlay_small measure -O qcow2 -o cluster_size=4k top.qcow2
same img_cli_measure_json measure --output=json -O qcow2 top.qcow2
# -p draws progress on a terminal only
if command -v script >/dev/null; then
	ok img_cli_convert_progress_tty bash -c "script -qec '$C img convert -p -O qcow2 $W/base.raw $T/p.qcow2' /dev/null | grep -q '(100.00/100%)'"
	ok img_cli_convert_progress_pipe bash -c "[ -z \"\$($C img convert -p -O qcow2 $W/base.raw $T/p.qcow2)\" ]"
fi
qemu-img convert -c -O qcow2 "$W/base.raw" "$W/z.qcow2"
same img_cli_map_compressed_human map z.qcow2
same img_cli_map_compressed_json map --output=json z.qcow2
finish
