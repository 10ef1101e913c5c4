// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the control socket's requests as the server takes
 * them before a VM runs (src/vmm/control_cmds.c, control_secret.c): the
 * input is what a client sends, one request per line, each dispatched as
 * control_read does (JSON object, id echoed, "cmd"; secret-set decoding
 * its base64 into a held secret; every other command refused without a
 * VM). The replies are read back and must each be one line of JSON; then
 * every secret left is taken as a disk's passphrase would be and read to
 * its last byte. json_fuzz covers the JSON reader itself. With
 * CVISOR_FUZZ_SEEDS=DIR set, the first run writes a client's requests
 * into DIR (among them "====" set twice as one secret, which crashed the
 * server before secret-set checked its base64). Build with 'make fuzz'; run e.g.
 *
 *   build-fuzz/fuzz/control_fuzz -max_len=8192
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/control_int.h"
#include "vmm/json.h"
#include "fuzz_seed.h"

static struct control ctl;
static struct control_client client = { .fd = -1 };
static int peer = -1;
static volatile uint8_t sink;	/* what reading a secret gives */

static void connect_client(void)
{
	int sv[2];

	if (peer >= 0)
		close(peer);
	if (client.fd >= 0)
		close(client.fd);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		abort();
	client = (struct control_client){ .fd = sv[0] };
	peer = sv[1];
}

/* Read the replies: each a JSON object on one line. */
static void check_replies(void)
{
	static char buf[2 * (CONTROL_REPLY_MAX + 256)];
	size_t len = 0;
	ssize_t n;

	while ((n = read(peer, buf + len, sizeof(buf) - len)) > 0) {
		char *nl;

		len += n;
		while ((nl = memchr(buf, '\n', len))) {
			struct json_val obj = { NULL };
			size_t line = nl - buf;

			if (json_parse(buf, line, &obj) ||
			    !json_is_object(obj.v)) {
				fprintf(stderr, "control_fuzz: reply '%.*s' is "
					"not a JSON object\n", (int)line, buf);
				abort();
			}
			json_release(&obj);
			memmove(buf, nl + 1, len - line - 1);
			len -= line + 1;
		}
		if (len == sizeof(buf))
			abort();	/* a reply longer than the server sends */
	}
}

static bool always(void *opaque)
{
	(void)opaque;
	return true;
}

/* Take every secret as a disk would, and read all of it. */
static void take_secrets(void)
{
	for (int i = 0; i < CONTROL_MAX_SECRETS; i++) {
		char id[CONTROL_SECRET_ID + 1];
		uint8_t *data;
		size_t len;

		if (!ctl.secrets[i].data)
			continue;
		memcpy(id, ctl.secrets[i].id, sizeof(id));
		if (control_secret_wait(&ctl, id, &data, &len, always, NULL))
			abort();
		if (len > CONTROL_LINE_MAX)
			abort();
		for (size_t j = 0; j < len; j++)
			sink ^= data[j];
		free(data);
	}
}

static void write_seeds(const char *dir)
{
	static const char reqs[] =
		"{\"id\":1,\"cmd\":\"status\"}\n"
		"{\"id\":\"a\",\"cmd\":\"secret-set\",\"secret\":\"disk0\","
		"\"data\":\"cGFzcwpwaHJhc2U=\"}\n"
		"{\"id\":null,\"cmd\":\"secret-set\",\"secret\":\"k.1\","
		"\"data\":\"QQ==\"}\n"
		"{\"id\":3,\"cmd\":\"console\"}\n"
		"{\"id\":4,\"cmd\":\"migrate\",\"uri\":\"tcp:h:1\"}\n"
		"{\"cmd\":\"nothing\"}\n"
		"{\"id\":5,\"cmd\":\"secret-set\",\"secret\":\"k0\","
		"\"data\":\"====\"}\n"
		"{\"id\":6,\"cmd\":\"secret-set\",\"secret\":\"k0\","
		"\"data\":\"QUJD\"}\n"
		"[1,2]\n";

	fuzz_seed(dir, "requests", reqs, sizeof(reqs) - 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	if (client.fd < 0 && peer < 0) {
		const char *seed = getenv("CVISOR_FUZZ_SEEDS");

		if (pthread_mutex_init(&ctl.lock, NULL) ||
		    pthread_mutex_init(&ctl.out_lock, NULL) ||
		    pthread_cond_init(&ctl.secret_cond, NULL))
			abort();
		for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
			ctl.console_fds[i] = -1;
		if (seed)
			write_seeds(seed);
	}
	connect_client();
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t len = (nl ? nl : end) - p;

		/* control_read refuses longer lines before they are parsed */
		if (len < CONTROL_LINE_MAX) {
			pthread_mutex_lock(&ctl.lock);
			control_dispatch(&ctl, &client, p, len);
			pthread_mutex_unlock(&ctl.lock);
			check_replies();
			if (client.fd < 0)
				connect_client();
		}
		p += len + (nl != NULL);
	}
	take_secrets();
	control_secrets_clear(&ctl);
	return 0;
}
