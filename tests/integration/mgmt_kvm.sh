#!/usr/bin/env bash
# Managing running VMs (small KVM test guests): control socket, list, info,
# pause/resume, stop, affinity, daemonize/console, stale sockets, KSM.
. "$(dirname "$0")/lib.sh"

if ! kvm_usable; then
	skip mgmt_kvm "/dev/kvm is not available"
	exit 0
fi
export CVISOR_RUNTIME_DIR=$TMP/run
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	[[ -n ${KSM_RUN:-} ]] && echo "$KSM_RUN" >/sys/kernel/mm/ksm/run
	[[ -n ${KSM_PAGES:-} ]] && echo "$KSM_PAGES" >/sys/kernel/mm/ksm/pages_to_scan
	[[ -n ${KSM_SLEEP:-} ]] && echo "$KSM_SLEEP" >/sys/kernel/mm/ksm/sleep_millisecs
	[[ -n ${HUGE_MNT:-} ]] && umount "$HUGE_MNT"
	[[ -n ${NR_HUGE:-} ]] && echo "$NR_HUGE" >/proc/sys/vm/nr_hugepages
	rm -rf "$TMP"
}
trap cleanup EXIT

# start NAME OUT [run args...]: a VM in the background; waits for its socket.
start() {
	local name=$1 out=$2
	shift 2
	# No timeout wrapper: PIDS must hold cvisor itself for the cleanup.
	"$CVISOR" run --name "$name" --accel kvm "$@" </dev/null >"$out" 2>&1 &
	PIDS+=($!)
	# Listed once it has booted and answers "status".
	for _ in $(seq 100); do
		"$CVISOR" list | grep -q "^$name " && return 0
		sleep 0.1
	done
	return 1
}

size() { wc -c <"$1"; }
# A CPU list ("0-2,5") as one CPU per word ("0 1 2 5"), to compare lists.
cpus_expand() {
	echo "$1" | tr ',' '\n' | awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) printf "%d ", c }'
}

# --- list, info, affinity -------------------------------------------------
start web1 "$TMP/web1.out" --memory 64M --cpus 2,affinity=0:0,1:1 \
	--kernel "$GUESTS/tick.elf"
check mgmt_socket_created $? "no socket: $(cat "$TMP/web1.out")"
perm=$(stat -c %a "$CVISOR_RUNTIME_DIR/web1.sock" 2>/dev/null)
dperm=$(stat -c %a "$CVISOR_RUNTIME_DIR" 2>/dev/null)
[[ $perm == 600 && $dperm == 700 ]]
check mgmt_socket_permissions $? "socket $perm, directory $dperm"

"$CVISOR" list >"$TMP/list" 2>&1
grep -Eq '^web1 +[0-9]+ +running +2 +64M' "$TMP/list"
check mgmt_list_shows_vm $? "$(cat "$TMP/list")"
"$CVISOR" list --output=json >"$TMP/list.json"
python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); v=[x for x in l if x["name"]=="web1"][0]; assert v["vcpus"]==2 and v["memory"]==64<<20 and v["state"]=="running"' "$TMP/list.json"
check mgmt_list_json $? "$(cat "$TMP/list.json")"

"$CVISOR" info web1 --output=json >"$TMP/info.json"
ok=0
for i in 0 1; do
	tid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vcpu_threads"][int(sys.argv[2])]["tid"])' "$TMP/info.json" $i)
	cpus=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vcpu_threads"][int(sys.argv[2])]["cpus"])' "$TMP/info.json" $i)
	ts=$(taskset -pc "$tid" 2>/dev/null | sed 's/.*: //')
	[[ $cpus == "$i" && $ts == "$i" ]] || ok=1
	echo "vcpu$i tid $tid info=$cpus taskset=$ts" >>"$TMP/aff"
done
check mgmt_affinity_pins_vcpus $ok "$(cat "$TMP/aff" "$TMP/info.json")"
"$CVISOR" info web1 >"$TMP/info.txt"
grep -q "virtio-rng" "$TMP/info.txt" && grep -q "huge-page backed" "$TMP/info.txt" &&
	grep -Eq "vcpu1 +tid [0-9]+ +cpus 1" "$TMP/info.txt"
