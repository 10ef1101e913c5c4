#!/usr/bin/env bash
# virtio-blk: fio inside the test guest, cvisor against QEMU in the same run,
# on the same raw image with cache=none. Prints IOPS for each and the ratio
# cvisor/QEMU per job (higher is better for cvisor).
#
# The guest is the test kernel + busybox initramfs from `make assets`; the
# host's fio and its libraries are appended to the initramfs as a second
# cpio archive. Needs hardware KVM (kvm_intel/kvm_amd): on anything else the
# numbers would measure an emulator, not virtio-blk, so it skips.
#
# Usage: bench/blk.sh [build dir]        (BENCH_RUNTIME=seconds per job)
#        BENCH_ACCEL=emu bench/blk.sh    smoke-test the script without KVM
#                                        (cvisor emu vs QEMU TCG: not a benchmark)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
CVISOR=${CVISOR:-$BUILD/cvisor}
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
RUNTIME=${BENCH_RUNTIME:-10}
QEMU=${QEMU:-qemu-system-x86_64}

skip() {
	echo "SKIP: blk_bench: $*"
	exit 0
}

[[ -x $CVISOR ]] || skip "no cvisor binary at $CVISOR"
[[ -r $ASSETS/env ]] || skip "no guest assets in $ASSETS (make assets)"
# shellcheck disable=SC1091
. "$ASSETS/env"
[[ -r ${CVISOR_KERNEL:-} && -r ${CVISOR_INITRD:-} ]] || skip "guest assets incomplete"
command -v fio >/dev/null || skip "no fio on the host to put in the guest"
command -v "$QEMU" >/dev/null || skip "no $QEMU"
command -v cpio >/dev/null || skip "no cpio"
ACCEL=${BENCH_ACCEL:-kvm}
if [[ $ACCEL == kvm ]]; then
	[[ -w /dev/kvm ]] && [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]] ||
		skip "no hardware KVM on this host"
	QEMU_ACCEL="accel=kvm -cpu host"
else
	echo "warning: BENCH_ACCEL=$ACCEL compares emulators, not virtio-blk"
	QEMU_ACCEL="accel=tcg"
fi

TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/cvisor-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# fio and everything it loads, as an initramfs overlay.
mkdir -p "$TMP/root/usr/bin"
cp -L "$(command -v fio)" "$TMP/root/usr/bin/fio"
ldd "$(command -v fio)" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}' |
while read -r lib; do
	mkdir -p "$TMP/root$(dirname "$lib")"
	cp -L "$lib" "$TMP/root$lib"
done
(cd "$TMP/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$TMP/fio.cpio.gz"
cat "$CVISOR_INITRD" "$TMP/fio.cpio.gz" >"$TMP/initrd"

# A fully allocated image on a real file system (O_DIRECT needs one).
IMG=$TMP/disk.img
dd if=/dev/zero of="$IMG" bs=1M count=1024 conv=fsync status=none ||
	skip "cannot write a 1 GiB image in $TMP"

JOBS="randread:4k:32 randwrite:4k:32 read:1m:8 write:1m:8"
guest_cmd="for j in $JOBS; do
 set -- \$(echo \$j | tr : ' ')
 fio --name=\$1 --filename=/dev/vda --direct=1 --ioengine=libaio --rw=\$1 \
  --bs=\$2 --iodepth=\$3 --runtime=$RUNTIME --time_based --minimal |
  awk -F';' -v n=\$1 '{printf \"BENCH %s %d\\n\", n, \$8 + \$49}'
done"
b64=$(printf %s "$guest_cmd" | base64 -w0)
append="console=ttyS0 quiet panic=-1 cvisor.test64=$b64"
limit=$((RUNTIME * 4 * 3 + ${BENCH_BOOT_LIMIT:-120}))

run_cvisor() {
	timeout "$limit" "$CVISOR" run --accel "$ACCEL" --memory 1G --cpus 2 \
		--kernel "$CVISOR_KERNEL" --initrd "$TMP/initrd" \
		--cmdline "$append" --disk "path=$IMG,cache=none" \
		</dev/null >"$TMP/cvisor.out" 2>&1
}

run_qemu() {
	# shellcheck disable=SC2086
	timeout "$limit" "$QEMU" -machine q35,$QEMU_ACCEL -m 1G -smp 2 \
		-kernel "$CVISOR_KERNEL" -initrd "$TMP/initrd" -append "$append" \
		-drive "file=$IMG,if=none,id=d0,format=raw,cache=none,aio=io_uring" \
		-device virtio-blk-pci,drive=d0,num-queues=2 \
		-display none -serial stdio -no-reboot -monitor none \
		</dev/null >"$TMP/qemu.out" 2>&1
}

run_cvisor
run_qemu
for out in cvisor qemu; do
	grep -q '^BENCH ' <(tr -d '\r' <"$TMP/$out.out") ||
		{ echo "FAIL: blk_bench: no results from $out:"; tail -n 20 "$TMP/$out.out"; exit 1; }
done

printf '%-10s %12s %12s %8s\n' job cvisor qemu ratio
for j in $JOBS; do
	name=${j%%:*}
	c=$(tr -d '\r' <"$TMP/cvisor.out" | awk -v n="$name" '$1 == "BENCH" && $2 == n {print $3}')
	q=$(tr -d '\r' <"$TMP/qemu.out" | awk -v n="$name" '$1 == "BENCH" && $2 == n {print $3}')
	ratio=$(awk -v c="${c:-0}" -v q="${q:-0}" 'BEGIN { if (q > 0) printf "%.2f", c / q; else print "n/a" }')
	printf '%-10s %12s %12s %8s\n' "$name" "${c:-none}" "${q:-none}" "$ratio"
done
echo "PASS: blk_bench"
