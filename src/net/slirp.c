// SPDX-License-Identifier: MIT
/*
 * User-mode networking over libslirp: a NAT with DHCP, DNS and port
 * forwarding, no privileges needed. The host is the network's .2 (its
 * loopback, as seen from the guest), DNS .3, the guest gets .15.
 *
 * libslirp is single-threaded: every call, timers included, happens on the
 * NIC's thread through poll_fill / poll_done; only slirp_new and the
 * forwarding rules (which bind host ports, so errors show before boot)
 * run earlier, before that thread exists.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/net.h"
#include "net/slirp_lib.h"
#include "vmm/log.h"

#define SLIRP_MAX_TIMERS	8
/*
 * libslirp's saved state without socket records: a 0 byte ending their
 * list, then its fixed fields (ip_id and the DHCP leases: 131 bytes in
 * state version 4). The bound leaves room for later versions' fields.
 */
#define SLIRP_STATE_MAX		4096

struct slirp_timer {
	bool used, armed;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms;
};

struct net_slirp {
	struct net_backend be;
	const struct slirp_lib *lib;
	Slirp *slirp;
	struct net_poll *poll;	/* during poll_fill / poll_done */
	unsigned poll_base;	/* slirp's fds start here in poll */
	struct slirp_timer timers[SLIRP_MAX_TIMERS];
	uint8_t txbuf[NET_MAX_FRAME];
};

static int64_t slirp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;

	if (s->be.rx)
		s->be.rx(s->be.rx_opaque, buf, len);
	return len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct net_slirp *s = opaque;

	log_limited(&s->be.log, "user network: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return slirp_now_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
				 void *opaque)
{
	struct net_slirp *s = opaque;

	for (int i = 0; i < SLIRP_MAX_TIMERS; i++) {
		struct slirp_timer *t = &s->timers[i];

		if (!t->used) {
			*t = (struct slirp_timer){ .used = true, .id = id,
						   .cb_opaque = cb_opaque };
			return t;
		}
	}
	log_limited(&s->be.log, "user network: out of timers");
	return NULL;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct slirp_timer *t = timer;

	(void)opaque;
	if (t)
		*t = (struct slirp_timer){ 0 };
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct slirp_timer *t = timer;

	(void)opaque;
	if (!t)
		return;
	t->expire_ms = expire_ms;
	t->armed = true;
}

/*
 * slirp announces its sockets here, but we hand it poll slots on every
 * round (slirp_pollfds_fill), so there is nothing to keep track of.
 */
static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* A socket can take data again: the NIC thread re-polls every round. */
static void cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb slirp_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

static int slirp_send(struct net_backend *be, unsigned q,
		      const struct iovec *iov, unsigned cnt, size_t len)
{
	struct net_slirp *s = (struct net_slirp *)be;
	size_t done = 0;

	(void)q;
	if (len <= NET_HDR_LEN || len > NET_MAX_FRAME)
		return -EINVAL;
	/* slirp wants one buffer, and a copy the guest cannot change */
	for (unsigned i = 0; i < cnt && done < len; i++) {
		size_t c = iov[i].iov_len < len - done ? iov[i].iov_len :
							 len - done;

		memcpy(s->txbuf + done, iov[i].iov_base, c);
		done += c;
	}
	s->lib->input(s->slirp, s->txbuf + NET_HDR_LEN, done - NET_HDR_LEN);
	return 0;
}

static short to_poll(int ev)
{
	short r = 0;

	if (ev & SLIRP_POLL_IN)
		r |= POLLIN;
	if (ev & SLIRP_POLL_OUT)
		r |= POLLOUT;
	if (ev & SLIRP_POLL_PRI)
		r |= POLLPRI;
	return r;
}

