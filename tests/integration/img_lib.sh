# Shared by tests/integration/img_*.sh (sourced, not executable itself).
# Sets $C (cvisor binary), $T (temp dir removed on exit), and helpers that
# print PASS/FAIL lines.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
C=${CVISOR:-$TOP/build/cvisor}
T=$(mktemp -d /tmp/cvisor-img-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
# a private copy: a parallel "make" may relink the shared binary mid-test
if [[ -x "$C" ]]; then
	cp "$C" "$T/cvisor"
	C=$T/cvisor
fi
failures=0

need_qemu_img() {
	if ! command -v qemu-img >/dev/null; then
		echo "SKIP: $1: qemu-img not installed"
		exit 0
	fi
}

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+: $2}"; failures=$((failures + 1)); }

# ok NAME CMD...: PASS if CMD succeeds, else FAIL with its output.
ok() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
}

# qemu-img check must find neither errors nor leaks.
qcheck() { qemu-img check -q "$1"; }
export -f qcheck

# A raw file with data, zeroes and holes; $2 MiB long.
make_raw() {
	local f=$1 mib=$2
	truncate -s "${mib}M" "$f"
	dd if=/dev/urandom of="$f" bs=64k count=5 seek=1 conv=notrunc status=none
	yes "cvisor compressible text" | head -c 700000 |
		dd of="$f" bs=4k seek=100 conv=notrunc status=none
	dd if=/dev/urandom of="$f" bs=1k count=3 seek=$((mib * 1024 - 3)) \
		conv=notrunc status=none
}

finish() { exit $((failures > 0)); }
