#!/usr/bin/env bash
# Boots the test guest (tests/guest/make-assets.sh) under build/cvisor with a
# shell on the serial console; the guest powers off when the shell exits.
#
# Usage: scripts/demo.sh [command...]
#   With a command, the guest runs it instead of the shell, prints
#   "cvisor-guest: result <status>" and powers off.
# Environment: CVISOR (binary, default build/cvisor), CVISOR_ASSETS,
# CVISOR_ACCEL (default: kvm:emu on a CPU with VT-x/AMD-V, KVM falling back
# to the software CPU if /dev/kvm cannot be used; emu on one without, where
# a /dev/kvm, if any, is not hardware-assisted and need not boot Linux).
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
CVISOR=${CVISOR:-$TOP/build/cvisor}
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
if [[ -n ${CVISOR_ACCEL:-} ]]; then
	ACCEL=$CVISOR_ACCEL
elif grep -qwE 'vmx|svm' /proc/cpuinfo; then
	ACCEL=kvm:emu
else
	ACCEL=emu
	echo "demo: this CPU has no VT-x/AMD-V: using the software CPU (--accel emu)"
fi

die() {
	echo "demo: error: $*" >&2
	exit 1
}

[[ -x $CVISOR ]] || die "$CVISOR not found; run 'make'"
[[ -f $ASSETS/env ]] || die "no guest assets in $ASSETS; run 'make assets'"
. "$ASSETS/env"
for f in "$CVISOR_KERNEL" "$CVISOR_INITRD"; do
	[[ -f $f ]] || die "$f is missing; run 'make assets'"
done

cmdline="console=ttyS0"
if [[ $# -gt 0 ]]; then
	cmdline+=" cvisor.test64=$(printf '%s' "$*" | base64 -w0)"
fi

cmd=("$CVISOR" run --accel "$ACCEL" --kernel "$CVISOR_KERNEL"
	--initrd "$CVISOR_INITRD" --cmdline "$cmdline" --memory 256M --cpus 2)
printf 'demo: running:'
printf ' %q' "${cmd[@]}"
printf '\n'
exec "${cmd[@]}"
