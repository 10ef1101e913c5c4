// SPDX-License-Identifier: MIT
#include "ui/vnc_opts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int vnc_err(char *err, size_t errlen, const char *fmt, const char *v)
{
	snprintf(err, errlen, fmt, v);
	return -EINVAL;
}

static int parse_port(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int read_password(const char *path, struct vnc_opts *o, char *err,
			 size_t errlen)
{
	char line[VNC_PASSWORD_MAX + 2];
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "--vnc: password-file=%s: %s", path,
			 strerror(errno));
		return -EINVAL;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	line[strcspn(line, "\r\n")] = 0;
	if (!line[0])
		return vnc_err(err, errlen,
			       "--vnc: password-file=%s: no password on its first line",
			       path);
	if (strlen(line) > VNC_PASSWORD_MAX)
		return vnc_err(err, errlen,
			       "--vnc: password-file=%s: password longer than 64 bytes",
			       path);
	snprintf(o->password, sizeof(o->password), "%s", line);
	return 0;
}

static int parse_address(char *a, struct vnc_opts *o, char *err,
			 size_t errlen)
{
	char *colon = strrchr(a, ':');
	long n;

	if (!colon)
		return vnc_err(err, errlen,
			       "--vnc: '%s': expected :N or ADDR:N", a);
	*colon = 0;
	if (parse_port(colon + 1, 0, 65535 - VNC_BASE_PORT, &n))
		return vnc_err(err, errlen,
			       "--vnc: display number '%s' is not 0..59635",
			       colon + 1);
	o->port = VNC_BASE_PORT + n;
	if (!*a)
		a = "127.0.0.1";
	if (a[0] == '[') {
		size_t len = strlen(a);

		if (len < 3 || a[len - 1] != ']')
			return vnc_err(err, errlen,
				       "--vnc: bad IPv6 address '%s'", a);
		a[len - 1] = 0;
		a++;
		if (inet_pton(AF_INET6, a, &o->addr6) != 1)
			return vnc_err(err, errlen,
				       "--vnc: bad IPv6 address '%s'", a);
		o->ipv6 = true;
		o->local = IN6_IS_ADDR_LOOPBACK(&o->addr6);
	} else {
		if (!strcmp(a, "localhost"))
			a = "127.0.0.1";
		if (inet_pton(AF_INET, a, &o->addr4) != 1)
			return vnc_err(err, errlen,
				       "--vnc: '%s' is not an IPv4 address", a);
		o->local = (ntohl(o->addr4.s_addr) >> 24) == 127;
	}
	snprintf(o->host, sizeof(o->host), "%s", a);
	return 0;
}

int vnc_opts_parse(const char *spec, struct vnc_opts *o, char *err,
		   size_t errlen)
{
	char buf[512], *s = buf, *tok;
	int ret;

	memset(o, 0, sizeof(*o));
	if (strlen(spec) >= sizeof(buf))
		return vnc_err(err, errlen, "--vnc: '%.64s...' is too long",
			       spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	ret = parse_address(strsep(&s, ","), o, err, errlen);
	if (ret)
		return ret;
	while ((tok = strsep(&s, ","))) {
		char *val = strchr(tok, '=');
		long n;

		if (!val || !val[1])
			return vnc_err(err, errlen,
				       "--vnc: '%s' needs a value (key=value)",
				       tok);
		*val++ = 0;
		if (!strcmp(tok, "password-file")) {
			ret = read_password(val, o, err, errlen);
			if (ret)
				return ret;
		} else if (!strcmp(tok, "websocket")) {
			if (parse_port(val, 1, 65535, &n) || n == o->port)
				return vnc_err(err, errlen,
					       "--vnc: websocket=%s: expected a port 1..65535 other than the VNC port",
					       val);
			o->websocket_port = n;
		} else {
			return vnc_err(err, errlen,
				       "--vnc: unknown option '%s'", tok);
		}
	}
	return 0;
}
