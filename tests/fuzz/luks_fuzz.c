// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the input is a LUKS area as it lies in an encrypted
 * qcow2 (header, then key material). It is parsed with the area's own
 * length as the bound, and when it parses, written back and parsed again
 * (the two must agree), then unlocked with a fixed passphrase, then its
 * key slots amended (added, erased) as "img amend" does. Slot and
 * master-key iteration counts are capped by the parser, so an input costs
 * at most that much PBKDF2; the fuzzer's own inputs stay small.
 *
 * Build with "make fuzz" (build-fuzz/fuzz/luks_fuzz); a seed corpus:
 *   qemu-img create -f luks --object secret,id=s,data=x \
 *       -o key-secret=s,iter-time=1 corpus/a.luks 1M
 *   ./build-fuzz/fuzz/luks_fuzz -max_len=4096 corpus
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "block/luks.h"

/*
 * "img amend" on the parsed header: every slot's range is checked (an
 * inactive slot's fields reach no other check), a passphrase goes into
 * the first free slot the range check allows and an active slot is
 * erased, on a copy of the area; what was written must parse again.
 */
static void amend(const struct luks_header *h0, const uint8_t *data,
		  size_t size)
{
	static const uint8_t mk[LUKS_MAX_KEY];
	struct luks_header h = *h0, h2;
	uint8_t *area = malloc(size ? size : 1);
	uint8_t raw[LUKS_PHDR_SIZE];
	uint64_t off, len;
	char err[256];
	bool done = false;

	if (!area)
		return;
	memcpy(area, data, size);
	for (unsigned i = 0; i < LUKS_NUM_SLOTS; i++) {
		if (luks_slot_range(&h, i, size, &off, &len, err, sizeof(err)))
			continue;
		if (off + len > size || off < LUKS_PHDR_SIZE)
			abort();
		if (!done && !h.slots[i].active &&
		    !luks_set_slot(&h, area, size, i, (const uint8_t *)"y", 1,
				   mk, LUKS_MIN_ITERS, err, sizeof(err)))
			done = true;
		else if (h.slots[i].active)
			luks_kill_slot(&h, area, size, i, err, sizeof(err));
	}
	luks_serialize(&h, raw);
	memcpy(area, raw, sizeof(raw));
	/* the header may now have no active slot: that is the caller's check */
	if (luks_parse(&h2, area, size, size, err, sizeof(err)) &&
	    !strstr(err, "no active key slot"))
		abort();
	free(area);
}

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
	amend(&h, data, size);
	return 0;
}
