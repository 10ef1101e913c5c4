#!/usr/bin/env bash
# Installs the Debian 12 packages needed to build, test and benchmark cvisor
# and to build the guest assets (tests/guest/make-assets.sh).
#
# Idempotent: asks dpkg first and runs apt-get only for what is missing, so a
# machine that has everything returns in well under a second.
set -euo pipefail

# Build: compiler, sanitizers (clang), and the libraries cvisor links against.
build=(build-essential pkg-config clang
	libslirp-dev libglib2.0-dev libvncserver-dev zlib1g-dev libdeflate-dev libzstd-dev
	liburing-dev libseccomp-dev libjansson-dev libpng-dev
	libssl-dev libiscsi-dev libnuma-dev)
# Tests and benchmarks: QEMU is the oracle for qcow2 (and, with
# qemu-block-extra, iSCSI) and the peer for benchmarks.
# The rest are tools the integration tests drive: ext4 images, ACPI table
# disassembly, network namespaces and bridges, NAT rules, pseudo-terminals,
# HTTP, packet capture; noVNC in headless Chromium for the VNC server.
test=(qemu-utils qemu-system-x86 e2fsprogs acpica-tools iproute2 util-linux
	bsdutils procps python3 nftables socat chromium novnc tgt numactl
	qemu-block-extra)
# Guest assets: initramfs from busybox, kernel from Debian's linux-source.
# dwarves (pahole) is only needed for BTF, which the guest config leaves off.
assets=(busybox-static cpio gzip xz-utils zstd lz4
	bc flex bison libelf-dev libssl-dev kmod linux-source)
# The nested suite (tests/nested/run.sh): Bochs emulates a VT-x machine that
# runs kvm_intel; its host boots from a GRUB rescue ISO.
nested=(bochs bochs-x bochsbios vgabios grub-pc-bin grub-common xorriso mtools)
# Benchmark workloads, installed when the archive has them.
optional=(fio iperf3)

# One dpkg-query for every package: on a busy machine each process start
# costs, and a warm run should take well under a second.
declare -A have=()
while read -r name status; do
	[[ $status == ii ]] && have[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' \
	"${build[@]}" "${test[@]}" "${assets[@]}" "${nested[@]}" "${optional[@]}" \
	2>/dev/null)

missing=()
for p in "${build[@]}" "${test[@]}" "${assets[@]}" "${nested[@]}"; do
	[[ -n ${have[$p]:-} ]] || missing+=("$p")
done

want_optional=()
for p in "${optional[@]}"; do
	[[ -n ${have[$p]:-} ]] || want_optional+=("$p")
done

if [[ ${#missing[@]} -eq 0 && ${#want_optional[@]} -eq 0 ]]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	sudo=sudo
else
	sudo=
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() {
	$sudo apt-get install -y -q --no-install-recommends "$@"
}

# The package lists may be missing on a fresh machine or container.
updated=0
ensure_lists() {
	if [[ $updated -eq 0 ]]; then
		echo "install-deps: apt-get update"
		$sudo apt-get update -q >/dev/null
		updated=1
	fi
}

if [[ ${#missing[@]} -gt 0 ]]; then
	echo "install-deps: installing ${missing[*]}"
	if ! apt_install "${missing[@]}" >/dev/null 2>&1; then
		ensure_lists
		apt_install "${missing[@]}" || {
			echo "install-deps: apt-get install failed for: ${missing[*]}" >&2
			exit 1
		}
	fi
fi

# Without package lists apt-cache knows nothing; with them, a package it
# cannot show is simply not in this release.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	ensure_lists
fi
for p in "${want_optional[@]}"; do
	if apt-cache show "$p" >/dev/null 2>&1; then
		echo "install-deps: installing optional $p"
		apt_install "$p" >/dev/null 2>&1 ||
			echo "install-deps: optional $p failed to install; skipped" >&2
	else
		echo "install-deps: optional $p not in the archive; skipped"
	fi
done
echo "install-deps: done"
