/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_NET_SLIRP_LIB_H
#define CVISOR_NET_SLIRP_LIB_H

#include <stddef.h>

#include <slirp/libslirp.h>

/*
 * libslirp, loaded when the first --net user opens rather than linked:
 * libslirp and the glib it pulls in cost close to 1 MiB of resident memory
 * in every VMM process, most of which never use user-mode networking.
 */
struct slirp_lib {
	Slirp *(*new)(const SlirpConfig *cfg, const SlirpCb *callbacks,
		      void *opaque);
	void (*cleanup)(Slirp *slirp);
	void (*input)(Slirp *slirp, const uint8_t *pkt, int pkt_len);
	void (*pollfds_fill)(Slirp *slirp, uint32_t *timeout,
			     SlirpAddPollCb add_poll, void *opaque);
	void (*pollfds_poll)(Slirp *slirp, int select_error,
			     SlirpGetREventsCb get_revents, void *opaque);
	void (*handle_timer)(Slirp *slirp, SlirpTimerId id, void *cb_opaque);
	int (*add_hostfwd)(Slirp *slirp, int is_udp, struct in_addr host_addr,
			   int host_port, struct in_addr guest_addr,
			   int guest_port);
	void (*state_save)(Slirp *slirp, SlirpWriteCb write_cb, void *opaque);
	int (*state_load)(Slirp *slirp, int version_id, SlirpReadCb read_cb,
			  void *opaque);
	int (*state_version)(void);
};

/* The loaded library, or NULL with one line in err. Thread-safe. */
const struct slirp_lib *slirp_lib_get(char *err, size_t errlen);

#endif
