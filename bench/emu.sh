#!/usr/bin/env bash
# The software CPU (cvisor --accel emu) against QEMU TCG in one run, on the
# same kernel, initramfs and command line, BENCH_RUNS runs each (default
# 3); prints the median of each column and the ratio cvisor/QEMU (lower is
# better for cvisor; 1.0 is parity).
#
# The project's test kernel (bzImage, and the ELF vmlinux, which both boot
# through its PVH note) with the suite's initramfs:
#   boot     start to the initramfs's "userspace up" line
#   loop     a CPU-bound busybox loop (seq | md5sum, an awk float loop)
# Debian's stock kernel (CVISOR_DEBIAN_KERNEL: an xz-compressed bzImage,
# crypto self-tests and all) with the suite's initramfs plus its modules
# (CVISOR_DEBIAN_INITRD), then busybox userland in that guest, each timed
# between marker lines:
#   boot     start to "userspace up"
#   shell    a 50,000-step busybox sh arithmetic loop
#   md5      seq 1 200000 | md5sum
#   gzip     gzip of 64 MiB (of zeros, read from /dev/zero)
#   sha256   sha256sum of 16 MiB
#   idle     host CPU seconds the VMM burns while the guest sleeps
#            BENCH_IDLE seconds (default 10)
#   vmm MiB  the VMM's peak resident memory beyond the guest's RAM
#            mapping, sampled every second (target for emu: under 16)
# Marker lines are stamped on the host as they arrive, read straight from
# the VM (a filter in between would buffer them).
#
# Usage: bench/emu.sh [build dir]      BENCH_RUNS=n  BENCH_IDLE=s
#        BENCH_DEBIAN=0 skips the Debian rows, BENCH_SMALL=0 the others
#        BENCH_BASE=path/to/cvisor adds that binary's column (before and
#        after a change, under the same load), ratio to QEMU too
#        BENCH_CPU=1 gives boot and each workload as host CPU seconds of
#        the VMM (all its threads) instead of wall-clock seconds: on a
#        host loaded by other work, wall-clock times swing 2x and more
set -u
. "$(dirname "$0")/lib.sh"
bench_init emu_bench "${1:-}"
RUNS=${BENCH_RUNS:-3}
IDLE=${BENCH_IDLE:-10}
MEM=256
LIMIT=${LIMIT:-900}

bench_assets
. "$(dirname "$0")/rss.sh"
command -v "$QEMU" >/dev/null || skip "no $QEMU"

# Each step of a workload prints "cvisor-bench: begin NAME" and
# "cvisor-bench: end NAME" around itself.
step() {
	printf 'echo "cvisor-bench: begin %s"; %s; echo "cvisor-bench: end %s"; ' \
		"$1" "$2" "$1"
}
SMALL_CMD=$(step loop 'seq 1 300000 | md5sum; awk "BEGIN { for (i = 0; i < 300000; i++) s += i * 0.5; print s }"')
DEB_CMD=$(step shell 'i=0; while [ $i -lt 50000 ]; do i=$((i + 1)); done; echo $i'
	step md5 'seq 1 200000 | md5sum'
	step gzip 'head -c 67108864 /dev/zero | gzip -c | wc -c'
	step sha256 'head -c 16777216 /dev/zero | sha256sum'
	step idle "sleep $IDLE")
SMALL_COLS="boot loop"
DEB_COLS="boot shell md5 gzip sha256 idle vmm"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
TICK=$(getconf CLK_TCK)

