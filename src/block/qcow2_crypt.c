// SPDX-License-Identifier: MIT
/*
 * Encrypted qcow2, as docs/interop/qcow2.txt describes it. Method 2 (LUKS):
 * a LUKS1 area in clusters the "full disk encryption header pointer"
 * extension names; each 512-byte sector of guest data is encrypted with
 * the LUKS cipher, the IV from the sector's host offset. Method 1 (legacy
 * AES, read for data liberation, never created): AES-128-CBC keyed with
 * the passphrase's first 16 bytes, the IV from the guest sector. Metadata
 * is never encrypted; compressed clusters are stored as they are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "block/qcow2_int.h"
#include "block/sector_cipher.h"

#define CRYPT_MAX_AREA (64u << 20)
#define BOUNCE (256u << 10)

static const struct qcow2_ext *find_ext(const struct qcow2 *s, uint32_t type)
{
	for (unsigned i = 0; i < s->nb_exts; i++)
		if (s->exts[i].type == type)
			return &s->exts[i];
	return NULL;
}

/* How deep in the user's chain dev is: 0 the top, 1 its backing file... */
static int chain_level(const struct block_dev *dev)
{
	return dev->level ? (int)dev->level : qcow2_chain_depth();
}

static int no_key(struct block_dev *dev, char *err, size_t errlen)
{
	char pre[8 * BLOCK_MAX_CHAIN + 1] = "";
	int depth = chain_level(dev);

	if (dev->flags & BLOCK_NO_IO)
		return 0;
	if (!depth) {
		snprintf(err, errlen, "'%s' is encrypted: give its passphrase "
			 "(encrypt.key-secret with --object secret, or "
			 "key-file=)", dev->path);
		return -EACCES;
	}
	for (int i = 0; i < depth && i < BLOCK_MAX_CHAIN; i++)
		strcat(pre, "backing.");
	snprintf(err, errlen, "backing file '%s' is encrypted: give its "
		 "passphrase (%sencrypt.key-secret=ID with --image-opts and "
		 "--object secret, or %skey-file= on --disk)", dev->path, pre,
		 pre);
	return -EACCES;
}

static int open_aes(struct block_dev *dev, struct qcow2 *s, char *err,
		    size_t errlen)
{
	uint8_t key[16] = { 0 };
	size_t n = 0;
	int ret;

	if (!dev->key)
		return no_key(dev, err, errlen);
	/* the passphrase as a C string, cut or zero-padded to 16 bytes */
	while (n < dev->key_len && n < sizeof(key) && dev->key[n]) {
		key[n] = dev->key[n];
		n++;
	}
	ret = sector_cipher_new("aes", "cbc-plain64", key, sizeof(key),
				&s->cipher);
	OPENSSL_cleanse(key, sizeof(key));
	if (ret)
		snprintf(err, errlen, "'%s': AES-128-CBC unavailable",
			 dev->path);
	return ret;
}

static int read_area(struct block_dev *dev, struct qcow2 *s, uint8_t **area,
		     char *err, size_t errlen)
{
	const struct qcow2_ext *e = find_ext(s, QCOW2_EXT_CRYPT);
	struct stat st;
	int ret;

	if (!e || e->len < 16) {
		snprintf(err, errlen, "'%s' is LUKS-encrypted but has no valid "
			 "encryption header extension", dev->path);
		return -EINVAL;
	}
	s->crypt_off = get_be64(e->data);
	s->crypt_len = get_be64(e->data + 8);
	if (fstat(s->fd, &st) < 0)
		return -errno;
	if (!s->crypt_off || (s->crypt_off & (s->cluster_size - 1)) ||
	    s->crypt_len < LUKS_PHDR_SIZE || s->crypt_len > CRYPT_MAX_AREA ||
	    s->crypt_off > (uint64_t)st.st_size ||
	    s->crypt_len > (uint64_t)st.st_size - s->crypt_off) {
		snprintf(err, errlen, "'%s': LUKS area at 0x%llx (%llu bytes) "
			 "lies outside the file", dev->path,
			 (unsigned long long)s->crypt_off,
			 (unsigned long long)s->crypt_len);
		return -EINVAL;
	}
	*area = malloc(s->crypt_len);
	if (!*area)
		return -ENOMEM;
	ret = block_fd_pread(s->fd, *area, s->crypt_len, s->crypt_off);
	if (ret)
		free(*area);
	return ret;
}

