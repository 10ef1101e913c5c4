#!/usr/bin/env bash
# virtio-net with user-mode networking on KVM: a DHCP lease from slirp, then
# a download from the Bochs host's HTTP server (127.0.0.1:8080, 10.0.2.2 to
# the guest) whose hash must match (net_user.sh's core checks).
# Guest commands are single-quoted: they expand in the guest.
# shellcheck disable=SC2016
# shellcheck source=tests/nested/lib.sh
. /cvisor/tests/nested/lib.sh

want=$(sha256sum "$NESTED_BLOB" | cut -d' ' -f1)
cmd="ip link set eth0 up
udhcpc -i eth0 -q -n -t 5 -T 2 -s /bin/true >/dev/null 2>&1 && echo NET dhcp-ok
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
wget -q -O /tmp/blob $NESTED_HTTP/blob; echo \"NET wget \$?\"
echo \"NET sha \$(sha256sum /tmp/blob | cut -d' ' -f1)\""
linux_boot kvm 300 "$cmd" --memory 256M --net user
grep -q "NET dhcp-ok" "$TMP/out"
check nested_kvm_net_user_dhcp $? "rc=$rc $(grep -a 'NET\|virtio' "$TMP/out" | tr '\n' ' ') $(tail -c 300 "$TMP/out")"
grep -q "NET sha $want" "$TMP/out"
check nested_kvm_net_user_http_fetch $? "rc=$rc $(grep -a 'NET' "$TMP/out" | tr '\n' ' ') want $want"
