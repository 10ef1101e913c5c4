#!/usr/bin/env bash
# Snapshot benchmark: the same kernel + initramfs under cvisor and QEMU,
# booted to a guest that prints "beat N" every 20 ms after touching some
# memory. Each VMM saves the running guest to a file and ends (cvisor
# snapshot --stop; QEMU's migrate "exec:cat > FILE"), then restores it
# (cvisor run --restore; QEMU -incoming "exec:cat FILE"; QEMU migrates the
# running guest, since a guest saved stopped stays stopped). Prints per VMM
# the median time to save, the bytes the saved state takes on disk, and the
# time from exec to the restored guest's next beat, with cvisor/QEMU ratios.
#
#   bench/snapshot.sh [runs]      (environment: CVISOR, CVISOR_ASSETS, QEMU)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
CVISOR=${CVISOR:-$TOP/build/cvisor}
QEMU=${QEMU:-qemu-system-x86_64}
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
RUNS=${1:-3}
MEM=256
TOUCH=64	# MiB of guest memory the guest fills before beating
TMP=$(mktemp -d)
export CVISOR_RUNTIME_DIR=$TMP/run
VMPID=
trap '[[ -n $VMPID ]] && kill -KILL $VMPID 2>/dev/null; rm -rf "$TMP"' EXIT

[[ -r $ASSETS/env ]] || { echo "no guest assets: run 'make assets'"; exit 1; }
. "$ASSETS/env"
command -v "$QEMU" >/dev/null || { echo "no $QEMU"; exit 1; }
command -v socat >/dev/null || { echo "needs socat (apt-get install socat)"; exit 1; }
CMD=$(printf %s "dd if=/dev/urandom of=/touched bs=1M count=$TOUCH 2>/dev/null; i=0; while :; do i=\$((i+1)); echo beat \$i; sleep 0.02; done" | base64 -w0)
APPEND="console=ttyS0 panic=-1 quiet cvisor.test64=$CMD"
if [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
	CV_ACCEL=kvm QEMU_ACCEL=kvm
else
	CV_ACCEL=emu QEMU_ACCEL=tcg
fi
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }

# wait_for FILE PATTERN SECONDS
wait_for() {
	local end=$(($(date +%s) + $3))
	while (($(date +%s) < end)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

# beats FILE: how many beat lines so far
beats() { grep -c '^beat' "$1" 2>/dev/null; }

# Prints "save_ms size_kib restore_ms" or "fail".
cvisor_one() {
	local d=$TMP/cv t0 t1 t2 n
	rm -rf "$d" "$TMP/cv.out" "$TMP/cv2.out"
	"$CVISOR" run --name bench-snap --accel "$CV_ACCEL" --memory ${MEM}M \
		--kernel "${CVISOR_VMLINUX:-$CVISOR_KERNEL}" --initrd "$CVISOR_INITRD" \
		--cmdline "$APPEND" </dev/null >"$TMP/cv.out" 2>&1 &
	VMPID=$!
	wait_for "$TMP/cv.out" '^beat 5' 300 || { kill -KILL $VMPID; echo fail; return; }
	t0=$(now)
	"$CVISOR" snapshot bench-snap "$d" --stop >/dev/null 2>&1 || { echo fail; return; }
	wait $VMPID
	t1=$(now)
	VMPID=
	"$CVISOR" run --restore "$d" --name bench-snap2 </dev/null >"$TMP/cv2.out" 2>&1 &
	VMPID=$!
	t2=$(now)
	wait_for "$TMP/cv2.out" '^beat' 120 || { kill -KILL $VMPID; echo fail; return; }
	n=$(now)
	kill -KILL $VMPID 2>/dev/null
	wait $VMPID 2>/dev/null
	VMPID=
	echo "$(ms $t0 $t1) $(du -sk "$d" | cut -f1) $(ms $t2 $n)"
}

qemu_cmd() {
	"$QEMU" -accel "$QEMU_ACCEL" -M q35 -m $MEM -nodefaults -no-user-config \
		-display none -serial "file:$1" -monitor "unix:$2,server,nowait" \
		-kernel "$CVISOR_KERNEL" -initrd "$CVISOR_INITRD" -append "$APPEND" "${@:3}"
}

hmp() { printf '%s\n' "$2" | socat - "UNIX-CONNECT:$1" 2>/dev/null; }

qemu_one() {
	local f=$TMP/qemu.state t0 t1 t2 n
	rm -f "$f" "$TMP/q.out" "$TMP/q2.out" "$TMP/q.mon" "$TMP/q2.mon"
	qemu_cmd "$TMP/q.out" "$TMP/q.mon" </dev/null >/dev/null 2>&1 &
	VMPID=$!
	wait_for "$TMP/q.out" '^beat 5' 300 || { kill -KILL $VMPID; echo fail; return; }
	t0=$(now)
	hmp "$TMP/q.mon" "migrate \"exec:cat > $f\"" >/dev/null
	for _ in $(seq 6000); do
		hmp "$TMP/q.mon" "info migrate" | grep -q 'Migration status: completed' && break
		sleep 0.02
	done
	t1=$(now)
	hmp "$TMP/q.mon" "quit" >/dev/null
	wait $VMPID 2>/dev/null
	VMPID=
	qemu_cmd "$TMP/q2.out" "$TMP/q2.mon" -incoming "exec:cat $f" \
		</dev/null >/dev/null 2>&1 &
	VMPID=$!
	t2=$(now)
	wait_for "$TMP/q2.out" '^beat' 120 || { kill -KILL $VMPID; echo fail; return; }
	n=$(now)
	kill -KILL $VMPID 2>/dev/null
	wait $VMPID 2>/dev/null
	VMPID=
	echo "$(ms $t0 $t1) $(du -sk "$f" | cut -f1) $(ms $t2 $n)"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "-" }'; }

echo "snapshot benchmark: ${MEM} MiB guest that touched ${TOUCH} MiB, $RUNS runs, cvisor $CV_ACCEL vs QEMU q35 $QEMU_ACCEL"
for vmm in cvisor qemu; do
	: >"$TMP/$vmm.res"
	for _ in $(seq "$RUNS"); do
		r=$(${vmm}_one)
		[[ $r == fail ]] && { echo "$vmm: a run failed"; continue; }
		echo "$r" >>"$TMP/$vmm.res"
	done
done
for col in 1 2 3; do
	for vmm in cvisor qemu; do
		eval "${vmm}_$col=\$(cut -d' ' -f$col \"$TMP/$vmm.res\" | median)"
	done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "-") printf "%.2f", a / b; else print "-" }'; }
printf '%-22s %10s %10s %8s\n' "" cvisor qemu ratio
printf '%-22s %10s %10s %8s\n' "save (ms)" "$cvisor_1" "$qemu_1" "$(ratio "$cvisor_1" "$qemu_1")"
printf '%-22s %10s %10s %8s\n' "size on disk (KiB)" "$cvisor_2" "$qemu_2" "$(ratio "$cvisor_2" "$qemu_2")"
printf '%-22s %10s %10s %8s\n' "restore to beat (ms)" "$cvisor_3" "$qemu_3" "$(ratio "$cvisor_3" "$qemu_3")"
