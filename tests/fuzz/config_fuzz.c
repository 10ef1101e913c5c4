// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for VM definitions (docs/config.md): the input is read
 * as a definition file, applied to a vm_config through the flags'
 * parsers, and a definition that reads is written out and read back,
 * which must give the same text. Build with 'make fuzz'; run e.g.
 * (-close_fd_mask=2 silences the one line each refusal prints)
 *
 *   build-fuzz/fuzz/config_fuzz -max_len=4096 -close_fd_mask=2
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/config.h"
#include "cli/vm_options.h"

static int apply(const char *text, size_t len, struct vm_config *cfg,
		 struct config_args *args)
{
	json_t *root = config_parse(text, len, "fuzz.json");
	int ret;

	if (!root)
		return -1;
	vm_config_defaults(cfg);
	ret = config_apply(root, "fuzz.json", cfg, args);
	json_decref(root);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_args a = { 0 }, b = { 0 };
	struct vm_config ca, cb;
	char *t1 = NULL, *t2 = NULL;

	if (apply((const char *)data, size, &ca, &a) == 0) {
		t1 = config_to_text(&ca);
		if (t1 && apply(t1, strlen(t1), &cb, &b) == 0)
			t2 = config_to_text(&cb);
		/* Written out, a definition reads back to itself. */
		if (t1 && (!t2 || strcmp(t1, t2)))
			abort();
	}
	free(t1);
	free(t2);
	config_args_free(&a);
	config_args_free(&b);
	return 0;
}
