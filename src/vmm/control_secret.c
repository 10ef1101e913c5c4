// SPDX-License-Identifier: MIT
/*
 * Secrets over the control socket, after libvirt's secret-set-value: the
 * passphrase of a disk given as key-secret=ID arrives base64-encoded in
 * {"cmd":"secret-set","secret":ID,"data":"..."} and is held (wiped when taken)
 * until the VM is built. It never goes to a log, a reply or a snapshot.
 */
#include "vmm/control_int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "vmm/json.h"
#include "vmm/log.h"

static void secret_wipe(struct control_secret *s)
{
	if (s->data) {
		OPENSSL_cleanse(s->data, s->len);
		free(s->data);
	}
	memset(s, 0, sizeof(*s));
}

void control_secrets_clear(struct control *ctl)
{
	for (int i = 0; i < CONTROL_MAX_SECRETS; i++)
		secret_wipe(&ctl->secrets[i]);
}

/*
 * Base64 as RFC 4648 section 4 has it: groups of four characters of the
 * alphabet, the last ending in at most two '='. EVP_DecodeBlock also takes
 * '=' anywhere and blanks around the text, and counts padding as zero
 * bytes: "====" decoded to three, one fewer than the '=' taken off.
 */
static int decode(const char *b64, uint8_t **out, size_t *len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(b64), pad = 0;
	uint8_t *buf;
	int m;

	if (!n || n % 4)
		return -EINVAL;
	while (pad < 2 && b64[n - 1 - pad] == '=')
		pad++;
	if (strspn(b64, alphabet) != n - pad)
		return -EINVAL;
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	m = EVP_DecodeBlock(buf, (const uint8_t *)b64, (int)n);
	if (m != (int)(n / 4 * 3)) {
		OPENSSL_cleanse(buf, n / 4 * 3 + 1);
		free(buf);
		return -EINVAL;
	}
	*out = buf;
	*len = (size_t)m - pad;
	return 0;
}

int control_cmd_secret_set(struct control *ctl, const struct json_val *obj,
			   char *err, size_t errlen)
{
	char id[CONTROL_SECRET_ID + 1], data[CONTROL_LINE_MAX];
	struct control_secret *slot = NULL;
	int ret;

	if (json_get_string(obj, "secret", id, sizeof(id)) ||
	    !control_name_valid(id) ||
	    json_get_string(obj, "data", data, sizeof(data))) {
		snprintf(err, errlen, "secret-set: needs \"secret\" (1-%d of "
			 "A-Z a-z 0-9 . _ -) and \"data\" (base64)",
			 CONTROL_SECRET_ID);
		return -EINVAL;
	}
	for (int i = 0; i < CONTROL_MAX_SECRETS; i++) {
		struct control_secret *s = &ctl->secrets[i];

		if (s->data && !strcmp(s->id, id)) {
			secret_wipe(s); /* a second value replaces the first */
			slot = s;
			break;
		}
		if (!s->data && !slot)
			slot = s;
	}
	ret = slot ? decode(data, &slot->data, &slot->len) : -ENOSPC;
	OPENSSL_cleanse(data, sizeof(data));
	if (ret) {
		snprintf(err, errlen, "secret-set: %s", ret == -ENOSPC ?
			 "too many secrets waiting" : "data is not base64");
		return ret;
	}
	snprintf(slot->id, sizeof(slot->id), "%s", id);
	pthread_cond_broadcast(&ctl->secret_cond);
	return 0;
}

int control_secret_wait(struct control *ctl, const char *id, uint8_t **data,
			size_t *len, bool (*cancel)(void *opaque),
			void *opaque)
{
	int ret = -EINTR;

	pthread_mutex_lock(&ctl->lock);
	for (;;) {
		struct timespec ts;

		for (int i = 0; i < CONTROL_MAX_SECRETS; i++) {
			struct control_secret *s = &ctl->secrets[i];

			if (s->data && !strcmp(s->id, id)) {
				*data = s->data;
				*len = s->len;
				memset(s, 0, sizeof(*s));
				ret = 0;
				goto out;
			}
		}
		if (ctl->quit || (cancel && cancel(opaque)))
			goto out;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&ctl->secret_cond, &ctl->lock, &ts);
	}
out:
	pthread_mutex_unlock(&ctl->lock);
	return ret;
}
