# Sourced by the img_luks*.sh tests, after lib.sh.
#
# luks_setup NAME: NAME is skipped (and the script ends) without qemu-img
# and qemu-io, the oracle; otherwise the script goes on in $TMP with a copy
# of cvisor as $C (a process list shows its path, never a passphrase).
luks_setup() {
	if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
		skip "$1" "qemu-img and qemu-io are not installed"
		exit 0
	fi
	cp "$CVISOR" "$TMP/cvisor" && CVISOR=$TMP/cvisor
	C=$CVISOR
	cd "$TMP" || exit 1
}

# qemu_retry CMD...: qemu-img's PBKDF2 benchmark gives up now and then on a
# busy host ("Unable to get accurate CPU usage"): CMD is tried again
qemu_retry() {
	local i
	for ((i = 0; i < 10; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}

# qemu_create ARGS...: a qcow2 image made by qemu-img with the $SEC secrets
qemu_create() {
	qemu_retry qemu-img create -q -f qcow2 $SEC "$@"
}
