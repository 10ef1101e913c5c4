#!/usr/bin/env bash
# VM definitions (docs/config.md): define from flags and from a file,
# list --all, start/stop/start, autostart, edit with a scripted editor,
# dumpconfig round trip, undefine, bad input, kill -9 during a write,
# run --config, the systemd unit, make install/uninstall.
. "$(dirname "$0")/lib.sh"

export CVISOR_CONFIG_DIR=$TMP/vms CVISOR_RUNTIME_DIR=$TMP/run TMPDIR=$TMP
TICK=$GUESTS/tick.elf
HELLO=$GUESTS/hello.elf
cleanup() {
	"$CVISOR" stop --all --force >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

# cv ARGS...: cvisor with output in $TMP/out and status in $rc.
cv() {
	timeout --kill-after=5 60 "$CVISOR" "$@" </dev/null >"$TMP/out" 2>&1
	rc=$?
}
out() { head -c 400 "$TMP/out"; }
listed() { "$CVISOR" list --all 2>&1 | grep -E "^$1 " | awk '{ print $3 $4 }'; }
valid_json() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null; }

# --- define from flags and from a file --------------------------------------
cv define web1 -- --kernel "$TICK" --memory 64M --cpus 2 --accel kvm:emu
[[ $rc -eq 0 ]] && valid_json "$CVISOR_CONFIG_DIR/web1.json" &&
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["version"]==1 and d["memory"]=="64M" and d["cpus"]==2 and d["kernel"]==sys.argv[2]' \
		"$CVISOR_CONFIG_DIR/web1.json" "$TICK"
check config_define_from_flags $? "rc=$rc $(out) $(cat "$CVISOR_CONFIG_DIR/web1.json" 2>&1)"

cat >"$TMP/web2.json" <<JSON
{ "version": 1, "name": "web2", "kernel": "$TICK", "memory": "64M",
  "accel": "kvm:emu" }
JSON
cv define "$TMP/web2.json"
[[ $rc -eq 0 && -f $CVISOR_CONFIG_DIR/web2.json ]]
check config_define_from_file $? "rc=$rc $(out)"

# --- list --all, start, stop, start again --------------------------------------
[[ $(listed web1) == shutoff && $(listed web2) == shutoff ]]
check config_list_all_shut_off $? "$("$CVISOR" list --all 2>&1)"
"$CVISOR" list >"$TMP/list" 2>&1
! grep -q "^web1 " "$TMP/list"
check config_list_without_all_hides_defined $? "$(cat "$TMP/list")"

cv start web1
[[ $rc -eq 0 && $(listed web1) == running* ]]
check config_start $? "rc=$rc $(out) / $("$CVISOR" list --all 2>&1)"
"$CVISOR" list --all --output=json >"$TMP/list.json"
python3 -c 'import json,sys; l={v["name"]: v for v in json.load(open(sys.argv[1]))}; assert l["web1"]["state"]=="running" and l["web1"]["vcpus"]==2 and l["web2"]["state"]=="shut off" and l["web2"]["autostart"] is False' "$TMP/list.json"
check config_list_all_json $? "$(cat "$TMP/list.json")"

cv start web1
[[ $rc -eq 1 ]] && grep -q "web1 is running" "$TMP/out"
check config_start_running_refused $? "rc=$rc $(out)"

cv stop web1 --force
[[ $rc -eq 0 && $(listed web1) == shutoff ]]
check config_stop_shows_shut_off $? "rc=$rc $(out) / $("$CVISOR" list --all 2>&1)"
cv start web1
[[ $rc -eq 0 && $(listed web1) == running* ]]
check config_start_again $? "rc=$rc $(out)"
"$CVISOR" stop web1 --force >/dev/null 2>&1
# --console: attached until the VM ends (here: until timeout stops it).
timeout 5 "$CVISOR" start web1 --console </dev/null >"$TMP/out" 2>&1
grep -q "started web1" "$TMP/out" && grep -q "ticking" "$TMP/out"
check config_start_console $? "$(out)"
"$CVISOR" stop web1 --force >/dev/null 2>&1

