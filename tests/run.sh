#!/usr/bin/env bash
# Runs every test and prints the closing line "N passed, N failed, N skipped".
#
# A test is an executable: a unit-test binary in $BUILD/tests/ or a script in
# tests/integration/. It prints lines "PASS: name", "FAIL: name" or
# "SKIP: name: reason"; those are counted. One that exits non-zero without
# printing FAIL counts as one failure.
set -u
BUILD=${1:-build-san}
TOP=$(cd "$(dirname "$0")/.." && pwd)
export CVISOR_BUILD="$TOP/$BUILD"
export CVISOR="$TOP/$BUILD/cvisor"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
failed=()
log=$(mktemp -d)

run_one() {
	local t=$1 name out rc p f s
	name=$(basename "$t")
	out="$log/$name.out"
	if [[ -n "${TEST_FILTER:-}" && "$name" != *"$TEST_FILTER"* ]]; then
		return
	fi
	local start=$SECONDS
	timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$t" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^PASS: ' "$out")
	f=$(grep -c '^FAIL: ' "$out")
	s=$(grep -c '^SKIP: ' "$out")
	if [[ $rc -ne 0 && $f -eq 0 ]]; then
		echo "FAIL: $name (exit status $rc)" >>"$out"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	printf '%-40s %3d passed %3d failed %3d skipped  (%ds)\n' \
		"$name" "$p" "$f" "$s" $((SECONDS - start))
	grep -E '^(FAIL|SKIP): ' "$out" | sed 's/^/    /'
	if [[ $f -ne 0 ]]; then
		failed+=("$name")
		echo "---- output of $name (last 40 lines) ----"
		tail -n 40 "$out"
		echo "----"
	fi
}

for t in "$TOP/$BUILD"/tests/test_*; do
	[[ -x "$t" ]] && run_one "$t"
done
for t in "$TOP"/tests/integration/*.sh; do
	[[ -x "$t" ]] && run_one "$t"
done
rm -rf "$log"
[[ ${#failed[@]} -gt 0 ]] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]]