check mgmt_info_text $? "$(cat "$TMP/info.txt")"

# Unclaimed I/O is counted: the mmio guest, with no test-exit device, makes
# two MMIO and three port accesses no device claims, then halts.
start io1 "$TMP/io1.out" --memory 64M --kernel "$GUESTS/mmio.elf"
for _ in $(seq 50); do grep -q "unclaimed accesses ignored" "$TMP/io1.out" && break; sleep 0.1; done
sleep 0.2
"$CVISOR" info io1 --output=json >"$TMP/io1.json"
"$CVISOR" info io1 >"$TMP/io1.txt"
python3 -c 'import json,sys; u=json.load(open(sys.argv[1]))["unhandled_io"]; assert u["pio"] >= 3 and u["mmio"] >= 2, u' "$TMP/io1.json" &&
	grep -Eq "unhandled: +[0-9]+ port, [0-9]+ MMIO accesses" "$TMP/io1.txt"
check mgmt_info_unhandled_io $? "$(cat "$TMP/io1.json" "$TMP/io1.txt" "$TMP/io1.out")"
"$CVISOR" stop io1 --force >/dev/null

# Bad affinity: refused with a message naming the value.
"$CVISOR" run --kernel "$GUESTS/spin.elf" --cpus 2,affinity=5:0 </dev/null >"$TMP/aff1" 2>&1
r1=$?
timeout 20 "$CVISOR" run --accel kvm --memory 64M --cpus 1,affinity=1000 \
	--kernel "$GUESTS/spin.elf" </dev/null >"$TMP/aff2" 2>&1
r2=$?
[[ $r1 -eq 2 && $r2 -eq 1 ]] && grep -q "vCPU 5 does not exist" "$TMP/aff1" &&
	grep -q "cannot pin vCPU 0 to host CPUs 1000" "$TMP/aff2"
check mgmt_affinity_errors $? "rc $r1/$r2: $(cat "$TMP/aff1" "$TMP/aff2")"

# --- pause really stops the guest; resume lets it go on --------------------
sleep 0.5
"$CVISOR" pause web1
prc=$?
a=$(size "$TMP/web1.out")
sleep 1.5
b=$(size "$TMP/web1.out")
state=$("$CVISOR" list | awk '$1=="web1"{print $3}')
"$CVISOR" resume web1
# Resumed, it must make progress again (the host may be busy: allow 20 s).
for _ in $(seq 200); do
	c=$(size "$TMP/web1.out")
	((c > b)) && break
	sleep 0.1
done
[[ $prc -eq 0 && $a -eq $b && $c -gt $b && $state == paused ]]
check mgmt_pause_stops_progress $? "pause rc=$prc output $a -> $b (paused, state $state) -> $c (resumed)"

# --- duplicate names, unnamed VMs -----------------------------------------
timeout 20 "$CVISOR" run --name web1 --accel kvm --memory 64M \
	--kernel "$GUESTS/spin.elf" </dev/null >"$TMP/dup" 2>&1
rc=$?
[[ $rc -ne 0 ]] && grep -q "already running" "$TMP/dup" && ! grep -q spinning "$TMP/dup"
check mgmt_duplicate_name_refused $? "rc=$rc $(cat "$TMP/dup")"

"$CVISOR" run --accel kvm --memory 64M --kernel "$GUESTS/spin.elf" \
	</dev/null >"$TMP/anon" 2>&1 &
anon=$!
PIDS+=($anon)
for _ in $(seq 50); do "$CVISOR" list | grep -q "^vm-$anon " && break; sleep 0.1; done
"$CVISOR" list | grep -Eq "^vm-$anon +$anon "
check mgmt_unnamed_vm_gets_pid_name $? "$(ls "$CVISOR_RUNTIME_DIR"): $(cat "$TMP/anon")"

# --- stale sockets of dead VMs are cleaned up -----------------------------
kill -KILL $anon
wait $anon 2>/dev/null
[[ -S $CVISOR_RUNTIME_DIR/vm-$anon.sock ]]
left=$?
"$CVISOR" list >/dev/null
[[ $left -eq 0 && ! -e $CVISOR_RUNTIME_DIR/vm-$anon.sock ]]
check mgmt_stale_socket_removed_by_list $? "left=$left $(ls "$CVISOR_RUNTIME_DIR")"

