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

# Sets CVISOR_KERNEL and CVISOR_INITRD from the assets, or prints why not
# and fails. Call it directly (not in $(...)) so the variables stay set.
load_linux_assets() {
	local why
	if why=$(linux_assets); then
		# shellcheck disable=SC1091
		. "$CVISOR_ASSETS/env"
		return 0
	fi
	skip_unless_required "$1" "$why"
	return 1
}

# A missing guest asset is a SKIP locally, a FAIL where the assets must
# exist (.ci/run sets CVISOR_REQUIRE_ASSETS=1): CI never passes with its
# Linux boots skipped.
skip_unless_required() {
	if [[ ${CVISOR_REQUIRE_ASSETS:-0} == 1 ]]; then
		fail "$1" "$2 (CVISOR_REQUIRE_ASSETS=1)"
	else
		skip "$1" "$2"
	fi
}

# Accelerators that can boot a stock Linux on this host, one per line.
# kvm only with hardware virtualization (kvm_intel/kvm_amd): this project's
# CI hosts serve /dev/kvm with kvm_pvm, which cannot boot Linux.
# The software CPU with options: CVISOR_TEST_EMU_ACCEL=emu,jit=off runs the
# Linux tests on the interpreter alone (the translator is the default).
EMU_ACCEL=${CVISOR_TEST_EMU_ACCEL:-emu}

linux_accels() {
	if kvm_usable && [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
		echo kvm
	fi
	if timeout 20 "$CVISOR" run --accel emu --test-exit --memory 64M \
		--kernel "$GUESTS/hello.elf" </dev/null >/dev/null 2>&1; then
		echo "$EMU_ACCEL"
	fi
}

# linux_boot ACCEL TIMEOUT "GUEST SHELL COMMAND" [cvisor run args...]
# Boots the test kernel and initramfs; output in $TMP/out, status in $rc.
# The ELF vmlinux is the default (no decompressor: twice as fast under
# emu); set LINUX_KERNEL=$CVISOR_KERNEL to boot the bzImage.
linux_boot() {
	local accel=$1 limit=$2 cmd=$3
	shift 3
	run_vm "$limit" --accel "$accel" \
		--kernel "${LINUX_KERNEL:-${CVISOR_VMLINUX:-$CVISOR_KERNEL}}" \
		--initrd "$CVISOR_INITRD" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)" \
		"$@"
}

# The value the guest printed after "cvisor-guest: result" for this run.
guest_result() {
	sed -n 's/.*cvisor-guest: result \([0-9]*\).*/\1/p' "$TMP/out" | tail -n1
}
