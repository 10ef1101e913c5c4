// SPDX-License-Identifier: MIT
/*
 * MMX (Intel SDM vol. 1 ch. 9, vol. 3 ch. 12): the 0F integer opcodes
 * without a 66/F2/F3 prefix on MM0..MM7, with the SSE and SSE2 additions
 * x86-64 has (PSHUFW, PINSRW/PEXTRW, PMOVMSKB, PMINUB/PMAXUB/PMINSW/
 * PMAXSW, PAVGB/PAVGW, PSADBW, PMULHUW, PMULUDQ, PADDQ/PSUBQ, MOVNTQ,
 * MASKMOVQ), EMMS, MOVQ2DQ/MOVDQ2Q (F3/F2 0F D6) and CVTPI2PS/CVTPI2PD,
 * CVT(T)PS2PI/CVT(T)PD2PI. The lanes are sse.c's, 8 bytes wide.
 *
 * MMn is bits 63:0 of the x87 physical register Rn (cpu->fpr[n]). An MMX
 * instruction faults #UD with CR0.EM set, #NM with CR0.TS set and #MF
 * with an x87 exception pending and CR0.NE set (x87_pending); once it has
 * done its work (not at a fault) it sets TOP to 0 and every tag to
 * valid, and a write to MMn sets bits 79:64 of Rn to ones. EMMS makes
 * every tag empty.
 */
#include <emmintrin.h>
#include <string.h>

#include "accel/emu/exec.h"

#define FSW_TOP	0x3800u

/* #UD, #NM or #MF before an MMX instruction touches anything */
static void mmx_require(struct emu_cpu *cpu)
{
	if (cpu->cr0 & CR0_EM)
		cpu_raise_noerr(cpu, EXC_UD);
	if (cpu->cr0 & CR0_TS)
		cpu_raise_noerr(cpu, EXC_NM);
	x87_check_pending(cpu);
}

/* The x87-to-MMX transition: TOP = 0, all tags valid */
static void mmx_enter(struct emu_cpu *cpu)
{
	cpu->fsw &= ~FSW_TOP;
	cpu->ftw = 0;
}

static uint64_t mm_get(const struct emu_cpu *cpu, int i)
{
	uint64_t v;

	memcpy(&v, cpu->fpr[i & 7], 8);
	return v;
}

/* Write MMn (and make the transition, which every write comes with) */
static void mm_set(struct emu_cpu *cpu, int i, uint64_t v)
{
	memcpy(cpu->fpr[i & 7], &v, 8);
	cpu->fpr[i & 7][8] = 0xff;
	cpu->fpr[i & 7][9] = 0xff;
	mmx_enter(cpu);
}

/* The mm/m64 operand (no alignment rule for MMX) */
static uint64_t mm_src(struct emu_cpu *cpu, struct insn *in)
{
	return in->mem ? ea_read(cpu, in, 0, 8) : mm_get(cpu, in->rm);
}

/* 0F 70 PSHUFW mm1, mm2/m64, imm8 */
static void pshufw(struct emu_cpu *cpu, struct insn *in)
{
	union xmm s = { 0 }, r = { 0 };
	uint8_t imm;

	s.q[0] = mm_src(cpu, in);
	imm = fetch8(cpu);
	for (int i = 0; i < 4; i++)
		r.w[i] = s.w[(imm >> (2 * i)) & 3];
	mm_set(cpu, in->reg, r.q[0]);
}

/* 0F 71..73 /2 /4 /6 mm, imm8: shifts by an immediate count */
static void shift_imm(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	int kind;
	uint8_t imm;
	union xmm d = { 0 };

	kind = in->reg & 7;
	imm = fetch8(cpu);
	d.q[0] = mm_get(cpu, in->rm);
	sse_shift_lanes(&d, op == 0x71 ? 2 : op == 0x72 ? 4 : 8,
			kind == 2 ? 0 : kind == 4 ? 1 : 2, imm, 8);
	mm_set(cpu, in->rm, d.q[0]);
}