# --- stop: power button first, forced after the timeout -------------------
start spin1 "$TMP/spin1.out" --memory 64M --kernel "$GUESTS/spin.elf"
spid=${PIDS[-1]}
start0=$SECONDS
"$CVISOR" stop spin1 --timeout 1
rc=$?
wait "$spid"
vrc=$?
[[ $rc -eq 0 && $vrc -eq 0 && ! -e $CVISOR_RUNTIME_DIR/spin1.sock && $((SECONDS - start0)) -lt 10 ]]
check mgmt_stop_forces_after_timeout $? "stop rc=$rc vm rc=$vrc $(cat "$TMP/spin1.out")"

"$CVISOR" stop web1 --force
rc=$?
[[ $rc -eq 0 && ! -e $CVISOR_RUNTIME_DIR/web1.sock ]]
check mgmt_stop_force $rc "rc=$rc"
"$CVISOR" pause nosuchvm 2>"$TMP/err"
rc=$?
[[ $rc -ne 0 ]] && grep -q "no running VM named 'nosuchvm'" "$TMP/err"
check mgmt_unknown_vm_error $? "rc=$rc $(cat "$TMP/err")"

# --- events reach connected clients ---------------------------------------
start ev1 "$TMP/ev1.out" --memory 64M --kernel "$GUESTS/spin.elf" ||
	echo "ev1 did not start: $(cat "$TMP/ev1.out")" >>"$TMP/events.err"
SOCK=$CVISOR_RUNTIME_DIR/ev1.sock python3 - >"$TMP/events" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["SOCK"])
s.sendall(b'{"id":"a","cmd":"status"}\n')
s.settimeout(20)
while True:
    d = s.recv(4096)
    if not d:
        break
    sys.stdout.write(d.decode())
    sys.stdout.flush()
PY
evpid=$!
# Stop only once the client is connected (python may start slowly).
for _ in $(seq 100); do grep -q '"id":"a"' "$TMP/events" && break; sleep 0.1; done
"$CVISOR" stop ev1 --force
wait $evpid
grep -q '"id":"a","ok":true' "$TMP/events" && grep -q '"event":"shutdown","reason":"quit"' "$TMP/events"
check mgmt_shutdown_event_pushed $? "$(cat "$TMP/events" "$TMP/events.err" 2>/dev/null)"

# --- daemonize and console ------------------------------------------------
timeout 60 "$CVISOR" run --daemonize --name bg1 --accel kvm --memory 64M \
	--kernel "$GUESTS/tick.elf" </dev/null >"$TMP/bg.out" 2>&1
rc=$?
bgpid=$("$CVISOR" info bg1 --output=json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null)
[[ -n $bgpid ]] && PIDS+=($bgpid)
[[ $rc -eq 0 && -n $bgpid ]] && kill -0 "$bgpid"
check mgmt_daemonize_returns $? "rc=$rc pid=$bgpid $(cat "$TMP/bg.out")"
timeout 3 "$CVISOR" console bg1 </dev/null >"$TMP/con" 2>&1
grep -q "ticking" "$TMP/con" && grep -q '\.\.\.' "$TMP/con"
check mgmt_console_attach $? "$(head -c 300 "$TMP/con")"
"$CVISOR" stop bg1 --force >/dev/null 2>&1
# Console input reaches the guest: it echoes bytes and exits on 'q'.
timeout 60 "$CVISOR" run --daemonize --name bg2 --accel kvm --test-exit --memory 64M \
	--kernel "$GUESTS/echo.elf" </dev/null >"$TMP/bg2.out" 2>&1
(sleep 0.5; printf 'ping-42q') | timeout 20 "$CVISOR" console bg2 >"$TMP/con2" 2>&1
rc=$?
[[ $rc -eq 0 ]] && grep -q "echo ready" "$TMP/con2" && grep -q "ping-42" "$TMP/con2" &&
	! "$CVISOR" list | grep -q "^bg2 "
