#!/usr/bin/env bash
# Snapshot and restore with the self-written guests: a guest counting LAPIC
# timer ticks in a register and in memory goes on from where it was, under
# each accelerator that has state save/load; and every kind of bad
# snapshot is one line, exit status 1, before guest code runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tick_lib.sh"

export CVISOR_RUNTIME_DIR=$TMP/run
cd "$TMP" || exit 1
GUEST=$GUESTS/snapcount.elf

# start NAME OUT ARGS...: the counting guest in the background, until it
# has printed a few ticks; PID in $VM.
start() {
	local name=$1 out=$2
	shift 2
	"$CVISOR" run --name "$name" --test-exit --memory 64M \
		--kernel "$GUEST" "$@" </dev/null >"$out" 2>&1 &
	VM=$!
	for _ in $(seq 100); do
		(($(last_tick "$out") >= 4)) && return 0
		kill -0 $VM 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

snapshot_cases() {
	local accel=$1 a=snap-$1 dir=$TMP/snap-$1 t0 t1 rc

	if ! start "$a" "$TMP/a.out" --accel "$accel"; then
		fail "snapshot_${accel}_guest_starts" "$(tail -c 300 "$TMP/a.out")"
		kill -KILL $VM 2>/dev/null
		return
	fi
	"$CVISOR" snapshot "$a" "$dir" --stop >"$TMP/snap.out" 2>&1
	rc=$?
	wait $VM
	local vrc=$?
	t0=$(last_tick "$TMP/a.out")
	[[ $rc -eq 0 && $vrc -eq 0 && -s $dir/memory && -s $dir/state &&
	   -s $dir/config.json ]]
	check "snapshot_${accel}_stop_writes_directory" $? \
		"snapshot rc=$rc vm rc=$vrc $(cat "$TMP/snap.out")"
	# Sparse: a 64 MiB guest that touched a few pages costs a few pages.
	local used
	used=$(du -k "$dir/memory" 2>/dev/null | cut -f1)
	[[ -n $used ]] && ((used < 4096))
	check "snapshot_${accel}_memory_is_sparse" $? "memory file uses ${used} KiB"

	run_restore() {
		timeout --kill-after=5 30 "$CVISOR" run --restore "$dir" "$@" \
			</dev/null >"$TMP/r.out" 2>&1
		rc=$?
	}
	run_restore --name "$a-r1"
	t1=$(first_tick "$TMP/r.out")
	[[ $rc -eq 0 ]] && seamless "$TMP/a.out" "$TMP/r.out"
	check "snapshot_${accel}_restore_goes_on" $? \
		"rc=$rc last tick before $t0, first after $t1: before ends $(tail -c 40 "$TMP/a.out" | od -c | head -3 | tr '\n' ' '); after starts $(head -c 40 "$TMP/r.out" | od -c | head -3 | tr '\n' ' ')"
	run_restore --name "$a-r2" --restore "$dir,prefault=on"
	t1=$(first_tick "$TMP/r.out")
	[[ $rc -eq 0 ]] && seamless "$TMP/a.out" "$TMP/r.out"
	check "snapshot_${accel}_restore_twice_prefault" $? \
		"rc=$rc first tick $t1: $(tail -c 300 "$TMP/r.out")"

	# --paused: the restored VM waits for 'cvisor resume'.
	"$CVISOR" run --restore "$dir" --name "$a-p" --paused </dev/null \
		>"$TMP/p.out" 2>&1 &
	local pvm=$!
	sleep 1.5
	local st
	st=$("$CVISOR" list 2>/dev/null | grep -c "$a-p.*paused")
	local before=$(last_tick "$TMP/p.out")
	"$CVISOR" resume "$a-p" >/dev/null 2>&1
	timeout 30 tail --pid=$pvm -f /dev/null
	wait $pvm
	rc=$?
	[[ $st -eq 1 && $before -eq -1 && $rc -eq 0 ]] &&
		seamless "$TMP/a.out" "$TMP/p.out"
	check "snapshot_${accel}_restore_paused" $? \
		"listed paused: $st, ticks before resume: $before, rc=$rc"

	# Without --stop the VM goes on and finishes.
	if start "$a-live" "$TMP/l.out" --accel "$accel"; then
		"$CVISOR" snapshot "$a-live" "$TMP/live-$accel" >"$TMP/snap.out" 2>&1
		rc=$?
		wait $VM
		local vrc=$?
		[[ $rc -eq 0 && $vrc -eq 0 && $(last_tick "$TMP/l.out") -eq 64 ]]
		check "snapshot_${accel}_live_vm_goes_on" $? \
			"snapshot rc=$rc vm rc=$vrc $(cat "$TMP/snap.out")"
	else
		fail "snapshot_${accel}_live_vm_goes_on" "guest did not start"
	fi
}

accels=emu
if kvm_usable; then
	accels="kvm emu"
fi
for accel in $accels; do
	snapshot_cases "$accel"
done

# Bad snapshots: one line naming the problem, status 1, no guest output.
good=$TMP/snap-emu
bad_restore() {
	local name=$1 want=$2
	shift 2
	timeout --kill-after=5 30 "$CVISOR" run --restore "$TMP/bad" "$@" \
		</dev/null >"$TMP/b.out" 2>&1
	local rc=$?
	[[ $rc -eq 1 && $(wc -l <"$TMP/b.out") -eq 1 ]] &&
		grep -q -- "$want" "$TMP/b.out" && ! grep -q tick "$TMP/b.out"
	check "snapshot_refuses_$name" $? "rc=$rc: $(head -c 400 "$TMP/b.out")"
}
fresh_bad() {
	rm -rf "$TMP/bad"
	cp -a --sparse=always "$good" "$TMP/bad"
}

fresh_bad
rm "$TMP/bad/state"
bad_restore missing_state "cannot open state"

fresh_bad
truncate -s 3000 "$TMP/bad/state"
bad_restore truncated_state "truncated"

fresh_bad
size=$(stat -c %s "$TMP/bad/state")
for off in 20 100 $((size / 2)) $((size - 30)); do
	fresh_bad
	printf '\xff' | dd of="$TMP/bad/state" bs=1 seek=$off conv=notrunc 2>/dev/null
	bad_restore "flipped_byte_at_$off" "corrupt\|checksum"
done

fresh_bad
printf '\x07' | dd of="$TMP/bad/state" bs=1 seek=8 conv=notrunc 2>/dev/null
bad_restore other_format_version "version 7"

fresh_bad
truncate -s 32M "$TMP/bad/memory"
bad_restore memory_size_mismatch "memory file holds"

fresh_bad
sed -i 's/"--memory","64M"/"--memory","96M"/' "$TMP/bad/config.json"
truncate -s 96M "$TMP/bad/memory"
bad_restore memory_size_in_state "MiB of memory"

fresh_bad
sed -i 's/"argv":\[/"argv":["--balloon",/' "$TMP/bad/config.json"
bad_restore device_set_mismatch "device set does not match"

fresh_bad
echo '{"version":1,' >"$TMP/bad/config.json"
bad_restore broken_config "not valid JSON"

fresh_bad
sed -i 's/"version":1/"version":9/' "$TMP/bad/config.json"
bad_restore config_version "version is not"

rm -rf "$TMP/bad"
mkdir "$TMP/bad"
bad_restore empty_directory "config.json"

# A snapshot restores only under the accelerator that made it: the vm
# section names it, and the refusal names both.
if [[ $accels == "kvm emu" ]]; then
	rm -rf "$TMP/bad"
	cp -a --sparse=always "$TMP/snap-kvm" "$TMP/bad"
	bad_restore kvm_snapshot_under_emu \
		"made under --accel kvm, the VM runs under emu" --accel emu
	fresh_bad
	bad_restore emu_snapshot_under_kvm \
		"made under --accel emu, the VM runs under kvm" --accel kvm
else
	skip snapshot_refuses_other_accel "/dev/kvm not usable: one accelerator"
fi

# A disk that changed since the snapshot is refused unless --force.
truncate -s 1M "$TMP/disk.raw"
if start snap-disk "$TMP/d.out" --accel emu --disk path=disk.raw; then
	"$CVISOR" snapshot snap-disk "$TMP/snap-disk" --stop >/dev/null 2>&1
	wait $VM
	rm -rf "$TMP/bad"
	cp -a "$TMP/snap-disk" "$TMP/bad"
	touch -d '2001-01-01' "$TMP/disk.raw"
	bad_restore changed_disk "changed since the snapshot"
	timeout 30 "$CVISOR" run --restore "$TMP/bad" --force --name snap-forced \
		</dev/null >"$TMP/f.out" 2>&1
	check snapshot_force_restores_changed_disk $? "$(tail -c 300 "$TMP/f.out")"
else
	fail snapshot_with_disk_starts "$(tail -c 300 "$TMP/d.out")"
fi

# Snapshot into an existing directory: refused, the VM goes on.
if start snap-exist "$TMP/e.out" --accel emu; then
	mkdir -p "$TMP/exists"
	"$CVISOR" snapshot snap-exist "$TMP/exists" >"$TMP/snap.out" 2>&1
	rc=$?
	wait $VM
	vrc=$?
	[[ $rc -eq 1 && $vrc -eq 0 && $(last_tick "$TMP/e.out") -eq 64 ]] &&
		grep -q "File exists" "$TMP/snap.out"
	check snapshot_existing_directory_refused $? \
		"rc=$rc vm rc=$vrc $(cat "$TMP/snap.out")"
else
	fail snapshot_existing_directory_refused "guest did not start"
fi

# A snapshot that fails half-way (here: a full file system) removes what it
# wrote and the VM goes on.
if [[ $EUID -eq 0 ]] && mkdir -p "$TMP/small" &&
	mount -t tmpfs -o size=24k tmpfs "$TMP/small" 2>/dev/null; then
	if start snap-full "$TMP/f.out" --accel emu; then
		"$CVISOR" snapshot snap-full "$TMP/small/s" >"$TMP/snap.out" 2>&1
		rc=$?
		wait $VM
		vrc=$?
		[[ $rc -eq 1 && $vrc -eq 0 && ! -e $TMP/small/s &&
		   $(last_tick "$TMP/f.out") -eq 64 ]] &&
			grep -q "No space left" "$TMP/snap.out"
		check snapshot_disk_full_removes_partial_directory $? \
			"rc=$rc vm rc=$vrc left: $(ls "$TMP/small") $(cat "$TMP/snap.out")"
	else
		fail snapshot_disk_full_removes_partial_directory "guest did not start"
	fi
	umount "$TMP/small"
else
	skip snapshot_disk_full_removes_partial_directory "needs root to mount a small tmpfs"
fi