/* 0F C4 PINSRW mm, r32/m16, imm8; 0F C5 PEXTRW r32, mm, imm8 */
static void pinsrw_pextrw(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	union xmm v = { 0 };
	uint8_t imm;
	uint64_t w = 0;

	if (op == 0xc4)
		w = rm_read(cpu, in, 2);
	imm = fetch8(cpu);
	v.q[0] = mm_get(cpu, op == 0xc4 ? in->reg : in->rm);
	if (op == 0xc4) {
		v.w[imm & 3] = w;
		mm_set(cpu, in->reg, v.q[0]);
		return;
	}
	reg_write(cpu, in, in->reg, 4, v.w[imm & 3]);
	mmx_enter(cpu);
}

/* 0F D7 PMOVMSKB r32, mm */
static void pmovmskb(struct emu_cpu *cpu, struct insn *in)
{
	uint64_t v;
	uint32_t m = 0;

	v = mm_get(cpu, in->rm);
	for (int i = 0; i < 8; i++)
		m |= ((v >> (8 * i + 7)) & 1) << i;
	reg_write(cpu, in, in->reg, 4, m);
	mmx_enter(cpu);
}

/* The other moves: 6E, 7E, 6F, 7F, E7 (MOVNTQ), F7 (MASKMOVQ) */
static void mmx_move(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	int sz = in->rex & 8 ? 8 : 4;
	uint64_t v;

	switch (op) {
	case 0x6e:	/* MOVD/MOVQ mm, r/m32/64: zero-extended */
		mm_set(cpu, in->reg, rm_read(cpu, in, sz));
		return;
	case 0x7e:	/* MOVD/MOVQ r/m32/64, mm */
		rm_write(cpu, in, sz, mm_get(cpu, in->reg));
		break;
	case 0x6f:	/* MOVQ mm, mm/m64 */
		mm_set(cpu, in->reg, mm_src(cpu, in));
		return;
	case 0xe7:	/* MOVNTQ m64, mm */
	case 0x7f:	/* MOVQ mm/m64, mm */
		v = mm_get(cpu, in->reg);
		if (!in->mem) {
			mm_set(cpu, in->rm, v);
			return;
		}
		ea_write(cpu, in, 0, v, 8);
		break;
	default: {	/* F7 MASKMOVQ mm1, mm2 */
		uint64_t m = mm_get(cpu, in->rm);

		v = mm_get(cpu, in->reg);
		sse_maskmov(cpu, in, (const uint8_t *)&v, (const uint8_t *)&m,
			    8);
		break;
	}
	}
	mmx_enter(cpu);
}

/* 0F 2A/2C/2D with no prefix or 66: conversions between mm and xmm */
static void mmx_cvt(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	struct sse_fp fp;
	bool pd = in->last_pfx == 0x66;
	union xmm s = { 0 }, r;

	if (op == 0x2a) {	/* CVTPI2PS/CVTPI2PD xmm, mm/m64 */
		s.q[0] = mm_src(cpu, in);
		sse_fp_begin(cpu, &fp);
		r = cpu->xmm[in->reg];
		if (pd) {
			_mm_storeu_pd((double *)r.b, _mm_cvtepi32_pd(
					_mm_loadu_si128((__m128i *)s.b)));
		} else {
			union xmm f;

			_mm_storeu_ps((float *)f.b, _mm_cvtepi32_ps(
					_mm_loadu_si128((__m128i *)s.b)));
			r.q[0] = f.q[0];
		}
		cpu->xmm[in->reg] = r;
		sse_fp_end(cpu, &fp);
		/* from memory there is no transition (as this host does) */
		if (!in->mem)
			mmx_enter(cpu);
		return;
	}
	/*
	 * CVT(T)PS2PI mm, xmm/m64 (the low two floats: the upper ones would
	 * set MXCSR flags); CVT(T)PD2PI mm, xmm/m128 (aligned)
	 */
	if (!in->mem && !pd)
		s.q[0] = cpu->xmm[in->rm].q[0];
	else if (!in->mem)
		s = cpu->xmm[in->rm];
	else if (!pd)
		s.q[0] = ea_read(cpu, in, 0, 8);
	else if (in->addr & 15)
		cpu_raise(cpu, EXC_GP, 0);
	else
		ea_read_buf(cpu, in, &s, 16);
	sse_fp_begin(cpu, &fp);
	if (pd && op == 0x2c)
		r.q[0] = _mm_cvtsi128_si64(_mm_cvttpd_epi32(
				_mm_loadu_pd((double *)s.b)));
	else if (pd)
		r.q[0] = _mm_cvtsi128_si64(_mm_cvtpd_epi32(
				_mm_loadu_pd((double *)s.b)));
	else if (op == 0x2c)
		r.q[0] = _mm_cvtsi128_si64(_mm_cvttps_epi32(
				_mm_loadu_ps((float *)s.b)));
	else
		r.q[0] = _mm_cvtsi128_si64(_mm_cvtps_epi32(
				_mm_loadu_ps((float *)s.b)));
	sse_fp_end(cpu, &fp);
	mm_set(cpu, in->reg, r.q[0]);
}