# CPU time of PID in clock ticks (user + system, all threads), or "-";
# builtins only: a fork may fail on a loaded host
cpu_ticks() {
	local f
	read -r f 2>/dev/null <"/proc/$1/stat" || { echo -; return; }
	f=${f##*) }
	read -r -a a <<<"$f"
	echo $((a[11] + a[12]))
}

# run_vm COLS CMD...: one run of a VM that powers off (CMD execs it, so
# that its PID is the VM's); prints the values
# of the columns COLS (one word of seconds each, "vmm" in MiB) or "fail".
run_vm() {
	local cols=$1 start vm reader own=0 total rc deadline
	shift
	rm -f "$TMP/fifo" "$TMP/marks" "$TMP/pid"
	mkfifo "$TMP/fifo"
	# The reader stamps each marker line with the time and the VM's
	# CPU time so far.
	(
		while IFS= read -r line; do
			case $line in
			*"cvisor-guest: userspace up"*)
				echo "up $EPOCHREALTIME $(cpu_ticks "$(<"$TMP/pid")")" ;;
			*"cvisor-bench: begin "* | *"cvisor-bench: end "*)
				line=${line#*cvisor-bench: }
				line=${line%%[[:space:]]*}_${line#* }
				echo "${line%%[[:space:]]*} $EPOCHREALTIME $(cpu_ticks "$(<"$TMP/pid")")" ;;
			*"cvisor-guest: result 0"*) echo "done $EPOCHREALTIME 0" ;;
			esac
		done <"$TMP/fifo" >"$TMP/marks"
	) &
	reader=$!
	start=$EPOCHREALTIME
	"$@" </dev/null >"$TMP/fifo" 2>&1 &
	vm=$!
	echo "$vm" >"$TMP/pid"
	deadline=$((SECONDS + LIMIT))
	while kill -0 "$vm" 2>/dev/null && ((SECONDS < deadline)); do
		total=$(own_rss "$vm")
		if [[ -n $total ]] && ((total > own)); then own=$total; fi
		sleep 1
	done
	if kill -0 "$vm" 2>/dev/null; then
		kill -KILL "$vm"
		wait "$vm" 2>/dev/null
		wait "$reader"
		echo fail
		return
	fi
	wait "$vm"
	rc=$?
	wait "$reader"
	grep -q '^done ' "$TMP/marks" || { echo fail; return; }
	((rc == 0)) || { echo fail; return; }
	awk -v start="$start" -v cols="$cols" -v own="$own" -v tick="$TICK" \
		-v cpu="${BENCH_CPU:-0}" '
		{ t[$1] = $2; c[$1] = $3 }
		END {
			n = split(cols, col, " ")
			for (i = 1; i <= n; i++) {
				k = col[i]
				if (k == "boot" && cpu == 1)
					v = (c["up"] != "" && c["up"] != "-") ? sprintf("%.2f", c["up"] / tick) : "-"
				else if (k == "boot")
					v = ("up" in t) ? sprintf("%.2f", t["up"] - start) : "-"
				else if (k == "vmm")
					v = sprintf("%.1f", own / 1024)
				else if (k == "idle")
					v = (c["end_" k] != "-" && c["begin_" k] != "-" && \
					     c["end_" k] >= c["begin_" k]) ? \
					    sprintf("%.2f", (c["end_" k] - c["begin_" k]) / tick) : "-"
				else if (cpu == 1)
					v = (c["end_" k] != "" && c["end_" k] != "-" && c["begin_" k] != "-") ? \
					    sprintf("%.2f", (c["end_" k] - c["begin_" k]) / tick) : "-"
				else
					v = ("end_" k in t) ? sprintf("%.2f", t["end_" k] - t["begin_" k]) : "-"
				printf "%s%s", v, (i < n ? " " : "\n")
			}
		}' "$TMP/marks"
}

# median: of each column of the rows on standard input
median() {
	awk '
		{ for (i = 1; i <= NF; i++) v[i, NR] = $i; nf = NF }
		END {
			for (i = 1; i <= nf; i++) {
				m = 0	# the values that are there ("-": none)
				for (j = 1; j <= NR; j++)
					if (v[i, j] != "-")
						a[++m] = v[i, j]
				# insertion sort, NR is small
				for (j = 2; j <= m; j++) {
					x = a[j]
					for (k = j - 1; k >= 1 && a[k] + 0 > x + 0; k--)
						a[k + 1] = a[k]
					a[k + 1] = x
				}
				printf "%s%s", (m ? a[int((m + 1) / 2)] : "-"), (i < nf ? " " : "\n")
			}
		}'
}