# --- autostart ---------------------------------------------------------------------
cv autostart web2
rc1=$rc
"$CVISOR" list --all >"$TMP/list" 2>&1
[[ $rc1 -eq 0 ]] && grep -Eq '^web2 .* yes$' "$TMP/list" && grep -Eq '^web1 .* no$' "$TMP/list"
check config_autostart_flag_listed $? "rc=$rc1 $(cat "$TMP/list")"
cv start --all-autostart
[[ $rc -eq 0 && $(listed web2) == running* && $(listed web1) == shutoff ]]
check config_start_all_autostart $? "rc=$rc $(out) / $("$CVISOR" list --all 2>&1)"
cv start --all-autostart
[[ $rc -eq 0 ]]
check config_start_all_autostart_skips_running $? "rc=$rc $(out)"
cv stop --all --force
[[ $rc -eq 0 && $(listed web2) == shutoff ]]
check config_stop_all $? "rc=$rc $(out)"
cv autostart web2 --disable
"$CVISOR" list --all >"$TMP/list" 2>&1
[[ $rc -eq 0 ]] && grep -Eq '^web2 .* no$' "$TMP/list"
check config_autostart_disable $? "rc=$rc $(cat "$TMP/list")"

# --- edit with a scripted $EDITOR ----------------------------------------------
cat >"$TMP/ed-valid" <<'SH'
#!/bin/sh
sed -i 's/"64M"/"96M"/' "$1"
SH
cat >"$TMP/ed-invalid" <<'SH'
#!/bin/sh
sed -i 's/"64M"/"lots"/' "$1"
SH
cat >"$TMP/ed-broken" <<'SH'
#!/bin/sh
echo '{ "memory": ' >"$1"
SH
chmod +x "$TMP"/ed-*
cp "$CVISOR_CONFIG_DIR/web1.json" "$TMP/web1.before"
EDITOR=$TMP/ed-invalid cv edit web1
[[ $rc -eq 2 ]] && grep -q "memory: --memory: invalid size 'lots'" "$TMP/out" &&
	grep -q "cvisor-web1-.*\.json" "$TMP/out" &&
	cmp -s "$CVISOR_CONFIG_DIR/web1.json" "$TMP/web1.before"
check config_edit_invalid_keeps_definition $? "rc=$rc $(out)"
EDITOR=$TMP/ed-broken cv edit web1
[[ $rc -eq 2 ]] && grep -q "not a JSON definition" "$TMP/out" &&
	cmp -s "$CVISOR_CONFIG_DIR/web1.json" "$TMP/web1.before"
check config_edit_not_json_keeps_definition $? "rc=$rc $(out)"
EDITOR=$TMP/ed-valid cv edit web1
"$CVISOR" dumpconfig web1 >"$TMP/dump" 2>&1
[[ $rc -eq 0 ]] && grep -q '"memory": "96M"' "$TMP/dump"
check config_edit_valid $? "rc=$rc $(out) $(cat "$TMP/dump")"
VISUAL=true cv edit web1
[[ $rc -eq 0 ]] && grep -q "web1 unchanged" "$TMP/out"
check config_edit_unchanged $? "rc=$rc $(out)"

# Two edits at once: the second waits for the first (the lock), so
# neither change is lost.
cat >"$TMP/ed-slow-mem" <<'SH'
#!/bin/sh
sleep 1
sed -i 's/"96M"/"112M"/' "$1"
SH
cat >"$TMP/ed-cmdline" <<'SH'
#!/bin/sh
sed -i 's/"console=ttyS0"/"console=ttyS0 quiet"/' "$1"
SH
chmod +x "$TMP/ed-slow-mem" "$TMP/ed-cmdline"
EDITOR=$TMP/ed-slow-mem "$CVISOR" edit web1 >"$TMP/ed1" 2>&1 &
sleep 0.3
EDITOR=$TMP/ed-cmdline "$CVISOR" edit web1 >"$TMP/ed2" 2>&1
rc=$?
wait
"$CVISOR" dumpconfig web1 >"$TMP/dump" 2>&1
[[ $rc -eq 0 ]] && grep -q '"memory": "112M"' "$TMP/dump" &&
	grep -q '"cmdline": "console=ttyS0 quiet"' "$TMP/dump"
