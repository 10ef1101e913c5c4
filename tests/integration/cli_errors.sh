#!/usr/bin/env bash
# Bad input to cvisor run: one clear line naming the value, non-zero exit,
# never a crash.
. "$(dirname "$0")/lib.sh"

HELLO=$GUESTS/hello.elf

# expect NAME EXPECTED-STATUS PATTERN -- ARGS...
expect() {
	local name=$1 want=$2 pattern=$3
	shift 4
	run_vm 20 "$@"
	if [[ $rc -eq $want ]] && grep -q -- "$pattern" "$TMP/out" &&
	   ! grep -qE 'AddressSanitizer|runtime error|Segmentation' "$TMP/out"; then
		pass "$name"
	else
		fail "$name" "rc=$rc (want $want), output: $(head -c 300 "$TMP/out")"
	fi
}

expect unknown_flag 2 "unknown option '--bogus'" -- --bogus --kernel "$HELLO"
expect missing_kernel_flag 2 "--kernel is required" -- --memory 64M
expect stray_argument 2 "unexpected argument 'extra'" -- --kernel "$HELLO" extra
expect kernel_missing 1 "cannot open kernel '$TMP/nope'" -- --kernel "$TMP/nope"
head -c 100000 /dev/urandom >"$TMP/junk"
expect kernel_not_bzimage 1 "neither a bzImage nor an ELF" -- --kernel "$TMP/junk"
expect kernel_is_directory 1 "is not a regular file" -- --kernel "$TMP"
expect memory_garbage 2 "invalid size 'lots'" -- --kernel "$HELLO" --memory lots
expect memory_too_small 2 "1M is too small" -- --kernel "$HELLO" --memory 1M
expect memory_too_large 2 "more than this host allows" -- --kernel "$HELLO" --memory 64T
expect memory_bad_option 2 "unknown option 'shiny'" -- --kernel "$HELLO" --memory 64M,shiny=on
expect cpus_zero 2 "'0' is not a number from 1 to 64" -- --kernel "$HELLO" --cpus 0
expect cpus_too_many 2 "'65' is not a number from 1 to 64" -- --kernel "$HELLO" --cpus 65
expect cpus_garbage 2 "'two' is not a number" -- --kernel "$HELLO" --cpus two
expect accel_unknown 1 "unknown accelerator 'warp'" -- --kernel "$HELLO" --accel warp
expect disk_no_path 2 "path=FILE or url=" -- --kernel "$HELLO" --disk readonly=on
expect disk_bad_cache 2 "cache=fast: expected none or writeback" -- --kernel "$HELLO" --disk path=x,cache=fast
expect initrd_missing 1 "cannot open initrd '$TMP/none'" -- --accel kvm:emu --memory 64M --kernel "$HELLO" --initrd "$TMP/none"
mkfifo "$TMP/fifo"	# nobody reads it: an error, not a hang
expect virtio_console_fifo_no_reader 2 "cannot open '$TMP/fifo': No such device or address" -- --kernel "$HELLO" --virtio-console file="$TMP/fifo"
long=$(head -c 70000 /dev/zero | tr '\0' a)
expect cmdline_too_long 1 "kernel command line is 70000 bytes" -- --accel kvm:emu --memory 64M --kernel "$HELLO" --cmdline "$long"

# /dev/kvm missing or not permitted: say so and how to fix it.
if [[ $(id -u) -eq 0 ]] && command -v unshare >/dev/null; then
	unshare -m sh -c "mount -t tmpfs none /dev && exec '$CVISOR' run --accel kvm --kernel '$HELLO' --memory 64M" \
		</dev/null >"$TMP/out" 2>&1
	rc=$?
	[[ $rc -eq 1 ]] && grep -q "/dev/kvm does not exist" "$TMP/out"
	check kvm_absent_message $? "rc=$rc $(head -c 300 "$TMP/out")"
else
	skip kvm_absent_message "needs root and unshare"
fi
# setpriv is in util-linux, which scripts/install-deps.sh installs.
if [[ $(id -u) -ne 0 ]]; then
	skip kvm_no_permission_message "needs root to drop to another user"
elif [[ ! -e /dev/kvm ]]; then
	skip kvm_no_permission_message "no /dev/kvm on this host"
elif ! command -v setpriv >/dev/null; then
	skip kvm_no_permission_message "setpriv not installed (util-linux)"
else
	cp "$HELLO" "$TMP/hello.elf" && chmod 755 "$TMP"
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$CVISOR" run --accel kvm --kernel "$TMP/hello.elf" \
		--memory 64M </dev/null >"$TMP/out" 2>&1
	rc=$?
	[[ $rc -eq 1 ]] && grep -q "no permission to open /dev/kvm" "$TMP/out"
	check kvm_no_permission_message $? "rc=$rc $(head -c 300 "$TMP/out")"
fi
