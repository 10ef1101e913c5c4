/* SPDX-License-Identifier: MIT */
/*
 * Network backends for virtio-net: what a --net SPEC asks for, and the
 * backend that moves Ethernet frames between the device and the host.
 *
 *   user[,hostfwd=tcp:[HOSTADDR]:HPORT-[GUESTADDR]:GPORT]...[,net=A.B.C.D/N]
 *   tap,ifname=NAME[,queues=N]
 *   bridge,br=NAME[,queues=N]
 * each with an optional ,mac=52:54:00:xx:xx:xx.
 *
 * Frames cross the interface with the 12-byte virtio-net header in front
 * (virtio 1.2, 5.1.6). A tap opened with IFF_VNET_HDR uses the header as
 * is; slirp strips and adds it.
 *
 * A backend has nr_queues queues (a tap opened once per queue, slirp one),
 * each with its own fd. The NIC's queue pair i thread calls send and recv
 * for queue i, and send for queue 0 too; everything else, and all calls
 * to a single-queue backend, come from the thread of pair 0.
 */
#ifndef CVISOR_NET_NET_H
#define CVISOR_NET_NET_H

#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/log.h"
#include "vmm/state.h"

#define NET_HDR_LEN		12	/* struct virtio_net_hdr, VERSION_1 */
#define NET_MAX_FRAME		65550	/* largest frame, header included */
#define NET_MAX_HOSTFWD		16
#define NET_MAX_QUEUES		16	/* queues=N, N in 1..16 */

enum net_kind {
	NET_USER,
	NET_TAP,
	NET_BRIDGE,
};

struct net_hostfwd {
	bool udp;
	struct in_addr host;	/* INADDR_ANY when not given */
	uint16_t host_port;
	struct in_addr guest;	/* INADDR_ANY: the first DHCP address */
	uint16_t guest_port;
};

struct net_opts {
	enum net_kind kind;
	char ifname[IFNAMSIZ];	/* tap */
	char bridge[IFNAMSIZ];	/* bridge */
	bool has_mac;
	uint8_t mac[6];
	struct in_addr net;	/* user: network address (10.0.2.0) */
	unsigned prefix;	/* user: prefix length (24) */
	struct net_hostfwd fwd[NET_MAX_HOSTFWD];
	unsigned nr_fwd;
	const char *fwd_spec[NET_MAX_HOSTFWD];	/* for error messages */
	unsigned queues;	/* tap, bridge: queue pairs (1) */
};

/*
 * Parse a --net SPEC. Returns 0, or -EINVAL with one line naming the bad
 * value in err.
 */
int net_parse(const char *spec, struct net_opts *o, char *err, size_t errlen);
/* "52:54:00:12:34:56" -> mac; -EINVAL unless six hex bytes, unicast. */
int net_mac_parse(const char *s, uint8_t mac[6]);
/* A stable, locally administered 52:54:00:xx:xx:xx from name + index. */
void net_mac_derive(const char *vm_name, unsigned index, uint8_t mac[6]);

/* A growable poll set the NIC thread builds before each poll(). */
struct net_poll {
	struct pollfd *fds;
	unsigned nr, cap;
};

/* Append fd; returns its index or -ENOMEM. */
int net_poll_add(struct net_poll *p, int fd, short events);
void net_poll_free(struct net_poll *p);

struct net_backend;

/* Frames from a backend: frame is without the virtio-net header. */
typedef void (*net_rx_cb)(void *opaque, const void *frame, size_t len);

struct net_backend_ops {
	/*
	 * Send one frame of len bytes in iov (virtio-net header first; the
	 * iovecs may point into guest RAM) through queue q; negative errno.
	 */
	int (*send)(struct net_backend *be, unsigned q, const struct iovec *iov,
		    unsigned cnt, size_t len);
	/*
	 * Read one frame from queue q, header first, into buf. Returns its
	 * length, -EAGAIN when none waits, or another negative errno. Only
	 * for backends with fds.
	 */
	ssize_t (*recv)(struct net_backend *be, unsigned q, void *buf,
			size_t len);
	/* Offloads the guest accepts (TUN_F_* bits). Optional. */
	int (*set_offload)(struct net_backend *be, unsigned tun_flags);
	/*
	 * Multiqueue: from now on the host hands frames to queues [0, n)
	 * only; the others get nothing and must not be read or written
	 * (a tap detaches them). Queue 0 always stays. Returns 0 or a
	 * negative errno; after a failure some queues may have changed:
	 * call again with the previous n to go back. Optional when
	 * nr_queues is 1.
	 */
	int (*set_queues)(struct net_backend *be, unsigned n);
	/*
	 * Optional: add the backend's own fds to p and lower *timeout_ms,
	 * then after poll() handle them. Frames arrive through be->rx.
	 */
	int (*poll_fill)(struct net_backend *be, struct net_poll *p,
			 int *timeout_ms);
	void (*poll_done)(struct net_backend *be, struct net_poll *p);
	/*
	 * Optional: the backend's own state for a snapshot (slirp: its
	 * connections and leases), written into and read from the NIC's
	 * state section, with the backend idle. load returns 0 or a
	 * negative errno, with the reason given to state_fail.
	 */
	int (*save)(struct net_backend *be, struct state_writer *w);
	int (*load)(struct net_backend *be, struct state_reader *r);
	void (*close)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	const char *name;	/* for messages: "tap0", "user" */
	bool vnet_hdr;		/* frames keep the header: offloads possible */
	unsigned nr_queues;	/* 1..NET_MAX_QUEUES */
	int fd[NET_MAX_QUEUES];	/* per queue: readable when frames wait, or -1 */
	net_rx_cb rx;
	void *rx_opaque;
	struct log_limit log;	/* what the guest's traffic makes it report */
};

/*
 * Open the backend o describes. On failure returns a negative errno and
 * one line in err naming the interface or value at fault.
 */
int net_backend_open(const struct net_opts *o, struct net_backend **be,
		     char *err, size_t errlen);
void net_backend_close(struct net_backend *be);

/* Per backend, from net_backend_open. */
int net_tap_open(const char *ifname, unsigned queues, struct net_backend **be,
		 char *err, size_t errlen);
int net_bridge_open(const char *bridge, unsigned queues,
		    struct net_backend **be, char *err, size_t errlen);
int net_slirp_open(const struct net_opts *o, struct net_backend **be,
		   char *err, size_t errlen);

#endif
