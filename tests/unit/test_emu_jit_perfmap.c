// SPDX-License-Identifier: MIT
/*
 * CVISOR_JIT_PERFMAP=1 (jit_perfmap.c): the translator's blocks and stubs
 * named in /tmp/perf-<pid>.map, as perf reads it ("START SIZE NAME", hex),
 * inside the code cache's range.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel/emu/jit.h"
#include "accel/emu/jit_perfmap.h"
#include "emu_test.h"
#include "test.h"

static void test_jit_perfmap(void)
{
	static const uint8_t code[] = {
		0xb9, 0xe8, 0x03, 0x00, 0x00,		/* mov ecx, 1000 */
		0x48, 0x83, 0xc2, 0x03,			/* L: add rdx, 3 */
		0xff, 0xc9,				/* dec ecx */
		0x75, 0xf8,				/* jnz L */
		0xf4,					/* hlt */
	};
	struct emu_test *t;
	char path[64], line[256];
	uintptr_t lo, hi;
	bool block = false, enter = false, stub = false, outside = false;
	unsigned lines = 0;
	FILE *f;

	setenv("CVISOR_JIT_PERFMAP", "1", 1);
	snprintf(path, sizeof(path), "/tmp/perf-%ld.map", (long)getpid());
	unlink(path);
	jit_arena_range(&lo, &hi);
	t = emu_test_init64();
	t->cpu.jit = jit_create();
	CHECK(t->cpu.jit != NULL);
	emu_test_run(t, code, sizeof(code));
	CHECK(t->cpu.halted);
	CHECK_EQ(t->cpu.gpr[R_DX], 3000);
	CHECK(jit_stat_insns(t->cpu.jit) > 1000);
	jit_destroy(t->cpu.jit);
	t->cpu.jit = NULL;
	emu_test_free(t);

	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t start;
		size_t size;
		char name[128];

		lines++;
		if (sscanf(line, "%" SCNxPTR " %zx %127s", &start, &size,
			   name) != 3 || !size || start < lo ||
		    start + size > hi) {
			outside = true;
			continue;
		}
		if (!strcmp(name, "jit:100005"))
			block = true;
		if (!strcmp(name, "jit_stub:enter"))
			enter = true;
		if (!strcmp(name, "jit_stub:miss_out"))
			stub = true;
	}
	fclose(f);
	unlink(path);
	printf("  %u lines\n", lines);
	CHECK(!outside);
	CHECK(block);
	CHECK(enter);
	CHECK(stub);
}

/*
 * A symlink planted at the map's name in /tmp is not followed: the map
 * is not opened (one line says so), and the file it names not made.
 * Runs first: the map opens once a process.
 */
static void test_jit_perfmap_symlink(void)
{
	char path[64], target[64];

	setenv("CVISOR_JIT_PERFMAP", "1", 1);
	snprintf(path, sizeof(path), "/tmp/perf-%ld.map", (long)getpid());
	snprintf(target, sizeof(target), "/tmp/cvisor-perfmap-%ld",
		 (long)getpid());
	unlink(path);
	unlink(target);
	CHECK_EQ(symlink(target, path), 0);
	jit_perfmap_open();
	CHECK(access(target, F_OK) != 0);
	unlink(path);
	unlink(target);
}

int main(void)
{
	RUN(test_jit_perfmap_symlink);
	RUN(test_jit_perfmap);
	return test_summary();
}
