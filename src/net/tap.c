// SPDX-License-Identifier: MIT
/*
 * tap backend: an existing tap interface opened through /dev/net/tun with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte virtio-net header, so
 * checksum and segmentation offloads pass between guest and host kernel.
 */
#include "net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/net.h"

struct tap {
	struct net_backend be;
	char ifname[IFNAMSIZ];
};

static int tap_send(struct net_backend *be, const struct iovec *iov,
		    unsigned cnt, size_t len)
{
	ssize_t n;

	/* The kernel copies and checks the header once: no bounce buffer. */
	do
		n = writev(be->fd, iov, cnt);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

static ssize_t tap_recv(struct net_backend *be, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(be->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static int tap_set_offload(struct net_backend *be, unsigned tun_flags)
{
	return ioctl(be->fd, TUNSETOFFLOAD, (unsigned long)tun_flags) ? -errno
									: 0;
}

static void tap_close(struct net_backend *be)
{
	struct tap *t = (struct tap *)be;

	/* Not persistent: the kernel deletes a tap we created, and with it
	 * the bridge port. */
	close(be->fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.send = tap_send,
	.recv = tap_recv,
	.set_offload = tap_set_offload,
	.close = tap_close,
};

static const char *perm_hint(int err)
{
	return err == EPERM || err == EACCES ?
		       " (needs root or CAP_NET_ADMIN)" : "";
}

int tap_open_fd(const char *name, char *actual, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int hdr = NET_HDR_LEN, fd, ret;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "tap '%s': cannot open /dev/net/tun: %s%s",
			 name, strerror(-ret), perm_hint(-ret));
		return ret;
	}
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		ret = -errno;
		snprintf(err, errlen, "tap '%s': cannot attach: %s%s", name,
			 strerror(-ret),
			 ret == -EBUSY ? " (in use by another process?)" :
			 ret == -EINVAL ? " (not a tap with vnet headers?)" :
					  perm_hint(-ret));
		goto err;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
		ret = -errno;
		snprintf(err, errlen, "tap '%s': TUNSETVNETHDRSZ: %s", name,
			 strerror(-ret));
		goto err;
	}
	/* Nothing until the guest says what it accepts. */
	if (ioctl(fd, TUNSETOFFLOAD, 0UL)) {
		ret = -errno;
		snprintf(err, errlen, "tap '%s': TUNSETOFFLOAD: %s", name,
			 strerror(-ret));
		goto err;
	}
	snprintf(actual, IFNAMSIZ, "%s", ifr.ifr_name);
	return fd;
err:
	close(fd);
	return ret;
}

int tap_backend_new(int fd, const char *ifname, struct net_backend **be)
{
	struct tap *t = calloc(1, sizeof(*t));

	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	t->be = (struct net_backend){
		.ops = &tap_ops,
		.name = t->ifname,
		.vnet_hdr = true,
		.fd = fd,
	};
	*be = &t->be;
	return 0;
}

int net_tap_open(const char *ifname, struct net_backend **be, char *err,
		 size_t errlen)
{
	char path[64 + IFNAMSIZ], actual[IFNAMSIZ];
	struct stat st;
	int fd;

	/* TUNSETIFF would create a missing tap: we want an existing one. */
	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	if (stat(path, &st)) {
		snprintf(err, errlen, "tap '%s' does not exist", ifname);
		return -ENODEV;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", ifname);
	if (stat(path, &st)) {
		snprintf(err, errlen, "'%s' is not a tap interface", ifname);
		return -ENODEV;
	}
	fd = tap_open_fd(ifname, actual, err, errlen);
	if (fd < 0)
		return fd;
	return tap_backend_new(fd, actual, be);
}
