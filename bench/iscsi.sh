#!/usr/bin/env bash
# iSCSI disks, cvisor against QEMU in the same run, on one LUN served by
# tgtd on 127.0.0.1 (a file-backed LUN of SIZE MiB):
#   - img convert from the LUN to a raw file and from a raw file into the
#     LUN (-n): qemu-img (its iscsi driver, Debian qemu-block-extra) vs
#     cvisor img, best of RUNS (3), the tools taking turns;
#   - a Linux guest reading and writing 128 MiB with dd bs=1M O_DIRECT on
#     the LUN as a virtio-blk disk: cvisor run vs qemu-system-x86_64 with
#     -drive file=iscsi://...,if=virtio. Without hardware KVM this compares
#     cvisor's emulator with TCG, and the output says so.
# Prints times and ratios cvisor/QEMU (lower is better for cvisor).
#   usage: bench/iscsi.sh [SIZE_MIB]   (BUILD=build-dir, default build)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
C=${CVISOR:-$TOP/$BUILD/cvisor}
MIB=${1:-256}
RUNS=${RUNS:-3}
QEMU=${QEMU:-qemu-system-x86_64}
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}

skip() {
	echo "SKIP: iscsi_bench: $*"
	exit 0
}
for tool in tgtd tgtadm qemu-img bc; do
	command -v $tool >/dev/null || skip "no $tool"
done
[[ -x $C ]] || skip "no cvisor binary at $C"

T=$(mktemp -d "${TMPDIR:-/var/tmp}/cvisor-bench-iscsi.XXXXXX")
CTL=$((100 + $$ % 800))
PORT=$((20000 + $$ % 20000))
tgtd -f --iscsi "portal=127.0.0.1:$PORT" -C "$CTL" >"$T/tgtd.log" 2>&1 &
TGTD=$!
trap 'kill -9 $TGTD 2>/dev/null; wait $TGTD 2>/dev/null; rm -rf "$T"' EXIT
for ((i = 0; i < 100; i++)); do
	tgtadm -C "$CTL" --op show --mode sys >/dev/null 2>&1 && break
	sleep 0.1
done
IQN=iqn.2026-01.io.cvisor.bench:disk
head -c "${MIB}M" /dev/urandom >"$T/lun.img"
tgtadm -C "$CTL" --lld iscsi --op new --mode target --tid 1 -T $IQN &&
	tgtadm -C "$CTL" --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$T/lun.img" &&
	tgtadm -C "$CTL" --lld iscsi --op bind --mode target --tid 1 -I ALL ||
	skip "tgtd did not start: $(tail -c 300 "$T/tgtd.log")"
URL=iscsi://127.0.0.1:$PORT/$IQN/1
qemu-img info "$URL" >/dev/null 2>&1 || skip "qemu-img has no iscsi driver (qemu-block-extra)"
head -c "${MIB}M" /dev/urandom >"$T/src.raw"

secs() {
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || echo "failed: $*" >&2
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}
min() { if [[ -z $1 ]] || (($(echo "$2 < $1" | bc))); then echo "$2"; else echo "$1"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'; }

row() { # row NAME ARGS...: qemu-img ARGS vs cvisor img ARGS
	local name=$1 q="" c=""
	shift
	for ((r = 0; r < RUNS; r++)); do
		rm -f "$T/out.raw"
		q=$(min "$q" "$(secs qemu-img "$@")")
		rm -f "$T/out.raw"
		c=$(min "$c" "$(secs "$C" img "$@")")
	done
	printf '%-34s qemu-img %7.2fs  cvisor %7.2fs  ratio %5.2f\n' "$name" "$q" "$c" \
		"$(ratio "$c" "$q")"
}
echo "LUN ${MIB} MiB, tgtd on 127.0.0.1, $(nproc) CPUs, $(date -u +%F)"
row "convert LUN -> raw file" convert -O raw "$URL" "$T/out.raw"
row "convert raw file -> LUN (-n)" convert -n -O raw "$T/src.raw" "$URL"

# The guest: dd on the LUN, times from /proc/uptime.
[[ -r $ASSETS/env ]] || skip "no guest assets for the guest rows (make assets)"
# shellcheck disable=SC1091
. "$ASSETS/env"
command -v "$QEMU" >/dev/null || skip "no $QEMU for the guest rows"
if [[ -w /dev/kvm ]] && [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
	ACCEL=kvm QACCEL="accel=kvm -cpu host" KERNEL=$CVISOR_KERNEL
else
	echo "note: no hardware KVM: cvisor --accel emu against QEMU TCG"
	ACCEL=emu QACCEL="accel=tcg" KERNEL=${CVISOR_VMLINUX:-$CVISOR_KERNEL}
fi
guest='u() { cut -d" " -f1 /proc/uptime; }
a=$(u); dd if=/dev/vda of=/dev/null bs=1M count=128 iflag=direct 2>/dev/null
b=$(u); dd if=/dev/zero of=/dev/vda bs=1M count=128 oflag=direct 2>/dev/null
c=$(u); echo "BENCH $(awk "BEGIN{print $b - $a}") $(awk "BEGIN{print $c - $b}")"'
append="console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$guest" | base64 -w0)"
timeout 600 "$C" run --accel $ACCEL --memory 256M --kernel "$KERNEL" \
	--initrd "$CVISOR_INITRD" --cmdline "$append" --disk "url=$URL" \
	</dev/null >"$T/cvisor.out" 2>&1
# shellcheck disable=SC2086
timeout 600 "$QEMU" -machine q35,$QACCEL -m 256 -kernel "$CVISOR_KERNEL" \
	-initrd "$CVISOR_INITRD" -append "$append" \
	-drive "file=$URL,if=virtio,format=raw,cache=none" \
	-display none -serial stdio -no-reboot -monitor none \
	</dev/null >"$T/qemu.out" 2>&1
read -r _ cr cw < <(tr -d '\r' <"$T/cvisor.out" | grep '^BENCH ' | tail -n1)
read -r _ qr qw < <(tr -d '\r' <"$T/qemu.out" | grep '^BENCH ' | tail -n1)
[[ -n ${cr:-} ]] || { echo "FAIL: iscsi_bench: no result from cvisor"; tail -n 5 "$T/cvisor.out"; exit 1; }
[[ -n ${qr:-} ]] || { echo "FAIL: iscsi_bench: no result from QEMU"; tail -n 5 "$T/qemu.out"; exit 1; }
printf '%-34s QEMU     %7.2fs  cvisor %7.2fs  ratio %5.2f\n' "guest read 128 MiB (1M, direct)" \
	"$qr" "$cr" "$(ratio "$cr" "$qr")"
printf '%-34s QEMU     %7.2fs  cvisor %7.2fs  ratio %5.2f\n' "guest write 128 MiB (1M, direct)" \
	"$qw" "$cw" "$(ratio "$cw" "$qw")"
