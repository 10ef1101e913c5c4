// SPDX-License-Identifier: MIT
/* iSCSI URLs and CHAP secret files: parsed and checked, never trusted. */
#include "block/iscsi_url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCHEME "iscsi://"

bool iscsi_url_is(const char *s)
{
	return !strncmp(s, SCHEME, strlen(SCHEME));
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* Printable ASCII other than space and the URL's separators. */
static bool cred_char(char c, bool password)
{
	if (c <= ' ' || c > '~' || c == '/')
		return false;
	return password || (c != '@' && c != '%');
}

static bool all(const char *s, size_t n, bool (*ok)(char))
{
	for (size_t i = 0; i < n; i++)
		if (!ok(s[i]))
			return false;
	return true;
}

static bool target_char(char c)
{
	return name_char(c) || c == ':';
}

static bool hex_or_colon(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "iSCSI URL: %s (expected iscsi://[USER@]HOST"
		 "[:PORT]/TARGET-IQN/LUN)", what);
	return -EINVAL;
}

/* USER[%PASSWORD] in [s, s+n). */
static int parse_userinfo(const char *s, size_t n, struct iscsi_url_parts *u,
			  char *err, size_t errlen)
{
	const char *pct = memchr(s, '%', n);
	size_t ulen = pct ? (size_t)(pct - s) : n;

	if (!ulen || ulen > ISCSI_USER_MAX)
		return fail(err, errlen, "bad user name before '@'");
	for (size_t i = 0; i < ulen; i++)
		if (!cred_char(s[i], false))
			return fail(err, errlen, "bad character in user name");
	memcpy(u->user, s, ulen);
	u->user[ulen] = 0;
	if (!pct)
		return 0;
	n -= ulen + 1;
	s = pct + 1;
	if (!n || n > ISCSI_SECRET_MAX)
		return fail(err, errlen, "bad password after '%'");
	for (size_t i = 0; i < n; i++)
		if (!cred_char(s[i], true))
			return fail(err, errlen, "bad character in password");
	memcpy(u->password, s, n);
	u->password[n] = 0;
	u->has_password = true;
	return 0;
}

/* HOST[:PORT] in [s, s+n). */
static int parse_hostport(const char *s, size_t n, struct iscsi_url_parts *u,
			  char *err, size_t errlen)
{
	const char *host = s, *port = NULL;
	size_t hlen;
	bool v6 = false;

	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close)
			return fail(err, errlen, "'[' without ']' in host");
		host = s + 1;
		hlen = (size_t)(close - host);
		if (!hlen || !all(host, hlen, hex_or_colon))
			return fail(err, errlen, "bad IPv6 address");
		v6 = true;
		if (close + 1 < s + n) {
			if (close[1] != ':')
				return fail(err, errlen, "junk after ']'");
			port = close + 2;
		}
	} else {
		const char *colon = memchr(s, ':', n);

		hlen = colon ? (size_t)(colon - s) : n;
		if (!hlen || !all(s, hlen, name_char))
			return fail(err, errlen, "bad host name");
		if (colon)
			port = colon + 1;
	}
	if (hlen >= sizeof(u->host))
		return fail(err, errlen, "host name too long");
	memcpy(u->host, host, hlen);
	u->host[hlen] = 0;
	u->port = ISCSI_DEFAULT_PORT;
	if (port) {
		size_t plen = (size_t)(s + n - port);
		unsigned v = 0;

		if (!plen || plen > 5)
			return fail(err, errlen, "bad port");
		for (size_t i = 0; i < plen; i++) {
			if (port[i] < '0' || port[i] > '9')
				return fail(err, errlen, "bad port");
			v = v * 10 + (unsigned)(port[i] - '0');
		}
		if (!v || v > 65535)
			return fail(err, errlen, "port out of range 1-65535");
		u->port = v;
	}
	snprintf(u->portal, sizeof(u->portal), v6 ? "[%s]:%u" : "%s:%u",
		 u->host, u->port);
	return 0;
}

