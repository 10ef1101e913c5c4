#!/usr/bin/env bash
# The emu VMM's own resident memory (bench/rss.sh's own_rss: every page
# outside guest RAM, libraries included; bench/emu.sh's vmm row) over a
# Debian boot and a short workload, peak of samples every half second,
# median of BENCH_RUNS runs (default 3), for:
#   cvisor   the build's binary
#   linked   the same binary with libvncserver and libiscsi loaded at
#            start (LD_PRELOAD), as when they were linked: what opening
#            them only for --vnc or an iSCSI disk saves (src/vmm/dynlib.h)
#   base     BENCH_BASE=path/to/cvisor, if given (say, a build of main)
# and, from the peak sample's smaps of the last run, the KiB resident in
# the libraries only VNC and iSCSI need, in all and (linked) each.
#
# Usage: bench/emu_rss.sh [build dir]      BENCH_RUNS=n  BENCH_BASE=...
set -u
. "$(dirname "$0")/lib.sh"
bench_init emu_rss "${1:-}"
RUNS=${BENCH_RUNS:-3}
MEM=256
LIMIT=${LIMIT:-900}

bench_assets
. "$(dirname "$0")/rss.sh"
[[ -r ${CVISOR_DEBIAN_KERNEL:-} && -r ${CVISOR_DEBIAN_INITRD:-} ]] ||
	skip "no Debian kernel in the assets (make assets)"
libpath() { ldconfig -p | sed -n "s/.*$1 .*=> //p" | head -n1; }
PRELOAD="$(libpath 'libvncserver\.so\.1'):$(libpath 'libiscsi\.so\.7')"
LIBS='libvncserver|libgnutls|libp11-kit|libnettle|libhogweed|libgmp|libtasn1|libunistring|libidn2|libffi|libgcrypt|libgpg-error|libjpeg|liblzo2|libiscsi|libibverbs|librdmacm|libnl-3|libnl-route-3'

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CMD='seq 1 200000 | md5sum; sleep 2'
CMDLINE="console=ttyS0 panic=-1 quiet cvisor.test64=$(printf %s "$CMD" | base64 -w0)"

# run NAME BINARY [ENV...]: one boot; prints the peak own RSS in KiB and
# keeps that sample's smaps in $TMP/NAME.smaps
run() {
	local name=$1 bin=$2 vm peak=0 own deadline
	shift 2
	env "$@" "$bin" run --accel emu --cpus 1 --memory ${MEM}M \
		--kernel "$CVISOR_DEBIAN_KERNEL" --initrd "$CVISOR_DEBIAN_INITRD" \
		--cmdline "$CMDLINE" </dev/null >"$TMP/$name.out" 2>&1 &
	vm=$!
	deadline=$((SECONDS + LIMIT))
	while kill -0 "$vm" 2>/dev/null && ((SECONDS < deadline)); do
		cat "/proc/$vm/smaps" >"$TMP/smaps" 2>/dev/null
		own=$(awk -v lo=$((MEM * 1024)) -v hi=$(((MEM + 4) * 1024)) '
			/^[0-9a-f]+-[0-9a-f]+ / { cur = 0; maps++ }
			/^Size:/ { cur = ($2 >= lo && $2 <= hi) }
			/^Rss:/ { all += $2; if (cur) guest += $2 }
			END { if (maps) print all - guest }' "$TMP/smaps")
		if [[ -n $own ]] && ((own > peak)); then
			peak=$own
			cp "$TMP/smaps" "$TMP/$name.smaps"
		fi
		sleep 0.5
	done
	kill -KILL "$vm" 2>/dev/null
	wait "$vm"
	if ! grep -q "cvisor-guest: result 0" "$TMP/$name.out"; then
		echo fail
		return
	fi
	echo "$peak"
}

# KiB resident in the VNC and iSCSI libraries in a smaps file
lib_rss() {
	awk -v re="$LIBS" '
		/^[0-9a-f]+-[0-9a-f]+ / { cur = ($6 ~ re) }
		/^Rss:/ { if (cur) n += $2 }
		END { print n + 0 }' "$1" 2>/dev/null
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "fail") }'
}

echo "emu_rss: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cvisor $CVISOR${BENCH_BASE:+; base $BENCH_BASE}"
names=(cvisor linked)
[[ -n ${BENCH_BASE:-} ]] && names+=(base)
declare -A all
for ((i = 1; i <= RUNS; i++)); do
	for name in "${names[@]}"; do
		case $name in
		cvisor) r=$(run cvisor "$CVISOR") ;;
		linked) r=$(run linked "$CVISOR" LD_PRELOAD="$PRELOAD") ;;
		base) r=$(run base "$BENCH_BASE") ;;
		esac
		echo "  run $i $name: $r KiB"
		[[ $r == fail ]] || all[$name]+="$r"$'\n'
	done
done
echo "own RSS beyond guest RAM, peak (median of $RUNS), MiB; of it in the VNC/iSCSI libraries (last run), KiB:"
for name in "${names[@]}"; do
	m=$(printf %s "${all[$name]:-}" | grep . | median)
	[[ $m == fail ]] || m=$(awk -v k="$m" 'BEGIN { printf "%.2f", k / 1024 }')
	printf "  %-8s %8s MiB  %6s KiB\n" "$name" "$m" "$(lib_rss "$TMP/$name.smaps")"
done
echo "linked: KiB resident in each (last run's peak sample):"
awk -v re="$LIBS" '
	/^[0-9a-f]+-[0-9a-f]+ / { cur = ($6 ~ re) ? $6 : "" }
	/^Rss:/ { if (cur != "") n[cur] += $2 }
	END { for (l in n) { s = l; sub(/.*\//, "", s); printf "  %6d %s\n", n[l], s } }' \
	"$TMP/linked.smaps" 2>/dev/null | sort -rn
