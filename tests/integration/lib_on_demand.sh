#!/usr/bin/env bash
# libvncserver and libiscsi, with what they pull in (gnutls, p11-kit,
# nettle, gcrypt, libjpeg, lzo; libibverbs, librdmacm, libnl), are opened
# only when a VM uses VNC or an iSCSI disk (src/vmm/dynlib.h), before the
# seccomp filter: a VM without them never maps their pages. Read in
# /proc/PID/maps of running VMs (--accel emu, a small test guest), and on a
# host that lacks the libraries (hidden in a private mount namespace).
. "$(dirname "$0")/lib.sh"

name=lib_on_demand
spin=$GUESTS/spin.elf
[[ -r $spin ]] || { skip $name "no test guests (make guests)"; exit 0; }
export CVISOR_RUNTIME_DIR=$TMP/run
VM=
LISTENER=
cleanup() {
	[[ -n $VM ]] && kill -KILL "$VM" 2>/dev/null
	[[ -n $LISTENER ]] && kill "$LISTENER" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

VNC_LIBS='libvncserver\.so|libgnutls\.so|libp11-kit\.so|libgcrypt\.so|libjpeg\.so|liblzo2\.so'
ISCSI_LIBS='libiscsi\.so|libibverbs\.so|librdmacm\.so|libnl-route-3\.so'

# start_vm OUT PATTERN ARGS...: the spin guest under emu, in the background
# (VM), until OUT has PATTERN; fails if the VM ends first
start_vm() {
	local out=$1 pat=$2
	shift 2
	"$CVISOR" run --accel emu --memory 64M --kernel "$spin" "$@" \
		</dev/null >"$out" 2>&1 &
	VM=$!
	for _ in $(seq 480); do
		grep -q -- "$pat" "$out" && return 0
		kill -0 "$VM" 2>/dev/null || return 1
		sleep 0.25
	done
	return 1
}

stop_vm() {
	kill -KILL "$VM" 2>/dev/null
	wait "$VM" 2>/dev/null
	VM=
}

# mapped PATTERN: the libraries matching PATTERN in the VM's maps
mapped() {
	grep -oE "$1" "/proc/$VM/maps" | sort -u | tr '\n' ' '
}

# A VM with neither: none of their libraries (libc is, so maps was read).
if ! start_vm "$TMP/plain" spinning; then
	fail "$name: plain VM" "$(head -c 300 "$TMP/plain")"
else
	got=$(mapped "$VNC_LIBS|$ISCSI_LIBS")
	libc=$(mapped 'libc\.so')
	[[ -z $got && -n $libc ]]
	check "$name: a VM without VNC or iSCSI maps none of their libraries" $? \
		"mapped: ${got:-nothing, but no libc either}"
	stop_vm
fi

# --vnc: libvncserver and its TLS libraries, not libiscsi's.
for _ in 1 2 3 4 5; do
	D=$((50 + RANDOM % 40))
	start_vm "$TMP/vnc" spinning --vnc "127.0.0.1:$D" && break
	grep -q "cannot listen" "$TMP/vnc" || break
	stop_vm
done
if [[ -z $VM ]]; then
	fail "$name: --vnc VM" "$(head -c 300 "$TMP/vnc")"
else
	got=$(mapped "$VNC_LIBS|$ISCSI_LIBS")
	[[ $got == *libvncserver.so* && $got == *libgnutls.so* &&
	   $got != *libiscsi* && $got != *libibverbs* ]]
	check "$name: a --vnc VM maps libvncserver and gnutls, not libiscsi" $? \
		"mapped: $got"
	stop_vm
fi

# An iSCSI disk: a portal that accepts and never answers keeps the login
# waiting (10 s) in vm_create, under the seccomp filter; by then libiscsi
# is mapped, having been opened before the filter went on.
python3 -c 'import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
print("port", s.getsockname()[1], flush=True)
c, _ = s.accept()
print("accepted", flush=True)
time.sleep(60)' >"$TMP/portal" 2>&1 &
LISTENER=$!
for _ in $(seq 100); do
	grep -q port "$TMP/portal" && break
	sleep 0.1
done
port=$(sed -n 's/^port //p' "$TMP/portal")
url="iscsi://127.0.0.1:${port:-1}/iqn.2026-01.org.cvisor:none/0"
"$CVISOR" run --accel emu --memory 64M --kernel "$spin" --disk "url=$url" \
	</dev/null >"$TMP/iscsi" 2>&1 &
VM=$!
for _ in $(seq 480); do
	grep -q accepted "$TMP/portal" && break
	kill -0 "$VM" 2>/dev/null || break
	sleep 0.25
done
if ! grep -q accepted "$TMP/portal" || ! kill -0 "$VM" 2>/dev/null; then
	fail "$name: iSCSI VM" "no login: $(head -c 300 "$TMP/iscsi")"
else
	got=$(mapped "$VNC_LIBS|$ISCSI_LIBS")
	[[ $got == *libiscsi.so* && $got == *libibverbs.so* &&
	   $got != *libvncserver* && $got != *libgnutls* ]]
	check "$name: an iSCSI VM maps libiscsi and libibverbs, not libvncserver" $? \
		"mapped: $got"
fi
stop_vm
kill "$LISTENER" 2>/dev/null
wait "$LISTENER" 2>/dev/null
LISTENER=

# A host without them: a VM that uses neither runs; one that does says
# which library it needs, and so does `cvisor img`.
vnc=$(ldconfig -p | sed -n 's/.*libvncserver\.so\.1 .*=> //p' | head -n1)
iscsi=$(ldconfig -p | sed -n 's/.*libiscsi\.so\.7 .*=> //p' | head -n1)
if [[ $EUID -ne 0 || -z $vnc || -z $iscsi ]] || ! command -v unshare >/dev/null; then
	skip "$name: libraries missing" "needs root, unshare, libvncserver and libiscsi"
	exit 0
fi
hide="mount --bind /dev/null $(readlink -f "$vnc") &&
mount --bind /dev/null $(readlink -f "$iscsi") && exec \"\$@\""
hidden() {	# OUT LIMIT COMMAND...: COMMAND without the libraries; rc
	local out=$1 limit=$2
	shift 2
	timeout "$limit" unshare -m sh -c "$hide" sh "$@" </dev/null >"$out" 2>&1
	rc=$?
}
hidden "$TMP/h1" 60 "$CVISOR" run --accel emu --test-exit --memory 64M \
	--kernel "$GUESTS/hello.elf"
check "$name: a VM without VNC or iSCSI runs without their libraries" $rc \
	"exit status $rc: $(head -c 300 "$TMP/h1")"
# expect WHAT OUT STATUS PATTERN
expect() {
	if [[ $rc != "$3" ]]; then
		fail "$name: $1" "exit status $rc: $(head -c 300 "$2")"
	elif ! grep -q -- "$4" "$2"; then
		fail "$name: $1" "no '$4' in: $(head -c 300 "$2")"
	elif [[ $(grep -c . "$2") != 1 ]]; then
		fail "$name: $1" "more than one line: $(head -c 300 "$2")"
	else
		pass "$name: $1"
	fi
}
hidden "$TMP/h2" 60 "$CVISOR" run --accel emu --test-exit --memory 64M \
	--kernel "$GUESTS/hello.elf" --vnc 127.0.0.1:99
expect "--vnc without libvncserver" "$TMP/h2" 2 \
	"--vnc needs libvncserver.so.1 (Debian package libvncserver1)"
hidden "$TMP/h3" 60 "$CVISOR" run --accel emu --test-exit --memory 64M \
	--kernel "$GUESTS/hello.elf" --disk "url=$url"
grep -q "iSCSI disk needs libiscsi.so.7 (Debian package libiscsi7)" "$TMP/h3" &&
	[[ $rc == 1 ]]
check "$name: an iSCSI disk without libiscsi" $? \
	"exit status $rc: $(head -c 300 "$TMP/h3")"
hidden "$TMP/h4" 60 "$CVISOR" img info "$url"
expect "img info iscsi:// without libiscsi" "$TMP/h4" 1 \
	"iSCSI disk needs libiscsi.so.7 (Debian package libiscsi7)"
