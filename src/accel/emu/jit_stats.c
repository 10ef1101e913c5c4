// SPDX-License-Identifier: MIT
/*
 * CVISOR_JIT_STATS=1: which guest instructions end the translator's runs
 * (what to translate next). After each jit_run the run loop notes the
 * instruction at RIP, where the interpreter goes on; at exit the most
 * frequent ones are printed to stderr by opcode (prefix, map, opcode,
 * ModRM.reg of group opcodes), with how many instructions ran translated
 * and interpreted. A form the translator has but that left anyway (a TLB
 * miss, MMIO, an interrupt) is counted under its decode-cache kind.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/emu/jit_gen.h"
#include "accel/emu/jit_stats.h"

enum { PFX_NONE, PFX_66, PFX_F3, PFX_F2, PFX_LOCK, PFX_N };
#define MAPS		3	/* one byte, 0F, 0F 38/3A */
#define REGS		9	/* ModRM.reg of a group opcode, or 8: none */
#define OPS		(PFX_N * MAPS * 256 * REGS)
#define KINDS		64

struct jit_stats {
	_Atomic uint64_t op[OPS];
	_Atomic uint64_t kind[KINDS];	/* translated forms that left */
	_Atomic uint64_t kind_irq;	/* ... with an interrupt maybe pending */
	_Atomic uint64_t other;		/* no bytes to look at (page end) */
	_Atomic uint64_t budget;	/* ran out of budget */
	_Atomic uint64_t runs, translated, interpreted;
};

bool jit_stats_on;
static struct jit_stats *stats;

/* Whether opcode op of map needs ModRM.reg to say what it is */
static bool is_group(int map, uint8_t op)
{
	if (map == 0)
		return (op >= 0x80 && op <= 0x83) || op == 0xc0 || op == 0xc1 ||
		       (op >= 0xd0 && op <= 0xd3) || op == 0xf6 ||
		       op == 0xf7 || op == 0xfe || op == 0xff || op == 0x8f ||
		       op == 0xc6 || op == 0xc7 || (op >= 0xd8 && op <= 0xdf);
	if (map == 1)
		return op == 0x00 || op == 0x01 || op == 0xba || op == 0xc7 ||
		       op == 0xae || op == 0x71 || op == 0x72 || op == 0x73;
	return false;
}

/*
 * p has 24 bytes: 15 of prefixes and REX, 0F 38, the opcode and ModRM
 * read at most 19.
 */
static unsigned op_index(const uint8_t *p)
{
	int pfx = PFX_NONE, map = 0, reg = 8, i = 0;
	uint8_t op;

	for (;; i++) {
		uint8_t c = p[i];

		if (c == 0x66 && pfx == PFX_NONE)
			pfx = PFX_66;
		else if (c == 0xf3)
			pfx = PFX_F3;
		else if (c == 0xf2)
			pfx = PFX_F2;
		else if (c == 0xf0)
			pfx = PFX_LOCK;
		else if (c != 0x66 && c != 0x67 && c != 0x2e && c != 0x3e &&
			 c != 0x26 && c != 0x36 && c != 0x64 && c != 0x65)
			break;
		if (i == 14)
			break;
	}
	if ((p[i] & 0xf0) == 0x40)
		i++;
	op = p[i++];
	if (op == 0x0f) {
		map = 1;
		op = p[i++];
		if (op == 0x38 || op == 0x3a) {
			map = 2;
			op = p[i++];
		}
	}
	if (is_group(map, op))
		reg = (p[i] >> 3) & 7;
	return (((unsigned)pfx * MAPS + map) * 256 + op) * REGS + reg;
}

void jit_stats_init(void)
{
	const char *v = getenv("CVISOR_JIT_STATS");

	if (!v || !*v || *v == '0' || stats)
		return;
	stats = calloc(1, sizeof(*stats));
	if (!stats)
		return;
	jit_stats_on = true;
	atexit(jit_stats_dump);
}

