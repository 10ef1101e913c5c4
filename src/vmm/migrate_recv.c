// SPDX-License-Identifier: MIT
/*
 * The destination of a live migration (migration.h): accept one source,
 * take guest RAM from the stream into this VM's memory, then - once the
 * source has paused and let go of its disks - build the devices and load
 * the state. Every byte from the network is checked before use.
 */
#include "vmm/migration.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zstd.h>

#include "vmm/log.h"
#include "vmm/migration_int.h"
#include "vmm/snapshot.h"
#include "vmm/state.h"
#include "vmm/vm.h"

struct migration_in {
	int fd;
	FILE *f;
	struct state_reader *r;
	char *config;
	size_t config_len;
	bool replied;
};

int migration_parse_uri(const char *uri, char *host, size_t hostlen,
			uint16_t *port, char *err, size_t errlen)
{
	const char *h, *colon;
	char *end;
	unsigned long p;

	if (strncmp(uri, "tcp:", 4)) {
		snprintf(err, errlen, "'%s': expected tcp:HOST:PORT", uri);
		return -EINVAL;
	}
	h = uri + 4;
	colon = strrchr(h, ':');
	if (!colon || (size_t)(colon - h) >= hostlen) {
		snprintf(err, errlen, "'%s': expected tcp:HOST:PORT", uri);
		return -EINVAL;
	}
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p == 0 || p > 65535) {
		snprintf(err, errlen, "'%s': the port must be 1-65535", uri);
		return -EINVAL;
	}
	/* [v6] addresses: the brackets go */
	if (h[0] == '[' && colon > h && colon[-1] == ']') {
		memcpy(host, h + 1, colon - h - 2);
		host[colon - h - 2] = 0;
	} else {
		memcpy(host, h, colon - h);
		host[colon - h] = 0;
	}
	*port = p;
	return 0;
}

static int mig_listen(const char *host, uint16_t port, char *err,
		      size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *res;
	char ports[8];
	int fd, one = 1, ret;

	snprintf(ports, sizeof(ports), "%u", port);
	ret = getaddrinfo(host[0] ? host : NULL, ports, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "--incoming %.200s: %s", host,
			 gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1)) {
		ret = -errno;
		snprintf(err, errlen, "--incoming %.200s:%u: %s", host, port,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return ret;
	}
	freeaddrinfo(res);
	return fd;
}

void migration_in_close(struct migration_in *in)
{
	if (!in)
		return;
	state_reader_destroy(in->r);
	if (in->f)
		fclose(in->f);
	if (in->fd >= 0)
		close(in->fd);
	free(in->config);
	free(in);
}

