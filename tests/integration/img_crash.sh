#!/usr/bin/env bash
# kill -9 a cvisor process while it writes a qcow2 image, again and again,
# each time between two of its writes: "qemu-img check" must then find at
# worst leaked clusters, never errors.
set -u
. "$(dirname "$0")/img_lib.sh"
need_qemu_img img_crash

head -c 24M /dev/urandom > "$T/src.raw"
truncate -s 32M "$T/src.raw"

# check_after NAME IMAGE: exit 0 (clean) or 3 (leaks only) is fine. So is
# a COPIED flag missing on a cluster whose refcount is 1 (a crash between a
# snapshot delete and the flag update; writes then copy, which is safe).
check_after() {
	qemu-img check "$2" >"$T/check.out" 2>&1
	local rc=$?
	if [[ $rc == 2 ]] && ! grep ERROR "$T/check.out" |
		grep -qv 'OFLAG_COPIED.*refcount=1$'; then
		rc=3
	fi
	if [[ $rc != 0 && $rc != 3 ]]; then
		fail "$1" "qemu-img check exit $rc: $(grep -m2 ERROR "$T/check.out")"
		return 1
	fi
	return 0
}

# A writer is killed between two of its own writes, never before its first
# or after its last. It runs in short slices (SIGCONT, a pause, SIGSTOP),
# and while all its threads are stopped its count of write syscalls (syscw
# in /proc/PID/io; the block layer writes with pwrite) is read. A reference
# run of the same command on a copy of the same files counts its writes, so
# the kill can be placed after k of them with more to come. Only builtins
# run in the loop: a fork per slice would dwarf the slice.
mkfifo "$T/tick"
exec {tick}<>"$T/tick"