void jit_stats_note(const struct emu_cpu *cpu, long ran, long max)
{
	uint64_t off = cpu->rip & 0xfff;
	const uint8_t *p;
	struct dc_block blk;
	uint8_t bytes[24];

	atomic_fetch_add_explicit(&stats->runs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&stats->translated, ran,
				  memory_order_relaxed);
	if (ran >= max || ran >= JIT_RUN_MAX) {
		atomic_fetch_add_explicit(&stats->budget, 1,
					  memory_order_relaxed);
		return;
	}
	if (cpu->rip >> 12 != cpu->fetch_vpn || !cpu->fetch_hva ||
	    off > 4096 - 16) {
		atomic_fetch_add_explicit(&stats->other, 1,
					  memory_order_relaxed);
		return;
	}
	p = cpu->fetch_hva + off;
	dc_build(&blk, p, cpu->fetch_hva + 4096);
	if (blk.n && blk.e[0].h != H_INTERP && jit_op_supported(&blk.e[0])) {
		atomic_fetch_add_explicit(&stats->kind[blk.e[0].kind % KINDS],
					  1, memory_order_relaxed);
		if (cpu_irq_maybe(cpu))
			atomic_fetch_add_explicit(&stats->kind_irq, 1,
						  memory_order_relaxed);
		return;
	}
	/* its opcode, from a copy: the page may end before the bytes read */
	memset(bytes, 0, sizeof(bytes));
	memcpy(bytes, p, 4096 - off < sizeof(bytes) ? 4096 - off :
						       sizeof(bytes));
	atomic_fetch_add_explicit(&stats->op[op_index(bytes)], 1,
				  memory_order_relaxed);
}

void jit_stats_interp(long n)
{
	atomic_fetch_add_explicit(&stats->interpreted, n,
				  memory_order_relaxed);
}

static const char *const pfx_name[PFX_N] = { "", "66 ", "f3 ", "f2 ",
					     "lock " };
static const char *const map_name[MAPS] = { "", "0f ", "0f 3x " };

void jit_stats_dump(void)
{
	uint64_t runs = stats->runs, left = 0;
	unsigned shown, reg, op, map, pfx;

	for (unsigned i = 0; i < OPS; i++)
		left += stats->op[i];
	fprintf(stderr, "jit stats: %llu runs, %llu instructions translated, "
		"%llu interpreted; runs ended by: budget %llu, no bytes %llu, "
		"untranslated instruction %llu, translated form (miss) %llu, "
		"with an interrupt hint set %llu, by kind:",
		(unsigned long long)runs,
		(unsigned long long)stats->translated,
		(unsigned long long)stats->interpreted,
		(unsigned long long)stats->budget,
		(unsigned long long)stats->other, (unsigned long long)left,
		(unsigned long long)(runs - stats->budget - stats->other -
				     left),
		(unsigned long long)stats->kind_irq);
	for (unsigned k = 0; k < KINDS; k++)
		if (stats->kind[k])
			fprintf(stderr, " %u:%llu", k,
				(unsigned long long)stats->kind[k]);
	fprintf(stderr, "\n");
	/* the top 40, largest first (a selection: this runs once) */
	for (shown = 0; shown < 40; shown++) {
		uint64_t best = 0;
		unsigned at = 0;

		for (unsigned i = 0; i < OPS; i++) {
			if (stats->op[i] > best) {
				best = stats->op[i];
				at = i;
			}
		}
		if (!best)
			break;
		stats->op[at] = 0;
		reg = at % REGS;
		op = at / REGS % 256;
		map = at / REGS / 256 % MAPS;
		pfx = at / REGS / 256 / MAPS;

		fprintf(stderr, "jit stats: %6.2f%% %10llu  %s%s%02x",
			100.0 * (double)best / (double)(runs ? runs : 1),
			(unsigned long long)best, pfx_name[pfx],
			map_name[map], op);
		if (reg < 8)
			fprintf(stderr, " /%u", reg);
		fprintf(stderr, "\n");
	}
}