static int from_poll(short ev)
{
	int r = 0;

	if (ev & POLLIN)
		r |= SLIRP_POLL_IN;
	if (ev & POLLOUT)
		r |= SLIRP_POLL_OUT;
	if (ev & POLLPRI)
		r |= SLIRP_POLL_PRI;
	if (ev & POLLERR)
		r |= SLIRP_POLL_ERR;
	if (ev & POLLHUP)
		r |= SLIRP_POLL_HUP;
	return r;
}

static int add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	int idx = net_poll_add(s->poll, fd, to_poll(events));

	/* out of memory: slirp asks for index -1's events, which are none */
	return idx < 0 ? -1 : idx - (int)s->poll_base;
}

static int get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;

	if (idx < 0 || s->poll_base + idx >= s->poll->nr)
		return 0;
	return from_poll(s->poll->fds[s->poll_base + idx].revents);
}

static int slirp_poll_fill(struct net_backend *be, struct net_poll *p,
			   int *timeout_ms)
{
	struct net_slirp *s = (struct net_slirp *)be;
	uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	int64_t now = slirp_now_ns() / 1000000;

	s->poll = p;
	s->poll_base = p->nr;
	s->lib->pollfds_fill(s->slirp, &t, add_poll, s);
	for (int i = 0; i < SLIRP_MAX_TIMERS; i++) {
		struct slirp_timer *tm = &s->timers[i];
		int64_t left;

		if (!tm->armed)
			continue;
		left = tm->expire_ms - now;
		left = left < 0 ? 0 : left;
		if ((uint64_t)left < t)
			t = left;
	}
	*timeout_ms = t == UINT32_MAX || t > INT32_MAX ? -1 : (int)t;
	return 0;
}

static void slirp_poll_done(struct net_backend *be, struct net_poll *p)
{
	struct net_slirp *s = (struct net_slirp *)be;
	int64_t now;

	s->poll = p;
	s->lib->pollfds_poll(s->slirp, 0, get_revents, s);
	now = slirp_now_ns() / 1000000;
	for (int i = 0; i < SLIRP_MAX_TIMERS; i++) {
		struct slirp_timer *tm = &s->timers[i];

		if (tm->armed && tm->expire_ms <= now) {
			tm->armed = false;
			s->lib->handle_timer(s->slirp, tm->id, tm->cb_opaque);
		}
	}
}

static void slirp_close(struct net_backend *be)
{
	struct net_slirp *s = (struct net_slirp *)be;

	if (s->slirp)
		s->lib->cleanup(s->slirp);
	free(s);
}

/* libslirp's state goes through callbacks: collect it, then frame it. */
struct slirp_buf {
	uint8_t *p;
	size_t len, cap, pos;
	bool failed;
};

static ssize_t slirp_buf_write(const void *buf, size_t len, void *opaque)
{
	struct slirp_buf *b = opaque;

	if (b->len + len > STATE_SECTION_MAX / 2) {
		b->failed = true;
		return -1;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, buf, len);
	b->len += len;
	return len;
}

static ssize_t slirp_buf_read(void *buf, size_t len, void *opaque)
{
	struct slirp_buf *b = opaque;

	/* libslirp reads what its stream says; past our bytes is an error */
	if (len > b->len - b->pos) {
		b->failed = true;
		memset(buf, 0, len);
		return -1;
	}
	memcpy(buf, b->p + b->pos, len);
	b->pos += len;
	return len;
}

/* Framed as u32 libslirp's state version, u32 length, the bytes. */
static int slirp_save(struct net_backend *be, struct state_writer *w)
{
	struct net_slirp *s = (struct net_slirp *)be;
	struct slirp_buf b = { 0 };

	s->lib->state_save(s->slirp, slirp_buf_write, &b);
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	state_put_u32(w, (uint32_t)s->lib->state_version());
	state_put_u32(w, (uint32_t)b.len);
	state_put(w, b.p, b.len);
	free(b.p);
	return 0;
}