# bench COLS NAME CMD NAME CMD ...: RUNS rounds, each running every
# NAME's CMD once in turn (so that a load that changes meanwhile hits all
# of them alike); sets R[NAME] to the medians of the columns (or "fail")
# and prints each run. A CMD is one word, run with the arguments in ARGS.
declare -A R
bench() {
	local cols=$1 r name
	declare -A raw=()
	shift
	for ((i = 0; i < RUNS; i++)); do
		set -- "${SPEC[@]}"
		while (($#)); do
			name=$1
			if [[ ${raw[$name]:-} != fail ]]; then
				r=$(run_vm "$cols" "$2" "${ARGS[@]}")
				echo "  run $((i + 1)) $name: $r" >&2
				if [[ $r == fail ]]; then
					raw[$name]=fail
				else
					raw[$name]+="$r"$'\n'
				fi
			fi
			shift 2
		done
	done
	set -- "${SPEC[@]}"
	while (($#)); do
		if [[ ${raw[$1]:-fail} == fail ]]; then
			R[$1]=fail
		else
			R[$1]=$(printf %s "${raw[$1]}" | median)
		fi
		shift 2
	done
}

emu() {
	local kernel=$1 initrd=$2 cmd=$3
	exec "$CVISOR" run --accel emu --cpus 1 --memory ${MEM}M --kernel "$kernel" \
		--initrd "$initrd" \
		--cmdline "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)"
}

# The same with the cvisor binary BENCH_BASE (say, a build of main)
base() {
	CVISOR=$BENCH_BASE emu "$@"
}

qemu() {
	local kernel=$1 initrd=$2 cmd=$3
	exec "$QEMU" -accel tcg -M q35 -m ${MEM}M -smp 1 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$cmd" | base64 -w0)"
}

# table TITLE COLS PREFIX: the rows of PREFIX-emu, PREFIX-qemu and,
# with BENCH_BASE, PREFIX-base
table() {
	local cols=$2 e=${R[$3-emu]:-fail} q=${R[$3-qemu]:-fail}
	local b=${R[$3-base]:-} unit=seconds

	[[ ${BENCH_CPU:-0} == 1 ]] && unit="host CPU seconds"
	echo
	echo "$1 (median of $RUNS; $unit, vmm in MiB)"
	awk -v cols="$cols" -v e="$e" -v q="$q" -v b="$b" 'BEGIN {
		n = split(cols, c, " "); split(e, ev, " "); split(q, qv, " ")
		split(b, bv, " ")
		printf "  %-8s %10s %10s %8s", "", "cvisor", "qemu tcg", "ratio"
		if (b != "")
			printf " %10s %8s", "base", "ratio"
		printf "\n"
		for (i = 1; i <= n; i++) {
			x = (e == "fail") ? "fail" : ev[i]
			y = (q == "fail") ? "fail" : qv[i]
			r = (x + 0 > 0 && y + 0 > 0) ? sprintf("%.2f", x / y) : "-"
			printf "  %-8s %10s %10s %8s", c[i], x, y, r
			if (b != "") {
				z = (b == "fail") ? "fail" : bv[i]
				r = (z + 0 > 0 && y + 0 > 0) ? sprintf("%.2f", z / y) : "-"
				printf " %10s %8s", z, r
			}
			printf "\n"
		}
	}'
}

echo "emu benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cvisor $CVISOR; $($QEMU --version | head -1)"
[[ -z ${BENCH_BASE:-} ]] || echo "base: $BENCH_BASE (its column is run in the same rounds)"

# The VMs to compare: name and function pairs
SPEC=(qemu qemu emu emu)
[[ -z ${BENCH_BASE:-} ]] || SPEC+=(base base)

if [[ ${BENCH_SMALL:-1} != 0 ]]; then
	for form in bzImage vmlinux; do
		k=$CVISOR_KERNEL
		[[ $form == vmlinux ]] && k=${CVISOR_VMLINUX:-}
		[[ -r $k ]] || continue
		ARGS=("$k" "$CVISOR_INITRD" "$SMALL_CMD")
		SPEC2=("${SPEC[@]}")
		SPEC=()
		for ((j = 0; j < ${#SPEC2[@]}; j += 2)); do
			SPEC+=("$form-${SPEC2[j]}" "${SPEC2[j + 1]}")
		done
		bench "$SMALL_COLS"
		SPEC=("${SPEC2[@]}")
		table "test kernel ($form)" "$SMALL_COLS" "$form"
	done
fi

if [[ ${BENCH_DEBIAN:-1} != 0 ]]; then
	if [[ -r ${CVISOR_DEBIAN_KERNEL:-} && -r ${CVISOR_DEBIAN_INITRD:-} ]]; then
		ARGS=("$CVISOR_DEBIAN_KERNEL" "$CVISOR_DEBIAN_INITRD" "$DEB_CMD")
		SPEC2=("${SPEC[@]}")
		SPEC=()
		for ((j = 0; j < ${#SPEC2[@]}; j += 2)); do
			SPEC+=("debian-${SPEC2[j]}" "${SPEC2[j + 1]}")
		done
		bench "$DEB_COLS"
		SPEC=("${SPEC2[@]}")
		table "Debian's kernel ($(basename "$(dirname "$CVISOR_DEBIAN_KERNEL")")) and busybox userland" \
			"$DEB_COLS" debian
	else
		echo "SKIP: emu_bench: Debian rows: no CVISOR_DEBIAN_KERNEL (make-assets.sh --debian)"
	fi
fi