check mgmt_console_input $? "rc=$rc $(cat "$TMP/bg2.out" "$TMP/con2")"
"$CVISOR" stop bg2 --force >/dev/null 2>&1	# only if it did not exit

# --- hugepages=on: guest RAM backed by transparent huge pages -------------
if grep -q '\[never\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
	skip mgmt_hugepages_backing "transparent huge pages are disabled"
else
	start h1 "$TMP/h1.out" --memory 64M,hugepages=on --kernel "$GUESTS/fill.elf"
	for _ in $(seq 60); do grep -q filled "$TMP/h1.out" && break; sleep 0.5; done
	"$CVISOR" info h1 --output=json >"$TMP/h1.json"
	huge=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["memory_info"]["huge_page_bytes"])' "$TMP/h1.json")
	# The guest wrote 16 MiB: most of it should sit in 2 MiB pages.
	((${huge:-0} >= 8 << 20))
	check mgmt_hugepages_backing $? "huge_page_bytes=${huge:-?}: $(cat "$TMP/h1.out")"
	"$CVISOR" stop h1 --force >/dev/null
fi

# --- hugetlb=DIR: guest RAM from a hugetlbfs mount ------------------------
"$CVISOR" run --accel kvm --memory 64M,hugetlb=/tmp --kernel "$GUESTS/spin.elf" \
	</dev/null >"$TMP/ht_err" 2>&1
rc=$?
[[ $rc -eq 2 ]] && grep -q "hugetlb=/tmp is not a hugetlbfs mount" "$TMP/ht_err"
check mgmt_hugetlb_not_hugetlbfs $? "rc=$rc $(cat "$TMP/ht_err")"
if [[ $(id -u) -ne 0 ]] || ! grep -qw hugetlbfs /proc/filesystems; then
	skip mgmt_hugetlb_backing "needs root and hugetlbfs"
else
	mkdir "$TMP/huge"
	NR_HUGE=$(cat /proc/sys/vm/nr_hugepages)
	# 64 MiB of 2 MiB pages on top of what others reserved.
	echo $((NR_HUGE + 32)) >/proc/sys/vm/nr_hugepages
	mount -t hugetlbfs -o pagesize=2M none "$TMP/huge" && HUGE_MNT=$TMP/huge
	free=$(awk '/^HugePages_Free/{print $2}' /proc/meminfo)
	if [[ -z $HUGE_MNT || $free -lt 32 ]]; then
		skip mgmt_hugetlb_backing "cannot reserve 32 huge pages ($free free)"
	else
		start ht1 "$TMP/ht1.out" --memory 64M,hugetlb="$HUGE_MNT" \
			--kernel "$GUESTS/fill.elf"
		for _ in $(seq 60); do grep -q filled "$TMP/ht1.out" && break; sleep 0.5; done
		"$CVISOR" info ht1 --output=json >"$TMP/ht1.json"
		huge=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["memory_info"]["huge_page_bytes"])' "$TMP/ht1.json")
		"$CVISOR" info ht1 >"$TMP/ht1.txt"
		# The guest wrote 16 MiB into hugetlbfs pages (2 MiB each).
		((${huge:-0} >= 16 << 20)) &&
			grep -q "hugetlbfs mount: *$HUGE_MNT\$" "$TMP/ht1.txt"
		check mgmt_hugetlb_backing $? "huge_page_bytes=${huge:-?}: $(cat "$TMP/ht1.out" "$TMP/ht1.txt")"
		"$CVISOR" stop ht1 --force >/dev/null
		umount "$HUGE_MNT" && HUGE_MNT=
	fi
	echo "$NR_HUGE" >/proc/sys/vm/nr_hugepages && NR_HUGE=
fi

# --- overcommit: more vCPUs and RAM than the host; untouched RAM is free ---
host_cpus=$(nproc)
host_mib=$(($(awk '/^MemTotal/{print $2}' /proc/meminfo) / 1024))
oc_cpus=$((host_cpus * 2 > 64 ? 64 : host_cpus * 2))
oc_mib=$((host_mib + 1024))
aff=0-1
((host_cpus < 2)) && aff=0
start oc1 "$TMP/oc1.out" --memory ${oc_mib}M --cpus $oc_cpus,affinity=$aff \
	--kernel "$GUESTS/tick.elf"
