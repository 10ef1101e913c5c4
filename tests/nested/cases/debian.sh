#!/usr/bin/env bash
# Debian's own kernel (make-assets.sh --debian) boots on KVM with two vCPUs
# and loads its virtio modules from the initramfs (linux_boot.sh's check).
# run.sh brings its files into the host only when this case runs.
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

name=nested_kvm_debian_stock_kernel
if [[ ! -r ${CVISOR_DEBIAN_KERNEL:-} ]]; then
	skip_unless_required $name "no Debian kernel in the assets (tests/guest/make-assets.sh --debian)"
	exit 0
fi
run_vm 900 --accel kvm --kernel "$CVISOR_DEBIAN_KERNEL" \
	--initrd "$CVISOR_DEBIAN_INITRD" --memory 512M --cpus 2 \
	--cmdline "console=ttyS0 panic=-1 quiet cvisor.debian=1 cvisor.test64=$(printf %s 'echo "uname=$(uname -r) nproc=$(nproc)"; grep MemTotal /proc/meminfo; ls /sys/bus/virtio/devices' | base64 -w0)"
kb=$(sed -n 's/.*MemTotal: *\([0-9]*\) kB.*/\1/p' "$TMP/out")
[[ $rc -eq 0 && $(guest_result) == 0 ]] &&
	grep -qE 'uname=[0-9.]+-[0-9]+-amd64 nproc=2' "$TMP/out" &&
	[[ -n $kb && $kb -le 524288 && $kb -ge 400000 ]] &&
	grep -q virtio0 "$TMP/out"
check $name $? "rc=$rc MemTotal=${kb:-none} $(tail -c 400 "$TMP/out")"
