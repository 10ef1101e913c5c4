// SPDX-License-Identifier: MIT
/*
 * main() for a fuzz target built without libFuzzer (make test's build,
 * any compiler): runs the target once on each file named on the command
 * line, as libFuzzer runs it on a corpus, and exits 0 if none crashed.
 * So every target builds and runs with the test suite and cannot rot;
 * fuzzing itself is 'make fuzz'.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL, *p;
	size_t len = 0, cap = 0, n;
	int ret = 1;

	if (!f) {
		perror(path);
		return 1;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			p = realloc(buf, cap);
			if (!p)
				goto out;
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f))
		goto out;
	/* exactly the input's size, so the sanitizers see overreads */
	p = realloc(buf, len ? len : 1);
	if (!p)
		goto out;
	buf = p;
	LLVMFuzzerTestOneInput(buf, len);
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "%s: cannot read it\n", path);
	free(buf);
	fclose(f);
	return ret;
}

int main(int argc, char **argv)
{
	int ret = 0;

	for (int i = 1; i < argc; i++)
		ret |= run_file(argv[i]);
	return ret;
}