check config_concurrent_edits_serialized $? "rc=$rc $(cat "$TMP/ed1" "$TMP/ed2" "$TMP/dump")"

# --- dumpconfig round trip with every key ----------------------------------------
truncate -s 1M "$TMP/a.raw" "$TMP/b.raw"
head -c 4096 /dev/zero >"$TMP/initrd"
cat >"$TMP/full.json" <<JSON
{
  "version": 1,
  "name": "full",
  "kernel": "$TICK",
  "initrd": "$TMP/initrd",
  "cmdline": "console=ttyS0 quiet",
  "memory": { "size": "64M", "merge": true, "hugepages": true },
  "cpus": { "count": 2, "affinity": "0" },
  "accel": "kvm:emu",
  "disk": [ { "path": "$TMP/a.raw", "format": "raw" },
            { "path": "$TMP/b.raw", "readonly": true, "cache": "none", "serial": "bee" } ],
  "net": [ "user,hostfwd=tcp::2222-:22", "user" ],
  "virtio-console": "file=$TMP/hvc.log",
  "vnc": "127.0.0.1:7,websocket=5707",
  "balloon": { "free-page-reporting": false },
  "no-reboot": true,
  "no-seccomp": true,
  "debug": true,
  "test-exit": true
}
JSON
cv define "$TMP/full.json"
r1=$rc
"$CVISOR" dumpconfig full >"$TMP/full1.json" 2>&1
"$CVISOR" undefine full >/dev/null 2>&1
cv define "$TMP/full1.json"
r2=$rc
"$CVISOR" dumpconfig full >"$TMP/full2.json" 2>&1
keys=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/full1.json" 2>&1)
[[ $r1 -eq 0 && $r2 -eq 0 && $keys == 17 ]] && cmp -s "$TMP/full1.json" "$TMP/full2.json" &&
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); a["memory"]; assert a==b' "$TMP/full.json" "$TMP/full1.json"
check config_dumpconfig_round_trip_every_key $? "rc=$r1/$r2 keys=$keys $(diff "$TMP/full1.json" "$TMP/full2.json"; diff <(python3 -m json.tool "$TMP/full.json") "$TMP/full1.json")"

# --- run --config: one off, nothing stored -------------------------------------
cat >"$TMP/once.json" <<JSON
{ "kernel": "$HELLO", "memory": "64M", "accel": "kvm:emu", "test-exit": true }
JSON
cv run --config "$TMP/once.json"
[[ $rc -eq 0 ]] && grep -q "hello from a cvisor test guest" "$TMP/out" &&
	[[ ! -e $CVISOR_CONFIG_DIR/once.json ]]
check config_run_config $? "rc=$rc $(out)"
cv run --config "$TMP/once.json" --memory 1M
[[ $rc -eq 2 ]] && grep -q "1M is too small" "$TMP/out"
check config_run_config_flags_after_file $? "rc=$rc $(out)"

# --- bad input: one line naming file, key and value; status 2 ----------------------
# bad NAME PATTERN JSON: define a file holding JSON, expect status 2.
bad() {
	local name=$1 pattern=$2
	printf '%s\n' "$3" >"$TMP/bad.json"
	cv define "$TMP/bad.json"
	if [[ $rc -eq 2 && $(wc -l <"$TMP/out") -eq 1 ]] &&
	   grep -q -- "$TMP/bad.json: $pattern" "$TMP/out" &&
	   ! grep -qE 'AddressSanitizer|runtime error' "$TMP/out"; then
		pass "$name"
	else
		fail "$name" "rc=$rc $(out)"
	fi
}
bad config_bad_unknown_key "unknown key 'memry'" \
	"{\"name\": \"b\", \"kernel\": \"$TICK\", \"memry\": \"1G\"}"
