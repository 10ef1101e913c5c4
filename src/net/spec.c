// SPDX-License-Identifier: MIT
/*
 * --net SPEC parsing, MAC addresses, and opening the backend a spec names.
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX	512

int net_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	int n = 0;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &n) != 6 || (size_t)n != strlen(s) ||
	    strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
	if (mac[0] & 1)		/* multicast cannot be a NIC's address */
		return -EINVAL;
	return 0;
}

void net_mac_derive(const char *vm_name, unsigned index, uint8_t mac[6])
{
	/* FNV-1a over the name and index: stable across runs of one VM. */
	uint32_t h = 2166136261u;
	const char *p = vm_name ? vm_name : "cvisor";

	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (int i = 0; i < 4; i++)
		h = (h ^ ((index >> (8 * i)) & 0xff)) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = h >> 16;
	mac[4] = h >> 8;
	mac[5] = h;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535 || *s == '-' || *s == '+')
		return -EINVAL;
	*port = v;
	return 0;
}

static int parse_addr(const char *s, struct in_addr *a)
{
	if (!*s) {
		a->s_addr = htonl(INADDR_ANY);
		return 0;
	}
	return inet_pton(AF_INET, s, a) == 1 ? 0 : -EINVAL;
}

/* tcp:[HOSTADDR]:HPORT-[GUESTADDR]:GPORT (udp: likewise) */
static int parse_hostfwd(char *s, struct net_hostfwd *f)
{
	char *host, *hport, *guest, *gport;

	if (!strncmp(s, "tcp:", 4))
		f->udp = false;
	else if (!strncmp(s, "udp:", 4))
		f->udp = true;
	else
		return -EINVAL;
	host = s + 4;
	guest = strchr(host, '-');
	if (!guest)
		return -EINVAL;
	*guest++ = '\0';
	hport = strrchr(host, ':');
	gport = strrchr(guest, ':');
	if (!hport || !gport)
		return -EINVAL;
	*hport++ = '\0';
	*gport++ = '\0';
	if (parse_addr(host, &f->host) || parse_addr(guest, &f->guest) ||
	    parse_port(hport, &f->host_port) ||
	    parse_port(gport, &f->guest_port))
		return -EINVAL;
	return 0;
}

/* A.B.C.D/N with no host bits set and room for .2, .3 and .15 */
static int parse_net(char *s, struct in_addr *net, unsigned *prefix)
{
	char *slash = strchr(s, '/'), *end;
	unsigned long n;
	uint32_t mask;

	if (!slash)
		return -EINVAL;
	*slash++ = '\0';
	errno = 0;
	n = strtoul(slash, &end, 10);
	if (errno || *end || !*slash || n < 8 || n > 27)
		return -EINVAL;
	if (inet_pton(AF_INET, s, net) != 1)
		return -EINVAL;
	mask = ~0u << (32 - n);
	if (ntohl(net->s_addr) & ~mask)
		return -EINVAL;
	*prefix = n;
	return 0;
}

static int parse_queues(const char *s, unsigned *queues)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > NET_MAX_QUEUES)
		return -EINVAL;
	*queues = v;
	return 0;
}

