// SPDX-License-Identifier: MIT
/*
 * tap backend: an existing tap interface opened through /dev/net/tun with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte virtio-net header, so
 * checksum and segmentation offloads pass between guest and host kernel.
 *
 * With queues=N the tap must have been made multi_queue; it is opened N
 * times with IFF_MULTI_QUEUE, one fd per queue pair. The kernel spreads
 * incoming flows over the fds attached to the tap (a flow follows the
 * queue it was last sent from), so fds the guest is not using are
 * detached (TUNSETQUEUE): nothing arrives there to be stranded.
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
	bool detached[NET_MAX_QUEUES];
};

static int tap_send(struct net_backend *be, unsigned q,
		    const struct iovec *iov, unsigned cnt, size_t len)
{
	ssize_t n;

	(void)len;
	/* The kernel copies and checks the header once: no bounce buffer. */
	do
		n = writev(be->fd[q], iov, cnt);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

static ssize_t tap_recv(struct net_backend *be, unsigned q, void *buf,
			size_t len)
{
	ssize_t n;

	do
		n = read(be->fd[q], buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

static int tap_set_offload(struct net_backend *be, unsigned tun_flags)
{
	/* Offloads belong to the interface: any of its fds will do. */
	return ioctl(be->fd[0], TUNSETOFFLOAD, (unsigned long)tun_flags) ?
		       -errno : 0;
}

static int tap_set_queues(struct net_backend *be, unsigned n)
{
	struct tap *t = (struct tap *)be;

	for (unsigned q = 1; q < be->nr_queues; q++) {
		bool detach = q >= n;
		struct ifreq ifr = { 0 };

		if (t->detached[q] == detach)
			continue;
		ifr.ifr_flags = detach ? IFF_DETACH_QUEUE : IFF_ATTACH_QUEUE;
		if (ioctl(be->fd[q], TUNSETQUEUE, &ifr))
			return -errno;
		t->detached[q] = detach;
	}
	return 0;
}

static void tap_close(struct net_backend *be)
{
	struct tap *t = (struct tap *)be;

	/* Not persistent: the kernel deletes a tap we created, and with it
	 * the bridge port. */
	for (unsigned q = 0; q < be->nr_queues; q++)
		close(be->fd[q]);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.send = tap_send,
	.recv = tap_recv,
	.set_offload = tap_set_offload,
	.set_queues = tap_set_queues,
	.close = tap_close,
};

static const char *perm_hint(int err)
{
	return err == EPERM || err == EACCES ?
		       " (needs root or CAP_NET_ADMIN)" : "";
}

int tap_open_fd(const char *name, bool mq, char *actual, char *err,
		size_t errlen)
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
	if (mq)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
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

int tap_open_queues(const char *name, bool mq, unsigned nr, int *fds,
		    char *actual, char *err, size_t errlen)
{
	for (unsigned q = 0; q < nr; q++) {
		/* The first open may create the tap (a "cvtap%d" pattern);
		 * the others join it by its real name. */
		int fd = tap_open_fd(q ? actual : name, mq, actual, err, errlen);

		if (fd < 0) {
			while (q-- > 0)
				close(fds[q]);
			return fd;
		}
		fds[q] = fd;
	}
	return 0;
}

int tap_backend_new(const int *fds, unsigned nr, const char *ifname,
		    struct net_backend **be, char *err, size_t errlen)
{
	struct tap *t = calloc(1, sizeof(*t));
	int ret;

	if (!t) {
		for (unsigned q = 0; q < nr; q++)
			close(fds[q]);
		snprintf(err, errlen, "tap '%s': out of memory", ifname);
		return -ENOMEM;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifname);
	t->be = (struct net_backend){
		.ops = &tap_ops,
		.name = t->ifname,
		.vnet_hdr = true,
		.nr_queues = nr,
	};
	memcpy(t->be.fd, fds, nr * sizeof(*fds));
	/* Until the guest driver asks for more, only queue 0 (5.1.6.5.6). */
	ret = tap_set_queues(&t->be, 1);
	if (ret) {
		snprintf(err, errlen, "tap '%s': cannot detach a queue: %s",
			 ifname, strerror(-ret));
		tap_close(&t->be);
		return ret;
	}
	*be = &t->be;
	return 0;
}

/* The tap's IFF_* flags from sysfs; 0 if unreadable. */
static unsigned long tap_flags(const char *ifname)
{
	char path[64 + IFNAMSIZ], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", ifname);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoul(buf, NULL, 0);
}

int net_tap_open(const char *ifname, unsigned queues, struct net_backend **be,
		 char *err, size_t errlen)
{
	char path[64 + IFNAMSIZ], actual[IFNAMSIZ];
	int fds[NET_MAX_QUEUES], ret;
	struct stat st;
	bool mq;

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
	/* The kernel refuses an open whose IFF_MULTI_QUEUE differs. */
	mq = tap_flags(ifname) & IFF_MULTI_QUEUE;
	if (queues > 1 && !mq) {
		snprintf(err, errlen,
			 "tap '%s' was made without multi_queue, queues=%u needs it (ip tuntap add dev %s mode tap multi_queue vnet_hdr)",
			 ifname, queues, ifname);
		return -EINVAL;
	}
	ret = tap_open_queues(ifname, mq, queues, fds, actual, err, errlen);
	if (ret)
		return ret;
	return tap_backend_new(fds, queues, actual, be, err, errlen);
}
