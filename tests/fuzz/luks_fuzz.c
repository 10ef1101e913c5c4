// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the input is a LUKS area as it lies in an encrypted
 * qcow2 (header, then key material). It is parsed with the area's own
 * length as the bound, and when it parses, written back and parsed again
 * (the two must agree), then unlocked with a fixed passphrase. Slot and
 * master-key iteration counts are capped by the parser, so an input costs
 * at most that much PBKDF2; the fuzzer's own inputs stay small.
 *
 * Build with "make fuzz" (build-fuzz/fuzz/luks_fuzz); a seed corpus:
 *   qemu-img create -f luks --object secret,id=s,data=x \
 *       -o key-secret=s,iter-time=1 corpus/a.luks 1M
 *   ./build-fuzz/fuzz/luks_fuzz -max_len=4096 corpus
 */
#include <stdlib.h>
#include <string.h>

#include "block/luks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct luks_header h, h2;
	uint8_t raw[LUKS_PHDR_SIZE], mk[LUKS_MAX_KEY];
	char err[256];

	if (luks_parse(&h, data, size, size, err, sizeof(err)))
		return 0;
	luks_serialize(&h, raw);
	if (luks_parse(&h2, raw, sizeof(raw), size, err, sizeof(err)) ||
	    memcmp(&h, &h2, sizeof(h)))
		abort();
	/* keep each run short: only cheap headers are unlocked */
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++)
		if (h.slots[i].active && h.slots[i].iterations > 2000)
			return 0;
	if (h.mk_iterations <= 2000)
		luks_unlock(&h, data, size, (const uint8_t *)"x", 1, mk, err,
			    sizeof(err));
	return 0;
}