bad config_bad_type "cpus: \\[2\\]: expected" \
	"{\"name\": \"b\", \"kernel\": \"$TICK\", \"cpus\": [2]}"
bad config_bad_disk_missing "disk\\[0\\].path: '$TMP/nope.qcow2': No such file" \
	"{\"name\": \"b\", \"kernel\": \"$TICK\", \"disk\": [{\"path\": \"$TMP/nope.qcow2\"}]}"
bad config_bad_memory_beyond_host "memory: --memory: 64T is more than this host allows" \
	"{\"name\": \"b\", \"kernel\": \"$TICK\", \"memory\": \"64T\"}"
bad config_bad_name_defined "name: 'web1' is already defined" \
	"{\"name\": \"web1\", \"kernel\": \"$TICK\"}"
bad config_bad_not_json "not a JSON definition: line 2" \
	"{\"name\": \"b\", \"kernel\": "
bad config_bad_version "version: 9: this cvisor reads version 1" \
	"{\"version\": 9, \"name\": \"b\", \"kernel\": \"$TICK\"}"
bad config_bad_no_kernel "kernel: required" "{\"name\": \"b\"}"
cv define web3 -- --kernel "$TICK" --daemonize
[[ $rc -eq 2 ]] && grep -q "'--daemonize' is not an option of a VM" "$TMP/out"
check config_bad_run_only_flag $? "rc=$rc $(out)"
cv define web3 -- --kernel "$TICK" --cpus 0
[[ $rc -eq 2 ]] && grep -q "'0' is not a number from 1 to 64" "$TMP/out" &&
	[[ ! -e $CVISOR_CONFIG_DIR/web3.json ]]
check config_bad_flag_value $? "rc=$rc $(out)"
cv start nosuch
[[ $rc -eq 1 ]] && grep -q "nosuch: no such VM defined" "$TMP/out"
check config_start_undefined $? "rc=$rc $(out)"

# --- undefine ------------------------------------------------------------------------
cv start web2
cv undefine web2
[[ $rc -eq 1 ]] && grep -q "web2 is running" "$TMP/out" && [[ -f $CVISOR_CONFIG_DIR/web2.json ]]
check config_undefine_running_refused $? "rc=$rc $(out)"
cv undefine web2 --force
[[ $rc -eq 0 && ! -e $CVISOR_CONFIG_DIR/web2.json ]] && "$CVISOR" list | grep -q "^web2 "
check config_undefine_force_leaves_vm_running $? "rc=$rc $(out)"
"$CVISOR" stop web2 --force >/dev/null 2>&1
cv undefine full --remove-storage
[[ $rc -eq 0 && ! -e $TMP/a.raw && ! -e $TMP/b.raw && ! -e $CVISOR_CONFIG_DIR/full.json ]]
check config_undefine_remove_storage $? "rc=$rc $(out)"
cv undefine web1
[[ $rc -eq 0 && -z $(listed web1) ]]
check config_undefine $? "rc=$rc $(out)"

# --- kill -9 during define and edit: the old definition or the new one -------------
# Definitions big enough that a write takes a while: many disks' worth of
# command line (16 disks with long serials).
args=()
for i in $(seq 16); do
	truncate -s 1M "$TMP/d$i.raw"
	args+=(--disk "path=$TMP/d$i.raw,serial=$(printf 's%.0s' $(seq 18))")
