#!/usr/bin/env bash
# virtio-blk: fio inside the test guest, cvisor against QEMU in the same run,
# on the same fully allocated raw image with cache=none (QEMU: aio=io_uring),
# and fio on the host file as the ceiling. Prints IOPS and MiB/s per job and
# the ratios cvisor/QEMU and cvisor/host (higher is better for cvisor).
#
# Jobs: 4k randread, 4k randwrite, 1M sequential read, all at iodepth 32.
# The guest is the test kernel + busybox initramfs from `make assets`. fio
# and its libraries travel on a second, read-only disk (an ext4 image made
# with mkfs.ext4 -d; cheaper than unpacking ~80 MB of initramfs), run
# through the dynamic loader with a small SysV-shm shim preloaded: the test
# kernel has no CONFIG_SYSVIPC, and fio --thread only needs the memory. If
# fio cannot run in the guest, the guest measures with dd O_DIRECT instead
# (queue depth 1) and the output says so.
#
# With hardware KVM both VMMs use it. Without (e.g. kvm_pvm hosts) the run
# compares cvisor's emulator against QEMU TCG: the numbers then measure the
# emulators more than virtio-blk, and the output says so. It skips cleanly
# when nothing can boot Linux.
#
# Usage: bench/blk.sh [build dir]     BENCH_RUNTIME=seconds per job (10)
#        BENCH_ACCEL=kvm|emu          force the accelerator
#        BENCH_SIZE=MiB               image size (1024)
set -u
. "$(dirname "$0")/lib.sh"
bench_init blk_bench "${1:-}"
RUNTIME=${BENCH_RUNTIME:-10}
SIZE=${BENCH_SIZE:-1024}
JOBS="randread:4k:32 randwrite:4k:32 read:1m:32"

bench_assets
command -v "$QEMU" >/dev/null || skip "no $QEMU"
command -v cpio >/dev/null || skip "no cpio"

ACCEL=${BENCH_ACCEL:-}
if [[ -z $ACCEL ]]; then
	if hw_kvm; then
		ACCEL=kvm
	elif timeout 20 "$CVISOR" run --accel emu --test-exit --memory 64M \
		--kernel "$BUILD/guests/hello.elf" </dev/null >/dev/null 2>&1; then
		ACCEL=emu
	else
		skip "no hardware KVM and cvisor's emulator cannot run here"
	fi
fi
if [[ $ACCEL == kvm ]]; then
	hw_kvm || skip "no hardware KVM on this host"
	QEMU_ACCEL="accel=kvm -cpu host"
	KERNEL=$CVISOR_KERNEL
else
	echo "note: no hardware KVM: cvisor --accel emu against QEMU TCG;" \
		"these numbers compare emulators, not virtio-blk"
	QEMU_ACCEL="accel=tcg"
	# the ELF vmlinux boots twice as fast under emu
	KERNEL=${CVISOR_VMLINUX:-$CVISOR_KERNEL}
fi

TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/cvisor-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# fio, its libraries and the shm shim on an ext4 "tools" disk.
FIO_DIRS=
if command -v fio >/dev/null && command -v mkfs.ext4 >/dev/null &&
	command -v cc >/dev/null; then
	mkdir -p "$TMP/tools/usr/bin"
	cp -L "$(command -v fio)" "$TMP/tools/usr/bin/fio"
	ldd "$(command -v fio)" | awk '/=> \//{print $3} /^\t\/.*ld-linux/{print $1}' |
	while read -r lib; do
		mkdir -p "$TMP/tools$(dirname "$lib")"
		cp -L "$lib" "$TMP/tools$lib"
	done
	FIO_DIRS=$(ldd "$(command -v fio)" | awk '/=> \//{print $3}' |
		xargs -n1 dirname | sort -u | sed 's|^|/t|' | paste -sd:)
	cat >"$TMP/shm.c" <<'EOF'
/* SysV shm over anonymous mmap: fio --thread is one process. */
#include <stddef.h>
#include <sys/mman.h>
#include <sys/shm.h>

#define NSEG 64
static size_t seg_size[NSEG];
static void *seg_addr[NSEG];

