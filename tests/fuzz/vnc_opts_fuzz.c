// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the --vnc option parser: any bytes as the option
 * value. Built by 'make fuzz': build-fuzz/fuzz/vnc_opts_fuzz
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ui/vnc_opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char spec[600], err[256];
	struct vnc_opts o;

	if (size >= sizeof(spec))
		return 0;
	memcpy(spec, data, size);
	spec[size] = 0;
	/* no files: a password-file= value names what the fuzzer made up */
	if (strstr(spec, "password-file="))
		return 0;
	if (!vnc_opts_parse(spec, &o, err, sizeof(err)) &&
	    (o.port < 5900 || o.port > 65535 || o.websocket_port > 65535))
		abort();
	return 0;
}
