#!/bin/bash
# A host bridge with NAT to the outside, for `cvisor run --net bridge,br=NAME`.
#
#   scripts/nat-bridge.sh up   [NAME] [CIDR]   (default cvbr0 192.168.100.1/24)
#   scripts/nat-bridge.sh down [NAME]
#
# up: creates the bridge with CIDR as its address, turns on IPv4
# forwarding, masquerades the bridge's subnet behind the host's default
# route (nftables table "cvisor_nat_NAME"), and, if dnsmasq is installed,
# serves DHCP and DNS on the bridge (.10-.200 of the subnet). Guests
# without DHCP: give them an address in CIDR and the bridge as gateway.
# down: removes all of that again. Needs root (or CAP_NET_ADMIN).
set -eu

cmd=${1:-}
br=${2:-cvbr0}
cidr=${3:-192.168.100.1/24}
table=cvisor_nat_$br
pidfile=/run/cvisor-dnsmasq-$br.pid

die() { echo "nat-bridge: $*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "needs root (or CAP_NET_ADMIN)"
command -v ip >/dev/null || die "needs iproute2 (ip)"

subnet() {	# 192.168.100.1/24 -> 192.168.100.0/24
	python3 -c 'import ipaddress,sys; print(ipaddress.ip_interface(sys.argv[1]).network)' "$1"
}

up() {
	local net range
	ip link show "$br" >/dev/null 2>&1 && die "'$br' already exists"
	command -v nft >/dev/null || command -v iptables >/dev/null ||
		die "needs nftables (nft) or iptables for NAT"
	net=$(subnet "$cidr") || die "bad address '$cidr' (want A.B.C.D/N)"
	ip link add "$br" type bridge
	ip addr add "$cidr" dev "$br"
	ip link set "$br" up
	sysctl -q -w net.ipv4.ip_forward=1
	if command -v nft >/dev/null; then
		nft -f - <<EON
table ip $table {
	chain cv_post {
		type nat hook postrouting priority srcnat;
		ip saddr $net ip daddr != $net masquerade
	}
	chain cv_forward {
		type filter hook forward priority filter;
		iifname "$br" accept
		oifname "$br" ct state established,related accept
	}
}
EON
	else
		iptables -t nat -A POSTROUTING -s "$net" ! -d "$net" -j MASQUERADE -m comment --comment "$table"
		iptables -A FORWARD -i "$br" -j ACCEPT -m comment --comment "$table"
		iptables -A FORWARD -o "$br" -m state --state ESTABLISHED,RELATED -j ACCEPT -m comment --comment "$table"
	fi
	if command -v dnsmasq >/dev/null; then
		range=$(python3 -c 'import ipaddress,sys
n = ipaddress.ip_interface(sys.argv[1]).network
h = list(n.hosts())
print(f"{h[min(9, len(h) - 1)]},{h[min(199, len(h) - 1)]}")' "$cidr")
		dnsmasq --interface="$br" --bind-interfaces --except-interface=lo \
			--dhcp-range="$range,12h" --pid-file="$pidfile" \
			--conf-file=/dev/null
		echo "nat-bridge: $br up at $cidr, NAT for $net, DHCP $range"
	else
		echo "nat-bridge: $br up at $cidr, NAT for $net (no dnsmasq: configure guests statically, gateway ${cidr%/*})"
	fi
}

down() {
	if [[ -r $pidfile ]]; then
		kill "$(cat "$pidfile")" 2>/dev/null || true
		rm -f "$pidfile"
	fi
	if command -v nft >/dev/null; then
		nft delete table ip "$table" 2>/dev/null || true
	fi
	if command -v iptables-save >/dev/null; then
		# delete our rules (tagged with the table name) in both tables
		for t in nat filter; do
			iptables-save -t $t | grep -- "--comment $table" | sed 's/^-A/-D/' |
			while read -r rule; do
				eval "iptables -t $t $rule" || true
			done
		done
	fi
	ip link del "$br" 2>/dev/null || die "no bridge '$br'"
	echo "nat-bridge: $br removed"
}

case $cmd in
up) up ;;
down) down ;;
*) echo "usage: $0 up [NAME] [CIDR] | down [NAME]" >&2; exit 2 ;;
esac
