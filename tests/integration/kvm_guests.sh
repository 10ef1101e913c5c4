#!/usr/bin/env bash
# The KVM path with small self-written long-mode guests (tests/guests/).
. "$(dirname "$0")/lib.sh"

if ! kvm_usable; then
	skip kvm_guests "/dev/kvm is not available"
	exit 0
fi

run_vm 20 --accel kvm --test-exit --memory 64M --kernel "$GUESTS/hello.elf"
check kvm_hello_exit_0 $rc "exit status $rc"
grep -q "hello from a cvisor test guest" "$TMP/out"
check kvm_hello_serial_output $? "$(head -c 300 "$TMP/out")"

run_vm 20 --accel kvm --test-exit --memory 64M --kernel "$GUESTS/fail.elf"
[[ $rc -eq 1 ]] && grep -q "failure 7" "$TMP/out"
check kvm_guest_failure_reported $? "rc=$rc $(head -c 300 "$TMP/out")"

run_vm 20 --accel kvm --memory 64M --kernel "$GUESTS/triple_fault.elf"
[[ $rc -eq 1 ]] && grep -q "triple fault" "$TMP/out"
check kvm_triple_fault_nonzero $? "rc=$rc $(head -c 300 "$TMP/out")"

run_vm 20 --accel kvm --test-exit --memory 64M --kernel "$GUESTS/mmio.elf"
check kvm_unclaimed_io_ignored $rc "rc=$rc $(head -c 300 "$TMP/out")"

# Several vCPUs: the BSP runs, APs wait for INIT/SIPI; exit must be clean.
run_vm 20 --accel kvm --test-exit --cpus 4 --memory 64M \
	--kernel "$GUESTS/hello.elf"
check kvm_four_vcpus_start_and_stop $rc "rc=$rc $(head -c 300 "$TMP/out")"

# SIGTERM stops a running VM with status 0 and leaves no process behind.
"$CVISOR" run --accel kvm --memory 64M --kernel "$GUESTS/spin.elf" \
	</dev/null >"$TMP/out" 2>&1 &
pid=$!
sleep 1
# The VMM runs under its seccomp filter (mode 2), on every thread.
filtered=$(grep -c '^Seccomp:[[:space:]]*2' /proc/$pid/task/*/status 2>/dev/null | grep -c ':1$')
threads=$(ls /proc/$pid/task 2>/dev/null | wc -l)
[[ $threads -gt 1 && $filtered -eq $threads ]]
check kvm_vmm_threads_under_seccomp $? "$filtered of $threads threads filtered"
kill -TERM $pid
wait $pid
rc=$?
check kvm_sigterm_stops_vm $rc "rc=$rc $(head -c 300 "$TMP/out")"

# PCI configuration through ports and ECAM, and a minimal virtio driver
# whose kick goes through an ioeventfd to the device thread.
run_vm 20 --accel kvm --test-exit --memory 64M --kernel "$GUESTS/pci_config.elf"
check kvm_pci_config_ports_and_ecam $rc "rc=$rc $(head -c 300 "$TMP/out")"
run_vm 20 --accel kvm --test-exit --memory 64M --kernel "$GUESTS/virtio_rng.elf"
[[ $rc -eq 0 ]] && grep -q "returned random bytes" "$TMP/out"
check kvm_mini_virtio_rng_driver $? "rc=$rc $(head -c 300 "$TMP/out")"

# The same device with MSI-X: queue interrupts reach the guest's LAPIC,
# a masked vector stays pending until unmasked, a rewritten entry moves.
# Under KVM each vector is an irqfd on a GSI route (--debug says so), and
# an IOAPIC line (COM1) still works once cvisor owns the routing table.
run_vm 20 --accel kvm --test-exit --debug --memory 64M \
	--kernel "$GUESTS/virtio_msix.elf"
[[ $rc -eq 0 ]] && grep -q "interrupts through MSI-X" "$TMP/out"
check kvm_virtio_msix_interrupts $? "rc=$rc $(head -c 300 "$TMP/out")"
if grep -q "KVM has no irqfd or GSI routing" "$TMP/out"; then
	skip kvm_msix_through_irqfd "this KVM has no irqfd: KVM_SIGNAL_MSI used"
else
	grep -q "MSI 0xfee00000/0x40 on GSI [0-9]* through irqfd" "$TMP/out"
	check kvm_msix_through_irqfd $? "$(grep -i msi "$TMP/out" | head -c 300)"
fi

# A hostile driver: a buffer outside RAM, a runaway avail index and a
# looping chain each put the device in NEEDS_RESET with one warning; the
# VMM runs on and the reset device works.
run_vm 30 --accel kvm --test-exit --memory 64M --kernel "$GUESTS/virtio_hostile.elf"
[[ $rc -eq 0 ]] && grep -q "device works after reset" "$TMP/out" &&
	[[ $(grep -c "guest error on a virtqueue" "$TMP/out") -ge 1 ]] &&
	! grep -qE 'AddressSanitizer|runtime error' "$TMP/out"
check kvm_virtio_hostile_driver $? "rc=$rc $(head -c 400 "$TMP/out")"

# KVM stops the guest (instruction fetch from MMIO): one line with the exit
# reason and the guest RIP, a hint at --accel emu, status 1.
run_vm 20 --accel kvm --memory 64M --kernel "$GUESTS/exec_mmio.elf"
[[ $rc -eq 1 && $(wc -l <"$TMP/out") -eq 1 ]] &&
	grep -q "KVM_EXIT_INTERNAL_ERROR.* at RIP 0xd0000000 (try --accel emu)" "$TMP/out"
check kvm_internal_error_one_line $? "rc=$rc $(head -c 300 "$TMP/out")"
# The software CPU fetches all ones from unassigned space, as hardware
# does: the guest's #UD handler sees the jump's target and passes.
run_vm 20 --accel emu --test-exit --memory 64M --kernel "$GUESTS/exec_mmio.elf"
[[ $rc -eq 0 ]] && grep -q "#UD at 0xd0000000" "$TMP/out"
check emu_fetch_from_unassigned_ud $? "rc=$rc $(head -c 300 "$TMP/out")"