done
cat >"$TMP/ed-grow" <<'SH'
#!/bin/sh
sed -i 's/"64M"/"80M"/' "$1"
SH
chmod +x "$TMP/ed-grow"
broken=0 old=0 new=0
# How long a whole define takes here (sanitizers and load stretch it from a
# few ms to over 100): the kills below spread up to a bit beyond that.
"$CVISOR" undefine crash >/dev/null 2>&1
t0=$(date +%s%N)
"$CVISOR" define crash -- --kernel "$TICK" --memory 64M "${args[@]}" >/dev/null 2>&1
full=$(( ($(date +%s%N) - t0) / 1000 ))
[[ $full -gt 30000 ]] || full=30000
for i in $(seq 40); do
	"$CVISOR" undefine crash >/dev/null 2>&1
	# From 0.1 ms to 1.5 times a whole define, spread evenly on a log
	# scale: some kills land before the rename and some after, however
	# loaded the machine is.
	delay=$(awk -v i="$i" -v us="$full" 'BEGIN { srand(i); printf "%.5f", 0.0001 * (us * 1.5 / 100) ^ rand() }')
	"$CVISOR" define crash -- --kernel "$TICK" --memory 64M "${args[@]}" \
		>/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	f=$CVISOR_CONFIG_DIR/crash.json
	if [[ ! -e $f ]]; then
		old=$((old + 1))
	elif valid_json "$f" && [[ $(grep -c '"path"' "$f") -eq 16 ]]; then
		new=$((new + 1))
	else
		broken=$((broken + 1))
		cp "$f" "$TMP/broken.json"
	fi
	# An edit killed while it writes: 64M (old) or 80M (new), whole.
	[[ -e $f ]] || continue
	EDITOR=$TMP/ed-grow "$CVISOR" edit crash >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if ! valid_json "$f" || [[ $(grep -c '"path"' "$f") -ne 16 ]] ||
	   ! grep -Eq '"memory": "(64|80)M"' "$f"; then
		broken=$((broken + 1))
		cp "$f" "$TMP/broken.json"
	fi
done
echo "kill -9 during define: $old before the rename, $new after"
[[ $broken -eq 0 && $new -gt 0 ]]
check config_kill9_during_define_and_edit $? "broken=$broken old=$old new=$new $(head -c 200 "$TMP/broken.json" 2>/dev/null)"

# --- the systemd unit, make install / uninstall --------------------------------------
UNIT=$TOP/systemd/cvisor-autostart.service
if ! command -v systemd-analyze >/dev/null; then
	skip config_systemd_unit_verifies "systemd-analyze is not installed"
else
	mkdir -p "$TMP/unit" "$TMP/man/man1"
	sed "s|/usr/local/bin/cvisor|$CVISOR|g" "$UNIT" >"$TMP/unit/cvisor-autostart.service"
	cp "$TOP/docs/cvisor.1" "$TMP/man/man1/"
	MANPATH=$TMP/man systemd-analyze verify "$TMP/unit/cvisor-autostart.service" >"$TMP/out" 2>&1
	check config_systemd_unit_verifies $? "$(out)"
fi
make -s -C "$TOP" BUILD="$(cd "$(dirname "$CVISOR")" && pwd)" install \
	PREFIX=/usr DESTDIR="$TMP/pkg" >"$TMP/out" 2>&1
rc=$?
[[ $rc -eq 0 && -x $TMP/pkg/usr/bin/cvisor && -f $TMP/pkg/usr/share/man/man1/cvisor.1 &&
   -f $TMP/pkg/usr/share/doc/cvisor/config.md ]] &&
	grep -q "^ExecStart=/usr/bin/cvisor start --all-autostart" \
		"$TMP/pkg/usr/lib/systemd/system/cvisor-autostart.service"
check config_make_install $? "rc=$rc $(out) $(find "$TMP/pkg" 2>&1 | head)"
make -s -C "$TOP" BUILD="$(cd "$(dirname "$CVISOR")" && pwd)" uninstall \
	PREFIX=/usr DESTDIR="$TMP/pkg" >"$TMP/out" 2>&1
[[ $? -eq 0 && -z $(find "$TMP/pkg" -type f) ]]
check config_make_uninstall $? "$(out) $(find "$TMP/pkg" -type f)"
