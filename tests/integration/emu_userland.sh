#!/usr/bin/env bash
# Userland code under the software CPU (--accel emu): the host's iperf3 with
# its shared libraries (glibc's SSE2 string and math routines), busybox awk
# floating point (SSE2 scalar double) and a 4-CPU boot, in one guest boot.
# No instruction may be reported unimplemented on the way.
. "$(dirname "$0")/lib.sh"

name=emu_userland
load_linux_assets $name || exit 0
if ! grep -qx "$EMU_ACCEL" <<<"$(linux_accels)"; then
	skip $name "--accel emu cannot boot Linux here"
	exit 0
fi
command -v iperf3 >/dev/null || { skip $name "no iperf3 on the host"; exit 0; }
command -v cpio >/dev/null || { skip $name "no cpio on the host"; exit 0; }

# The base initramfs, then a second newc archive with iperf3 and its
# libraries (the kernel unpacks concatenated archives in order).
root=$TMP/root
mkdir -p "$root/usr/bin"
cp /usr/bin/iperf3 "$root/usr/bin/"
for lib in $(ldd /usr/bin/iperf3 | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
cat >"$root/emu-test.sh" <<'SCRIPT'
iperf3 -s -D -1 >/dev/null 2>&1; sleep 1
iperf3 -c 127.0.0.1 -t 1 -f m 2>&1 | grep -c receiver
awk 'BEGIN { s = 0; for (i = 1; i <= 1000; i++) s += i / 4
	printf "awk=%d %.3f\n", int(s * 3.5), 7 / 8 }'
echo "nproc=$(nproc)"
SCRIPT
zcat -f "$CVISOR_INITRD" >"$TMP/initrd"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null) >>"$TMP/initrd"

run_vm 300 --accel "$EMU_ACCEL" --kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" \
	--initrd "$TMP/initrd" --cpus 4 --memory 384M \
	--cmdline 'console=ttyS0 panic=-1 quiet cvisor.test="sh /emu-test.sh"'
out=$(tr -d '\r' <"$TMP/out")

[[ $rc -eq 0 && $(guest_result) == 0 ]]
check ${name}_boots_4cpus $? "rc=$rc $(tail -c 300 "$TMP/out")"
grep -qx 1 <<<"$out"
check ${name}_iperf3_loopback $? "$(grep -a -i iperf "$TMP/out" | head -3)"
# sum of i/4 for i = 1..1000 is 125125; times 3.5 is 437937.5
grep -q "awk=437937 0.875" <<<"$out"
check ${name}_awk_float $? "$(grep -a awk= "$TMP/out")"
grep -q "nproc=4" <<<"$out"
check ${name}_nproc $? "$(grep -a nproc= "$TMP/out")"
! grep -a "unimplemented instruction" "$TMP/out" >/dev/null
check ${name}_no_unimplemented $? "$(grep -a "unimplemented instruction" "$TMP/out" | head -3)"
