#!/usr/bin/env bash
# Boot on a real kvm_intel: the suite's test kernel and initramfs to the
# first userspace line and to power-off, under cvisor and under QEMU (q35
# and microvm), RUNS times each; medians and the ratios cvisor/QEMU.
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh
# shellcheck source=bench/nested/lib.bash
. /cvisor/tests/nested/cases/lib.bash

append=$(guest_cmdline 'echo bench-boot-done')
row() {
	local label=$1 ups=() ends=() i
	shift
	for ((i = 0; i < RUNS; i++)); do
		timed "$TMP/out" "$@"
		if [[ $T_RC -ne 0 || $T_UP == - ]]; then
			echo "BENCH boot $label: failed (rc=$T_RC): $(tail -c 300 "$TMP/out" | tr '\n' ' ')"
			ROW_UP=- ROW_END=-
			return
		fi
		ups+=("$T_UP") ends+=("$T_END")
	done
	ROW_UP=$(printf '%s\n' "${ups[@]}" | median)
	ROW_END=$(printf '%s\n' "${ends[@]}" | median)
	echo "BENCH boot $label: userspace $ROW_UP ms, power-off $ROW_END ms (median of $RUNS)"
}

# shellcheck disable=SC2046  # the command is split on purpose
row cvisor $(cvisor_cmd 256) --cmdline "$append"
cv_up=$ROW_UP cv_end=$ROW_END
for m in q35 microvm; do
	row "qemu-$m" "$QEMU" -M "$m" -accel kvm -cpu host -m 256 -smp 1 \
		-nographic -no-reboot -nodefaults -no-user-config -serial stdio \
		-kernel "$LINUX_KERNEL" -initrd "$CVISOR_INITRD" -append "$append"
	echo "BENCH boot ratio cvisor/qemu-$m: userspace $(ratio "$cv_up" "$ROW_UP"), power-off $(ratio "$cv_end" "$ROW_END") (below 1: cvisor faster)"
done
[[ $cv_up != - ]]
check nested_bench_boot_cvisor_ran $? "cvisor did not boot"
