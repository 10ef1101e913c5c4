// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the software CPU: guest code is hostile input too.
 * The input is placed as code at EMU_TEST_CODE and, from byte 4096 on, as
 * data at EMU_TEST_DATA in a long-mode CPU with identity paging (the unit
 * tests' emu_test.h), which then runs up to 20,000 instructions. Whatever
 * the code does to its page tables, descriptor tables, control registers
 * or MSRs, the interpreter must raise guest exceptions, halt, or report an
 * error line: never read or write outside guest RAM, never crash, never
 * trip a sanitizer. Build with `make fuzz`, run e.g.
 *
 *   build-fuzz/fuzz/emu_fuzz -max_len=8192 -max_total_time=60
 *
 * The byte 0 selects the start: 64-bit (even) or 32-bit compatibility
 * mode code (odd), with the dcache on or off (bit 1).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../unit/emu_test.h"

#define CODE_MAX	4096
#define DATA_MAX	(1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct emu_test *t;
	size_t code_len;

	if (size < 2)
		return 0;
	t = emu_test_init64();
	if (data[0] & 2) {
		dcache_destroy(t->cpu.dcache);
		t->cpu.dcache = NULL;
	}
	if (data[0] & 1) {
		/* CS = the 32-bit code segment: compatibility mode */
		t->cpu.seg[SEG_CS] = (struct x86_segment){ .selector = 0x18,
			.type = 0xb, .s = 1, .present = 1, .db = 1, .g = 1,
			.limit = 0xffffffff };
		cpu_update_mode(&t->cpu);
	}
	data++;
	size--;
	code_len = size < CODE_MAX ? size : CODE_MAX;
	if (size > CODE_MAX) {
		size_t n = size - CODE_MAX;

		memcpy(emu_test_ptr(t, EMU_TEST_DATA), data + CODE_MAX,
		       n < DATA_MAX ? n : DATA_MAX);
	}
	memcpy(emu_test_ptr(t, EMU_TEST_CODE), data, code_len);
	t->cpu.rip = EMU_TEST_CODE;
	for (int i = 0; i < 20 && !t->cpu.halted && !t->cpu.shutdown &&
	     !t->cpu.error[0]; i++)
		cpu_run_batch(&t->cpu, 1000, NULL);
	emu_test_free(t);
	return 0;
}
