# Helpers for the virtio-net tests (sourced after lib.sh, not run).

# net_initrd OUT SCRIPT [DIR]: the test initramfs with /net-test (SCRIPT)
# and DIR's files appended as a second archive; the kernel unpacks both.
net_initrd() {
	local out=$1 script=$2 dir=${3:-} root
	root=$(mktemp -d "$TMP/rootXXXX")
	[[ -n $dir ]] && cp -a "$dir"/. "$root"/
	printf '%s\n' "$script" >"$root/net-test"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.add"
	cat "$CVISOR_INITRD" "$out.add" >"$out"
}

# A TCP port free on 127.0.0.1 right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
