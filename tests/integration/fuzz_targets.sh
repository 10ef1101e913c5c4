#!/bin/bash
# Every fuzz target in tests/fuzz/ is built by make test (without
# libFuzzer: tests/fuzz/run_files.c is its main) and runs here, under the
# build's sanitizers, on a few inputs: empty, one byte, random bytes of
# several sizes and, for the image formats, images qemu-img makes. It
# keeps the targets from rotting and catches shallow crashes; fuzzing is
# 'make fuzz' (build-fuzz/fuzz/*).
. "$(dirname "$0")/lib.sh"

cd "$TOP" || exit 1
command -v python3 >/dev/null || { skip fuzz_targets "no python3"; exit 0; }

in=$TMP/in
mkdir -p "$in"
: >"$in/empty"
printf '\0' >"$in/zero"
printf '\377' >"$in/ff"
python3 - "$in" <<'PY'
import random, sys
for size in (16, 64, 512, 4096, 65536):
    r = random.Random(size)
    open('%s/random%d' % (sys.argv[1], size), 'wb').write(
        bytes(r.randrange(256) for _ in range(size)))
PY
# images of each format, where qemu-img is here
seeds() {
	local dir=$TMP/seed_$1
	mkdir -p "$dir"
	case $1 in
	qcow2_fuzz | vdi_fuzz | vmdk_fuzz | vpc_fuzz)
		command -v qemu-img >/dev/null || return
		case $1 in
		qcow2_fuzz) qemu-img create -q -f qcow2 "$dir/a" 1M &&
			qemu-img create -q -f qcow2 -o cluster_size=4096 "$dir/b" 1M ;;
		vdi_fuzz) qemu-img create -q -f vdi "$dir/a" 3M ;;
		vpc_fuzz) qemu-img create -q -f vpc "$dir/a" 5M &&
			qemu-img create -q -f vpc -o subformat=fixed "$dir/b" 1M ;;
		vmdk_fuzz) qemu-img create -q -f vmdk "$dir/a" 1M &&
			qemu-img create -q -f vmdk -o subformat=streamOptimized "$dir/b" 1M ;;
		esac >/dev/null 2>&1
		;;
	luks_fuzz)
		command -v qemu-img >/dev/null &&
			qemu-img create -q -f luks --object secret,id=s,data=x \
				-o key-secret=s,iter-time=1 "$dir/a" 1M >/dev/null 2>&1 ;;
	vhdx_fuzz) python3 tests/fuzz/vhdx_seed.py "$dir" ;;
	snapshot_config_fuzz) printf '%s' '{"version": 1, "cwd": "/tmp",
		"argv": ["cvisor", "run", "--memory", "64M"],
		"disks": [{"path": "/dev/null", "size": 0, "mtime_ns": 0}]}' \
		>"$dir/a" ;;
	# the docs' example definition
	config_fuzz) sed -n '/^```json/,/^```/p' docs/config.md |
		sed '1d;$d' >"$dir/example" ;;
	# targets that write a state of their own to start from
	slirp_state_fuzz) CVISOR_SLIRP_SEED="$dir/seed" "$2" "$in/empty" \
		>/dev/null 2>&1 ;;
	state_fuzz) CVISOR_STATE_SEED="$dir/seed" "$2" "$in/empty" \
		>/dev/null 2>&1 ;;
	boot_fuzz | virtio_dev_fuzz | emu_state_fuzz | snapshot_fuzz | legacy_fuzz | \
	control_fuzz | vnc_client_fuzz)
		CVISOR_FUZZ_SEEDS="$dir" "$2" "$in/empty" >/dev/null 2>&1 ;;
	esac
}

shopt -s nullglob
n=0
for src in tests/fuzz/*_fuzz.c; do
	t=$(basename "$src" .c)
	bin=$CVISOR_BUILD/fuzz/$t
	if [[ ! -x $bin ]]; then
		fail "fuzz_targets: $t" "$bin was not built (make SAN=1 BUILD=build-san fuzzers)"
		continue
	fi
	seeds "$t" "$bin"
	inputs=("$in"/* "$TMP/seed_$t"/*)
	timeout 300 "$bin" "${inputs[@]}" >"$TMP/$t.out" 2>&1
	check "fuzz_targets: $t on ${#inputs[@]} inputs under the sanitizers" $? \
		"$(grep -a -E 'ERROR|runtime error|cannot read' "$TMP/$t.out" | head -3 | tr '\n' ' ')"
	n=$((n + 1))
done
[[ $n -gt 0 ]] || fail fuzz_targets "no fuzz targets found in tests/fuzz"
