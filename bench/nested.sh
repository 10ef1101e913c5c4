#!/usr/bin/env bash
# cvisor against QEMU on a real kvm_intel: both VMMs run inside the Bochs
# host of the nested suite (tests/nested/run.sh), whose emulated VT-x with
# EPT runs kvm_intel, on the same kernel, initramfs and files, in one run.
# Cases: boot (time to userspace and to power-off), blk (virtio-blk dd
# O_DIRECT), net (user-mode networking HTTP download). Absolute numbers
# inside Bochs mean nothing; the ratios are the result.
#
#   bench/nested.sh [boot|blk|net ...]     NESTED_BENCH_RUNS=runs (3)
#
# It boots the host once (2-4 minutes here) and takes one CPU for the
# whole run; it waits for any nested suite run in progress.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export NESTED_CASES_DIR=$TOP/bench/nested NESTED_QEMU=1
export NESTED_OUT=${NESTED_OUT:-$TOP/build/nested-bench}
# The number of runs travels in a copy of the cases' lib.bash.
if [[ -n ${NESTED_BENCH_RUNS:-} ]]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp "$NESTED_CASES_DIR"/* "$tmp/"
	sed -i "s/^RUNS=.*/RUNS=$NESTED_BENCH_RUNS/" "$tmp/lib.bash"
	NESTED_CASES_DIR=$tmp
fi
[[ $# -gt 0 ]] || set -- boot blk net
"$TOP/tests/nested/run.sh" "$@" | grep -E '^(BENCH|nested:|PASS|FAIL|SKIP|[0-9]+ passed)'
