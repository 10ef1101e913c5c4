// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for user networking's saved state: the input is the
 * backend's part of a virtio-net section as a snapshot file holds it (u32
 * libslirp state version, u32 length, libslirp's own bytes), loaded through
 * the backend into a fresh libslirp as a restore would. The bytes are
 * untrusted; libslirp parses them (slirp_state_load). A fresh libslirp's
 * own state to start from is written by a run with CVISOR_SLIRP_SEED:
 *
 *   CVISOR_SLIRP_SEED=corpus/seed build-fuzz/fuzz/slirp_state_fuzz -runs=1
 *   build-fuzz/fuzz/slirp_state_fuzz -max_len=65536 corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "vmm/state.h"

static struct net_backend *open_user(void)
{
	struct net_backend *be = NULL;
	struct net_opts o;
	char err[256];

	if (net_parse("user", &o, err, sizeof(err)) ||
	    net_backend_open(&o, &be, err, sizeof(err))) {
		fprintf(stderr, "slirp_state_fuzz: %s\n", err);
		abort();
	}
	return be;
}

/* The backend's saved state, the payload virtio-net writes, into path. */
static void write_seed(const char *path)
{
	struct net_backend *be = open_user();
	char *buf = NULL, err[256];
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n), *out;
	struct state_writer *w = state_writer_create(f);
	struct state_reader *r;
	const char *name;
	uint32_t version;
	uint8_t *payload;
	size_t len;

	state_section_begin(w, 1, "net");
	if (be->ops->save(be, w))
		abort();
	state_section_end(w);
	state_writer_finish(w);
	state_writer_destroy(w);
	fclose(f);
	f = fmemopen(buf, n, "r");
	r = state_reader_create(f, err, sizeof(err));
	if (!r || state_next_section(r, &name, &version) <= 0)
		abort();
	len = state_remaining(r);
	payload = malloc(len);
	out = fopen(path, "w");
	if (!payload || !out || state_get(r, payload, len))
		abort();
	fwrite(payload, 1, len, out);
	fclose(out);
	free(payload);
	state_reader_destroy(r);
	fclose(f);
	free(buf);
	net_backend_close(be);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool seeded;
	struct net_backend *be;
	struct state_reader *r;
	struct state_writer *w;
	const char *name, *seed = getenv("CVISOR_SLIRP_SEED");
	uint32_t version;
	char *buf = NULL, err[256];
	size_t n = 0;
	FILE *f;

	if (seed && !seeded) {
		seeded = true;
		write_seed(seed);
	}
	/* A whole section around the input, so the reader's checks pass. */
	f = open_memstream(&buf, &n);
	w = state_writer_create(f);
	state_section_begin(w, 1, "net");
	state_put(w, data, size);
	state_section_end(w);
	state_writer_finish(w);
	state_writer_destroy(w);
	fclose(f);

	be = open_user();
	f = fmemopen(buf, n, "r");
	r = f ? state_reader_create(f, err, sizeof(err)) : NULL;
	if (r && state_next_section(r, &name, &version) > 0)
		be->ops->load(be, r);
	state_reader_destroy(r);
	if (f)
		fclose(f);
	free(buf);
	net_backend_close(be);
	return 0;
}
