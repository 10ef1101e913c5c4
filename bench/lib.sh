# Sourced by the benchmarks that take a build directory as their first
# argument (emu.sh, emu_rss.sh, blk.sh, net.sh):
#   bench_init NAME [BUILD]  TOP, BUILD (absolute; default build), CVISOR,
#                            ASSETS and QEMU, each overridable from the
#                            environment as before (CVISOR, CVISOR_ASSETS,
#                            QEMU); skips without a cvisor binary
#   skip MSG                 "SKIP: NAME: MSG", exit 0: a benchmark that
#                            cannot run here says why and is no error
#   bench_assets             the guest assets' env (CVISOR_KERNEL, ...),
#                            or a skip naming what is missing
#   hw_kvm                   true where hardware KVM can run the guests
#                            (kvm_intel/kvm_amd, not a kvm_pvm host)

bench_init() {
	BENCH_NAME=$1
	TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	BUILD=${2:-build}
	[[ $BUILD == /* ]] || BUILD=$TOP/$BUILD
	CVISOR=${CVISOR:-$BUILD/cvisor}
	ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
	QEMU=${QEMU:-qemu-system-x86_64}
	[[ -x $CVISOR ]] || skip "no cvisor binary at $CVISOR"
}

skip() {
	echo "SKIP: $BENCH_NAME: $*"
	exit 0
}

bench_assets() {
	[[ -r $ASSETS/env ]] || skip "no guest assets in $ASSETS (make assets)"
	# shellcheck disable=SC1091
	. "$ASSETS/env"
	[[ -r ${CVISOR_KERNEL:-} && -r ${CVISOR_INITRD:-} ]] ||
		skip "guest assets incomplete"
}

hw_kvm() {
	[[ -w /dev/kvm ]] && [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]
}
