#!/usr/bin/env bash
# Image conversion benchmark, cvisor img vs qemu-img in the same run:
# a 1 GiB raw file (half random data, half holes) to qcow2, to compressed
# qcow2 (zlib), to LUKS-encrypted qcow2, and back to raw; qcow2 to VDI,
# VHD and VHDX, VDI and VHDX to qcow2; then random 4 KiB I/O through the qcow2 driver against
# qemu-io, plain and encrypted, and encrypted against plain (target: within
# 1.3x). Prints wall times (best of RUNS=3 for the
# conversions) and cvisor/qemu ratios.
#   usage: bench/img.sh [SIZE_MIB]   (BUILD=build-dir, default build;
#                                     CVISOR=path/to/cvisor to override)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
C=${CVISOR:-$TOP/$BUILD/cvisor}
MIB=${1:-1024}
command -v qemu-img >/dev/null || { echo "qemu-img not installed"; exit 1; }
T=$(mktemp -d /tmp/cvisor-bench-img.XXXXXX)
trap 'rm -rf "$T"' EXIT

# data in every other 4 MiB stretch: half data, half holes
truncate -s "${MIB}M" "$T/src.raw"
for ((i = 0; i < MIB / 4; i += 2)); do
	# half of each data stretch compresses, half does not
	{ head -c 2M /dev/urandom; yes "cvisor benchmark text" | head -c 2M; } |
		dd of="$T/src.raw" bs=1M seek=$((i * 4)) conv=notrunc status=none
done

# Each tool starts without the output file: replacing the other's output
# would make it pay for freeing that file's blocks. Best of RUNS (default
# 3), the tools taking turns, so a busy moment of the host or a cold page
# cache does not decide a row. Beside wall time, CPU time (user + system,
# all threads): on a host shared with other work, wall time is mostly the
# scheduler's share, CPU time what the tool spent. The size is the output
# file's (MiB), as a faster compressor could write a larger file.
RUNS=${RUNS:-3}
minof() { if [[ -z $1 ]] || (($(echo "$2 < $1" | bc))); then echo "$2"; else echo "$1"; fi; }
# sets w (wall) and u (user + system) seconds of one run of the command
timed() {
	local TIMEFORMAT='%R %U %S' tu ts
	{ time "$@" >/dev/null; } 2>"$T/time"
	read -r w tu ts < <(tail -1 "$T/time")
	u=$(echo "$tu + $ts" | bc)
}
row() {
	local name=$1 q="" qc="" c="" cc="" w u qs cs dst=${!#}
	shift 1
	for ((r = 0; r < RUNS; r++)); do
		rm -f "$dst"
		sync
		timed qemu-img "$@"
		q=$(minof "$q" "$w") qc=$(minof "$qc" "$u")
		qs=$(du -m --apparent-size "$dst" | cut -f1)
		rm -f "$dst"
		sync
		timed "$C" img "$@"
		c=$(minof "$c" "$w") cc=$(minof "$cc" "$u")
		cs=$(du -m --apparent-size "$dst" | cut -f1)
	done
	printf '%-24s qemu-img %6.2fs cpu %6.2fs  cvisor %6.2fs cpu %6.2fs  ratio %5.2f cpu %5.2f  MiB %s/%s\n' \
		"$name" "$q" "$qc" "$c" "$cc" "$(echo "$c / $q" | bc -l)" \
		"$(echo "$cc / $qc" | bc -l)" "$qs" "$cs"
}

echo "source: ${MIB} MiB raw, half data, half holes"
row "raw -> qcow2" convert -O qcow2 "$T/src.raw" "$T/a.qcow2"
row "raw -> qcow2 -c (zlib)" convert -c -O qcow2 "$T/src.raw" "$T/c.qcow2"
row "raw -> qcow2 -c (zstd)" convert -c -O qcow2 -o compression_type=zstd \
	"$T/src.raw" "$T/z.qcow2"
row "qcow2 -> raw" convert -O raw "$T/a.qcow2" "$T/b.raw"
row "compressed qcow2 -> raw" convert -O raw "$T/c.qcow2" "$T/d.raw"
row "qcow2 -> vdi" convert -O vdi "$T/a.qcow2" "$T/v.vdi"
row "qcow2 -> vpc (vhd)" convert -O vpc -o force_size=on "$T/a.qcow2" "$T/v.vhd"
row "vdi -> qcow2" convert -O qcow2 "$T/v.vdi" "$T/w.qcow2"
row "qcow2 -> vhdx" convert -O vhdx "$T/a.qcow2" "$T/v.vhdx"
row "vhdx -> qcow2" convert -O qcow2 "$T/v.vhdx" "$T/x.qcow2"
qemu-img compare -q "$T/src.raw" "$T/v.vhdx" && qemu-img check -q "$T/v.vhdx" &&
	echo "vhdx: identical to the source"
qemu-img compare -q "$T/src.raw" "$T/v.vdi" && qemu-img compare -q "$T/src.raw" "$T/v.vhd" &&
	qemu-img check -q "$T/v.vdi" && echo "vdi, vhd: identical to the source"
cmp "$T/src.raw" "$T/d.raw" && echo "round trip: identical"
printf 'sizes: qcow2 %s, zlib %s, zstd %s bytes\n' "$(stat -c %s "$T/a.qcow2")" \
	"$(stat -c %s "$T/c.qcow2")" "$(stat -c %s "$T/z.qcow2")"

# VMDK: OVA import (streamOptimized and sparse to qcow2) and export
qemu-img convert -O vmdk "$T/src.raw" "$T/in.vmdk"
qemu-img convert -O vmdk -o subformat=streamOptimized "$T/src.raw" "$T/in-s.vmdk"
row "vmdk -> qcow2" convert -f vmdk -O qcow2 "$T/in.vmdk" "$T/v.qcow2"
row "vmdk stream -> qcow2" convert -f vmdk -O qcow2 "$T/in-s.vmdk" "$T/v.qcow2"
row "raw -> vmdk" convert -O vmdk "$T/src.raw" "$T/o.vmdk"
qemu-img compare -q "$T/src.raw" "$T/o.vmdk" && qemu-img check -q "$T/o.vmdk" &&
	echo "vmdk: identical to the source"
row "raw -> vmdk stream" convert -O vmdk -o subformat=streamOptimized \
	"$T/src.raw" "$T/o.vmdk"
qemu-img compare -q "$T/src.raw" "$T/o.vmdk" && qemu-img check -q "$T/o.vmdk" &&
	echo "vmdk stream: identical to the source"
rm -f "$T/in.vmdk" "$T/in-s.vmdk" "$T/v.qcow2" "$T/o.vmdk"

# Random 4 KiB I/O through the qcow2 driver: the same command list (half
# writes, half reads, on a 1 GiB image that starts empty) through qemu-io
# and through cvisor's block layer (bench/qcow2_io.c), both with a write-back
# cache and one flush at the end.
command -v qemu-io >/dev/null || { echo "qemu-io not installed: random I/O skipped"; exit 0; }
make -C "$TOP" -s BUILD="$BUILD" "$BUILD/bench/qcow2_io" >/dev/null
OPS=${OPS:-20000}
awk -v n="$OPS" 'BEGIN { srand(42); for (i = 0; i < n; i++)
	printf "%s %d 4k\n", (i % 2 ? "read" : "write"), int(rand() * 262144) * 4096 }' \
	>"$T/ops"
