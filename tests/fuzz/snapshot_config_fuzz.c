// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for a snapshot's configuration document (config.json in
 * a snapshot directory, and the first section of a live migration stream,
 * which comes from the network): the input is parsed as --restore reads
 * it (disks checked against their size and mtime) and as --incoming does
 * (disks only have to exist). An accepted document has its argument
 * count within bounds and every argument a string; the working directory
 * is back where it was either way. Build with 'make fuzz'; run e.g.
 *
 *   build-fuzz/fuzz/snapshot_config_fuzz -max_len=4096
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char cwd[PATH_MAX];
	struct snapshot_config sc;
	char err[512], now[PATH_MAX];

	if (!cwd[0] && !getcwd(cwd, sizeof(cwd)))
		abort();
	for (int check = 0; check < 2; check++) {
		err[0] = 0;
		if (!snapshot_config_parse((const char *)data, size, check, &sc,
					   err, sizeof(err))) {
			if (sc.argc < 0 || !sc.argv || sc.argv[sc.argc])
				abort();
			for (int i = 0; i < sc.argc; i++)
				if (!sc.argv[i])
					abort();
			snapshot_config_free(&sc);
		} else if (!err[0] || !memchr(err, 0, sizeof(err))) {
			abort();	/* a refusal says why */
		}
		if (!getcwd(now, sizeof(now)) || strcmp(now, cwd))
			abort();
	}
	return 0;
}
