#!/usr/bin/env bash
# Builds the Linux guest used by the integration tests and `make demo`:
#
#   kernel-<key>/bzImage, vmlinux, config   from Debian's linux-source with
#                                           tests/guest/kernel.config on top of
#                                           allnoconfig
#   initramfs-<key>/initramfs.cpio.gz       busybox-static + tests/guest/init
#   debian-<key>/vmlinuz, initrd.img        (--debian) Debian's stock kernel
#                                           and an initramfs with its virtio
#                                           modules
#   nested-kernel-<key>/bzImage             (--nested) the kernel of the Bochs
#                                           host tests/nested/run.sh boots,
#                                           from tests/nested/host-kernel.config
#
# into ${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}, plus an `env` file that
# tests source (CVISOR_KERNEL, CVISOR_VMLINUX, CVISOR_INITRD, ...) and
# convenience symlinks (bzImage, vmlinux, initramfs.cpio.gz).  vmlinux has
# the PVH entry note, so it boots directly without the bzImage decompressor.
# How tests talk to the guest (cvisor.test64=, marker lines) is described at
# the top of tests/guest/init.
#
# Each asset directory is named after a hash of everything it is built from
# (the config fragment or /init, the Debian package versions, the compiler,
# and RECIPE below) and appears by an atomic rename only once complete, so a
# present directory is a finished build and a second run does nothing.
# Bump RECIPE when a change to this script changes what it produces.
# Older builds stay while $ASSETS/env names them or they were used in the
# last CVISOR_ASSETS_KEEP_DAYS (7) days: other checkouts share the cache.
#
# Usage: make-assets.sh [--debian] [--nested] [--no-deps] [-j N]
set -euo pipefail

RECIPE=1
# depmod and modprobe live in /sbin, which a user's PATH may lack.
export PATH=$PATH:/usr/sbin:/sbin
TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/tests/guest
ASSETS=${CVISOR_ASSETS:-$HOME/.cache/cvisor/assets}
JOBS=$(nproc)
want_debian=0
want_nested=0
want_deps=1

usage() {
	sed -n '2,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"
	exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--debian) want_debian=1 ;;
	--nested) want_nested=1 ;;
	--no-deps) want_deps=0 ;;
	-j) JOBS=${2:?-j needs a number}; shift ;;
	-j*) JOBS=${1#-j} ;;
	-h | --help) usage 0 ;;
	*) echo "make-assets: unknown argument '$1'" >&2; usage 1 >&2 ;;
	esac
	shift
done

step=start
say() { echo "make-assets: $*"; }
die() {
	echo "make-assets: error: $*" >&2
	exit 1
}
trap 'echo "make-assets: error: step \"$step\" failed (line $LINENO)" >&2' ERR