# qemu-io writes 0xcd unless told; cvisor's tool writes 0x5a
sed 's/^write /write -P 0x5a /' "$T/ops" >"$T/ops.qemu"
qemu-img create -q -f qcow2 "$T/q.qcow2" 1G
cp "$T/q.qcow2" "$T/c.qcow2"
s=$(date +%s.%N)
qemu-io -t writeback -f qcow2 "$T/q.qcow2" <"$T/ops.qemu" >/dev/null
q=$(echo "$(date +%s.%N) - $s" | bc)
s=$(date +%s.%N)
"$TOP/$BUILD/bench/qcow2_io" "$T/c.qcow2" <"$T/ops" >/dev/null
c=$(echo "$(date +%s.%N) - $s" | bc)
printf '%-28s qemu-io %7.2fs  cvisor %7.2fs  ratio %5.2f  (%d ops, %.0f vs %.0f IOPS)\n' \
	"random 4k r/w (qcow2)" "$q" "$c" "$(echo "$c / $q" | bc -l)" "$OPS" \
	"$(echo "$OPS / $q" | bc -l)" "$(echo "$OPS / $c" | bc -l)"
qemu-img compare -q "$T/q.qcow2" "$T/c.qcow2" && echo "random I/O: images identical"

# The same with LUKS (aes-256-xts-plain64): qemu-img makes the image,
# both tools run the command list on copies of it with the passphrase.
printf 'bench passphrase\n' >"$T/pass"
SEC="--object secret,id=s0,file=$T/pass"
ENC="encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10"
row "raw -> qcow2 (luks)" convert $SEC -O qcow2 -o "$ENC" "$T/src.raw" "$T/e.qcow2"
rm -f "$T/e.qcow2"
"$C" img convert $SEC -O qcow2 -o "$ENC" "$T/src.raw" "$T/e.qcow2" >/dev/null
row "qcow2 (luks) -> raw" convert $SEC --image-opts -O raw \
	"driver=qcow2,file.filename=$T/e.qcow2,encrypt.key-secret=s0" "$T/f.raw"
cmp "$T/src.raw" "$T/f.raw" && echo "luks round trip: identical"
for _ in 1 2 3 4 5; do
	qemu-img create -q -f qcow2 $SEC -o "$ENC" "$T/qe0.qcow2" 1G 2>/dev/null && break