static int slirp_load(struct net_backend *be, struct state_reader *r)
{
	struct net_slirp *s = (struct net_slirp *)be;
	struct slirp_buf b = { 0 };
	uint32_t version, len;
	int ret;

	ret = state_get_u32(r, &version);
	ret = ret ?: state_get_u32(r, &len);
	if (ret)
		return ret;
	if ((int)version > s->lib->state_version() || len > state_remaining(r))
		return state_fail(r, "user networking: libslirp state version "
				  "%u of %u bytes cannot be loaded", version,
				  len);
	if (!len || len > SLIRP_STATE_MAX)
		return state_fail(r, "user networking: libslirp state of %u "
				  "bytes (at most %u without sockets)", len,
				  SLIRP_STATE_MAX);
	b.p = malloc(len);
	if (!b.p)
		return state_fail(r, "out of memory");
	b.len = len;
	ret = state_get(r, b.p, len);
	/*
	 * A socket record is saved only for a guestfwd rule, which this
	 * backend never sets up, and libslirp refuses one without its rule,
	 * but only after it has allocated the buffers the record's lengths
	 * ask for (up to 4 GiB each) and read that many bytes.
	 */
	if (!ret && b.p[0])
		ret = state_fail(r, "user networking: the saved libslirp state "
				 "holds a forwarded socket (guestfwd), which "
				 "cvisor never sets up");
	if (!ret && (s->lib->state_load(s->slirp, version, slirp_buf_read,
					&b) < 0 || b.failed))
		ret = state_fail(r, "user networking: libslirp refused its "
				 "saved state");
	free(b.p);
	return ret;
}

static const struct net_backend_ops slirp_ops = {
	.send = slirp_send,
	.poll_fill = slirp_poll_fill,
	.poll_done = slirp_poll_done,
	.save = slirp_save,
	.load = slirp_load,
	.close = slirp_close,
};

static struct in_addr host_addr(const struct net_opts *o, uint32_t n)
{
	return (struct in_addr){ htonl(ntohl(o->net.s_addr) + n) };
}

int net_slirp_open(const struct net_opts *o, struct net_backend **be,
		   char *err, size_t errlen)
{
	const struct slirp_lib *lib = slirp_lib_get(err, errlen);
	struct net_slirp *s;
	SlirpConfig cfg = {
		.version = 4,
		.in_enabled = true,
		.vnetwork = o->net,
		.vnetmask = { htonl(~0u << (32 - o->prefix)) },
		.vhost = host_addr(o, 2),
		.vnameserver = host_addr(o, 3),
		.vdhcp_start = host_addr(o, 15),
		.vhostname = "cvisor",
	};

	/*
	 * slirp writes to host sockets whose peers may have gone: EPIPE
	 * must be an error return, not the end of the VM.
	 */
	signal(SIGPIPE, SIG_IGN);
	if (!lib)
		return -ENOENT;
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "user network: out of memory");
		return -ENOMEM;
	}
	s->be = (struct net_backend){ .ops = &slirp_ops, .name = "user",
				      .nr_queues = 1, .fd = { -1 } };
	s->lib = lib;
	s->slirp = lib->new(&cfg, &slirp_callbacks, s);
	if (!s->slirp) {
		snprintf(err, errlen, "user network: cannot start libslirp");
		free(s);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < o->nr_fwd; i++) {
		const struct net_hostfwd *f = &o->fwd[i];
		struct in_addr guest = f->guest;

		if (guest.s_addr == htonl(INADDR_ANY))
			guest = cfg.vdhcp_start;
		if (lib->add_hostfwd(s->slirp, f->udp, f->host, f->host_port,
				      guest, f->guest_port) < 0) {
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &f->host, a, sizeof(a));
			snprintf(err, errlen,
				 "--net '%s': hostfwd cannot listen on %s %s:%u (port in use?)",
				 o->fwd_spec[i], f->udp ? "udp" : "tcp", a,
				 f->host_port);
			slirp_close(&s->be);
			return -EADDRINUSE;
		}
	}
	*be = &s->be;
	return 0;
}