int shmget(key_t key, size_t size, int flags)
{
	for (int i = 0; i < NSEG; i++)
		if (!seg_size[i]) {
			seg_size[i] = size;
			return i;
		}
	return -1;
}

void *shmat(int id, const void *addr, int flags)
{
	if (id < 0 || id >= NSEG || !seg_size[id])
		return (void *)-1;
	if (!seg_addr[id]) {
		void *p = mmap(NULL, seg_size[id], PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return (void *)-1;
		seg_addr[id] = p;
	}
	return seg_addr[id];
}

int shmdt(const void *addr)
{
	return 0;
}

int shmctl(int id, int cmd, struct shmid_ds *buf)
{
	return 0;
}
EOF
	cc -shared -fPIC -O2 -o "$TMP/tools/shm.so" "$TMP/shm.c" &&
		truncate -s 256M "$TMP/tools.img" &&
		mkfs.ext4 -q -F -d "$TMP/tools" "$TMP/tools.img" || FIO_DIRS=
	rm -rf "$TMP/tools"
fi
[[ -n $FIO_DIRS ]] || {
	echo "note: no fio tools disk (needs fio, mkfs.ext4, cc on the host)"
	truncate -s 1M "$TMP/tools.img"
}

# The guest: fio per job, or dd O_DIRECT when fio does not run.
# Output lines: "BENCH <job> <IOPS> <KiB/s> <fio|dd>".
cat >"$TMP/bench.sh" <<EOF
jobs="$JOBS"
L=$FIO_DIRS
fio_ok=0
if [ -n "\$L" ] && mkdir -p /t && mount -t ext4 -o ro /dev/vdb /t; then
	/t/lib64/ld-linux-x86-64.so.2 --library-path \$L --preload /t/shm.so \\
		/t/usr/bin/fio --version && fio_ok=1
fi
now() { cut -d' ' -f1 /proc/uptime; }
for j in \$jobs; do
	set -- \$(echo \$j | tr : ' ')
	if [ \$fio_ok = 1 ]; then
		/t/lib64/ld-linux-x86-64.so.2 --library-path \$L --preload /t/shm.so \\
			/t/usr/bin/fio --name=\$1 --thread --filename=/dev/vda \\
			--direct=1 --ioengine=libaio --rw=\$1 --bs=\$2 --iodepth=\$3 \\
			--runtime=$RUNTIME --time_based --ramp_time=1 --minimal >/tmp/r &&
		awk -F';' -v n=\$1 '{ printf "BENCH %s %d %d fio\\n", n, \$8 + \$49, \$7 + \$48 }' /tmp/r &&
		continue
		echo "fio failed for \$1: \$(tail -c 300 /tmp/r)"
	fi
	# dd: queue depth 1, fixed amount of data, timed with /proc/uptime
	case \$1 in
	randread) a="if=/dev/vda of=/dev/null bs=4k count=4096 iflag=direct" ;;
	randwrite) a="if=/dev/zero of=/dev/vda bs=4k count=4096 oflag=direct" ;;
	*) a="if=/dev/vda of=/dev/null bs=1M count=256 iflag=direct" ;;
	esac
	t0=\$(now)
	dd \$a 2>/dev/null || { echo "dd failed for \$1"; continue; }
	t1=\$(now)
	awk -v n=\$1 -v a="\$a" -v t0=\$t0 -v t1=\$t1 'BEGIN {
		split(a, w, /[ =]/); bs = w[6] == "4k" ? 4096 : 1048576; c = w[8]
		t = t1 - t0; if (t <= 0) t = 0.01
		printf "BENCH %s %d %d dd\\n", n, c / t, c * bs / 1024 / t }'
done
EOF
mkdir -p "$TMP/ov"
cp "$TMP/bench.sh" "$TMP/ov/bench.sh"
(cd "$TMP/ov" && echo bench.sh | cpio -o -H newc 2>/dev/null | gzip -1) >"$TMP/ov.cpio.gz"
cat "$CVISOR_INITRD" "$TMP/ov.cpio.gz" >"$TMP/initrd"
append='console=ttyS0 quiet panic=-1 cvisor.test="sh /bench.sh"'