tmpdirs=()
cleanup() { [[ ${#tmpdirs[@]} -eq 0 ]] || rm -rf "${tmpdirs[@]}"; }
trap cleanup EXIT
# Sets $t to a new scratch directory inside $ASSETS, so the final rename
# stays on one filesystem and is atomic.  (Not a $(...) function: the
# subshell would lose the record for cleanup.)
scratch() {
	t=$(mktemp -d "$ASSETS/.tmp.XXXXXX")
	tmpdirs+=("$t")
}

# Moves finished directory $1 to $2 in one rename.
publish() {
	chmod 0755 "$1"
	mv -T "$1" "$2"
}

# Points symlink $1 at $2 atomically.
link() {
	ln -sfn "$2" "$1.tmp.$$"
	mv -T "$1.tmp.$$" "$1"
}

pkg_version() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null
}

key_of() {
	sha256sum | cut -c1-16
}

# prune NAME KEEP: old builds of NAME that no checkout names any more.
. "$HERE/prune.sh"

mkdir -p "$ASSETS" || die "cannot create $ASSETS"
ASSETS=$(cd "$ASSETS" && pwd)
# One builder at a time; a second invocation waits and then finds the cache.
exec 9>"$ASSETS/.lock"
if ! flock -n 9; then
	say "waiting for another make-assets.sh to finish"
	flock 9
fi
rm -rf "$ASSETS"/.tmp.*

if [[ $want_deps -eq 1 ]]; then
	step=deps
	"$TOP/scripts/install-deps.sh" | sed 's/^/make-assets: /' ||
		die "scripts/install-deps.sh failed"
fi
for tool in gcc make flex bison bc cpio gzip sha256sum flock; do
	command -v "$tool" >/dev/null ||
		die "'$tool' not found; run scripts/install-deps.sh"
done

# --- kernel -----------------------------------------------------------------

step=kernel-source
tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1) ||
	true
[[ -n "$tarball" ]] ||
	die "no /usr/src/linux-source-*.tar.xz; install linux-source (scripts/install-deps.sh)"
src_pkg=$(basename "$tarball" .tar.xz)
src_ver=$(pkg_version "$src_pkg") || die "package $src_pkg is not installed"
srcdir=$ASSETS/src/$src_pkg-$src_ver

# Extracts the kernel source once per source version.
extract_source() {
	[[ -f $srcdir/Makefile ]] && return 0
	say "kernel: extracting $tarball"
	mkdir -p "$ASSETS/src"
	scratch
	tar -C "$t" -xf "$tarball" || die "cannot extract $tarball"
	rm -rf "$srcdir"
	publish "$t/$src_pkg" "$srcdir"
	# Older source versions are no longer needed, nor their builds.
	for d in "$ASSETS/src/$src_pkg"-*; do
		[[ $d == "$srcdir" ]] || rm -rf "$d"
	done
}

# build_kernel NAME FRAGMENT [TAG]: a kernel from the source with FRAGMENT on
# top of allnoconfig, in $ASSETS/NAME-<key> (bzImage, vmlinux, config);
# sets $kernel_dir.  TAG, when given, goes into the key and names the build
# directory, so two kernels keep separate incremental builds.
build_kernel() {
	local name=$1 fragment=$2 tag=${3:-} key dir objdir log bad line start
	[[ -r $fragment ]] || die "missing $fragment"
	key=$({
		echo "recipe $RECIPE"
		[[ -z $tag ]] || echo "kind $tag"
		echo "source $src_pkg $src_ver"
		gcc -dumpfullversion
		# Only the settings count, so editing a comment does not rebuild.
		grep -E '^(CONFIG_|# CONFIG_.* is not set)' "$fragment"
	} | key_of)
	dir=$ASSETS/$name-$key
	kernel_dir=$dir
	if [[ -f $dir/bzImage ]]; then
		say "$name: cached ($src_pkg $src_ver, key $key)"
		prune "$name" "$dir"
		return 0
	fi
	extract_source
	# One build directory per kind and source version: a changed fragment
	# rebuilds only what the changed options touch.
	objdir=$ASSETS/build/${tag:+$tag-}$src_pkg-$src_ver
	log=$ASSETS/build/${tag:+$tag-}kernel.log
	mkdir -p "$ASSETS/build"
	for d in "$ASSETS/build"/*; do
		[[ -d $d && $d != */"$src_pkg-$src_ver" && $d != *-"$src_pkg-$src_ver" ]] &&
			rm -rf "$d"
	done
	mkdir -p "$objdir"
	kmake() {
		make -C "$srcdir" O="$objdir" ARCH=x86_64 "$@" >>"$log" 2>&1 || {
			tail -n 30 "$log" >&2
			die "kernel 'make $*' failed; full log in $log"
		}
	}
	step=$name-config
	say "$name: configuring (allnoconfig + ${fragment#"$TOP"/})"
	: >"$log"
	kmake KCONFIG_ALLCONFIG="$fragment" allnoconfig
	# Kconfig silently drops options whose dependencies are unmet; catch
	# that here rather than as a mysterious boot failure.
	bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) grep -qxF -- "$line" "$objdir/.config" || {
				echo "make-assets: config: wanted $line, got:" \
					"$(grep -E "^(# )?${line%%=*}[= ]" "$objdir/.config" || echo 'absent')" >&2
				bad=1
			} ;;
		"# CONFIG_"*" is not set")
			if grep -q "^${line:2:-11}=" "$objdir/.config"; then
				echo "make-assets: config: wanted '$line'," \
					"got $(grep "^${line:2:-11}=" "$objdir/.config")" >&2
				bad=1
			fi ;;
		esac
	done <"$fragment"
	[[ $bad -eq 0 ]] || die "${fragment#"$TOP"/} has options Kconfig rejected (see above)"
	step=$name-build
	say "$name: building with -j$JOBS (log: $log)"
	start=$SECONDS
	kmake -j"$JOBS" bzImage
	say "$name: built in $((SECONDS - start)) s"
	scratch
	cp "$objdir/arch/x86/boot/bzImage" "$t/bzImage"
	cp "$objdir/vmlinux" "$t/vmlinux"
	cp "$objdir/.config" "$t/config"
	echo "$src_pkg $src_ver" >"$t/source"
	publish "$t" "$dir"
	prune "$name" "$dir"
}

