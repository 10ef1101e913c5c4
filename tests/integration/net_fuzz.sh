#!/bin/bash
# The virtio-net libFuzzer target (tests/fuzz/net_fuzz.c) still builds with
# clang -fsanitize=fuzzer and survives a short run of hostile rings: guest
# RAM, descriptor chains and frame sizes from the fuzzer, under ASan and
# UBSan. Long runs are for people (see the file's header); this keeps the
# target from rotting and catches the shallow crashes.
. "$(dirname "$0")/lib.sh"

name=net_fuzz
command -v clang >/dev/null || { skip $name "no clang"; exit 0; }
command -v python3 >/dev/null || { skip $name "no python3"; exit 0; }

cd "$TOP" || exit 1
clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE \
	-Isrc -o "$TMP/net_fuzz" tests/fuzz/net_fuzz.c src/virtio/net_io.c \
	src/virtio/virtqueue.c src/vmm/guest_mem.c src/vmm/log.c \
	src/vmm/numa_host.c -lnuma \
	>"$TMP/build" 2>&1
rc=$?
if [[ $rc -ne 0 ]] && grep -q -- "-lFuzzer\|libclang_rt.fuzzer\|fsanitize=fuzzer" "$TMP/build" &&
	! grep -q "error:.*\.c:" "$TMP/build"; then
	skip $name "clang has no libFuzzer runtime: $(head -c 200 "$TMP/build")"
	exit 0
fi
check "$name: fuzz target builds with clang -fsanitize=fuzzer" $rc \
	"$(head -c 600 "$TMP/build")"
[[ $rc -eq 0 ]] || exit 0

# A few seeds so the short run starts inside the interesting shapes: each
# queue size, with and without mergeable buffers, a raw backend, and
# frames from empty to the largest.
mkdir -p "$TMP/corpus"
n=0
for b0 in 00 03 48 e8 6f; do
	for len in '\x00\x00' '\xdc\x05' '\xff\xff'; do
		n=$((n + 1))
		{ printf "\\x$b0$len"; python3 -c 'import random, sys
r = random.Random(int(sys.argv[1]))
sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(2048)))' $n; } \
			>"$TMP/corpus/seed$n"
	done
done
timeout 120 "$TMP/net_fuzz" -runs=30000 -max_len=65536 -seed=1 \
	-rss_limit_mb=1024 -artifact_prefix="$TMP/" "$TMP/corpus" >"$TMP/run" 2>&1
rc=$?
check "$name: 30000 hostile rings, no crash or sanitizer report" $rc \
	"$(grep -a -E 'ERROR|runtime error|deadly|Test unit written' "$TMP/run" | head -5 | tr '\n' ' ')"
