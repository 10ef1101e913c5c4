#!/usr/bin/env bash
# Runs every test and prints the closing line "N passed, N failed, N skipped".
#
# A test is a unit-test binary $BUILD/tests/test_X for each
# tests/unit/test_X.c, or a script tests/integration/*.sh other than the
# libraries they source (lib.sh, *_lib.sh); scripts run under bash, so a lost
# executable bit does not drop one. A test prints lines "PASS: name",
# "FAIL: name" or "SKIP: name: reason"; those are counted. One that exits
# non-zero without printing FAIL counts as one failure, and so does a
# missing unit-test binary.
set -u
BUILD=${1:-build-san}
TOP=$(cd "$(dirname "$0")/.." && pwd)
export CVISOR_BUILD="$TOP/$BUILD"
export CVISOR="$TOP/$BUILD/cvisor"
# Each test's time limit; exported so a script can fit its steps into it.
export TEST_TIMEOUT=${TEST_TIMEOUT:-600}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0 skip=0
failed=()
log=$(mktemp -d)

# run_one NAME COMMAND...
run_one() {
	local name=$1 out rc p f s
	shift
	out="$log/$name.out"
	if [[ -n "${TEST_FILTER:-}" && "$name" != *"$TEST_FILTER"* ]]; then
		return
	fi
	local start=$SECONDS
	timeout --kill-after=10 "$TEST_TIMEOUT" "$@" >"$out" 2>&1
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

units=()
for src in "$TOP"/tests/unit/test_*.c; do
	units+=("$(basename "$src" .c)")
done
have=0
for u in "${units[@]}"; do
	[[ -x "$TOP/$BUILD/tests/$u" ]] && have=$((have + 1))
done
if [[ $have -eq 0 ]]; then
	echo "run.sh: no unit-test binaries in $TOP/$BUILD/tests (build them: make SAN=1 BUILD=$BUILD unit-tests)"
	exit 1
fi

for u in "${units[@]}"; do
	if [[ -x "$TOP/$BUILD/tests/$u" ]]; then
		run_one "$u" "$TOP/$BUILD/tests/$u"
	else
		run_one "$u" echo "FAIL: $u: $BUILD/tests/$u was not built"
	fi
done
for t in "$TOP"/tests/integration/*.sh; do
	case $(basename "$t") in
	lib.sh | *_lib.sh) continue ;;
	esac
	run_one "$(basename "$t")" bash "$t"
done
rm -rf "$log"
[[ ${#failed[@]} -gt 0 ]] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]]