check mgmt_overcommit_starts $? "--memory ${oc_mib}M (host ${host_mib} MiB) --cpus $oc_cpus (host $host_cpus): $(cat "$TMP/oc1.out")"
"$CVISOR" info oc1 --output=json >"$TMP/oc1.json"
vmpid=${PIDS[-1]}
rss=$(awk '/^VmRSS/{print $2}' /proc/$vmpid/status)
python3 - "$TMP/oc1.json" "$oc_cpus" "$oc_mib" <<'PY' >"$TMP/oc1.check" 2>&1
import json, sys
i = json.load(open(sys.argv[1]))
assert i["vcpus"] == int(sys.argv[2]) and i["memory"] == int(sys.argv[3]) << 20, i
# Untouched guest RAM is not resident: the guest wrote a few pages only.
assert i["memory_info"]["guest_ram_rss"] < 8 << 20, i["memory_info"]
PY
r=$?
# The whole VMM (sanitizer builds included) stays far below guest RAM.
((r == 0 && ${rss:-0} > 0 && rss < 256 * 1024))
check mgmt_overcommit_untouched_ram_free $? "VmRSS ${rss:-?} kB: $(cat "$TMP/oc1.check")"
ok=0
n=0
while read -r tid cpus; do
	ts=$(taskset -pc "$tid" 2>/dev/null | sed 's/.*: //')
	[[ $(cpus_expand "$cpus") == "$(cpus_expand $aff)" &&
		$(cpus_expand "$ts") == "$(cpus_expand $aff)" ]] || ok=1
	n=$((n + 1))
	echo "tid $tid info=$cpus taskset=$ts" >>"$TMP/oc1.aff"
done < <(python3 -c 'import json,sys
for t in json.load(open(sys.argv[1]))["vcpu_threads"]: print(t["tid"], t["cpus"])' "$TMP/oc1.json")
((ok == 0 && n == oc_cpus))
check mgmt_affinity_range_all_vcpus $? "$(cat "$TMP/oc1.aff" 2>/dev/null)"
"$CVISOR" stop oc1 --force >/dev/null

# --- KSM merges identical guests (merge=on) -------------------------------
ksm=/sys/kernel/mm/ksm
if [[ ! -w $ksm/run ]]; then
	skip mgmt_ksm_merges "KSM is not available"
	exit 0
fi
KSM_RUN=$(cat $ksm/run) KSM_PAGES=$(cat $ksm/pages_to_scan)
KSM_SLEEP=$(cat $ksm/sleep_millisecs)
echo 4000 >$ksm/pages_to_scan
echo 10 >$ksm/sleep_millisecs
echo 1 >$ksm/run
start k1 "$TMP/k1.out" --memory 64M,merge=on --kernel "$GUESTS/fill.elf"
k1=${PIDS[-1]}
start k2 "$TMP/k2.out" --memory 64M,merge=on --kernel "$GUESTS/fill.elf"
k2=${PIDS[-1]}
# pages_sharing is global (other VMs count too); per process when we can.
merged() {
	if [[ -r /proc/$k1/ksm_merging_pages ]]; then
		echo $(($(cat /proc/$k1/ksm_merging_pages) + $(cat /proc/$k2/ksm_merging_pages)))
	else
		echo $(($(cat $ksm/pages_sharing) - before))
	fi
}
before=$(cat $ksm/pages_sharing)
# 2 x 16 MiB of one pattern: at least 8000 of those 8192 pages merged.
for _ in $(seq 120); do
	grep -q filled "$TMP/k1.out" && grep -q filled "$TMP/k2.out" &&
		(($(merged) >= 8000)) && break
	sleep 0.5
done
n=$(merged)
((n >= 8000))
check mgmt_ksm_merges $? "merged pages $n (pages_sharing $before -> $(cat $ksm/pages_sharing))"
"$CVISOR" stop k1 --force >/dev/null
"$CVISOR" stop k2 --force >/dev/null