/* MMX forms with no 66/F2/F3 prefix (the caller's test) */
static bool mmx_form(uint8_t op)
{
	return (op >= 0x60 && op <= 0x6b) || (op >= 0x6e && op <= 0x77) ||
	       op == 0x7e || op == 0x7f || op == 0xc4 || op == 0xc5 ||
	       (op >= 0xd1 && op <= 0xfe && op != 0xd6 && op != 0xe6 &&
		op != 0xf0);
}

/*
 * An encoding that is no instruction: #UD as it is decoded, before the
 * CR0 and x87 checks (SDM vol. 3 6.9: invalid opcodes come before the
 * faults of executing; this host too: PEXTRW of memory with an x87
 * exception pending raises #UD, not #MF)
 */
static bool mmx_invalid(const struct insn *in, uint8_t op)
{
	int ext = in->reg & 7;

	switch (op) {
	case 0x71: case 0x72: case 0x73:
		return in->mem || (ext != 2 && ext != 4 && ext != 6) ||
		       (op == 0x73 && ext == 4);
	case 0xc5: case 0xd7: case 0xf7:	/* register forms only */
		return in->mem;
	case 0xe7:				/* memory only */
		return !in->mem;
	}
	return false;
}

bool exec_mmx(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	uint8_t pfx = in->last_pfx;
	union xmm d = { 0 }, s = { 0 };

	if (op == 0xd6 && (pfx == 0xf3 || pfx == 0xf2)) {
		/* MOVQ2DQ xmm, mm (F3); MOVDQ2Q mm, xmm (F2) */
		decode_modrm(cpu, in, 0);
		if (in->mem)
			insn_ud(cpu, in);
		sse_require(cpu);
		mmx_require(cpu);
		if (pfx == 0xf2) {
			mm_set(cpu, in->reg, cpu->xmm[in->rm].q[0]);
			return true;
		}
		d.q[0] = mm_get(cpu, in->rm);
		cpu->xmm[in->reg] = d;
		mmx_enter(cpu);
		return true;
	}
	if ((op == 0x2a || op == 0x2c || op == 0x2d) &&
	    (!pfx || in->last_pfx == 0x66)) {
		decode_modrm(cpu, in, 0);
		sse_require(cpu);
		/* CVTPI2PS/PD of memory do not touch x87 state (this host) */
		if (op != 0x2a || !in->mem)
			mmx_require(cpu);
		mmx_cvt(cpu, in, op);
		return true;
	}
	if (pfx || !mmx_form(op))
		return false;
	if (op == 0x77) {	/* EMMS */
		mmx_require(cpu);
		cpu->ftw = 0xffff;
		return true;
	}
	/* the imm8 of PSHUFW, the shifts, PINSRW and PEXTRW follows */
	decode_modrm(cpu, in, (op >= 0x70 && op <= 0x73) || op == 0xc4 ||
			      op == 0xc5);
	if (mmx_invalid(in, op))
		insn_ud(cpu, in);
	mmx_require(cpu);
	switch (op) {
	case 0x70:
		pshufw(cpu, in);
		return true;
	case 0x71 ... 0x73:
		shift_imm(cpu, in, op);
		return true;
	case 0xc4: case 0xc5:
		pinsrw_pextrw(cpu, in, op);
		return true;
	case 0xd7:
		pmovmskb(cpu, in);
		return true;
	case 0x6e: case 0x6f: case 0x7e: case 0x7f: case 0xe7: case 0xf7:
		mmx_move(cpu, in, op);
		return true;
	}
	s.q[0] = mm_src(cpu, in);
	d.q[0] = mm_get(cpu, in->reg);
	if (!sse_packed_int(&d, &s, op, 8))
		insn_ud(cpu, in);
	mm_set(cpu, in->reg, d.q[0]);
	return true;
}
