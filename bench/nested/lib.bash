# shellcheck shell=bash
# Sourced by the benchmark cases bench/nested.sh runs inside the Bochs host
# (on tests/nested/lib.sh, which they source first): the same guest under
# cvisor and under QEMU, both on the host's kvm_intel, timed with the
# host's clock. Bochs runs with clock sync=none, so its seconds are
# emulated ones: only the ratios mean anything.

RUNS=${NESTED_BENCH_RUNS:-3}
QEMU=/usr/bin/qemu-system-x86_64

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

# ratio A B: A/B with two decimals, "-" if either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"
		else printf "%.2f", a / b }'
}

# cvisor_cmd MEM_MIB [more args]: the cvisor command line, to be split.
cvisor_cmd() {
	local mem=$1
	shift
	echo "$CVISOR" run --accel kvm --kernel "$LINUX_KERNEL" \
		--initrd "$CVISOR_INITRD" --memory "${mem}M" --cpus 1 "$@"
}

# guest_cmdline SCRIPT: the kernel command line that runs SCRIPT and
# powers off.
guest_cmdline() {
	echo "console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$1" | base64 -w0)"
}

# timed OUT CMD...: runs CMD with its console in OUT; sets T_UP (ms to the
# guest's "userspace up" line), T_END (ms to the VMM's exit) and T_RC. A
# reader blocked on a FIFO stamps the line, so nothing polls the Bochs
# CPU the guest needs.
timed() {
	local out=$1 t0 pid reader
	shift
	rm -f "$TMP/fifo" "$TMP/up"
	mkfifo "$TMP/fifo"
	(
		while IFS= read -r line; do
			printf '%s\n' "$line" >>"$out"
			if [[ ! -e $TMP/up && $line == *"cvisor-guest: userspace up"* ]]; then
				now_ms >"$TMP/up"
			fi
		done <"$TMP/fifo"
	) &
	reader=$!
	: >"$out"
	t0=$(now_ms)
	timeout -k 5 600 "$@" </dev/null >"$TMP/fifo" 2>&1 &
	pid=$!
	wait "$pid"
	T_RC=$?
	T_END=$(($(now_ms) - t0))
	wait "$reader"
	T_UP=-
	[[ -e $TMP/up ]] && T_UP=$(($(cat "$TMP/up") - t0))
}
