// SPDX-License-Identifier: MIT
/*
 * The VMDK text descriptor: "key=value" lines (CID, parentCID, createType,
 * ddb.*) and extent lines "ACCESS SECTORS TYPE "FILE" [OFFSET]". The text
 * comes from the image, so every field is checked and bounded here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/vmdk_int.h"

static char *skip_space(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static void trim_end(char *p)
{
	size_t n = strlen(p);

	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		p[--n] = 0;
}

/* A decimal number up to max; *pp moves past it. */
static int parse_u64(char **pp, uint64_t max, uint64_t *out)
{
	char *p = *pp;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*pp = p;
	*out = v;
	return 0;
}

static int parse_hex32(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		int d = (*s >= '0' && *s <= '9') ? *s - '0' :
			(*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 :
			(*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;

		if (d < 0 || v > 0xfffffffu)
			return -EINVAL;
		v = v * 16 + (uint64_t)d;
	}
	*out = (uint32_t)v;
	return 0;
}

static const struct {
	const char *name;
	enum vmdk_ext_type type;
} ext_types[] = {
	{ "FLAT", VMDK_EXT_FLAT },
	{ "VMFS", VMDK_EXT_FLAT },
	{ "SPARSE", VMDK_EXT_SPARSE },
	{ "ZERO", VMDK_EXT_ZERO },
};

static int parse_extent(char *p, unsigned line, struct vmdk_desc *d,
			char *err, size_t errlen)
{
	struct vmdk_desc_extent x = { 0 }, *v;
	char *type, *name;
	size_t i;

	if (d->n >= VMDK_MAX_EXTENTS) {
		snprintf(err, errlen, "descriptor line %u: more than %u extents",
			 line, VMDK_MAX_EXTENTS);
		return -EINVAL;
	}
	if (!strncmp(p, "RW", 2)) {
		p += 2;
	} else if (!strncmp(p, "RDONLY", 6)) {
		x.readonly = true;
		p += 6;
	} else {
		snprintf(err, errlen, "descriptor line %u: extent access '%.8s' "
			 "is not supported", line, p);
		return -ENOTSUP;
	}
	p = skip_space(p);
	if (parse_u64(&p, VMDK_MAX_SECTORS, &x.sectors) || !x.sectors ||
	    (*p != ' ' && *p != '\t')) {
		snprintf(err, errlen, "descriptor line %u: invalid extent size",
			 line);
		return -EINVAL;
	}
	type = p = skip_space(p);
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = 0;
	for (i = 0; i < sizeof(ext_types) / sizeof(ext_types[0]); i++)
		if (!strcmp(type, ext_types[i].name))
			break;
	if (i == sizeof(ext_types) / sizeof(ext_types[0])) {
		snprintf(err, errlen, "descriptor line %u: extent type '%.16s' "
			 "is not supported", line, type);
		return -ENOTSUP;
	}
	x.type = ext_types[i].type;
	x.type_name = ext_types[i].name;
	p = skip_space(p);
	if (x.type != VMDK_EXT_ZERO) {
		if (*p != '"' || !(name = strchr(p + 1, '"')) || name == p + 1) {
			snprintf(err, errlen, "descriptor line %u: extent file "
				 "name missing or unquoted", line);
			return -EINVAL;
		}
		*name = 0;
		x.file = strdup(p + 1);
		if (!x.file)
			return -ENOMEM;
		p = skip_space(name + 1);
		if (*p && (x.type != VMDK_EXT_FLAT ||
			   parse_u64(&p, VMDK_MAX_SECTORS, &x.offset))) {
			free(x.file);
			snprintf(err, errlen, "descriptor line %u: invalid "
				 "extent offset", line);
			return -EINVAL;
		}
		p = skip_space(p);
	}
	if (*p) {
		free(x.file);
		snprintf(err, errlen, "descriptor line %u: unexpected '%.16s'",
			 line, p);
		return -EINVAL;
	}
	v = realloc(d->ext, (d->n + 1) * sizeof(*v));
	if (!v) {
		free(x.file);
		return -ENOMEM;
	}
	d->ext = v;
	d->ext[d->n++] = x;
	return 0;
}

static char *unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = 0;
		return v + 1;
	}
	return v;
}

static int parse_pair(char *p, unsigned line, struct vmdk_desc *d, char *err,
		      size_t errlen)
{
	char *eq = strchr(p, '='), *val;
	char **dst = NULL;

	*eq = 0;
	trim_end(p);
	val = unquote(skip_space(eq + 1));
	if (!strcmp(p, "CID") || !strcmp(p, "parentCID")) {
		if (parse_hex32(val, p[0] == 'C' ? &d->cid : &d->parent_cid)) {
			snprintf(err, errlen, "descriptor line %u: invalid %s "
				 "'%.16s'", line, p, val);
			return -EINVAL;
		}
		return 0;
	}
	if (!strcmp(p, "createType"))
		dst = &d->create_type;
	else if (!strcmp(p, "parentFileNameHint"))
		dst = &d->parent_hint;
	if (!dst)
		return 0; /* version, encoding, ddb.*: nothing we need */
	free(*dst);
	*dst = strdup(val);
	return *dst ? 0 : -ENOMEM;
}

int vmdk_desc_parse(const char *text, size_t len, struct vmdk_desc *d,
		    char *err, size_t errlen)
{
	char *buf, *line, *next;
	unsigned n = 0;
	int ret = 0;

	memset(d, 0, sizeof(*d));
	d->parent_cid = UINT32_MAX;
	if (len > VMDK_MAX_DESC)
		len = VMDK_MAX_DESC;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len);
	buf[len] = 0; /* an embedded descriptor ends at its first NUL */
	if (strncmp(buf, "# Disk DescriptorFile", 21)) {
		snprintf(err, errlen, "no '# Disk DescriptorFile' line: not a "
			 "VMDK descriptor");
		ret = -EINVAL;
	}
	for (line = buf; !ret && line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		n++;
		trim_end(line);
		line = skip_space(line);
		if (!*line || *line == '#')
			continue;
		if (!strncmp(line, "RW ", 3) || !strncmp(line, "RDONLY ", 7) ||
		    !strncmp(line, "NOACCESS ", 9) || !strncmp(line, "RW\t", 3))
			ret = parse_extent(line, n, d, err, errlen);
		else if (strchr(line, '='))
			ret = parse_pair(line, n, d, err, errlen);
	}
	free(buf);
	if (ret)
		vmdk_desc_free(d);
	return ret;
}

void vmdk_desc_free(struct vmdk_desc *d)
{
	for (unsigned i = 0; i < d->n; i++)
		free(d->ext[i].file);
	free(d->ext);
	free(d->create_type);
	free(d->parent_hint);
	memset(d, 0, sizeof(*d));
}
