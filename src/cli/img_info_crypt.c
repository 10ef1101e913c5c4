// SPDX-License-Identifier: MIT
/*
 * The "encrypt" part of "img info" for encrypted qcow2, named and ordered
 * as qemu-img prints it. The header's public parameters only: the key and
 * the passphrase are never known here.
 */
#include <stdio.h>

#include "block/luks.h"
#include "block/qcow2.h"
#include "cli/img.h"

struct names {
	char alg[48], mode[40], ivgen[40], ivhash[40];
	struct luks_params p;
};

static void describe(const struct luks_header *h, struct names *n)
{
	luks_describe(h, &n->p, n->alg, sizeof(n->alg), n->mode,
		      sizeof(n->mode), n->ivgen, sizeof(n->ivgen), n->ivhash,
		      sizeof(n->ivhash));
}

void img_info_encrypt_human(const struct qcow2_info *qi)
{
	const struct luks_header *h = qi->luks;
	struct names n;

	if (!qi->crypt_method)
		return;
	printf("    encrypt:\n");
	if (qi->crypt_method == 1 || !h) {
		printf("        format: %s\n", qi->crypt_method == 1 ? "aes" :
		       "luks");
		return;
	}
	describe(h, &n);
	printf("        ivgen alg: %s\n        hash alg: %s\n"
	       "        cipher alg: %s\n", n.ivgen, h->hash, n.alg);
	printf("        uuid: %s\n", h->uuid);
	if (n.p.ivgen_hash)
		printf("        ivgen hash alg: %s\n", n.ivhash);
	printf("        format: luks\n        cipher mode: %s\n"
	       "        slots:\n", n.mode);
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		const struct luks_slot *s = &h->slots[i];

		printf("            [%u]:\n                active: %s\n", i,
		       s->active ? "true" : "false");
		if (s->active)
			printf("                iters: %u\n", s->iterations);
		printf("                key offset: %llu\n",
		       (unsigned long long)s->offset * LUKS_SECTOR);
		if (s->active)
			printf("                stripes: %u\n", s->stripes);
	}
	printf("        payload offset: %llu\n        master key iters: %u\n",
	       (unsigned long long)h->payload_offset * LUKS_SECTOR,
	       h->mk_iterations);
}

void img_info_encrypt_json(FILE *f, const struct qcow2_info *qi)
{
	const struct luks_header *h = qi->luks;
	const char *in = "                ";
	struct names n;

	if (!qi->crypt_method)
		return;
	if (qi->crypt_method == 1 || !h) {
		fprintf(f, ",\n            \"encrypt\": {\n%s\"format\": \"%s\"\n"
			"            }", in, qi->crypt_method == 1 ? "aes" : "luks");
		return;
	}
	describe(h, &n);
	fprintf(f, ",\n            \"encrypt\": {\n%s\"ivgen-alg\": ", in);
	img_json_str(f, n.ivgen);
	fprintf(f, ",\n%s\"hash-alg\": ", in);
	img_json_str(f, h->hash);
	fprintf(f, ",\n%s\"cipher-alg\": ", in);
	img_json_str(f, n.alg);
	fprintf(f, ",\n%s\"uuid\": ", in);
	img_json_str(f, h->uuid);
	if (n.p.ivgen_hash) {
		fprintf(f, ",\n%s\"ivgen-hash-alg\": ", in);
		img_json_str(f, n.ivhash);
	}
	fprintf(f, ",\n%s\"format\": \"luks\",\n%s\"cipher-mode\": ", in, in);
	img_json_str(f, n.mode);
	fprintf(f, ",\n%s\"slots\": [\n", in);
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		const struct luks_slot *s = &h->slots[i];

		fprintf(f, "%s    {\n%s        \"active\": %s,\n", in, in,
			s->active ? "true" : "false");
		if (s->active)
			fprintf(f, "%s        \"iters\": %u,\n", in,
				s->iterations);
		fprintf(f, "%s        \"key-offset\": %llu", in,
			(unsigned long long)s->offset * LUKS_SECTOR);
		if (s->active)
			fprintf(f, ",\n%s        \"stripes\": %u", in, s->stripes);
		fprintf(f, "\n%s    }%s\n", in, i + 1 < LUKS_NUM_SLOTS ? "," : "");
	}
	fprintf(f, "%s],\n%s\"payload-offset\": %llu,\n"
		"%s\"master-key-iters\": %u\n            }", in, in,
		(unsigned long long)h->payload_offset * LUKS_SECTOR, in,
		h->mk_iterations);
}
