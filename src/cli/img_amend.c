// SPDX-License-Identifier: MIT
/*
 * cvisor img amend: LUKS key slots of an encrypted qcow2, spelled as
 * qemu-img spells them:
 *   amend --object secret,id=s0,... --object secret,id=s1,... --image-opts
 *     driver=qcow2,file.filename=F,encrypt.key-secret=s0
 *     -o encrypt.state=active,encrypt.new-secret=s1[,encrypt.keyslot=N]
 *   ... -o encrypt.state=inactive,encrypt.old-secret=s0 | encrypt.keyslot=N
 * qemu-img's other qcow2 amend options (compat, refcount_bits,
 * lazy_refcounts, size, backing_file, data_file...) are refused by name.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"
#include "cli/img.h"
#include "cli/secret.h"

struct amend_ctx {
	struct qcow2_luks_amend a;
	const char *state, *new_id, *old_id;
};

static int amend_opt(void *opaque, const char *key, const char *val)
{
	struct amend_ctx *c = opaque;
	char *end;
	long v;

	if (!strcmp(key, "encrypt.state")) {
		c->state = val;
	} else if (!strcmp(key, "encrypt.new-secret")) {
		c->new_id = val;
	} else if (!strcmp(key, "encrypt.old-secret")) {
		c->old_id = val;
	} else if (!strcmp(key, "encrypt.keyslot") ||
		   !strcmp(key, "encrypt.iter-time")) {
		errno = 0;
		v = strtol(val, &end, 10);
		if (errno || *end || end == val || v < 0 ||
		    (key[8] == 'k' && v >= LUKS_NUM_SLOTS)) {
			img_err("invalid %s '%s'%s", key, val, key[8] == 'k' ?
				" (a key slot is 0 to 7)" : "");
			return -1;
		}
		if (key[8] == 'k')
			c->a.slot = (int)v;
		else
			c->a.iter_time_ms = (uint64_t)v;
	} else if (!strcmp(key, "encrypt.format") && !strcmp(val, "luks")) {
		return 0;
	} else {
		img_err("amend: '%s' is not supported: cvisor img amend changes "
			"LUKS key slots only (encrypt.state, encrypt.new-secret, "
			"encrypt.old-secret, encrypt.keyslot, encrypt.iter-time); "
			"use qemu-img amend for the rest", key);
		return -1;
	}
	return 0;
}

static const uint8_t *secret_of(const char *id, const char *what,
				size_t *len)
{
	const uint8_t *k = secret_get(id, len);

	if (!k)
		img_err("no secret with id '%s' for %s (give it with --object "
			"secret,id=%s,file=FILE)", id, what, id);
	return k;
}

static int amend_parse(struct amend_ctx *c, char *list, const char *image)
{
	char id[256];

	c->a.slot = -1;
	if (img_parse_opts(list, amend_opt, c))
		return -1;
	if (!c->state || (strcmp(c->state, "active") &&
			  strcmp(c->state, "inactive"))) {
		img_err("amend: encrypt.state=active or encrypt.state=inactive "
			"is required");
		return -1;
	}
	c->a.activate = !strcmp(c->state, "active");
	if (c->a.activate ? !!c->old_id : !!c->new_id) {
		img_err("amend: encrypt.%s goes with encrypt.state=%s",
			c->old_id && c->a.activate ? "old-secret" : "new-secret",
			c->a.activate ? "inactive" : "active");
		return -1;
	}
	if (c->new_id && !(c->a.new_key = secret_of(c->new_id,
						     "encrypt.new-secret",
						     &c->a.new_len)))
		return -1;
	if (c->old_id && !(c->a.old_key = secret_of(c->old_id,
						     "encrypt.old-secret",
						     &c->a.old_len)))
		return -1;
	img_opt_value(img_image_opts ? image : "", "encrypt.key-secret", id,
		      sizeof(id));
	if (id[0] && !(c->a.key = secret_of(id, "encrypt.key-secret",
					     &c->a.key_len)))
		return -1;
	return 0;
}

int img_amend(int argc, char **argv)
{
	const char *fmt = NULL;
	struct amend_ctx c = { 0 };
	char *list = NULL, err[BLOCK_ERR_LEN];
	struct block_dev *dev;
	int opt, ret;

	while ((opt = getopt(argc, argv, "f:o:q")) != -1) {
		if (opt == 'f')
			fmt = optarg;
		else if (opt == 'o')
			list = optarg;
		else if (opt != 'q')
			return 1;
	}
	if (argc - optind != 1 || !list) {
		img_err("usage: amend [-f fmt] -o encrypt.state=... FILE");
		return 1;
	}
	if (amend_parse(&c, list, argv[optind]))
		return 1;
	/* the key opens the slots below; the open itself needs none */
	dev = img_open(argv[optind], fmt, BLOCK_NO_BACKING | BLOCK_NO_IO);
	if (!dev)
		return 1;
	ret = qcow2_luks_amend(dev, &c.a, err, sizeof(err));
	if (ret) {
		img_err("%s", err);
		block_close(dev);
		return 1;
	}
	return img_close(dev) ? 1 : 0;
}
