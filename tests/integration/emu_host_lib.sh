# A static program run on this host and in a Linux guest under the
# software CPU (one vCPU): the guest's lines must be the host's, and no
# instruction unimplemented (emu_mmx.sh, emu_x87.sh). Sourced after
# lib.sh.

# emu_against_host NAME SOURCE MIN_LINES LINE_RE [CC_ARGS...]: SOURCE
# (in tests/integration) built with the host's gcc -static; its output
# must have more than MIN_LINES lines, and the guest's lines matching
# LINE_RE must be the same.
emu_against_host() {
	local name=$1 src=$2 min=$3 re=$4 root=$TMP/root
	shift 4

	load_linux_assets "$name" || return 0
	if ! grep -qx "$EMU_ACCEL" <<<"$(linux_accels)"; then
		skip "$name" "--accel emu cannot boot Linux here"
		return 0
	fi
	command -v cpio >/dev/null || { skip "$name" "no cpio on the host"; return 0; }
	mkdir -p "$root"
	if ! gcc -static -O2 -o "$root/prog" "$(dirname "$0")/$src" "$@" 2>"$TMP/cc"; then
		skip "$name" "no static build with the host's gcc: $(head -c 200 "$TMP/cc")"
		return 0
	fi
	"$root/prog" >"$TMP/host" || { fail "$name" "the program failed on the host"; return 0; }
	zcat -f "$CVISOR_INITRD" >"$TMP/initrd"
	(cd "$root" && find . | cpio -o -H newc 2>/dev/null) >>"$TMP/initrd"

	run_vm 300 --accel "$EMU_ACCEL" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
		--initrd "$TMP/initrd" --cpus 1 --memory 256M \
		--cmdline 'console=ttyS0 panic=-1 quiet cvisor.test="/prog"'
	tr -d '\r' <"$TMP/out" | grep -a -E "$re" >"$TMP/guest"

	[[ $rc -eq 0 && $(guest_result) == 0 ]]
	check "${name}_runs" $? "rc=$rc $(tail -c 300 "$TMP/out")"
	[[ $(wc -l <"$TMP/host") -gt $min ]] && cmp -s "$TMP/host" "$TMP/guest"
	check "${name}_same_as_host" $? "$(diff "$TMP/host" "$TMP/guest" | head -5)"
	! grep -a "unimplemented instruction" "$TMP/out" >/dev/null
	check "${name}_no_unimplemented" $? "$(grep -a "unimplemented instruction" "$TMP/out" | head -3)"
}