int iscsi_url_parse(const char *s, struct iscsi_url_parts *u, char *err,
		    size_t errlen)
{
	const char *auth, *slash, *at, *lun, *tgt;
	size_t tlen, len;
	int ret;
	long v;

	memset(u, 0, sizeof(*u));
	if (!iscsi_url_is(s))
		return fail(err, errlen, "not an iscsi:// URL");
	len = strnlen(s, ISCSI_URL_MAX + 1);
	if (len > ISCSI_URL_MAX)
		return fail(err, errlen, "longer than 1024 bytes");
	auth = s + strlen(SCHEME);
	slash = strchr(auth, '/');
	if (!slash)
		return fail(err, errlen, "no target after the host");
	/* the last '@' before the path: a password may hold one */
	at = NULL;
	for (const char *p = auth; p < slash; p++)
		if (*p == '@')
			at = p;
	if (at) {
		ret = parse_userinfo(auth, (size_t)(at - auth), u, err, errlen);
		if (ret)
			return ret;
		auth = at + 1;
	}
	ret = parse_hostport(auth, (size_t)(slash - auth), u, err, errlen);
	if (ret)
		return ret;
	tgt = slash + 1;
	lun = strchr(tgt, '/');
	if (!lun)
		return fail(err, errlen, "no LUN after the target");
	tlen = (size_t)(lun - tgt);
	if (!tlen || tlen > ISCSI_NAME_MAX || !all(tgt, tlen, target_char))
		return fail(err, errlen, "bad target name");
	memcpy(u->target, tgt, tlen);
	u->target[tlen] = 0;
	lun++;
	if (strchr(lun, '?'))
		return fail(err, errlen, "options after '?' are not supported");
	if (!*lun || strlen(lun) > 5)
		return fail(err, errlen, "bad LUN");
	v = 0;
	for (const char *p = lun; *p; p++) {
		if (*p < '0' || *p > '9')
			return fail(err, errlen, "LUN is not a number");
		v = v * 10 + (*p - '0');
	}
	if (v > ISCSI_LUN_MAX)
		return fail(err, errlen, "LUN out of range 0-16383");
	u->lun = (int)v;
	return 0;
}

int iscsi_secret_parse(const char *buf, size_t len, char *out,
		       size_t outlen, char *err, size_t errlen)
{
	size_t n = 0;

	while (n < len && buf[n] != '\n')
		n++;
	if (n < len && n + 1 != len) {
		snprintf(err, errlen, "secret file: more than one line");
		return -EINVAL;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	if (!n) {
		snprintf(err, errlen, "secret file: empty");
		return -EINVAL;
	}
	if (n > ISCSI_SECRET_MAX || n >= outlen) {
		snprintf(err, errlen, "secret file: longer than %d bytes",
			 ISCSI_SECRET_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)buf[i] < ' ' || buf[i] == 0x7f) {
			snprintf(err, errlen,
				 "secret file: control character in the secret");
			return -EINVAL;
		}
	}
	memcpy(out, buf, n);
	out[n] = 0;
	return 0;
}

int iscsi_secret_read(const char *path, char *out, size_t outlen, char *err,
		      size_t errlen)
{
	char buf[ISCSI_SECRET_MAX + 4];
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "secret file '%s': %s", path,
			 strerror(errno));
		return ret;
	}
	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	ret = n < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		snprintf(err, errlen, "secret file '%s': %s", path,
			 strerror(-ret));
		return ret;
	}
	ret = iscsi_secret_parse(buf, (size_t)n, out, outlen, err, errlen);
	memset(buf, 0, sizeof(buf));
	return ret;
}

void iscsi_url_redact(const char *s, char *out, size_t outlen)
{
	const char *auth, *slash, *at = NULL, *pct;

	if (!outlen)
		return;
	snprintf(out, outlen, "%s", s);
	if (!iscsi_url_is(s))
		return;
	auth = s + strlen(SCHEME);
	slash = strchr(auth, '/');
	if (!slash)
		slash = auth + strlen(auth);
	for (const char *p = auth; p < slash; p++)
		if (*p == '@')
			at = p;
	if (!at)
		return;
	pct = memchr(auth, '%', (size_t)(at - auth));
	if (!pct)
		return;
	snprintf(out, outlen, "%.*s%s", (int)(pct - s), s, at);
}
