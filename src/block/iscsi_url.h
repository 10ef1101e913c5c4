/* SPDX-License-Identifier: MIT */
/*
 * iSCSI URLs as QEMU and libiscsi write them:
 *
 *	iscsi://[USER[%PASSWORD]@]HOST[:PORT]/TARGET-IQN/LUN
 *
 * HOST is a name, an IPv4 address or an IPv6 address in brackets; PORT
 * defaults to 3260. The URL comes from the command line, a definition or
 * a snapshot: it is checked here before libiscsi sees any of it.
 */
#ifndef CVISOR_BLOCK_ISCSI_URL_H
#define CVISOR_BLOCK_ISCSI_URL_H

#include <stdbool.h>
#include <stddef.h>

#define ISCSI_URL_MAX		1024
#define ISCSI_NAME_MAX		223	/* RFC 3720 3.2.6.1: iSCSI names */
#define ISCSI_USER_MAX		255
#define ISCSI_SECRET_MAX	255
#define ISCSI_LUN_MAX		16383	/* flat-space LUNs (SAM-5) */
#define ISCSI_DEFAULT_PORT	3260

struct iscsi_url_parts {
	char user[ISCSI_USER_MAX + 1];		/* "" without CHAP */
	char password[ISCSI_SECRET_MAX + 1];
	bool has_password;			/* given in the URL itself */
	char host[256];				/* without IPv6 brackets */
	unsigned port;
	char target[ISCSI_NAME_MAX + 1];
	int lun;
	char portal[300];			/* HOST:PORT for libiscsi */
};

/* Does s start with "iscsi://"? */
bool iscsi_url_is(const char *s);

/* Parses s into u. On failure returns -EINVAL and one line in err. */
int iscsi_url_parse(const char *s, struct iscsi_url_parts *u, char *err,
		    size_t errlen);

/*
 * The CHAP password from the contents of a secret file: its first line,
 * without the line end. A file with more than one line or an empty one
 * is refused (a stray newline would otherwise become part of a password).
 */
int iscsi_secret_parse(const char *buf, size_t len, char *out,
		       size_t outlen, char *err, size_t errlen);

/* Reads and parses the secret file path (at most a few KiB). */
int iscsi_secret_read(const char *path, char *out, size_t outlen, char *err,
		      size_t errlen);

/*
 * s with any password removed (USER%PASSWORD@ becomes USER@), for
 * messages and "img info": a credential never reaches a log.
 */
void iscsi_url_redact(const char *s, char *out, size_t outlen);

#endif
