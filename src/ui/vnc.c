// SPDX-License-Identifier: MIT
/*
 * The VNC server (see vnc.h). libvncserver speaks RFB, VNC authentication
 * and, detected on every connection, websockets (noVNC); we accept the
 * connections ourselves (on the VNC port and the optional websocket port,
 * both of which take either protocol) and drive it with rfbProcessEvents
 * from one thread, which also turns display updates into dirty rectangles.
 * Input from clients goes to the virtio-input devices once their driver is
 * up, otherwise to the PS/2 keyboard and mouse. The pointer goes to the
 * absolute tablet whenever its driver is up, as QEMU sends it to an active
 * absolute device: the guest's pointer then sits where the client's is.
 * Without it (no virtio driver, as in an installer), the pointer moves the
 * PS/2 mouse by the difference between successive client positions; the
 * guest's acceleration makes its pointer drift from the client's, as with
 * any relative mouse.
 */
#include "ui/vnc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices/display.h"
#include "devices/legacy.h"
#include "ui/keymap.h"
#include "ui/vnc_lib.h"
#include "ui/vnc_opts.h"
#include "ui/vnc_qemu_keys.h"
#include "virtio/input.h"
#include "vmm/json.h"
#include "vmm/log.h"

#define VNC_MAX_CLIENTS		32
#define VNC_REFRESH_NS		(10 * 1000000ULL)	/* up to 100 updates a second */
#define VNC_POLL_US		10000
#define VNC_TILE		64
#define VNC_CLIENT_WAIT_MS	1000	/* a client that does not read */
#define VNC_AUTH_DELAY_NS	(1000 * 1000000ULL)
#define VNC_IDLE_WIDTH		640
#define VNC_IDLE_HEIGHT		480

struct vnc_client_info {
	bool used;
	char addr[INET6_ADDRSTRLEN + 8];
};

struct vnc_server {
	const struct vnc_lib *lib;
	struct vnc_opts opts;
	int listen_fds[2];	/* VNC port, websocket port (-1: none) */
	int wake_fd;		/* attach/detach */
	char *passwords[2];	/* libvncserver's NULL-terminated list */

