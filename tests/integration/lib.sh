# Shared helpers for integration tests (sourced, not run).
# Each check prints "PASS: name", "FAIL: name: why" or "SKIP: name: why".
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CVISOR=${CVISOR:-$TOP/build/cvisor}
CVISOR_BUILD=${CVISOR_BUILD:-$TOP/build}
GUESTS=$CVISOR_BUILD/guests
CVISOR_ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }

# check NAME CONDITION-STATUS WHY
check() {
	if [[ $2 -eq 0 ]]; then pass "$1"; else fail "$1" "$3"; fi
}

kvm_usable() {
	[[ -r /dev/kvm && -w /dev/kvm ]]
}

# Run cvisor with a time limit; output in $TMP/out, status in $rc.
run_vm() {
	local limit=$1
	shift
	timeout --kill-after=5 "$limit" "$CVISOR" run "$@" \
		</dev/null >"$TMP/out" 2>&1
	rc=$?
}

# The accelerator that can boot Linux here: kvm when it works, else emu.
# Sets LINUX_ACCEL or prints why Linux tests skip and returns 1.
linux_assets() {
	if [[ ! -r $CVISOR_ASSETS/env ]]; then
		echo "no guest assets in $CVISOR_ASSETS (run 'make assets')"
		return 1
	fi
	# shellcheck disable=SC1091
	. "$CVISOR_ASSETS/env"
	[[ -r ${CVISOR_KERNEL:-} && -r ${CVISOR_INITRD:-} ]] ||
		{ echo "guest assets incomplete"; return 1; }
}
