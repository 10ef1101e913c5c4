// SPDX-License-Identifier: MIT
/*
 * Sector encryption: OpenSSL ciphers with plain, plain64 and ESSIV IVs.
 *
 * Each 512-byte sector needs its own IV, so a 4 KiB request sets the IV
 * eight times. Through EVP_CipherInit_ex that costs OpenSSL 3.0 about as
 * much as encrypting the sector (it looks the IV length and padding up by
 * name on every call), so the data cipher is driven through the functions
 * its provider publishes (OSSL_PROVIDER_query_operation): the provider's
 * init with only an IV copies the IV, and its cipher call runs the same
 * AES-NI code EVP would. The key schedule is made once per key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "block/sector_cipher.h"

void sector_cipher_preload(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
}

enum iv_mode { IV_PLAIN, IV_PLAIN64, IV_ESSIV };

/* One direction of the data cipher: a provider context and its calls. */
struct prov_cipher {
	void *ctx;
	OSSL_FUNC_cipher_freectx_fn *freectx;
	OSSL_FUNC_cipher_encrypt_init_fn *init; /* encrypt or decrypt init */
	OSSL_FUNC_cipher_cipher_fn *cipher;
};

struct sector_cipher {
	EVP_CIPHER *alg; /* holds the provider while the contexts live */
	struct prov_cipher enc, dec;
	EVP_CIPHER_CTX *essiv; /* ECB under the hashed key */
	enum iv_mode iv;
};

/* OpenSSL's name for the data cipher, or NULL if unsupported. */
static const char *pick(const char *cipher, const char *chain, size_t keylen)
{
	if (strcmp(cipher, "aes"))
		return NULL;
	if (!strcmp(chain, "xts")) {
		if (keylen == 32)
			return "AES-128-XTS";
		if (keylen == 64)
			return "AES-256-XTS";
	} else if (!strcmp(chain, "cbc")) {
		if (keylen == 16)
			return "AES-128-CBC";
		if (keylen == 24)
			return "AES-192-CBC";
		if (keylen == 32)
			return "AES-256-CBC";
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

/* Is name one of the provider's colon-separated names for an algorithm? */
static bool names_have(const char *names, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = names; p; p = strchr(p, ':')) {
		if (*p == ':')
			p++;
		if (!strncasecmp(p, name, n) && (p[n] == ':' || !p[n]))
			return true;
	}
	return false;
}

/* The provider's calls for the named cipher, or NULL; see data_init. */
static const OSSL_ALGORITHM *find_impl(const OSSL_ALGORITHM *algs,
				       const char *name)
{
	for (const OSSL_ALGORITHM *a = algs; a && a->algorithm_names; a++)
		if (names_have(a->algorithm_names, name))
			return a;
	return NULL;
}

static int prov_init(struct prov_cipher *pc, const OSSL_DISPATCH *d,
		     void *provctx, bool encrypt, const uint8_t *key,
		     size_t keylen)
{
	OSSL_FUNC_cipher_newctx_fn *newctx = NULL;

	for (; d->function_id; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_CIPHER_NEWCTX:
			newctx = OSSL_FUNC_cipher_newctx(d);
			break;
		case OSSL_FUNC_CIPHER_FREECTX:
			pc->freectx = OSSL_FUNC_cipher_freectx(d);
			break;
		case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
			if (encrypt)
				pc->init = OSSL_FUNC_cipher_encrypt_init(d);
			break;
		case OSSL_FUNC_CIPHER_DECRYPT_INIT:
			if (!encrypt)
				pc->init = OSSL_FUNC_cipher_decrypt_init(d);
			break;
		case OSSL_FUNC_CIPHER_CIPHER:
			pc->cipher = OSSL_FUNC_cipher_cipher(d);
			break;
		}
	}
	if (!newctx || !pc->freectx || !pc->init || !pc->cipher)
		return -EINVAL;
	pc->ctx = newctx(provctx);
	if (!pc->ctx)
		return -ENOMEM;
	return pc->init(pc->ctx, key, keylen, NULL, 0, NULL) == 1 ? 0 : -EINVAL;
}

static void prov_free(struct prov_cipher *pc)
{
	if (pc->ctx)
		pc->freectx(pc->ctx);
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

static int data_init(struct sector_cipher *c, const char *name,
		     const uint8_t *key, size_t keylen)
{
	const OSSL_ALGORITHM *algs, *a;
	const OSSL_PROVIDER *prov;
	void *provctx;
	int no_cache = 0, ret = -EINVAL;

	c->alg = EVP_CIPHER_fetch(NULL, name, NULL);
	if (!c->alg)
		return -EINVAL;
	prov = EVP_CIPHER_get0_provider(c->alg);
	if (!prov)
		return -EINVAL;
	provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
	/*
	 * The query's answer is the provider's until unquery: the calls are
	 * taken from it (and the contexts made) before it is given back.
	 */
	algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_cache);
	a = find_impl(algs, name);
	if (a)
		ret = prov_init(&c->enc, a->implementation, provctx, true, key,
				keylen);
	if (a && !ret)
		ret = prov_init(&c->dec, a->implementation, provctx, false,
				key, keylen);
	if (algs)
		OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
	return ret;
}

int sector_cipher_new(const char *cipher, const char *mode,
		      const uint8_t *key, size_t keylen,
		      struct sector_cipher **out)
{
	char chain[16];
	const char *ivgen = strchr(mode, '-');
	const char *name;
	struct sector_cipher *c;
	size_t n;
	int ret = -EINVAL;

	if (!ivgen || (n = (size_t)(ivgen - mode)) >= sizeof(chain))
		return -EINVAL;
	memcpy(chain, mode, n);
	chain[n] = 0;
	ivgen++;
	name = pick(cipher, chain, keylen);
	if (!name)
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
	ret = data_init(c, name, key, keylen);
	if (ret)
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
	prov_free(&c->enc);
	prov_free(&c->dec);
	EVP_CIPHER_free(c->alg);
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
	struct prov_cipher *pc = encrypt ? &c->enc : &c->dec;
	uint8_t iv[16];
	size_t n;

	if (len & 15)
		return -EINVAL;
	while (len) {
		size_t chunk = len < SECTOR_CIPHER_SECTOR ? len :
							    SECTOR_CIPHER_SECTOR;

		if (make_iv(c, sector, iv) ||
		    pc->init(pc->ctx, NULL, 0, iv, sizeof(iv), NULL) != 1 ||
		    pc->cipher(pc->ctx, buf, &n, chunk, buf, chunk) != 1 ||
		    n != chunk)
			return -EIO;
		buf += chunk;
		len -= chunk;
		sector++;
	}
	return 0;
}
