#!/usr/bin/env bash
# How a KVM guest ends: a reboot under --no-reboot exits 0, and a kernel
# panic (pvpanic) exits non-zero with a line that says so (linux_boot.sh's
# checks).
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

linux_boot kvm 300 'reboot -f' --no-reboot --memory 128M
check nested_kvm_reboot_no_reboot_exits_0 "$rc" "rc=$rc $(tail -c 300 "$TMP/out")"

run_vm 300 --accel kvm --kernel "$LINUX_KERNEL" --initrd "$CVISOR_INITRD" \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.panic=1" --memory 128M
[[ $rc -ne 0 && $rc -lt 124 ]] && grep -q "panic" "$TMP/out"
check nested_kvm_panic_nonzero $? "rc=$rc $(tail -c 300 "$TMP/out")"
