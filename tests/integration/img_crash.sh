#!/usr/bin/env bash
# kill -9 a cvisor process while it writes a qcow2 image, again and again:
# "qemu-img check" must then find at worst leaked clusters, never errors.
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

# kill_during DELAY CMD...: start CMD, SIGKILL it after DELAY seconds
kill_during() {
	local delay=$1 pid
	shift
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

bad=0
for i in 1 2 3 4 5 6; do
	rm -f "$T/dst.qcow2"
	kill_during "0.0$((i * 15))" "$C" img convert -O qcow2 \
		-o cluster_size=4096,refcount_bits=$((1 << (i % 4 + 1))) \
		"$T/src.raw" "$T/dst.qcow2"
	[[ -s "$T/dst.qcow2" ]] || continue
	check_after "img_crash_convert_$i" "$T/dst.qcow2" || bad=1
done
[[ $bad == 0 ]] && pass img_crash_convert

bad=0
for i in 1 2 3 4; do
	rm -f "$T/z.qcow2"
	kill_during "0.0$((i * 20))" "$C" img convert -c -O qcow2 \
		"$T/src.raw" "$T/z.qcow2"
	[[ -s "$T/z.qcow2" ]] || continue
	check_after "img_crash_compress_$i" "$T/z.qcow2" || bad=1
done
[[ $bad == 0 ]] && pass img_crash_compress

# commit into a base that has a snapshot: copy-on-write of shared clusters
qemu-img convert -O qcow2 -o cluster_size=4096 "$T/src.raw" "$T/base.qcow2"
qemu-img snapshot -c keep "$T/base.qcow2"
bad=0
for i in 1 2 3 4; do
	qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$T/top.qcow2"
	qemu-io -c "write -P $i 0 20M" "$T/top.qcow2" >/dev/null
	kill_during "0.0$((i * 20))" "$C" img commit "$T/top.qcow2"
	check_after "img_crash_commit_$i" "$T/base.qcow2" || bad=1
	"$C" img check -q -r leaks "$T/base.qcow2" >/dev/null 2>&1
done
[[ $bad == 0 ]] && pass img_crash_commit
# snapshot create/apply/delete in a loop, killed at random points
qemu-img convert -O qcow2 -o cluster_size=4096 "$T/src.raw" "$T/sn.qcow2"
snap_loop() {
	for ((k = 0; ; k++)); do
		"$C" img snapshot -c "s$k" "$T/sn.qcow2" || return
		"$C" img snapshot -a "s$k" "$T/sn.qcow2" || return
		[[ $k -gt 0 ]] && { "$C" img snapshot -d "s$((k - 1))" "$T/sn.qcow2" || return; }
	done
}
bad=0
for i in 1 2 3 4 5; do
	snap_loop >/dev/null 2>&1 &
	pid=$!
	sleep "0.$((i * 7))"
	# freeze the loop so it starts nothing new, kill its cvisor child,
	# and wait until that is gone: no writer may outlive this point
	kill -STOP "$pid" 2>/dev/null
	pkill -9 -P "$pid" 2>/dev/null
	# (a killed child stays a zombie of the frozen loop: skip state Z)
	while ps -o stat= --ppid "$pid" | grep -qv '^Z'; do sleep 0.01; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	check_after "img_crash_snapshot_$i" "$T/sn.qcow2" || bad=1
	"$C" img check -q -r leaks "$T/sn.qcow2" >/dev/null 2>&1
	for s in $("$C" img snapshot -l "$T/sn.qcow2" | awk 'NR > 2 { print $2 }'); do
		"$C" img snapshot -d "$s" "$T/sn.qcow2"
	done
done
[[ $bad == 0 ]] && pass img_crash_snapshot
ok img_crash_snapshot_data bash -c "qemu-img compare -q $T/src.raw $T/sn.qcow2"
ok img_crash_snapshot_intact bash -c "qemu-img snapshot -a keep $T/base.qcow2 && qemu-img compare -q $T/src.raw $T/base.qcow2"
finish