static int open_luks(struct block_dev *dev, struct qcow2 *s, char *err,
		     size_t errlen)
{
	uint8_t *area = NULL, mk[LUKS_MAX_KEY];
	char why[BLOCK_ERR_LEN];
	int ret = read_area(dev, s, &area, err, errlen);

	if (ret)
		return ret;
	s->luks = calloc(1, sizeof(*s->luks));
	ret = -ENOMEM;
	if (!s->luks)
		goto out;
	ret = luks_parse(s->luks, area, s->crypt_len, s->crypt_len, why,
			 sizeof(why));
	if (ret) {
		snprintf(err, errlen, "'%s': %s", dev->path, why);
		goto out;
	}
	if (!dev->key) {
		ret = no_key(dev, err, errlen);
		goto out;
	}
	ret = luks_unlock(s->luks, area, s->crypt_len, dev->key, dev->key_len,
			  mk, why, sizeof(why));
	if (!ret)
		ret = sector_cipher_new(s->luks->cipher, s->luks->mode, mk,
					s->luks->key_bytes, &s->cipher);
	if (ret)
		snprintf(err, errlen, "%s'%s': %s",
			 chain_level(dev) ? "backing file " : "", dev->path,
			 ret == -EACCES ? why : "cipher unavailable");
	OPENSSL_cleanse(mk, sizeof(mk));
out:
	free(area);
	return ret;
}

int qcow2_crypt_open(struct block_dev *dev, struct qcow2 *s, char *err,
		     size_t errlen)
{
	if (s->crypt_method == QCOW2_CRYPT_NONE) {
		if (find_ext(s, QCOW2_EXT_CRYPT)) {
			snprintf(err, errlen, "'%s' has an encryption header "
				 "but is not encrypted", dev->path);
			return -EINVAL;
		}
		return 0;
	}
	if (s->size & (SECTOR_CIPHER_SECTOR - 1)) {
		snprintf(err, errlen, "'%s': encrypted image size is not a "
			 "multiple of 512", dev->path);
		return -EINVAL;
	}
	if (s->crypt_method == QCOW2_CRYPT_AES) {
		if (find_ext(s, QCOW2_EXT_CRYPT)) {
			snprintf(err, errlen, "'%s': legacy AES image with an "
				 "encryption header extension", dev->path);
			return -EINVAL;
		}
		return open_aes(dev, s, err, errlen);
	}
	return open_luks(dev, s, err, errlen);
}

void qcow2_crypt_close(struct qcow2 *s)
{
	sector_cipher_free(s->cipher);
	s->cipher = NULL;
	free(s->luks);
	s->luks = NULL;
	free(s->crypt_buf);
	s->crypt_buf = NULL;
}

static uint64_t first_sector(const struct qcow2 *s, uint64_t vofs,
			     uint64_t host)
{
	return (s->crypt_method == QCOW2_CRYPT_LUKS ? host : vofs) /
	       SECTOR_CIPHER_SECTOR;
}

static int aligned(uint64_t vofs, uint64_t host, size_t n)
{
	return !((vofs | host | n) & (SECTOR_CIPHER_SECTOR - 1));
}

int qcow2_data_pread(struct qcow2 *s, uint8_t *buf, size_t n, uint64_t vofs,
		     uint64_t host)
{
	int ret;

	if (!s->crypt_method)
		return block_fd_pread(s->fd, buf, n, host);
	if (!s->cipher || !aligned(vofs, host, n))
		return -EIO;
	ret = block_fd_pread(s->fd, buf, n, host);
	if (!ret)
		ret = sector_cipher_run(s->cipher, false,
					first_sector(s, vofs, host), buf, n);
	return ret;
}

