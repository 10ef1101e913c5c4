// SPDX-License-Identifier: MIT
/*
 * Random 4 KiB I/O through cvisor's block layer, for bench/img.sh: reads
 * commands in qemu-io's spelling ("read OFF 4k" / "write OFF 4k", one per
 * line) from stdin and runs them against IMAGE, so both tools execute the
 * same list. Prints the time the commands took, apart the open (for an
 * encrypted image mostly its PBKDF2 unlock), and the CPU time the commands
 * took (less swayed by a busy host), in milliseconds. With
 * KEYFILE, the image is an encrypted qcow2 and the file holds its
 * passphrase.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block/block.h"

#define IO_SIZE 4096

static double clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int main(int argc, char **argv)
{
	static char buf[IO_SIZE], rbuf[IO_SIZE];
	char line[128], op[16], err[BLOCK_ERR_LEN];
	struct block_dev *dev;
	unsigned long long off;
	double start, opened, cpu;
	long n = 0;

	static uint8_t key[4096];
	struct block_open_opts o = { 0 };

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: qcow2_io IMAGE [KEYFILE] < commands\n");
		return 2;
	}
	if (argc == 3) {
		FILE *f = fopen(argv[2], "rb");

		if (!f) {
			perror(argv[2]);
			return 1;
		}
		o.key_len = fread(key, 1, sizeof(key), f);
		o.key = key;
		fclose(f);
	}
	start = now_ms();
	if (block_open_opts(argv[1], NULL, 0, &o, &dev, err, sizeof(err))) {
		fprintf(stderr, "qcow2_io: %s\n", err);
		return 1;
	}
	memset(buf, 0x5a, sizeof(buf));
	opened = now_ms();
	cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
	while (fgets(line, sizeof(line), stdin)) {
		int ret;

		if (sscanf(line, "%15s %llu", op, &off) != 2)
			continue;
		if (!strcmp(op, "write"))
			ret = block_pwrite(dev, buf, IO_SIZE, off);
		else
			ret = block_pread(dev, rbuf, IO_SIZE, off);
		if (ret < 0) {
			fprintf(stderr, "qcow2_io: %s at %llu failed\n", op, off);
			return 1;
		}
		n++;
	}
	block_flush(dev);
	cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu;
	printf("%ld ops %.0f ms open %.0f ms cpu %.0f ms\n", n,
	       now_ms() - opened, opened - start, cpu);
	block_close(dev);
	return 0;
}