done
# Best of RUNS, the three taking turns on fresh copies: a busy host or
# the final fdatasync meeting other writers should not decide the ratios.
tsecs() {
	local s
	s=$(date +%s.%N)
	"$@" >/dev/null
	echo "$(date +%s.%N) - $s" | bc
}
# cio VAR IMAGE [KEYFILE] <ops: qcow2_io's wall time (open included, as
# qemu-io's) into VAR and its I/O time alone (without the open, for an
# encrypted image mostly PBKDF2 at unlock) into VAR_io, best of the runs.
cio() {
	local var=$1 s out io
	shift
	s=$(date +%s.%N)
	out=$("$TOP/$BUILD/bench/qcow2_io" "$@")
	printf -v "$var" %s "$(minof "${!var}" "$(echo "$(date +%s.%N) - $s" | bc)")"
	io=$(echo "$out" | awk '{ printf "%.3f", $3 / 1000 }')
	printf -v "${var}_io" %s "$(minof "$(eval echo "\${${var}_io}")" "$io")"
	io=$(echo "$out" | awk '{ printf "%.3f", $6 / 1000 }')
	printf -v "${var}_open" %s "$(minof "$(eval echo "\${${var}_open}")" "$io")"
	io=$(echo "$out" | awk '{ printf "%.3f", $9 / 1000 }')
	printf -v "${var}_cpu" %s "$(minof "$(eval echo "\${${var}_cpu}")" "$io")"
}
qe="" ce="" ce_io="" ce_open="" ce_cpu="" cp_="" cp__io="" cp__open="" cp__cpu=""
for ((r = 0; r < RUNS; r++)); do
	cp "$T/qe0.qcow2" "$T/qe.qcow2"
	cp "$T/qe0.qcow2" "$T/ce.qcow2"
	qemu-img create -q -f qcow2 "$T/cp.qcow2" 1G
	sync
	qe=$(minof "$qe" "$(tsecs qemu-io -t writeback $SEC --image-opts \
		"driver=qcow2,file.filename=$T/qe.qcow2,encrypt.key-secret=s0" \
		<"$T/ops.qemu")")
	cio ce "$T/ce.qcow2" "$T/pass" <"$T/ops"
	cio cp_ "$T/cp.qcow2" <"$T/ops"
done
printf '%-28s qemu-io %7.2fs  cvisor %7.2fs  ratio %5.2f  (%.0f vs %.0f IOPS)\n' \
	"random 4k r/w (luks qcow2)" "$qe" "$ce" "$(echo "$ce / $qe" | bc -l)" \
	"$(echo "$OPS / $qe" | bc -l)" "$(echo "$OPS / $ce" | bc -l)"
printf '%-28s cvisor plain %7.2fs  luks %7.2fs  ratio %5.2f  (target <= 1.30; I/O only, unlock %.2fs)\n' \
	"luks / plain random 4k" "$cp__io" "$ce_io" "$(echo "$ce_io / $cp__io" | bc -l)" \
	"$ce_open"
printf '%-28s cvisor plain %7.2fs  luks %7.2fs  ratio %5.2f  (CPU time of the I/O)\n' \
	"luks / plain random 4k CPU" "$cp__cpu" "$ce_cpu" "$(echo "$ce_cpu / $cp__cpu" | bc -l)"
qemu-img compare -q $SEC --image-opts \
	"driver=qcow2,file.filename=$T/qe.qcow2,encrypt.key-secret=s0" \
	"driver=qcow2,file.filename=$T/ce.qcow2,encrypt.key-secret=s0" &&
	echo "random I/O (luks): images identical"

# Random 4 KiB reads of data (every read decrypts): the source's MIB MiB
# as plain qcow2 and as LUKS qcow2, both made by cvisor from src.raw.
# ten times OPS: a cached 4 KiB read takes microseconds
awk -v n="$((OPS * 10))" -v m="$MIB" 'BEGIN { srand(7); for (i = 0; i < n; i++)
	printf "read %d 4k\n", int(rand() * m * 256) * 4096 }' >"$T/rops"
"$C" img convert -O qcow2 "$T/src.raw" "$T/rp.qcow2" >/dev/null
qr="" cr="" cr_io="" cr_open="" cr_cpu="" pr="" pr_io="" pr_open="" pr_cpu=""
for ((r = 0; r < RUNS; r++)); do
	qr=$(minof "$qr" "$(tsecs qemu-io -t writeback $SEC --image-opts \
		"driver=qcow2,file.filename=$T/e.qcow2,encrypt.key-secret=s0" \
		<"$T/rops")")
	cio cr "$T/e.qcow2" "$T/pass" <"$T/rops"
	cio pr "$T/rp.qcow2" <"$T/rops"
done
printf '%-28s qemu-io %7.2fs  cvisor %7.2fs  ratio %5.2f\n' \
	"random 4k read (luks data)" "$qr" "$cr" "$(echo "$cr / $qr" | bc -l)"
printf '%-28s cvisor plain %7.2fs  luks %7.2fs  ratio %5.2f  (target <= 1.30; I/O only, unlock %.2fs)\n' \
	"luks / plain 4k read" "$pr_io" "$cr_io" "$(echo "$cr_io / $pr_io" | bc -l)" \
	"$cr_open"
printf '%-28s cvisor plain %7.2fs  luks %7.2fs  ratio %5.2f  (CPU time of the I/O)\n' \
	"luks / plain 4k read CPU" "$pr_cpu" "$cr_cpu" "$(echo "$cr_cpu / $pr_cpu" | bc -l)"
