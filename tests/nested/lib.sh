# shellcheck shell=bash
# Sourced by the cases in cases/, which run inside the Bochs host (bash,
# busybox and GNU timeout there; no python3).  The host's tree mirrors the
# checkout: /cvisor/build/cvisor, /cvisor/build/guests/*.elf,
# /cvisor/tests/integration/lib.sh, and the guest assets in /assets, so the
# integration tests' helpers (run_vm, linux_boot, guest_result, check) work
# unchanged.  Guests boot the bzImage: its command line may be 2 KiB long,
# room for a whole test script.
export CVISOR_ASSETS=/assets
# shellcheck source=tests/integration/lib.sh
. /cvisor/tests/integration/lib.sh
export CVISOR_RUNTIME_DIR=$TMP/run
# shellcheck disable=SC1091
. "$CVISOR_ASSETS/env"
LINUX_KERNEL=$CVISOR_KERNEL

# The HTTP server host-init starts, as the guest reaches it through slirp.
export NESTED_HTTP=http://10.0.2.2:8080
export NESTED_BLOB=/www/blob

# run_integration NAME: tests/integration/NAME.sh as it is, with its result
# names prefixed nested_; its status is the case's.
run_integration() {
	set -o pipefail
	bash "/cvisor/tests/integration/$1.sh" 2>&1 |
		sed -E 's/^(PASS|FAIL|SKIP): /\1: nested_/'
}

# random_bytes SKIP COUNT: COUNT random bytes from SKIP on, the same ones each
# time: the host's /dev/urandom is slow in Bochs, so run.sh brings 2 MiB.
random_bytes() {
	tail -c +$(($1 + 1)) /cvisor/random | head -c "$2"
}

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null; }

# wait_for FILE PATTERN TRIES PID: polls FILE for PATTERN every 0.5 s while
# PID lives, at most TRIES times; fails if it never appears.
wait_for() {
	local i
	for ((i = 0; i < $3; i++)); do
		grep -qs -- "$2" "$1" && return 0
		kill -0 "$4" 2>/dev/null || break
		sleep 0.5
	done
	grep -qs -- "$2" "$1"
}

# start_vm NAME OUT TEST-COMMAND [cvisor run args...]: the test guest in the
# background under --name NAME, console in OUT; sets $VM to its pid.
start_vm() {
	local name=$1 out=$2 cmd=$3
	shift 3
	"$CVISOR" run --name "$name" --accel kvm --kernel "$LINUX_KERNEL" \
		--initrd "$CVISOR_INITRD" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)" \
		"$@" </dev/null >"$out" 2>&1 &
	VM=$!
}

# Kills the background VM, if any, when the case ends.
VM=
nested_cleanup() {
	[[ -n $VM ]] && kill -KILL "$VM" 2>/dev/null
	rm -rf "$TMP"
}
trap nested_cleanup EXIT
