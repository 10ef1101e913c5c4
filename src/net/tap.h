/* SPDX-License-Identifier: MIT */
/* Shared by the tap and bridge backends. */
#ifndef CVISOR_NET_TAP_H
#define CVISOR_NET_TAP_H

#include <stdbool.h>
#include <stddef.h>

struct net_backend;

/*
 * TUNSETIFF with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, plus IFF_MULTI_QUEUE
 * when mq, on name (a pattern such as "cvtap%d" creates a new tap); the
 * kernel's name goes to actual (IFNAMSIZ bytes). Returns the nonblocking
 * fd or a negative errno with err set.
 */
int tap_open_fd(const char *name, bool mq, char *actual, char *err,
		size_t errlen);
/*
 * nr fds of one tap (nr > 1 needs mq): tap_open_fd on name, then on the
 * name the kernel gave. Returns 0 or a negative errno, nothing left open.
 */
int tap_open_queues(const char *name, bool mq, unsigned nr, int *fds,
		    char *actual, char *err, size_t errlen);
/*
 * Wrap nr open fds of tap ifname (taken over, closed on failure) into a
 * backend with queue 0 attached and the others detached.
 */
int tap_backend_new(const int *fds, unsigned nr, const char *ifname,
		    struct net_backend **be, char *err, size_t errlen);

#endif
