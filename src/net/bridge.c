// SPDX-License-Identifier: MIT
/*
 * bridge backend: a new tap ("cvtapN") made for this NIC, added to an
 * existing bridge with SIOCBRADDIF and brought up. The tap is not
 * persistent: closing it at exit deletes it and its bridge port.
 */
#include <errno.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net.h"
#include "net/tap.h"

static int bridge_attach(const char *bridge, const char *tap, char *err,
			 size_t errlen)
{
	struct ifreq ifr = { 0 };
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		ret = -errno;
		snprintf(err, errlen, "bridge '%s': socket: %s", bridge,
			 strerror(-ret));
		return ret;
	}
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", bridge);
	ifr.ifr_ifindex = if_nametoindex(tap);
	if (!ifr.ifr_ifindex || ioctl(s, SIOCBRADDIF, &ifr)) {
		ret = -errno;
		snprintf(err, errlen, "bridge '%s': cannot add '%s': %s%s",
			 bridge, tap, strerror(-ret),
			 ret == -EPERM ? " (needs root or CAP_NET_ADMIN)" : "");
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tap);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) == 0)
			goto out;
	}
	ret = -errno;
	snprintf(err, errlen, "bridge '%s': cannot bring '%s' up: %s", bridge,
		 tap, strerror(-ret));
out:
	close(s);
	return ret;
}

int net_bridge_open(const char *bridge, unsigned queues,
		    struct net_backend **be, char *err, size_t errlen)
{
	char path[64 + IFNAMSIZ], tap[IFNAMSIZ];
	int fds[NET_MAX_QUEUES], ret;
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", bridge);
	if (stat(path, &st)) {
		snprintf(path, sizeof(path), "/sys/class/net/%s", bridge);
		snprintf(err, errlen, stat(path, &st) ?
			 "bridge '%s' does not exist" :
			 "'%s' is not a bridge", bridge);
		return -ENODEV;
	}
	ret = tap_open_queues("cvtap%d", queues > 1, queues, fds, tap, err,
			      errlen);
	if (ret) {
		snprintf(err, errlen, "bridge '%s': cannot create a tap: %s%s",
			 bridge, strerror(-ret),
			 ret == -EPERM || ret == -EACCES ?
				 " (needs root or CAP_NET_ADMIN)" : "");
		return ret;
	}
	ret = bridge_attach(bridge, tap, err, errlen);
	if (ret) {
		for (unsigned q = 0; q < queues; q++)
			close(fds[q]);
		return ret;
	}
	return tap_backend_new(fds, queues, tap, be, err, errlen);
}
