// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for iSCSI URLs and CHAP secret files: any bytes as a
 * --disk url= value and as a secret file's contents. Checks what a
 * successful parse promises, and that redaction never lets the password
 * through. Built by 'make fuzz': build-fuzz/fuzz/iscsi_url_fuzz
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "block/iscsi_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char url[ISCSI_URL_MAX + 64], shown[ISCSI_URL_MAX + 64], err[256];
	char secret[ISCSI_SECRET_MAX + 1];
	struct iscsi_url_parts u;

	if (!iscsi_secret_parse((const char *)data, size, secret,
				sizeof(secret), err, sizeof(err)) &&
	    (!secret[0] || strlen(secret) > ISCSI_SECRET_MAX ||
	     strchr(secret, '\n')))
		abort();
	if (size >= sizeof(url))
		return 0;
	memcpy(url, data, size);
	url[size] = 0;
	iscsi_url_redact(url, shown, sizeof(shown));
	if (iscsi_url_parse(url, &u, err, sizeof(err)))
		return 0;
	if (!u.host[0] || !u.target[0] || u.port < 1 || u.port > 65535 ||
	    u.lun < 0 || u.lun > ISCSI_LUN_MAX || !u.portal[0] ||
	    (u.has_password && !u.user[0]))
		abort();
	/* the redacted form parses too, with the same place and no password */
	{
		struct iscsi_url_parts r;

		if (iscsi_url_parse(shown, &r, err, sizeof(err)) ||
		    r.has_password || strcmp(r.user, u.user) ||
		    strcmp(r.portal, u.portal) || strcmp(r.target, u.target) ||
		    r.lun != u.lun)
			abort();
	}
	return 0;
}
