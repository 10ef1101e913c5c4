// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the control protocol's JSON reader (src/vmm/json.h,
 * jansson within the protocol's bounds): a document it accepts is within
 * the nesting bound, and written out reads back equal to itself; the
 * lookups a request goes through never fail on it. Build with 'make fuzz';
 * run e.g.
 *
 *   build-fuzz/fuzz/json_fuzz -max_len=4096
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/json.h"

static char out[1 << 16];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_val doc, v, again;
	struct json_out o;
	char buf[64];
	int64_t x;
	bool b;

	if (json_parse((const char *)data, size, &doc))
		return 0;
	json_out_init(&o, out, sizeof(out));
	json_out_val(&o, &doc);
	if (json_out_ok(&o)) {
		if (json_parse(out, strlen(out), &again) ||
		    !json_equal(doc.v, again.v))
			abort();
		json_release(&again);
	}
	json_get_string(&doc, "cmd", buf, sizeof(buf));
	json_get_int(&doc, "id", &x);
	if (!json_get(&doc, "stop", &v))
		json_bool(&v, &b);
	for (unsigned i = 0; json_index(&doc, i, &v) == 0; i++)
		json_copy_string(&v, buf, sizeof(buf));
	json_release(&doc);
	return 0;
}
