// SPDX-License-Identifier: MIT
/*
 * cvisor secret-set NAME ID FILE: hands a disk passphrase (the file's bytes,
 * verbatim) to a VM that waits for key-secret=ID. It travels base64 over
 * the VM's private control socket, never on a command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli/ctl.h"
#include "cli/secret.h"
#include "vmm/control.h"

int cmd_secret_set(int argc, char **argv)
{
	static const char usage[] = "usage: cvisor secret-set NAME ID FILE\n";
	char req[CONTROL_LINE_MAX], resp[1024], err[256];
	uint8_t *key, *b64;
	size_t len;
	int n, ret;

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 4) {
		fputs(usage, stderr);
		return 1;
	}
	if (secret_read_file(argv[3], &key, &len, err, sizeof(err))) {
		fprintf(stderr, "cvisor secret-set: %s\n", err);
		return 1;
	}
	if (len > 2048 || !control_name_valid(argv[2])) {
		fprintf(stderr, "cvisor secret-set: the secret must be at most "
			"2048 bytes, its id 1-64 of A-Z a-z 0-9 . _ -\n");
		secret_free(key, len);
		return 1;
	}
	b64 = malloc(len / 3 * 4 + 8);
	if (!b64) {
		secret_free(key, len);
		return 1;
	}
	n = EVP_EncodeBlock(b64, key, (int)len);
	secret_free(key, len);
	snprintf(req, sizeof(req), "{\"id\":1,\"cmd\":\"secret-set\","
		 "\"secret\":\"%s\",\"data\":\"%.*s\"}", argv[2], n,
		 (char *)b64);
	secret_free(b64, len / 3 * 4 + 8);
	ret = ctl_request(argv[1], req, resp, sizeof(resp), NULL);
	OPENSSL_cleanse(req, sizeof(req));
	return ret;
}