static int copy_ifname(char *dst, const char *v)
{
	if (!*v || strlen(v) >= IFNAMSIZ || strchr(v, '/') || strchr(v, ' '))
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

int net_parse(const char *spec, struct net_opts *o, char *err, size_t errlen)
{
	char buf[SPEC_MAX], *rest = buf, *tok, *val;
	const char *what = NULL;
	int ret = -EINVAL;

	memset(o, 0, sizeof(*o));
	o->net.s_addr = htonl(0x0a000200);	/* 10.0.2.0/24 */
	o->prefix = 24;
	o->queues = 1;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "--net '%.40s...': too long", spec);
		return -EINVAL;
	}
	strcpy(buf, spec);
	tok = strsep(&rest, ",");
	if (!*tok) {
		snprintf(err, errlen, "--net '%s': no backend (user, tap, bridge)",
			 spec);
		return -EINVAL;
	}
	if (!strcmp(tok, "user")) {
		o->kind = NET_USER;
	} else if (!strcmp(tok, "tap")) {
		o->kind = NET_TAP;
	} else if (!strcmp(tok, "bridge")) {
		o->kind = NET_BRIDGE;
	} else {
		snprintf(err, errlen,
			 "--net '%s': unknown backend '%s' (user, tap, bridge)",
			 spec, tok);
		return -EINVAL;
	}
	while ((tok = strsep(&rest, ","))) {
		char orig[SPEC_MAX];

		snprintf(orig, sizeof(orig), "%s", tok);
		val = strchr(tok, '=');
		if (!val) {
			snprintf(err, errlen, "--net '%s': '%s' is not KEY=VALUE",
				 spec, orig);
			return -EINVAL;
		}
		*val++ = '\0';
		if (!strcmp(tok, "mac")) {
			what = "MAC address (want 52:54:00:12:34:56, unicast)";
			ret = net_mac_parse(val, o->mac);
			o->has_mac = true;
		} else if (!strcmp(tok, "ifname") && o->kind == NET_TAP) {
			what = "interface name";
			ret = copy_ifname(o->ifname, val);
		} else if (!strcmp(tok, "br") && o->kind == NET_BRIDGE) {
			what = "bridge name";
			ret = copy_ifname(o->bridge, val);
		} else if (!strcmp(tok, "queues")) {
			what = "queues (want a number from 1 to 16)";
			ret = parse_queues(val, &o->queues);
		} else if (!strcmp(tok, "hostfwd") && o->kind == NET_USER) {
			what = "hostfwd (want tcp:[HOSTADDR]:PORT-[GUESTADDR]:PORT)";
			if (o->nr_fwd == NET_MAX_HOSTFWD) {
				snprintf(err, errlen,
					 "--net '%s': at most %d hostfwd rules",
					 spec, NET_MAX_HOSTFWD);
				return -EINVAL;
			}
			ret = parse_hostfwd(val, &o->fwd[o->nr_fwd]);
			o->fwd_spec[o->nr_fwd++] = spec;
		} else if (!strcmp(tok, "net") && o->kind == NET_USER) {
			what = "network (want A.B.C.D/N, N in 8..27, no host bits)";
			ret = parse_net(val, &o->net, &o->prefix);
		} else {
			snprintf(err, errlen, "--net '%s': unknown option '%s'",
				 spec, tok);
			return -EINVAL;
		}
		if (ret) {
			snprintf(err, errlen, "--net '%s': bad %s: '%s'", spec,
				 what, orig + strlen(tok) + 1);
			return ret;
		}
	}
	if (o->kind == NET_TAP && !o->ifname[0]) {
		snprintf(err, errlen, "--net '%s': tap needs ifname=NAME", spec);
		return -EINVAL;
	}
	if (o->kind == NET_BRIDGE && !o->bridge[0]) {
		snprintf(err, errlen, "--net '%s': bridge needs br=NAME", spec);
		return -EINVAL;
	}
	if (o->kind == NET_USER && o->queues > 1) {
		snprintf(err, errlen,
			 "--net '%s': user mode (libslirp) has a single queue; queues=N needs tap or bridge",
			 spec);
		return -EINVAL;
	}
	return 0;
}

int net_poll_add(struct net_poll *p, int fd, short events)
{
	if (p->nr == p->cap) {
		unsigned cap = p->cap ? 2 * p->cap : 16;
		struct pollfd *fds = realloc(p->fds, cap * sizeof(*fds));

		if (!fds)
			return -ENOMEM;
		p->fds = fds;
		p->cap = cap;
	}
	p->fds[p->nr] = (struct pollfd){ .fd = fd, .events = events };
	return p->nr++;
}

void net_poll_free(struct net_poll *p)
{
	free(p->fds);
	*p = (struct net_poll){ 0 };
}

int net_backend_open(const struct net_opts *o, struct net_backend **be,
		     char *err, size_t errlen)
{
	switch (o->kind) {
	case NET_USER:
		return net_slirp_open(o, be, err, errlen);
	case NET_TAP:
		return net_tap_open(o->ifname, o->queues, be, err, errlen);
	case NET_BRIDGE:
		return net_bridge_open(o->bridge, o->queues, be, err, errlen);
	}
	return -EINVAL;
}

void net_backend_close(struct net_backend *be)
{
	if (be)
		be->ops->close(be);
}
