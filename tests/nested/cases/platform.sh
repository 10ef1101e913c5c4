#!/usr/bin/env bash
# tests/integration/platform.sh unchanged, on kvm_intel: ACPI tables and
# poweroff, reset with and without --no-reboot, pvpanic (hugetlbfs skips:
# the host kernel has none).
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh
run_integration platform