	rfbScreenInfoPtr screen;
	uint32_t *fb;		/* what clients see, 0x00RRGGBB */
	uint32_t width, height;
	uint32_t *row;		/* one scanout line */
	uint8_t *dirty_rows;	/* per line of the scanout */
	uint64_t dirty[DISPLAY_DIRTY_WORDS];
	struct display_mode mode;
	uint64_t last_refresh;
	uint64_t auth_blocked_until;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;	/* the machine and the client list */
	struct vnc_machine m;
	bool attached_new;	/* repaint everything on the next refresh */
	struct vnc_client_info clients[VNC_MAX_CLIENTS];
	unsigned nr_clients;
	uint8_t buttons;
	int ptr_x, ptr_y;	/* the client's last pointer position */
	bool ptr_known;		/* ptr_x, ptr_y are set */
	struct log_limit log;	/* what guests and clients can trigger */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* libvncserver's chatter (connections, protocol errors) is debug output. */
static void vnc_log(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	line[strcspn(line, "\n")] = 0;
	log_debug("vnc: %s", line);
}

/* Pixels in memory as 0x00RRGGBB little-endian words. */
static void vnc_set_format(rfbScreenInfoPtr screen)
{
	screen->serverFormat.redShift = 16;
	screen->serverFormat.greenShift = 8;
	screen->serverFormat.blueShift = 0;
}

static void vnc_resize(struct vnc_server *s, uint32_t w, uint32_t h)
{
	uint32_t *fb = calloc((size_t)w * h, 4);
	uint32_t *row = calloc(w, 4);
	uint8_t *rows = calloc(h, 1);

	if (!fb || !row || !rows) {
		free(fb);
		free(row);
		free(rows);
		log_limited(&s->log, "vnc: no memory for a %ux%u screen", w,
			    h);
		return;
	}
	/* Clients that know DesktopSize are told; the rest reconnect. */
	s->lib->new_framebuffer(s->screen, (char *)fb, w, h, 8, 3, 4);
	vnc_set_format(s->screen);
	free(s->fb);
	free(s->row);
	free(s->dirty_rows);
	s->fb = fb;
	s->row = row;
	s->dirty_rows = rows;
	s->width = w;
	s->height = h;
}

/* Compare one line with what clients have; copy and mark changed tiles. */
static void vnc_update_row(struct vnc_server *s, uint32_t y, uint8_t *tiles)
{
	uint32_t *have = s->fb + (size_t)y * s->width;

	for (uint32_t x = 0, t = 0; x < s->width; x += VNC_TILE, t++) {
		uint32_t n = s->width - x < VNC_TILE ? s->width - x : VNC_TILE;

		if (memcmp(have + x, s->row + x, n * 4)) {
			memcpy(have + x, s->row + x, n * 4);
			tiles[t] = 1;
		}
	}
}

/* Lines [y0, y1) were compared: send the tiles that changed. */
static void vnc_mark_tiles(struct vnc_server *s, uint32_t y0, uint32_t y1,
			   uint8_t *tiles)
{
	for (uint32_t x = 0, t = 0; x < s->width; x += VNC_TILE, t++) {
		uint32_t x1 = x + VNC_TILE < s->width ? x + VNC_TILE : s->width;

		if (tiles[t])
			s->lib->mark_rect_as_modified(s->screen, x, y0, x1,
						      y1);
		tiles[t] = 0;
	}
}

/* Which scanout lines the dirty video memory pages may hold. */
static void vnc_dirty_lines(struct vnc_server *s, bool all)
{
	const struct display_mode *m = &s->mode;

	if (all) {
		memset(s->dirty_rows, 1, s->height);
		return;
	}
	for (unsigned w = 0; w < DISPLAY_DIRTY_WORDS; w++) {
		for (uint64_t bits = s->dirty[w]; bits; bits &= bits - 1) {
			uint64_t page = w * 64 + __builtin_ctzll(bits);
			uint64_t start = page * 4096, end = start + 4096;
			uint64_t y0, y1;

			if (end <= m->offset)
				continue;
			y0 = start > m->offset ? (start - m->offset) / m->stride : 0;
			y1 = (end - 1 - m->offset) / m->stride + 1;
			if (y0 >= s->height)
				continue;
			if (y1 > s->height)
				y1 = s->height;
			memset(s->dirty_rows + y0, 1, y1 - y0);
		}
	}
}

static void vnc_refresh(struct vnc_server *s)
{
	uint8_t tiles[DISPLAY_MAX_WIDTH / VNC_TILE + 1] = { 0 };
	struct display_mode m;
	int64_t band_start = -1;
	bool all, any;

	pthread_mutex_lock(&s->lock);
	if (!s->m.display) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	any = display_take_dirty(s->m.display, s->dirty);
	display_get_mode(s->m.display, &m);
	all = s->attached_new || memcmp(&m, &s->mode, sizeof(m));
	s->attached_new = false;
	if (!any && !all) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (m.width && (m.width != s->width || m.height != s->height))
		vnc_resize(s, m.width, m.height);
	s->mode = m;
	if (!m.width || m.width != s->width || m.height != s->height) {
		/* nothing shown: black, at the size clients have */
		if (all) {
			memset(s->fb, 0, (size_t)s->width * s->height * 4);
			s->lib->mark_rect_as_modified(s->screen, 0, 0,
						      s->width, s->height);
		}
		pthread_mutex_unlock(&s->lock);
		return;
	}
	vnc_dirty_lines(s, all);
	/* Compare line by line; send in bands of at most a tile's height. */
	for (uint32_t y = 0; y < s->height; y++) {
		if (!s->dirty_rows[y])
			continue;
		s->dirty_rows[y] = 0;
		if (band_start < 0)
			band_start = y;
		display_read_rows(s->m.display, &m, y, 1, s->row);
		vnc_update_row(s, y, tiles);
		if (y + 1 == s->height || !s->dirty_rows[y + 1] ||
		    y + 1 - band_start == VNC_TILE) {
			vnc_mark_tiles(s, band_start, y + 1, tiles);
			band_start = -1;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* A key to the virtio keyboard once its driver is up, else to PS/2. */
static void vnc_send_key(rfbClientPtr cl, unsigned key, bool down)
{
	struct vnc_server *s = cl->screen->screenData;

	if (!key || cl->viewOnly)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->m.keyboard && virtio_input_ready(s->m.keyboard)) {
		virtio_input_send(s->m.keyboard, EV_KEY, key, down ? 1 : 0);
		virtio_input_send(s->m.keyboard, EV_SYN, SYN_REPORT, 0);
	} else if (s->m.i8042) {
		i8042_key(s->m.i8042, key, down);
	}
	pthread_mutex_unlock(&s->lock);
}

static void vnc_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	vnc_send_key(cl, keymap_from_keysym(keysym), down);
}

/*
 * The pointer as relative movement of the PS/2 mouse. RFB buttons are
 * left, middle, right, wheel up, wheel down; PS/2's left, right, middle.
 */
static void vnc_pointer_ps2(struct vnc_server *s, int mask, int x, int y)
{
	unsigned buttons = (mask & 1) | (mask & 2) << 1 | (mask & 4) >> 1;
	int dz = 0;

	if ((mask & 8) && !(s->buttons & 8))
		dz++;
	if ((mask & 16) && !(s->buttons & 16))
		dz--;
	i8042_mouse(s->m.i8042, s->ptr_known ? x - s->ptr_x : 0,
		    s->ptr_known ? y - s->ptr_y : 0, dz, buttons);
}

static void vnc_pointer(int mask, int x, int y, rfbClientPtr cl)
{
	static const uint16_t btn[3] = { BTN_LEFT, BTN_MIDDLE, BTN_RIGHT };
	struct vnc_server *s = cl->screen->screenData;
	struct virtio_input *t;
	uint32_t w, h;

	if (cl->viewOnly)
		return;
	pthread_mutex_lock(&s->lock);
	w = s->width > 1 ? s->width - 1 : 1;
	h = s->height > 1 ? s->height - 1 : 1;
	x = x < 0 ? 0 : (uint32_t)x > w ? (int)w : x;
	y = y < 0 ? 0 : (uint32_t)y > h ? (int)h : y;
	t = s->m.tablet;
	if (!t || !virtio_input_ready(t)) {
		if (s->m.i8042)
			vnc_pointer_ps2(s, mask, x, y);
		goto out;
	}
	virtio_input_send(t, EV_ABS, ABS_X,
			  (uint64_t)x * VIRTIO_INPUT_ABS_MAX / w);
	virtio_input_send(t, EV_ABS, ABS_Y,
			  (uint64_t)y * VIRTIO_INPUT_ABS_MAX / h);
	for (int b = 0; b < 3; b++)
		if ((mask ^ s->buttons) & (1 << b))
			virtio_input_send(t, EV_KEY, btn[b], !!(mask & (1 << b)));
	/* Buttons 4 and 5 are the wheel: one step per press. */
	if ((mask & 8) && !(s->buttons & 8))
		virtio_input_send(t, EV_REL, REL_WHEEL, 1);
	if ((mask & 16) && !(s->buttons & 16))
		virtio_input_send(t, EV_REL, REL_WHEEL, (uint32_t)-1);
	virtio_input_send(t, EV_SYN, SYN_REPORT, 0);
out:
	s->buttons = mask;
	s->ptr_x = x;
	s->ptr_y = y;
	s->ptr_known = true;
	pthread_mutex_unlock(&s->lock);
}

/*
 * VNC authentication, with one guess a second across all clients: a wrong
 * password blocks every attempt for VNC_AUTH_DELAY_NS.
 */
static rfbBool vnc_check_password(rfbClientPtr cl, const char *resp, int len)
{
	struct vnc_server *s = cl->screen->screenData;
	uint64_t now = now_ns();

	if (now < s->auth_blocked_until) {
		log_debug("vnc: %s: authentication refused (rate limit)",
			  cl->host);
		return FALSE;
	}
	if (s->lib->check_password_by_list(cl, resp, len))
		return TRUE;
	s->auth_blocked_until = now + VNC_AUTH_DELAY_NS;
	log_warn("vnc: wrong password from %s", cl->host);
	return FALSE;
}

static void vnc_client_gone(rfbClientPtr cl)
{
	struct vnc_server *s = cl->screen->screenData;
	struct vnc_client_info *ci = cl->clientData;

	vnc_qemu_keys_client_gone(cl);
	pthread_mutex_lock(&s->lock);
	if (ci && ci->used) {
		ci->used = false;
		s->nr_clients--;
	}
	pthread_mutex_unlock(&s->lock);
}

/* A connected socket as a client named addr (vnc.h) */
int vnc_server_add_client(struct vnc_server *s, int fd, const char *addr)
{
	struct vnc_client_info *ci;
	rfbClientPtr cl;

	/* libvncserver waits on clients with select() */
	if (fd >= FD_SETSIZE || s->nr_clients == VNC_MAX_CLIENTS) {
		log_limited(&s->log, "vnc: too many clients; connection "
			    "refused");
		close(fd);
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	for (ci = s->clients; ci->used; ci++)
		;
	ci->used = true;
	s->nr_clients++;
	snprintf(ci->addr, sizeof(ci->addr), "%s", addr);
	pthread_mutex_unlock(&s->lock);
	cl = s->lib->new_client(s->screen, fd);
	if (!cl) {
		pthread_mutex_lock(&s->lock);
		ci->used = false;
		s->nr_clients--;
		pthread_mutex_unlock(&s->lock);
		return -1;
	}
	cl->clientData = ci;
	cl->clientGoneHook = vnc_client_gone;
	return 0;
}

static void vnc_accept(struct vnc_server *s, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", addr[INET6_ADDRSTRLEN + 8];
	int one = 1, port = 0;
	int fd = accept4(lfd, (struct sockaddr *)&ss, &len,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	snprintf(addr, sizeof(addr), "%s:%d", host, port);
	vnc_server_add_client(s, fd, addr);
}

/* One round of the server's work: the screen's changes, then the clients */
static unsigned vnc_step(struct vnc_server *s, long wait_us)
{
	if (now_ns() - s->last_refresh >= VNC_REFRESH_NS) {
		s->last_refresh = now_ns();
		vnc_refresh(s);
	}
	s->lib->process_events(s->screen, wait_us);
	return s->nr_clients;
}

unsigned vnc_server_step(struct vnc_server *s)
{
	return vnc_step(s, 0);
}

static void *vnc_thread(void *arg)
{
	struct vnc_server *s = arg;

	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = s->listen_fds[0], .events = POLLIN },
			{ .fd = s->listen_fds[1], .events = POLLIN },
			{ .fd = s->wake_fd, .events = POLLIN },
		};
		bool clients;
		uint64_t v;

		pthread_mutex_lock(&s->lock);
		clients = s->nr_clients > 0;
		pthread_mutex_unlock(&s->lock);
		/* Without clients nothing needs the screen: sleep. */
		if (poll(fds, 3, clients ? 0 : -1) > 0) {
			for (int i = 0; i < 2; i++)
				if (fds[i].revents & POLLIN)
					vnc_accept(s, fds[i].fd);
			if ((fds[2].revents & POLLIN) &&
			    read(s->wake_fd, &v, sizeof(v)) < 0)
				log_once("vnc: wake: %s", strerror(errno));
		}
		vnc_step(s, clients ? VNC_POLL_US : 0);
	}
	return NULL;
}

static int vnc_listen(const struct vnc_opts *o, int port, char *err,
		      size_t errlen)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1, fd;