/* The stream's first section, the VM's configuration, into in->config. */
static int read_config(struct migration_in *in, char *err, size_t errlen)
{
	const char *name;
	uint32_t version;
	int ret;

	in->r = state_reader_create(in->f, err, errlen);
	if (!in->r)
		return -EINVAL;
	ret = state_next_section(in->r, &name, &version);
	if (ret <= 0 || strcmp(name, "config") || version != 1) {
		snprintf(err, errlen, "migration stream: %s",
			 ret < 0 ? state_reader_error(in->r) :
			 "it does not start with the VM's configuration");
		return -EINVAL;
	}
	in->config_len = state_remaining(in->r);
	in->config = malloc(in->config_len + 1);
	if (!in->config || state_get(in->r, in->config, in->config_len)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	in->config[in->config_len] = 0;
	return 0;
}

struct migration_in *migration_in_open(FILE *f, const char **config,
				       size_t *config_len, char *err,
				       size_t errlen)
{
	struct migration_in *in = calloc(1, sizeof(*in));

	if (!in) {
		snprintf(err, errlen, "out of memory");
		fclose(f);
		return NULL;
	}
	in->fd = -1;
	in->f = f;
	if (read_config(in, err, errlen)) {
		migration_in_close(in);
		return NULL;
	}
	*config = in->config;
	*config_len = in->config_len;
	return in;
}

struct migration_in *migration_accept(const char *uri, const char **config,
				      size_t *config_len, char *err,
				      size_t errlen)
{
	struct migration_in *in;
	char host[256];
	uint16_t port;
	int lfd;

	if (migration_parse_uri(uri, host, sizeof(host), &port, err, errlen))
		return NULL;
	lfd = mig_listen(host, port, err, errlen);
	if (lfd < 0)
		return NULL;
	in = calloc(1, sizeof(*in));
	if (!in) {
		close(lfd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	log_info("waiting for a migration on %s", uri + 4);
	in->fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	if (in->fd < 0) {
		snprintf(err, errlen, "--incoming: accept: %s", strerror(errno));
		goto fail;
	}
	in->f = fdopen(dup(in->fd), "r");
	if (!in->f) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (read_config(in, err, errlen))
		goto fail;
	*config = in->config;
	*config_len = in->config_len;
	return in;
fail:
	/* tell the source why, if it can still hear it */
	if (in->fd >= 0)
		migration_reply(in, err);
	migration_in_close(in);
	return NULL;
}

static int recv_pages(struct vm *vm, struct state_reader *r, uint64_t pages,
		      void *zbuf)
{
	uint64_t first;
	uint32_t n;
	int ret;

	ret = state_get_u64(r, &first);
	ret = ret ?: state_get_u32(r, &n);
	if (ret)
		return ret;
	if (n > MIGRATION_RAM_BATCH || first >= pages || n > pages - first)
		return state_fail(r, "pages %llu+%u are outside guest RAM",
				  (unsigned long long)first, n);
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *dst = vm->mem.mapping + (first + i) * MIG_PAGE;
		uint32_t clen;
		uint8_t kind;
		size_t out;

		ret = state_get_u8(r, &kind);
		if (ret)
			return ret;
		switch (kind) {
		case MIG_PAGE_ZERO:
			/* untouched pages stay unallocated */
			if (dst[0] || memcmp(dst, dst + 1, MIG_PAGE - 1))
				memset(dst, 0, MIG_PAGE);
			break;
		case MIG_PAGE_RAW:
			ret = state_get(r, dst, MIG_PAGE);
			break;
		case MIG_PAGE_ZSTD:
			/* the source sends a page compressed only if shorter */
			ret = state_get_u32(r, &clen);
			if (!ret && (clen >= MIG_PAGE ||
				     clen > state_remaining(r)))
				return state_fail(r, "compressed page of %u "
						  "bytes: too long", clen);
			ret = ret ?: state_get(r, zbuf, clen);
			if (ret)
				return ret;
			out = ZSTD_decompress(dst, MIG_PAGE, zbuf, clen);
			if (ZSTD_isError(out) || out != MIG_PAGE)
				return state_fail(r, "a compressed page is "
						  "corrupt");
			break;
		default:
			return state_fail(r, "unknown page kind %u", kind);
		}
		if (ret)
			return ret;
		guest_mem_code_written(&vm->mem, dst, MIG_PAGE);
	}
	return 0;
}

int migration_recv_ram(struct vm *vm, struct migration_in *in, char *err,
		       size_t errlen)
{
	struct state_reader *r = in->r;
	uint64_t pages = guest_mem_pages(&vm->mem), theirs;
	void *zbuf = malloc(ZSTD_compressBound(MIG_PAGE) + MIG_PAGE);
	const char *name;
	uint32_t version;
	int ret;

	if (!zbuf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = state_next_section(r, &name, &version);
	if (ret > 0 && strcmp(name, "ram-info"))
		ret = state_fail(r, "expected ram-info, got '%s'", name);
	if (ret > 0)
		ret = state_get_u64(r, &theirs);
	if (!ret && theirs != pages)
		ret = state_fail(r, "the source has %llu MiB of RAM, this VM "
				 "%llu MiB", (unsigned long long)(theirs >> 8),
				 (unsigned long long)(pages >> 8));
	while (!ret) {
		ret = state_next_section(r, &name, &version);
		if (ret == 0)
			ret = state_fail(r, "the stream ended inside RAM");
		if (ret < 0)
			break;
		if (!strcmp(name, "ram-end")) {
			ret = 0;
			break;
		}
		if (strcmp(name, "ram") || version != 1) {
			ret = state_fail(r, "unexpected section '%s'", name);
			break;
		}
		ret = recv_pages(vm, r, pages, zbuf);
		if (!ret && state_remaining(r))
			ret = state_fail(r, "a ram section has trailing bytes");
	}
	free(zbuf);
	if (ret)
		snprintf(err, errlen, "migration stream: %s",
			 state_reader_error(r));
	return ret;
}

int migration_recv_state(struct vm *vm, struct migration_in *in, char *err,
			 size_t errlen)
{
	int ret;

	if (!vm->accel->vm_load) {
		snprintf(err, errlen, "the %s accelerator cannot load state",
			 vm->accel->name);
		return -ENOTSUP;
	}
	ret = snapshot_load_stream(vm, in->r);
	if (ret)
		snprintf(err, errlen, "migration stream: %s",
			 state_reader_error(in->r));
	return ret;
}

void migration_reply(struct migration_in *in, const char *err)
{
	char line[300];
	int n = snprintf(line, sizeof(line), "%s%.280s\n",
			 err ? "error: " : "ok", err ? err : "");

	if (!in || in->replied)
		return;
	in->replied = true;
	if (write(in->fd, line, n) != n)
		log_warn("migration: cannot answer the source: %s",
			 strerror(errno));
}
