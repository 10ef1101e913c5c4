// SPDX-License-Identifier: MIT
/* --object secret: the passphrases of encrypted images, by id. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli/secret.h"

#define SECRET_MAX (64u << 10)
#define SECRET_SLOTS 16

struct secret {
	char *id;
	uint8_t *data;
	size_t len;
};

static struct secret secrets[SECRET_SLOTS];

void secret_free(uint8_t *data, size_t len)
{
	if (!data)
		return;
	OPENSSL_cleanse(data, len);
	free(data);
}

int secret_read_file(const char *path, uint8_t **data, size_t *len,
		     char *err, size_t errlen)
{
	uint8_t *buf = malloc(SECRET_MAX + 1);
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf) {
		snprintf(err, errlen, "cannot read key file '%s': %s", path,
			 strerror(fd < 0 ? errno : ENOMEM));
		if (fd >= 0)
			close(fd);
		free(buf);
		return -EINVAL;
	}
	while (n <= SECRET_MAX &&
	       (r = read(fd, buf + n, SECRET_MAX + 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n > SECRET_MAX) {
		snprintf(err, errlen, "key file '%s' is larger than 64 KiB",
			 path);
		secret_free(buf, SECRET_MAX + 1);
		return -EINVAL;
	}
	*data = buf;
	*len = n;
	return 0;
}

static int decode_base64(uint8_t **data, size_t *len, char *err,
			 size_t errlen)
{
	uint8_t *out = malloc(*len / 4 * 3 + 3);
	int n;

	if (!out)
		return -ENOMEM;
	n = EVP_DecodeBlock(out, *data, (int)*len);
	if (n < 0 || *len % 4) {
		snprintf(err, errlen, "secret is not valid base64");
		secret_free(out, *len / 4 * 3 + 3);
		return -EINVAL;
	}
	/* EVP_DecodeBlock counts the '=' padding as zero bytes */
	for (size_t i = *len; i > 0 && (*data)[i - 1] == '='; i--)
		n--;
	secret_free(*data, *len);
	*data = out;
	*len = (size_t)n;
	return 0;
}

static int store(char *id, uint8_t *data, size_t len, char *err,
		 size_t errlen)
{
	for (int i = 0; i < SECRET_SLOTS; i++) {
		if (secrets[i].id && strcmp(secrets[i].id, id))
			continue;
		if (secrets[i].id) {
			snprintf(err, errlen, "duplicate secret id '%s'", id);
			return -EEXIST;
		}
		secrets[i] = (struct secret){ id, data, len };
		return 0;
	}
	snprintf(err, errlen, "too many secrets (at most %d)", SECRET_SLOTS);
	return -ENOSPC;
}

int secret_object_add(const char *spec, char *err, size_t errlen)
{
	char *copy = strdup(spec), *s = copy, *tok, *id = NULL;
	const char *file = NULL, *data = NULL, *format = "raw";
	uint8_t *bytes = NULL;
	size_t len = 0;
	int ret = -EINVAL;

	if (!copy)
		return -ENOMEM;
	tok = strsep(&s, ",");
	if (strcmp(tok, "secret") && strcmp(tok, "qom-type=secret")) {
		snprintf(err, errlen, "--object %s: only 'secret' objects are "
			 "known", tok);
		goto out;
	}
	while ((tok = strsep(&s, ","))) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			snprintf(err, errlen, "--object secret: '%s' needs a "
				 "value", tok);
			goto out;
		}
		*eq++ = 0;
		if (!strcmp(tok, "id"))
			id = eq;
		else if (!strcmp(tok, "file"))
			file = eq;
		else if (!strcmp(tok, "data"))
			data = eq;
		else if (!strcmp(tok, "format"))
			format = eq;
		else {
			snprintf(err, errlen, "--object secret: unknown "
				 "property '%s' (id, file, data, format)", tok);
			goto out;
		}
	}
	if (!id || !*id || !file == !data) {
		snprintf(err, errlen, "--object secret needs id= and one of "
			 "file= or data=");
		goto out;
	}
	if (strcmp(format, "raw") && strcmp(format, "base64")) {
		snprintf(err, errlen, "--object secret: format must be raw or "
			 "base64, not '%s'", format);
		goto out;
	}
	if (data) {
		fprintf(stderr, "cvisor: warning: secret '%s' given with data= "
			"is visible to other users in ps; use file=\n", id);
		len = strlen(data);
		bytes = malloc(len + 1);
		if (!bytes) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(bytes, data, len);
	} else if ((ret = secret_read_file(file, &bytes, &len, err, errlen))) {
		goto out;
	}
	if (!strcmp(format, "base64") &&
	    (ret = decode_base64(&bytes, &len, err, errlen)))
		goto out;
	id = strdup(id);
	ret = id ? store(id, bytes, len, err, errlen) : -ENOMEM;
	if (ret)
		free(id);
	else
		bytes = NULL;
out:
	if (bytes)
		secret_free(bytes, len);
	OPENSSL_cleanse(copy, strlen(spec));
	free(copy);
	return ret;
}

const uint8_t *secret_get(const char *id, size_t *len)
{
	for (int i = 0; i < SECRET_SLOTS; i++) {
		if (secrets[i].id && !strcmp(secrets[i].id, id)) {
			*len = secrets[i].len;
			return secrets[i].data;
		}
	}
	return NULL;
}

void secret_clear_all(void)
{
	for (int i = 0; i < SECRET_SLOTS; i++) {
		secret_free(secrets[i].data, secrets[i].len);
		free(secrets[i].id);
		secrets[i] = (struct secret){ 0 };
	}
}
