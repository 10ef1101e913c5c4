// SPDX-License-Identifier: MIT
/*
 * LAR, LSL, VERR and VERW (0F 02, 0F 03, 0F 00 /4 /5): what a selector's
 * descriptor says, when the CPL may see it. ZF set: the answer is in the
 * destination (LAR, LSL) or the segment is readable or writable (VERR,
 * VERW); clear: the destination keeps its value.
 */
#include "accel/emu/exec.h"

enum { Q_LAR, Q_LSL, Q_VERR, Q_VERW };

/* System descriptor types LAR (and, of those, LSL) accept */
static bool sys_type_ok(const struct emu_cpu *cpu, unsigned type, int q)
{
	/* 64-bit mode: LDT, TSS, busy TSS, and for LAR the call gate */
	if (cpu->lma)
		return type == 2 || type == 9 || type == 11 ||
		       (q == Q_LAR && type == 12);
	/* 16-bit TSS (and busy), LDT, 32-bit TSS; for LAR the gates */
	if (type == 1 || type == 2 || type == 3 || type == 9 || type == 11)
		return true;
	return q == Q_LAR && (type == 4 || type == 5 || type == 12);
}

static bool desc_query(struct emu_cpu *cpu, uint16_t sel, int q,
		       uint64_t *lo)
{
	uint64_t hi;
	unsigned type, dpl;

	if (!(sel & ~3u) || !seg_read_desc(cpu, sel, lo, &hi))
		return false;
	type = (*lo >> 40) & 15;
	dpl = (*lo >> 45) & 3;
	if (!((*lo >> 44) & 1)) {
		if (q >= Q_VERR || !sys_type_ok(cpu, type, q))
			return false;
	} else if (q == Q_VERR && (type & 8) && !(type & 2)) {
		return false;	/* execute-only code */
	} else if (q == Q_VERW && ((type & 8) || !(type & 2))) {
		return false;	/* code, read-only data */
	} else if ((type & 0xc) == 0xc) {
		return true;	/* conforming code: any CPL */
	}
	return dpl >= (unsigned)cpu->cpl && dpl >= (sel & 3u);
}

void exec_desc_query(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	int q = op == 0x02 ? Q_LAR : op == 0x03 ? Q_LSL :
		(in->reg & 7) == 4 ? Q_VERR : Q_VERW;
	uint64_t lo = 0, v;
	bool ok = desc_query(cpu, rm_read(cpu, in, 2), q, &lo);

	cpu->rflags &= ~(uint64_t)FL_ZF;
	if (!ok)
		return;
	cpu->rflags |= FL_ZF;
	if (q == Q_LAR) {
		v = (lo >> 32) & (in->osize == 2 ? 0xff00 : 0x00f0ff00);
	} else if (q == Q_LSL) {
		v = (lo & 0xffff) | ((lo >> 32) & 0xf0000);
		if ((lo >> 55) & 1)
			v = v << 12 | 0xfff;
	} else {
		return;
	}
	reg_write(cpu, in, in->reg, in->osize, v);
}
