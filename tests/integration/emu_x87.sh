#!/usr/bin/env bash
# x87 under the software CPU (--accel emu): emu_x87_prog.c, built static
# with the host's gcc, runs long double arithmetic in each rounding mode
# (fesetround) and precision (FCW.PC), libm's x87 functions, the
# exception flags fetestexcept reports, 12000 random operations and a
# SIGFPE from an unmasked divide by zero, on this host and in a Linux
# guest (one vCPU); the guest's lines must be the host's.
. "$(dirname "$0")/lib.sh"

name=emu_x87
load_linux_assets $name || exit 0
if ! grep -qx "$EMU_ACCEL" <<<"$(linux_accels)"; then
	skip $name "--accel emu cannot boot Linux here"
	exit 0
fi
command -v cpio >/dev/null || { skip $name "no cpio on the host"; exit 0; }

root=$TMP/root
mkdir -p "$root"
if ! gcc -static -O2 -o "$root/x87-prog" "$(dirname "$0")/emu_x87_prog.c" -lm 2>"$TMP/cc"; then
	skip $name "no static build with the host's gcc: $(head -c 200 "$TMP/cc")"
	exit 0
fi
"$root/x87-prog" >"$TMP/host" || { fail $name "the program failed on the host"; exit 0; }
zcat -f "$CVISOR_INITRD" >"$TMP/initrd"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null) >>"$TMP/initrd"

run_vm 300 --accel "$EMU_ACCEL" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
	--initrd "$TMP/initrd" --cpus 1 --memory 256M \
	--cmdline 'console=ttyS0 panic=-1 quiet cvisor.test="/x87-prog"'
tr -d '\r' <"$TMP/out" | grep -a -E '^x87 ' >"$TMP/guest"

[[ $rc -eq 0 && $(guest_result) == 0 ]]
check ${name}_runs $? "rc=$rc $(tail -c 300 "$TMP/out")"
[[ $(wc -l <"$TMP/host") -gt 130 ]] && cmp -s "$TMP/host" "$TMP/guest"
check ${name}_same_as_host $? "$(diff "$TMP/host" "$TMP/guest" | head -5)"
! grep -a "unimplemented instruction" "$TMP/out" >/dev/null
check ${name}_no_unimplemented $? "$(grep -a "unimplemented instruction" "$TMP/out" | head -3)"