# all_stopped PID: waits until each thread of PID is stopped; fails once
# PID has exited. A thread that ends meanwhile is skipped, and so are
# io_uring's workers (iou-wrk-*, iou-sqp-*): kernel threads listed among
# the process's tasks that SIGSTOP does not stop.
all_stopped() {
	local t st comm
	for t in /proc/$1/task/*/stat; do
		comm=
		read -r comm 2>/dev/null <"${t%stat}comm"
		[[ $comm == iou-* ]] && continue
		while :; do
			read -r _ _ st _ 2>/dev/null <"$t" || break
			case $st in
			T | t | Z | X) break ;;
			esac
		done
	done
	st=
	read -r _ _ st _ 2>/dev/null <"/proc/$1/stat"
	[[ -n $st && $st != Z && $st != X ]]
}

# stepped DIR K MAX CMD...: runs CMD in DIR in slices. Once it has made K
# (> 0) writes but fewer than MAX, it is killed while stopped; past MAX (if
# > 0) it runs to its end. Sets $writes (the last count seen), $killed and $status.
stepped() {
	local dir=$1 k=$2 max=$3 p key val
	shift 3
	(cd "$dir" && exec "$@") >/dev/null 2>&1 &
	p=$!
	kill -STOP "$p"
	killed=0 writes=0
	while all_stopped "$p"; do
		while read -r key val; do
			[[ $key == syscw: ]] && writes=$val
		done 2>/dev/null <"/proc/$p/io"
		if ((k > 0 && writes >= k && writes < max)); then
			kill -KILL "$p"
			killed=1
			break
		fi
		kill -CONT "$p"
		((max > 0 && writes >= max)) && break
		read -r -t 0.0003 -u "$tick"
		kill -STOP "$p" 2>/dev/null
	done
	# never wait on a process left stopped
	kill -CONT "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	status=$?
}

# crash NAME I N CMD...: CMD runs in $T/w, on file names relative to it.
# A reference run on a copy counts its writes (total); then CMD is killed
# after 1 + (total - 1) * I / N of them (I < N), with some still to come.
# A host too busy to stop it in time gets more tries on the saved files,
# from the sixth on aimed a little earlier each time (a kill aimed near the
# last write overshoots to the end on a loaded host); after ten NAME
# fails. qemu-img check runs on $T/w/IMAGE afterwards.
crash() {
	local name=$1 i=$2 n=$3 image=$4 k try
	shift 4
	rm -rf "$T/saved" "$T/ref"
	cp -a "$T/w" "$T/saved"
	cp -a "$T/w" "$T/ref"
	stepped "$T/ref" 0 0 "$@"
	if [[ $status != 0 || $writes -lt 2 ]]; then
		fail "$name" "the reference run exited $status after $writes writes: no point between two to kill at"
		return 1
	fi
	k=$((1 + (writes - 1) * i / n))
	local aim=$k total=$writes
	for try in 1 2 3 4 5 6 7 8 9 10; do
		rm -rf "$T/w"
		cp -a "$T/saved" "$T/w"
		((try > 5)) && aim=$((k - k * (try - 5) / 10))
		((aim >= 1)) || aim=1
		stepped "$T/w" "$aim" "$total" "$@"
		if [[ $killed == 1 && $status == 137 ]]; then
			echo "$name: killed after $writes writes (aimed at $aim), try $try"
			check_after "$name" "$T/w/$image"
			return
		fi
	done
	fail "$name" "no kill in $try tries landed between write $k and the last"
	return 1
}

mkdir "$T/w"
bad=0
for i in 1 2 3 4 5 6; do
	rm -f "$T/w/dst.qcow2"
	crash "img_crash_convert_$i" "$i" 7 dst.qcow2 "$C" img convert -O qcow2 \
		-o cluster_size=4096,refcount_bits=$((1 << (i % 4 + 1))) \
		"$T/src.raw" dst.qcow2 || bad=1
done
[[ $bad == 0 ]] && pass img_crash_convert

bad=0
for i in 1 2 3 4; do
	rm -f "$T/w/z.qcow2"
	crash "img_crash_compress_$i" "$i" 5 z.qcow2 "$C" img convert -c -O qcow2 \
		"$T/src.raw" z.qcow2 || bad=1
done
[[ $bad == 0 ]] && pass img_crash_compress

# commit into a base that has a snapshot: copy-on-write of shared clusters
rm -rf "$T/w" && mkdir "$T/w"
qemu-img convert -O qcow2 -o cluster_size=4096 "$T/src.raw" "$T/w/base.qcow2"
qemu-img snapshot -c keep "$T/w/base.qcow2"
bad=0
for i in 1 2 3 4; do
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/w/top.qcow2"
	qemu-io -c "write -P $i 0 20M" "$T/w/top.qcow2" >/dev/null
	crash "img_crash_commit_$i" "$i" 5 base.qcow2 "$C" img commit top.qcow2 || bad=1
	"$C" img check -q -r leaks "$T/w/base.qcow2" >/dev/null 2>&1
done
[[ $bad == 0 ]] && pass img_crash_commit
mv "$T/w/base.qcow2" "$T/base.qcow2"

# snapshot create, apply and delete, each killed mid-write, on one image
# that carries each crash (repaired of leaks) into the next; it keeps
# src.raw's data throughout, since no snapshot differs from it
rm -rf "$T/w" && mkdir "$T/w"
qemu-img convert -O qcow2 -o cluster_size=4096 "$T/src.raw" "$T/w/sn.qcow2"
ops=(-c -a -d)
bad=0
for i in 1 2 3 4 5 6; do
	op=${ops[i % 3]}
	[[ $op == -c ]] || "$C" img snapshot -c "s$i" "$T/w/sn.qcow2"
	crash "img_crash_snapshot_$i" $((i % 4 + 1)) 6 sn.qcow2 \
		"$C" img snapshot "$op" "s$i" sn.qcow2 || bad=1
	"$C" img check -q -r leaks "$T/w/sn.qcow2" >/dev/null 2>&1
	for s in $("$C" img snapshot -l "$T/w/sn.qcow2" | awk 'NR > 2 { print $2 }'); do
		"$C" img snapshot -d "$s" "$T/w/sn.qcow2"
	done
done
[[ $bad == 0 ]] && pass img_crash_snapshot
mv "$T/w/sn.qcow2" "$T/sn.qcow2"
ok img_crash_snapshot_data bash -c "qemu-img compare -q $T/src.raw $T/sn.qcow2"
ok img_crash_snapshot_intact bash -c "qemu-img snapshot -a keep $T/base.qcow2 && qemu-img compare -q $T/src.raw $T/base.qcow2"
finish
