/* SPDX-License-Identifier: MIT */
/* Shared by the tap and bridge backends. */
#ifndef CVISOR_NET_TAP_H
#define CVISOR_NET_TAP_H

#include <stddef.h>

struct net_backend;

/*
 * TUNSETIFF with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR on name (a pattern
 * such as "cvtap%d" creates a new tap); the kernel's name goes to actual
 * (IFNAMSIZ bytes). Returns the nonblocking fd or a negative errno with
 * err set.
 */
int tap_open_fd(const char *name, char *actual, char *err, size_t errlen);
/* Wrap an open tap fd (taken over) into a backend. */
int tap_backend_new(int fd, const char *ifname, struct net_backend **be);

#endif