build_kernel kernel "$HERE/kernel.config"
kdir=$kernel_dir
kkey=${kdir##*/kernel-}

# --- initramfs --------------------------------------------------------------

# Appends to stdout a newc cpio archive holding the device nodes an initramfs
# needs before devtmpfs is mounted, so no root privileges are needed.
# Arguments: triples of name, mode (octal, with type bits), "major:minor".
cpio_nodes() {
	local ino=900000 name mode dev namesize hdr
	while [[ $# -ge 3 ]]; do
		name=$1 mode=$2 dev=$3
		shift 3
		namesize=$((${#name} + 1))
		hdr=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
			$ino $((8#$mode)) 0 0 1 0 0 0 0 "${dev%%:*}" "${dev##*:}" \
			$namesize 0)
		printf '%s%s\0' "$hdr" "$name"
		# Header plus name is padded to a multiple of four bytes.
		head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
		ino=$((ino + 1))
	done
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		0 0 0 0 1 0 0 0 0 0 0 11 0 'TRAILER!!!'
	head -c $(((4 - (110 + 11) % 4) % 4)) /dev/zero
}

# Fills staging directory $1 with busybox, its applet links and /init.
stage_busybox() {
	local root=$1 bb applet
	# busybox-static owns this path (it conflicts with the dynamic busybox).
	bb=/bin/busybox
	[[ -x $bb ]] || die "$bb not found; install busybox-static"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc,mnt}
	cp -L "$bb" "$root/bin/busybox"
	for applet in $("$bb" --list-full); do
		[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
	done
	install -m 0755 "$HERE/init" "$root/init"
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
}

# Writes the gzip-compressed initramfs of staging directory $1 to $2.
pack_initramfs() {
	local root=$1 out=$2
	{
		(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
			cpio --quiet -o -H newc -R 0:0 --reproducible)
		cpio_nodes dev/console 020600 5:1 dev/null 020666 1:3 \
			dev/ttyS0 020600 4:64
	} | gzip -9 -n >"$out"
}

step=initramfs
bb_ver=$(pkg_version busybox-static) || die "busybox-static is not installed"
ikey=$({
	echo "recipe $RECIPE"
	echo "busybox-static $bb_ver"
	declare -f cpio_nodes stage_busybox pack_initramfs
	cat "$HERE/init"
} | key_of)
idir=$ASSETS/initramfs-$ikey
if [[ -f $idir/initramfs.cpio.gz ]]; then
	say "initramfs: cached (busybox-static $bb_ver, key $ikey)"
else
	say "initramfs: packing busybox-static $bb_ver + tests/guest/init"
	scratch
	stage_busybox "$t/root"
	mkdir "$t/out"
	pack_initramfs "$t/root" "$t/out/initramfs.cpio.gz"
	publish "$t/out" "$idir"
fi
prune initramfs "$idir"

# --- Debian stock kernel (optional) ------------------------------------------

# Debian's kernel has virtio as modules; these and their dependencies go into
# its initramfs and /init loads them (in this order) before anything else.
DEBIAN_MODULES=(virtio_pci virtio_blk virtio_net virtio_console virtio_balloon
	virtio_rng pvpanic_mmio pvpanic_pci)

# Copies DEBIAN_MODULES and their dependencies from the unpacked package $1
# (kernel release $2) into staging root $3, uncompressed so busybox insmod
# can load them, and lists them in load order in $3/etc/modules.
stage_modules() {
	local pkgroot=$1 kver=$2 root=$3 m kind path dst
	local -A seen=()
	depmod -b "$pkgroot" "$kver" || die "depmod failed for $kver"
	: >"$root/etc/modules"
	for m in "${DEBIAN_MODULES[@]}"; do
		modprobe -d "$pkgroot" -S "$kver" --show-depends "$m" >"$root/.deps" ||
			die "module $m not found in $kver"
		while read -r kind path _; do
			[[ $kind == insmod && -z ${seen[$path]:-} ]] || continue
			seen[$path]=1
			dst=/lib/modules/$kver/$(basename "${path%.xz}")
			dst=${dst%.zst}
			case $path in
			*.xz) xz -dc "$path" >"$root$dst" ;;
			*.zst) zstd -qdc "$path" >"$root$dst" ;;
			*) cp "$path" "$root$dst" ;;
			esac
			echo "$dst" >>"$root/etc/modules"
		done <"$root/.deps"
	done
	rm -f "$root/.deps"
}

if [[ $want_debian -eq 1 ]]; then
	step=debian
	# linux-image-amd64 depends on the real package, e.g.
	# linux-image-6.1.0-56-amd64 (= 6.1.192-2).  apt-cache takes seconds,
	# so the answer is kept until the package lists change.
	resolved=$ASSETS/.debian-package
	if [[ ! -s $resolved ]] || [[ -n $(find /var/lib/apt/lists -maxdepth 1 \
		-name '*Packages*' -newer "$resolved" 2>/dev/null | head -n1) ]]; then
		apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
			sed -n 's/^Depends:.*\(linux-image-[^ ]*\) (= \([^)]*\)).*/\1 \2/p' \
			>"$resolved.tmp"
		mv "$resolved.tmp" "$resolved"
	fi
	read -r dpkg_name dpkg_ver <"$resolved" || true
	[[ -n ${dpkg_ver:-} ]] || {
		rm -f "$resolved"
		die "apt does not know linux-image-amd64; run apt-get update"
	}
	dkey=$({
		echo "recipe $RECIPE"
		echo "$dpkg_name $dpkg_ver busybox-static $bb_ver"
		echo "${DEBIAN_MODULES[*]}"
		declare -f cpio_nodes stage_busybox pack_initramfs stage_modules
		cat "$HERE/init"
	} | key_of)
	ddir=$ASSETS/debian-$dkey
	if [[ -f $ddir/initrd.img ]]; then
		say "debian: cached ($dpkg_name $dpkg_ver, key $dkey)"
	else
		say "debian: downloading $dpkg_name $dpkg_ver"
		scratch
		(cd "$t" && apt-get download -q "$dpkg_name=$dpkg_ver" >/dev/null 2>&1) ||
			die "apt-get download $dpkg_name=$dpkg_ver failed"
		say "debian: unpacking and packing the initramfs with its virtio modules"
		dpkg-deb -x "$t"/*.deb "$t/pkg"
		kver=${dpkg_name#linux-image-}
		[[ -f $t/pkg/boot/vmlinuz-$kver ]] ||
			die "$dpkg_name has no /boot/vmlinuz-$kver"
		stage_busybox "$t/root"
		mkdir -p "$t/root/lib/modules/$kver"
		stage_modules "$t/pkg" "$kver" "$t/root"
		mkdir "$t/out"
		cp "$t/pkg/boot/vmlinuz-$kver" "$t/out/vmlinuz"
		cp "$t/pkg/boot/config-$kver" "$t/out/config"
		pack_initramfs "$t/root" "$t/out/initrd.img"
		publish "$t/out" "$ddir"
	fi
	prune debian "$ddir"
fi

# --- nested host kernel (optional) ------------------------------------------

# The rest of the Bochs host (initramfs, GRUB ISO) is made by
# tests/nested/run.sh at test time, around the cvisor binary it tests.
if [[ $want_nested -eq 1 ]]; then
	step=nested
	command -v lz4 >/dev/null || die "'lz4' not found; run scripts/install-deps.sh"
	build_kernel nested-kernel "$TOP/tests/nested/host-kernel.config" nested
	ndir=$kernel_dir
fi

# --- results ----------------------------------------------------------------

step=publish
link "$ASSETS/bzImage" "kernel-$kkey/bzImage"
link "$ASSETS/vmlinux" "kernel-$kkey/vmlinux"
link "$ASSETS/initramfs.cpio.gz" "initramfs-$ikey/initramfs.cpio.gz"
{
	echo "# Written by tests/guest/make-assets.sh; source it from tests."
	echo "CVISOR_ASSETS='$ASSETS'"
	echo "CVISOR_KERNEL='$kdir/bzImage'"
	echo "CVISOR_VMLINUX='$kdir/vmlinux'"
	echo "CVISOR_INITRD='$idir/initramfs.cpio.gz'"
	if [[ -n ${ddir:-} ]]; then
		echo "CVISOR_DEBIAN_KERNEL='$ddir/vmlinuz'"
		echo "CVISOR_DEBIAN_INITRD='$ddir/initrd.img'"
	elif [[ -f $ASSETS/env ]]; then
		# Keep the Debian assets a previous --debian run made.
		grep '^CVISOR_DEBIAN_' "$ASSETS/env" || true
	fi
	if [[ -n ${ndir:-} ]]; then
		echo "CVISOR_NESTED_KERNEL='$ndir/bzImage'"
	elif [[ -f $ASSETS/env ]]; then
		grep '^CVISOR_NESTED_' "$ASSETS/env" || true
	fi
} >"$ASSETS/env.tmp.$$"
mv "$ASSETS/env.tmp.$$" "$ASSETS/env"

say "kernel:    $kdir/bzImage"
say "vmlinux:   $kdir/vmlinux"
say "initramfs: $idir/initramfs.cpio.gz"
[[ -z ${ddir:-} ]] || say "debian:    $ddir/vmlinuz $ddir/initrd.img"
[[ -z ${ndir:-} ]] || say "nested:    $ndir/bzImage"
say "env:       $ASSETS/env"