# A fully allocated image on a real file system (O_DIRECT needs one).
IMG=$TMP/disk.img
dd if=/dev/zero of="$IMG" bs=1M count="$SIZE" conv=fsync status=none ||
	skip "cannot write a $SIZE MiB image in $TMP"
limit=$((RUNTIME * 3 * 4 + ${BENCH_BOOT_LIMIT:-300}))

run_cvisor() {
	timeout "$limit" "$CVISOR" run --accel "$ACCEL" --memory 1G --cpus 2 \
		--kernel "$KERNEL" --initrd "$TMP/initrd" --cmdline "$append" \
		--disk "path=$IMG,cache=none" --disk "path=$TMP/tools.img,readonly=on" \
		</dev/null >"$TMP/cvisor.out" 2>&1
}

run_qemu() {
	# shellcheck disable=SC2086
	timeout "$limit" "$QEMU" -machine q35,$QEMU_ACCEL -m 1G -smp 2 \
		-kernel "$CVISOR_KERNEL" -initrd "$TMP/initrd" -append "$append" \
		-drive "file=$IMG,if=virtio,format=raw,cache=none,aio=io_uring" \
		-drive "file=$TMP/tools.img,if=virtio,format=raw,readonly=on" \
		-display none -serial stdio -no-reboot -monitor none \
		</dev/null >"$TMP/qemu.out" 2>&1
}

# The ceiling: the same jobs on the host file.
run_host() {
	local j name bs qd
	: >"$TMP/host.out"
	command -v fio >/dev/null || return 0
	for j in $JOBS; do
		IFS=: read -r name bs qd <<<"$j"
		fio --name="$name" --filename="$IMG" --direct=1 --ioengine=io_uring \
			--rw="$name" --bs="$bs" --iodepth="$qd" --runtime="$RUNTIME" \
			--time_based --ramp_time=1 --minimal 2>/dev/null |
			awk -F';' -v n="$name" '{ printf "BENCH %s %d %d fio\n", n, $8 + $49, $7 + $48 }' \
			>>"$TMP/host.out"
	done
}

run_cvisor
run_qemu
run_host
for out in cvisor qemu; do
	grep -q '^BENCH ' <(tr -d '\r' <"$TMP/$out.out") ||
		{ echo "FAIL: blk_bench: no results from $out:"; tail -n 20 "$TMP/$out.out"; exit 1; }
done

# field OUT JOB N: field N of the job's BENCH line
field() {
	tr -d '\r' <"$TMP/$1.out" | awk -v n="$2" -v f="$3" '$1 == "BENCH" && $2 == n { print $f }' | tail -n1
}
ratio() {
	awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'
}
echo "accelerator: $ACCEL; image ${SIZE} MiB raw, cache=none; ${RUNTIME}s per job"
printf '%-10s %-6s %10s %10s %10s %9s %9s %10s\n' job method cvisor qemu host c/qemu c/host unit
for j in $JOBS; do
	name=${j%%:*}
	method=$(field cvisor "$name" 5)
	if [[ $name == read ]]; then
		f=4 unit=KiB/s
	else
		f=3 unit=IOPS
	fi
	c=$(field cvisor "$name" $f) q=$(field qemu "$name" $f) h=$(field host "$name" $f)
	[[ $method == "$(field qemu "$name" 5)" ]] || q=
	printf '%-10s %-6s %10s %10s %10s %9s %9s %10s\n' "$name" "${method:-none}" \
		"${c:-none}" "${q:-none}" "${h:-none}" "$(ratio "$c" "$q")" \
		"$(ratio "$c" "$h")" "$unit"
done
grep -q ' dd$' <(tr -d '\r' <"$TMP/cvisor.out") &&
	echo "note: fio did not run in the guest; sequential dd O_DIRECT at queue depth 1 instead"
grep -h 'fio failed' "$TMP/cvisor.out" "$TMP/qemu.out" | head -n 3
echo "PASS: blk_bench"
