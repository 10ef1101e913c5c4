#!/usr/bin/env bash
# KVM cannot fetch instructions from emulated MMIO: the guest that jumps
# there must end cvisor with one line naming the exit reason and the guest
# RIP, status 1 (kvm_guests.sh's check, here on kvm_intel).
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

run_vm 120 --accel kvm --memory 64M --kernel "$GUESTS/exec_mmio.elf"
[[ $rc -eq 1 && $(wc -l <"$TMP/out") -eq 1 ]] &&
	grep -q "KVM_EXIT_INTERNAL_ERROR.* at RIP 0xd0000000 (try --accel emu)" "$TMP/out"
check nested_kvm_internal_error_one_line $? "rc=$rc $(head -c 300 "$TMP/out")"
