// SPDX-License-Identifier: MIT
/* Sector encryption: OpenSSL ciphers with plain, plain64 and ESSIV IVs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "block/sector_cipher.h"

enum iv_mode { IV_PLAIN, IV_PLAIN64, IV_ESSIV };

struct sector_cipher {
	EVP_CIPHER_CTX *enc, *dec;
	EVP_CIPHER_CTX *essiv; /* ECB under the hashed key */
	enum iv_mode iv;
};

static const EVP_CIPHER *pick(const char *cipher, const char *chain,
			      size_t keylen)
{
	if (strcmp(cipher, "aes"))
		return NULL;
	if (!strcmp(chain, "xts")) {
		if (keylen == 32)
			return EVP_aes_128_xts();
		if (keylen == 64)
			return EVP_aes_256_xts();
	} else if (!strcmp(chain, "cbc")) {
		if (keylen == 16)
			return EVP_aes_128_cbc();
		if (keylen == 24)
			return EVP_aes_192_cbc();
		if (keylen == 32)
			return EVP_aes_256_cbc();
	}
	return NULL;
}

static const EVP_CIPHER *ecb_for(size_t keylen)
{
	switch (keylen) {
	case 16: return EVP_aes_128_ecb();
	case 24: return EVP_aes_192_ecb();
	case 32: return EVP_aes_256_ecb();
	}
	return NULL;
}

static EVP_CIPHER_CTX *ctx_new(const EVP_CIPHER *ciph, const uint8_t *key,
			       int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	if (!ctx)
		return NULL;
	if (EVP_CipherInit_ex(ctx, ciph, NULL, key, NULL, enc) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return NULL;
	}
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	return ctx;
}

/* "essiv:sha256": the IV key is the hash of the data key. */
static int essiv_init(struct sector_cipher *c, const char *hash,
		      const uint8_t *key, size_t keylen)
{
	const EVP_MD *md = EVP_get_digestbyname(hash);
	uint8_t salt[EVP_MAX_MD_SIZE];
	unsigned slen = 0;
	const EVP_CIPHER *ecb;

	if (!md || EVP_Digest(key, keylen, salt, &slen, md, NULL) != 1)
		return -EINVAL;
	ecb = ecb_for(slen);
	if (!ecb)
		return -EINVAL;
	c->essiv = ctx_new(ecb, salt, 1);
	OPENSSL_cleanse(salt, sizeof(salt));
	return c->essiv ? 0 : -ENOMEM;
}

int sector_cipher_new(const char *cipher, const char *mode,
		      const uint8_t *key, size_t keylen,
		      struct sector_cipher **out)
{
	char chain[16];
	const char *ivgen = strchr(mode, '-');
	const EVP_CIPHER *ciph;
	struct sector_cipher *c;
	size_t n;
	int ret = -EINVAL;

	if (!ivgen || (n = (size_t)(ivgen - mode)) >= sizeof(chain))
		return -EINVAL;
	memcpy(chain, mode, n);
	chain[n] = 0;
	ivgen++;
	ciph = pick(cipher, chain, keylen);
	if (!ciph)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (!strcmp(ivgen, "plain64")) {
		c->iv = IV_PLAIN64;
	} else if (!strcmp(ivgen, "plain")) {
		c->iv = IV_PLAIN;
	} else if (!strncmp(ivgen, "essiv:", 6) && strcmp(chain, "xts")) {
		c->iv = IV_ESSIV;
		ret = essiv_init(c, ivgen + 6, key, keylen);
		if (ret)
			goto err;
	} else {
		goto err;
	}
	c->enc = ctx_new(ciph, key, 1);
	c->dec = ctx_new(ciph, key, 0);
	ret = -ENOMEM;
	if (!c->enc || !c->dec)
		goto err;
	*out = c;
	return 0;
err:
	sector_cipher_free(c);
	return ret;
}

void sector_cipher_free(struct sector_cipher *c)
{
	if (!c)
		return;
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	EVP_CIPHER_CTX_free(c->essiv);
	free(c);
}

static int make_iv(struct sector_cipher *c, uint64_t sector, uint8_t iv[16])
{
	int n;

	memset(iv, 0, 16);
	if (c->iv == IV_PLAIN)
		sector &= 0xffffffffu;
	for (int i = 0; i < 8; i++)
		iv[i] = (uint8_t)(sector >> (8 * i));
	if (c->iv != IV_ESSIV)
		return 0;
	return EVP_EncryptUpdate(c->essiv, iv, &n, iv, 16) == 1 ? 0 : -EIO;
}

int sector_cipher_run(struct sector_cipher *c, bool encrypt, uint64_t sector,
		      uint8_t *buf, size_t len)
{
	EVP_CIPHER_CTX *ctx = encrypt ? c->enc : c->dec;
	uint8_t iv[16];
	int n;

	if (len & 15)
		return -EINVAL;
	while (len) {
		size_t chunk = len < SECTOR_CIPHER_SECTOR ? len :
							    SECTOR_CIPHER_SECTOR;

		if (make_iv(c, sector, iv) ||
		    EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1) != 1 ||
		    EVP_CipherUpdate(ctx, buf, &n, buf, (int)chunk) != 1)
			return -EIO;
		buf += chunk;
		len -= chunk;
		sector++;
	}
	return 0;
}