int qcow2_data_pwrite(struct qcow2 *s, const uint8_t *buf, size_t n,
		      uint64_t vofs, uint64_t host)
{
	uint8_t *tmp;
	int ret = 0;

	if (!s->crypt_method)
		return block_fd_pwrite(s->fd, buf, n, host);
	if (!s->cipher || !aligned(vofs, host, n))
		return -EIO;
	if (!s->crypt_buf)
		s->crypt_buf = malloc(BOUNCE);
	tmp = s->crypt_buf;
	if (!tmp)
		return -ENOMEM;
	for (size_t done = 0, k; done < n && !ret; done += k) {
		k = n - done < BOUNCE ? n - done : BOUNCE;
		memcpy(tmp, buf + done, k);
		ret = sector_cipher_run(s->cipher, true,
					first_sector(s, vofs + done,
						     host + done), tmp, k);
		if (!ret)
			ret = block_fd_pwrite(s->fd, tmp, k, host + done);
	}
	return ret;
}

int qcow2_crypt_rw(struct qcow2 *s, uint8_t *rbuf, const uint8_t *wbuf,
		   size_t len, uint64_t off)
{
	uint64_t start = off & ~(uint64_t)(SECTOR_CIPHER_SECTOR - 1);
	uint64_t end = qcow2_align_up(off + len, SECTOR_CIPHER_SECTOR);
	uint8_t *tmp;
	int ret;

	if (!s->crypt_method)
		return qcow2_rw(s, rbuf, wbuf, len, off);
	if (!s->cipher)
		return -EACCES;
	if (start == off && end == off + len)
		return qcow2_rw(s, rbuf, wbuf, len, off);
	/* a partial sector: read, change, write back whole sectors */
	tmp = malloc(end - start);
	if (!tmp)
		return -ENOMEM;
	ret = qcow2_rw(s, tmp, NULL, end - start, start);
	if (!ret && rbuf)
		memcpy(rbuf, tmp + (off - start), len);
	if (!ret && wbuf) {
		memcpy(tmp + (off - start), wbuf, len);
		ret = qcow2_rw(s, NULL, tmp, end - start, start);
	}
	free(tmp);
	return ret;
}

static int add_ext(struct qcow2 *s, uint64_t off, uint64_t len)
{
	struct qcow2_ext *e = realloc(s->exts, (s->nb_exts + 1) * sizeof(*e));
	uint8_t *d = malloc(16);

	if (!e || !d) {
		free(d);
		if (e)
			s->exts = e;
		return -ENOMEM;
	}
	s->exts = e;
	put_be64(d, off);
	put_be64(d + 8, len);
	s->exts[s->nb_exts++] = (struct qcow2_ext){ QCOW2_EXT_CRYPT, 16, d };
	return 0;
}

/* Makes a freshly created, empty image LUKS-encrypted. */
int qcow2_crypt_create(struct qcow2 *s, const struct qcow2_create_opts *o,
		       char *err, size_t errlen)
{
	uint8_t *area = NULL, *buf = NULL, mk[LUKS_MAX_KEY];
	uint64_t area_len, bytes;
	int64_t host;
	int ret;

	ret = luks_create(&o->luks, o->key, o->key_len, &area, &area_len, mk,
			  err, errlen);
	if (ret)
		return ret;
	s->luks = calloc(1, sizeof(*s->luks));
	bytes = qcow2_align_up(area_len, s->cluster_size);
	buf = calloc(1, bytes);
	ret = -ENOMEM;
	if (!s->luks || !buf)
		goto out;
	memcpy(buf, area, area_len);
	ret = luks_parse(s->luks, area, area_len, area_len, err, errlen);
	if (ret)
		goto out;
	host = qcow2_alloc_clusters(s, bytes >> s->cluster_bits);
	if (host < 0) {
		ret = (int)host;
		goto out;
	}
	ret = block_fd_pwrite(s->fd, buf, bytes, (uint64_t)host);
	if (!ret)
		ret = add_ext(s, (uint64_t)host, area_len);
	if (ret)
		goto out;
	s->crypt_off = (uint64_t)host;
	s->crypt_len = area_len;
	s->crypt_method = QCOW2_CRYPT_LUKS;
	ret = qcow2_write_header(s);
	if (!ret)
		ret = sector_cipher_new(s->luks->cipher, s->luks->mode, mk,
					s->luks->key_bytes, &s->cipher);
out:
	if (ret && !err[0])
		snprintf(err, errlen, "writing the LUKS header: %s",
			 strerror(-ret));
	OPENSSL_cleanse(mk, sizeof(mk));
	free(buf);
	free(area);
	return ret;
}
