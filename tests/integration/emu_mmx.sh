#!/usr/bin/env bash
# MMX under the software CPU (--accel emu): emu_mmx_prog.c, built static
# with the host's gcc, runs every MMX instruction on the same
# pseudo-random inputs on this host and in a Linux guest (one vCPU); the
# guest's lines must be the host's, and no instruction unimplemented.
. "$(dirname "$0")/lib.sh"

name=emu_mmx
load_linux_assets $name || exit 0
if ! grep -qx "$EMU_ACCEL" <<<"$(linux_accels)"; then
	skip $name "--accel emu cannot boot Linux here"
	exit 0
fi
command -v cpio >/dev/null || { skip $name "no cpio on the host"; exit 0; }
grep -qw mmx /proc/cpuinfo || { skip $name "the host has no MMX to compare with"; exit 0; }

root=$TMP/root
mkdir -p "$root"
if ! gcc -static -O2 -o "$root/mmx-prog" "$(dirname "$0")/emu_mmx_prog.c" 2>"$TMP/cc"; then
	skip $name "no static build with the host's gcc: $(head -c 200 "$TMP/cc")"
	exit 0
fi
"$root/mmx-prog" >"$TMP/host" || { fail $name "the program failed on the host"; exit 0; }
zcat -f "$CVISOR_INITRD" >"$TMP/initrd"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null) >>"$TMP/initrd"

run_vm 300 --accel "$EMU_ACCEL" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
	--initrd "$TMP/initrd" --cpus 1 --memory 256M \
	--cmdline 'console=ttyS0 panic=-1 quiet cvisor.test="/mmx-prog"'
tr -d '\r' <"$TMP/out" | grep -a -E '^(mmx|x87) ' >"$TMP/guest"

[[ $rc -eq 0 && $(guest_result) == 0 ]]
check ${name}_runs $? "rc=$rc $(tail -c 300 "$TMP/out")"
[[ $(wc -l <"$TMP/host") -gt 70 ]] && cmp -s "$TMP/host" "$TMP/guest"
check ${name}_same_as_host $? "$(diff "$TMP/host" "$TMP/guest" | head -5)"
! grep -a "unimplemented instruction" "$TMP/out" >/dev/null
check ${name}_no_unimplemented $? "$(grep -a "unimplemented instruction" "$TMP/out" | head -3)"
