// SPDX-License-Identifier: MIT
/*
 * User networking's saved state as a snapshot or a migration stream
 * carries it (u32 libslirp state version, u32 length, libslirp's bytes),
 * loaded into a fresh libslirp: its own state loads again, and a crafted
 * one whose socket record asks for a huge receive buffer is refused with
 * one line before libslirp allocates (and zeroes) it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "test.h"
#include "vmm/state.h"

#define MiB (1ULL << 20)

static struct net_backend *open_user(void)
{
	struct net_backend *be = NULL;
	struct net_opts o;
	char err[256];

	if (net_parse("user", &o, err, sizeof(err)) ||
	    net_backend_open(&o, &be, err, sizeof(err))) {
		printf("  %s\n", err);
		return NULL;
	}
	return be;
}

/* The process's peak resident memory (VmHWM), in bytes */
static unsigned long long peak_rss(void)
{
	unsigned long long kib = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib * 1024;
}

/*
 * Loads payload (the backend's part of a "net" section) into a fresh
 * backend: 0, or the reader's error; its message into why.
 */
static int load_payload(const void *payload, size_t len, char *why,
			size_t whylen)
{
	struct net_backend *be = open_user();
	struct state_writer *w;
	struct state_reader *r;
	const char *name;
	uint32_t version;
	char *buf = NULL, err[256];
	size_t n = 0;
	FILE *f;
	int ret = -1;

	why[0] = 0;
	if (!be)
		return -1;
	f = open_memstream(&buf, &n);
	w = state_writer_create(f);
	state_section_begin(w, 1, "net");
	state_put(w, payload, len);
	state_section_end(w);
	state_writer_finish(w);
	state_writer_destroy(w);
	fclose(f);
	f = fmemopen(buf, n, "r");
	r = state_reader_create(f, err, sizeof(err));
	if (r && state_next_section(r, &name, &version) > 0) {
		ret = be->ops->load(be, r);
		if (ret && state_reader_error(r))
			snprintf(why, whylen, "%s", state_reader_error(r));
	}
	state_reader_destroy(r);
	fclose(f);
	free(buf);
	net_backend_close(be);
	return ret;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Our own saved state, as virtio-net writes it, loads again */
static void test_slirp_state_roundtrip(void)
{
	struct net_backend *be = open_user();
	struct state_writer *w;
	struct state_reader *r;
	const char *name;
	uint32_t version;
	char *buf = NULL, err[256], why[256];
	uint8_t *payload = NULL;
	size_t n = 0, len = 0;
	FILE *f;

	CHECK(be != NULL);
	if (!be)
		return;
	f = open_memstream(&buf, &n);
	w = state_writer_create(f);
	state_section_begin(w, 1, "net");
	CHECK_EQ(be->ops->save(be, w), 0);
	state_section_end(w);
	state_writer_finish(w);
	state_writer_destroy(w);
	fclose(f);
	net_backend_close(be);
	f = fmemopen(buf, n, "r");
	r = state_reader_create(f, err, sizeof(err));
	if (r && state_next_section(r, &name, &version) > 0) {
		len = state_remaining(r);
		payload = malloc(len);
		if (payload && state_get(r, payload, len))
			len = 0;
	}
	CHECK(len > 8);
	if (payload && len > 8) {
		CHECK_EQ(load_payload(payload, len, why, sizeof(why)), 0);
		if (why[0])
			printf("  %s\n", why);
	}
	free(payload);
	state_reader_destroy(r);
	fclose(f);
	free(buf);
}

/*
 * A socket record (state version 4) whose receive buffer claims 256 MiB:
 * libslirp allocated that much and had it zeroed by the read callback
 * before finding no guestfwd rule for the socket (a 4 GiB claim allocated
 * 4 GiB). Refused now before libslirp sees it, with one line.
 */
static void test_slirp_state_huge_socket_buffer(void)
{
	uint8_t p[8 + 64] = { 0 }, *s = p + 8;
	unsigned long long before, after;
	char why[256];
	int ret;

	/* our framing: libslirp's state version and the length */
	memcpy(p, &(uint32_t){ 4 }, 4);
	memcpy(p + 4, &(uint32_t){ sizeof(p) - 8 }, 4);
	s[0] = 42;			/* a socket record follows */
	/* so_urgc (4), fhost and lhost: family 2 (IPv4), addr, port */
	s[5 + 1] = 2;
	put_be32(s + 7, 0x0a000202);
	s[13 + 1] = 2;
	put_be32(s + 15, 0x0a00020f);
	/* so_iptos, so_emu, so_type, so_state (4); so_rcv: cc, datalen */
	put_be32(s + 32, 256 * MiB);
	before = peak_rss();
	ret = load_payload(p, sizeof(p), why, sizeof(why));
	after = peak_rss();
	CHECK(ret != 0);
	CHECK(strstr(why, "guestfwd") != NULL);
	CHECK(!strchr(why, '\n'));
	if (after - before >= 64 * MiB)
		printf("  peak RSS grew by %llu MiB\n", (after - before) / MiB);
	CHECK(after - before < 64 * MiB);
}

/* A state longer than any socket-free one is refused before libslirp */
static void test_slirp_state_too_long(void)
{
	size_t len = 8 + 8192;
	uint8_t *p = calloc(1, len);
	char why[256];

	if (!p)
		return;
	memcpy(p, &(uint32_t){ 4 }, 4);
	memcpy(p + 4, &(uint32_t){ len - 8 }, 4);
	CHECK(load_payload(p, len, why, sizeof(why)) != 0);
	CHECK(strstr(why, "8192 bytes") != NULL);
	free(p);
}

int main(void)
{
	RUN(test_slirp_state_roundtrip);
	RUN(test_slirp_state_huge_socket_buffer);
	RUN(test_slirp_state_too_long);
	return test_summary();
}