	if (o->ipv6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = o->addr6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr = o->addr4;
		in->sin_port = htons(port);
		len = sizeof(*in);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		snprintf(err, errlen, "--vnc: socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 32)) {
		int e = errno;

		snprintf(err, errlen, "--vnc: cannot listen on %s port %d: %s",
			 o->host, port, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* The listening sockets, if listen */
static int vnc_open_ports(struct vnc_server *s, bool listen, char *err,
			  size_t errlen)
{
	int ret;

	if (!listen)
		return 0;
	ret = vnc_listen(&s->opts, s->opts.port, err, errlen);
	if (ret < 0)
		return ret;
	s->listen_fds[0] = ret;
	if (s->opts.websocket_port) {
		ret = vnc_listen(&s->opts, s->opts.websocket_port, err,
				 errlen);
		if (ret < 0)
			return ret;
		s->listen_fds[1] = ret;
	}
	return 0;
}

/* libvncserver's screen, its callbacks and our framebuffer */
static int vnc_setup_screen(struct vnc_server *s, char *err, size_t errlen)
{
	*s->lib->log = vnc_log;
	*s->lib->err = vnc_log;
	*s->lib->max_client_wait = VNC_CLIENT_WAIT_MS;
	s->screen = s->lib->get_screen(NULL, NULL, VNC_IDLE_WIDTH,
				       VNC_IDLE_HEIGHT, 8, 3, 4);
	if (!s->screen) {
		snprintf(err, errlen, "--vnc: cannot set up the server");
		return -ENOMEM;
	}
	s->screen->screenData = s;
	/* The guest draws its own pointer; none is drawn into updates. */
	s->screen->cursor = NULL;
	s->screen->desktopName = "cvisor";
	/* We accept connections ourselves; libvncserver listens nowhere. */
	s->screen->port = 0;
	s->screen->ipv6port = 0;
	s->screen->autoPort = FALSE;
	s->screen->httpPort = 0;
	s->screen->alwaysShared = TRUE;
	/* Our refresh tick batches the changes already. */
	s->screen->deferUpdateTime = 0;
	s->screen->kbdAddEvent = vnc_key;
	s->screen->ptrAddEvent = vnc_pointer;
	if (s->opts.password[0]) {
		s->passwords[0] = s->opts.password;
		s->screen->authPasswdData = s->passwords;
		s->screen->passwordCheck = vnc_check_password;
	}
	s->width = VNC_IDLE_WIDTH;
	s->height = VNC_IDLE_HEIGHT;
	s->fb = calloc((size_t)s->width * s->height, 4);
	s->row = calloc(s->width, 4);
	s->dirty_rows = calloc(s->height, 1);
	if (!s->fb || !s->row || !s->dirty_rows) {
		snprintf(err, errlen, "--vnc: out of memory");
		return -ENOMEM;
	}
	s->screen->frameBuffer = (char *)s->fb;
	vnc_set_format(s->screen);
	vnc_qemu_keys_register(s->lib, vnc_send_key);
	s->lib->init_server(s->screen);
	return 0;
}

static int vnc_server_open(const struct vnc_opts *o, bool listen,
			   struct vnc_server **out, char *err, size_t errlen)
{
	const struct vnc_lib *lib = vnc_lib_get(err, errlen);
	struct vnc_server *s;
	int ret;

	if (!lib)
		return -ENOPKG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lib = lib;
	s->opts = *o;
	s->listen_fds[0] = s->listen_fds[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--vnc: eventfd: %s", strerror(errno));
		goto err;
	}
	ret = vnc_open_ports(s, listen, err, errlen);
	if (!ret)
		ret = vnc_setup_screen(s, err, errlen);
	if (ret)
		goto err;
	*out = s;
	return 0;
err:
	for (int i = 0; i < 2; i++)
		if (s->listen_fds[i] >= 0)
			close(s->listen_fds[i]);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	free(s->fb);
	free(s->row);
	free(s->dirty_rows);
	if (s->screen)
		s->lib->screen_cleanup(s->screen);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}

int vnc_server_create(const char *spec, struct vnc_server **out, char *err,
		      size_t errlen)
{
	struct vnc_opts o;
	int ret = vnc_opts_parse(spec, &o, err, errlen);

	if (!ret)
		ret = vnc_server_open(&o, true, out, err, errlen);
	if (ret)
		return ret;
	if (!o.local && !o.password[0])
		log_warn("--vnc: listening on %s without a password: anyone "
			 "who reaches it controls the guest (password-file=)",
			 o.host);
	return 0;
}

int vnc_server_create_unbound(const struct vnc_opts *o,
			      struct vnc_server **out, char *err,
			      size_t errlen)
{
	return vnc_server_open(o, false, out, err, errlen);
}

void vnc_server_attach(struct vnc_server *s, const struct vnc_machine *m)
{
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	s->m = *m;
	s->attached_new = true;
	s->ptr_known = false;
	pthread_mutex_unlock(&s->lock);
	/* an unbound server (vnc_server_create_unbound) runs in its caller */
	if (!s->thread_started && s->listen_fds[0] >= 0) {
		if (pthread_create(&s->thread, NULL, vnc_thread, s)) {
			log_error("vnc: cannot start its thread");
			return;
		}
		pthread_setname_np(s->thread, "vnc");
		s->thread_started = true;
	}
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		log_once("vnc: wake: %s", strerror(errno));
}

void vnc_server_detach(struct vnc_server *s)
{
	pthread_mutex_lock(&s->lock);
	memset(&s->m, 0, sizeof(s->m));
	pthread_mutex_unlock(&s->lock);
}

void vnc_server_info(struct vnc_server *s, struct json_out *o)
{
	json_out_raw(o, "{\"address\":");
	json_out_str(o, s->opts.host);
	json_out_fmt(o, ",\"port\":%d,\"websocket\":", s->opts.port);
	if (s->opts.websocket_port)
		json_out_fmt(o, "%d", s->opts.websocket_port);
	else
		json_out_raw(o, "null");
	json_out_fmt(o, ",\"password\":%s,\"clients\":[",
		     s->opts.password[0] ? "true" : "false");
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0, n = 0; i < VNC_MAX_CLIENTS; i++) {
		if (!s->clients[i].used)
			continue;
		json_out_raw(o, n++ ? "," : "");
		json_out_str(o, s->clients[i].addr);
	}
	pthread_mutex_unlock(&s->lock);
	json_out_raw(o, "]}");
}
