// SPDX-License-Identifier: MIT
/*
 * The SSE/SSE2 subset the kernel and libc use: moves, logic, packed integer
 * add/sub/compare/min/max/shuffle/unpack/shift, PMOVMSKB, a few scalar
 * double-precision operations, and FXSAVE/FXRSTOR. The packed integer
 * lanes serve the MMX forms too (no 66/F2/F3 prefix, on MM0..MM7), which
 * mmx.c runs with MOVQ2DQ/MOVDQ2Q and the CVT*PI* conversions.
 */
#include <string.h>

#include "accel/emu/exec.h"

static void load128(struct emu_cpu *cpu, struct insn *in, union xmm *v,
		    bool aligned)
{
	if (!in->mem) {
		*v = cpu->xmm[in->rm];
		return;
	}
	if (aligned && (in->addr & 15))
		cpu_raise(cpu, EXC_GP, 0);
	ea_read_buf(cpu, in, v, 16);
}

static void store128(struct emu_cpu *cpu, struct insn *in,
		     const union xmm *v, bool aligned)
{
	if (!in->mem) {
		cpu->xmm[in->rm] = *v;
		return;
	}
	if (aligned && (in->addr & 15))
		cpu_raise(cpu, EXC_GP, 0);
	ea_write_buf(cpu, in, v, 16);
}

static uint64_t load64(struct emu_cpu *cpu, struct insn *in)
{
	return in->mem ? ea_read(cpu, in, 0, 8) : cpu->xmm[in->rm].q[0];
}

static uint8_t sat_u8(int v)
{
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

static int8_t sat_s8(int v)
{
	return v < -128 ? -128 : v > 127 ? 127 : v;
}

static uint16_t sat_u16(int v)
{
	return v < 0 ? 0 : v > 65535 ? 65535 : v;
}

static int16_t sat_s16(int v)
{
	return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

/*
 * Element-wise shifts of the low width bytes of d (16, or 8 for MMX);
 * kind 0 logical right, 1 arithmetic right, 2 left; cnt beyond the lane
 * width gives 0 (or sign).
 */
void sse_shift_lanes(union xmm *d, int lane, int kind, uint64_t cnt,
		     int width)
{
	int n = width / lane, bits = lane * 8;

	for (int i = 0; i < n; i++) {
		uint64_t v;
		int64_t s;

		switch (lane) {
		case 2: v = d->w[i]; s = d->sw[i]; break;
		case 4: v = d->d[i]; s = d->sd[i]; break;
		default: v = d->q[i]; s = (int64_t)d->q[i]; break;
		}
		if (kind == 0)
			v = cnt >= (uint64_t)bits ? 0 : v >> cnt;
		else if (kind == 1)
			v = (uint64_t)(s >> (cnt >= (uint64_t)bits ?
					     (uint64_t)bits - 1 : cnt));
		else
			v = cnt >= (uint64_t)bits ? 0 : v << cnt;
		switch (lane) {
		case 2: d->w[i] = v; break;
		case 4: d->d[i] = v; break;
		default: d->q[i] = v; break;
		}
	}
}

static void byte_shift(union xmm *d, unsigned n, bool left)
{
	union xmm r = { 0 };

	if (n > 16)
		n = 16;
	if (left)
		memcpy(r.b + n, d->b, 16 - n);
	else
		memcpy(r.b, d->b + n, 16 - n);
	*d = r;
}

/* Interleave the low (or high) halves of the low width bytes of d and s */
static void unpack(union xmm *d, const union xmm *s, int lane, bool high,
		   int width)
{
	union xmm r = { 0 };
	int n = width / 2 / lane, off = high ? width / 2 : 0;

	for (int i = 0; i < n; i++) {
		memcpy(r.b + 2 * i * lane, d->b + off + i * lane, lane);
		memcpy(r.b + (2 * i + 1) * lane, s->b + off + i * lane, lane);
	}
	*d = r;
}

/*
 * 0F 60..76, D1..FE: the packed integer operation op of d and s into d,
 * on their low width bytes: 16 for the 66 (xmm) forms, 8 for the MMX
 * forms (mmx.c). False: op is none, or has no form of that width.
 */
bool sse_packed_int(union xmm *d, const union xmm *sp, uint8_t op,
		    int width)
{
	const union xmm s = *sp;
	union xmm r = *d;
	int nb = width, nw = width / 2, nd = width / 4, nq = width / 8;
	int i;

	if (width == 8 && (op == 0x6c || op == 0x6d))
		return false;	/* PUNPCKLQDQ, PUNPCKHQDQ: xmm only */
	switch (op) {
	case 0x60: unpack(&r, &s, 1, false, width); break;
	case 0x61: unpack(&r, &s, 2, false, width); break;
	case 0x62: unpack(&r, &s, 4, false, width); break;
	case 0x6c: unpack(&r, &s, 8, false, width); break;
	case 0x68: unpack(&r, &s, 1, true, width); break;
	case 0x69: unpack(&r, &s, 2, true, width); break;
	case 0x6a: unpack(&r, &s, 4, true, width); break;
	case 0x6d: unpack(&r, &s, 8, true, width); break;
	case 0x63:
		for (i = 0; i < nw; i++) {
			r.sb[i] = sat_s8(d->sw[i]);
			r.sb[i + nw] = sat_s8(s.sw[i]);
		}
		break;
	case 0x67:
		for (i = 0; i < nw; i++) {
			r.b[i] = sat_u8(d->sw[i]);
			r.b[i + nw] = sat_u8(s.sw[i]);
		}
		break;
	case 0x6b:
		for (i = 0; i < nd; i++) {
			int32_t a = d->sd[i], b = s.sd[i];

			r.sw[i] = a < -32768 ? -32768 : a > 32767 ? 32767 : a;
			r.sw[i + nd] = b < -32768 ? -32768 : b > 32767 ? 32767 :
				       b;
		}
		break;
	case 0x64: for (i = 0; i < nb; i++) r.b[i] = d->sb[i] > s.sb[i] ? 0xff : 0; break;
	case 0x65: for (i = 0; i < nw; i++) r.w[i] = d->sw[i] > s.sw[i] ? 0xffff : 0; break;
	case 0x66: for (i = 0; i < nd; i++) r.d[i] = d->sd[i] > s.sd[i] ? ~0u : 0; break;
	case 0x74: for (i = 0; i < nb; i++) r.b[i] = d->b[i] == s.b[i] ? 0xff : 0; break;
	case 0x75: for (i = 0; i < nw; i++) r.w[i] = d->w[i] == s.w[i] ? 0xffff : 0; break;
	case 0x76: for (i = 0; i < nd; i++) r.d[i] = d->d[i] == s.d[i] ? ~0u : 0; break;
	case 0xd1: sse_shift_lanes(&r, 2, 0, s.q[0], width); break;
	case 0xd2: sse_shift_lanes(&r, 4, 0, s.q[0], width); break;
	case 0xd3: sse_shift_lanes(&r, 8, 0, s.q[0], width); break;
	case 0xe1: sse_shift_lanes(&r, 2, 1, s.q[0], width); break;
	case 0xe2: sse_shift_lanes(&r, 4, 1, s.q[0], width); break;
	case 0xf1: sse_shift_lanes(&r, 2, 2, s.q[0], width); break;
	case 0xf2: sse_shift_lanes(&r, 4, 2, s.q[0], width); break;
	case 0xf3: sse_shift_lanes(&r, 8, 2, s.q[0], width); break;
	case 0xd4: for (i = 0; i < nq; i++) r.q[i] = d->q[i] + s.q[i]; break;
	case 0xd5: for (i = 0; i < nw; i++) r.w[i] = d->sw[i] * s.sw[i]; break;
	case 0xd8: for (i = 0; i < nb; i++) r.b[i] = sat_u8(d->b[i] - s.b[i]); break;
	case 0xd9: for (i = 0; i < nw; i++) r.w[i] = sat_u16(d->w[i] - s.w[i]); break;
	case 0xda: for (i = 0; i < nb; i++) r.b[i] = d->b[i] < s.b[i] ? d->b[i] : s.b[i]; break;
	case 0xdb: for (i = 0; i < nq; i++) r.q[i] = d->q[i] & s.q[i]; break;
	case 0xdc: for (i = 0; i < nb; i++) r.b[i] = sat_u8(d->b[i] + s.b[i]); break;
	case 0xdd: for (i = 0; i < nw; i++) r.w[i] = sat_u16(d->w[i] + s.w[i]); break;
	case 0xde: for (i = 0; i < nb; i++) r.b[i] = d->b[i] > s.b[i] ? d->b[i] : s.b[i]; break;
	case 0xdf: for (i = 0; i < nq; i++) r.q[i] = ~d->q[i] & s.q[i]; break;
	case 0xe0: for (i = 0; i < nb; i++) r.b[i] = (d->b[i] + s.b[i] + 1) >> 1; break;
	case 0xe3: for (i = 0; i < nw; i++) r.w[i] = (d->w[i] + s.w[i] + 1) >> 1; break;
	case 0xe4: for (i = 0; i < nw; i++) r.w[i] = ((uint32_t)d->w[i] * s.w[i]) >> 16; break;
	case 0xe5: for (i = 0; i < nw; i++) r.w[i] = ((int32_t)d->sw[i] * s.sw[i]) >> 16; break;
	case 0xe8: for (i = 0; i < nb; i++) r.sb[i] = sat_s8(d->sb[i] - s.sb[i]); break;
	case 0xe9: for (i = 0; i < nw; i++) r.sw[i] = sat_s16(d->sw[i] - s.sw[i]); break;
	case 0xea: for (i = 0; i < nw; i++) r.sw[i] = d->sw[i] < s.sw[i] ? d->sw[i] : s.sw[i]; break;
	case 0xeb: for (i = 0; i < nq; i++) r.q[i] = d->q[i] | s.q[i]; break;
	case 0xec: for (i = 0; i < nb; i++) r.sb[i] = sat_s8(d->sb[i] + s.sb[i]); break;
	case 0xed: for (i = 0; i < nw; i++) r.sw[i] = sat_s16(d->sw[i] + s.sw[i]); break;
	case 0xee: for (i = 0; i < nw; i++) r.sw[i] = d->sw[i] > s.sw[i] ? d->sw[i] : s.sw[i]; break;
	case 0xef: for (i = 0; i < nq; i++) r.q[i] = d->q[i] ^ s.q[i]; break;
	case 0xf4: for (i = 0; i < nq; i++) r.q[i] = (uint64_t)d->d[2 * i] * s.d[2 * i]; break;
	case 0xf6:
		for (i = 0; i < nq; i++) {
			unsigned sum = 0;

			for (int j = 0; j < 8; j++) {
				int x = d->b[8 * i + j] - s.b[8 * i + j];

				sum += x < 0 ? -x : x;
			}
			r.q[i] = sum;
		}
		break;
	case 0xf5:	/* PMADDWD */
		for (i = 0; i < nd; i++)
			/* (-8000H)^2 * 2 = 2^31 overflows int32: sum in 64 */
			r.d[i] = (uint32_t)((int64_t)d->sw[2 * i] * s.sw[2 * i] +
					    (int64_t)d->sw[2 * i + 1] *
					    s.sw[2 * i + 1]);
		break;
	case 0xf8: for (i = 0; i < nb; i++) r.b[i] = d->b[i] - s.b[i]; break;
	case 0xf9: for (i = 0; i < nw; i++) r.w[i] = d->w[i] - s.w[i]; break;
	case 0xfa: for (i = 0; i < nd; i++) r.d[i] = d->d[i] - s.d[i]; break;
	case 0xfb: for (i = 0; i < nq; i++) r.q[i] = d->q[i] - s.q[i]; break;
	case 0xfc: for (i = 0; i < nb; i++) r.b[i] = d->b[i] + s.b[i]; break;
	case 0xfd: for (i = 0; i < nw; i++) r.w[i] = d->w[i] + s.w[i]; break;
	case 0xfe: for (i = 0; i < nd; i++) r.d[i] = d->d[i] + s.d[i]; break;
	default:
		return false;
	}
	*d = r;
	return true;
}

/*
 * 66 0F 60..6D, 74..76, D1..FE: packed integer ops with an xmm/m128
 * source (an m128 of any legacy SSE operation but the unaligned moves
 * must be 16-byte aligned: #GP(0))
 */
static bool packed_int(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	union xmm s;

	load128(cpu, in, &s, true);
	return sse_packed_int(&cpu->xmm[in->reg], &s, op, 16);
}

static void shift_imm(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	union xmm *d;
	uint8_t imm;
	int kind;

	decode_modrm(cpu, in, 1);
	kind = in->reg & 7;
	imm = fetch8(cpu);
	if (in->mem || !in->p66)
		insn_ud(cpu, in);
	d = &cpu->xmm[in->rm];
	if (op == 0x73 && (kind == 3 || kind == 7)) {
		byte_shift(d, imm, kind == 7);
		return;
	}
	if (kind != 2 && kind != 4 && kind != 6)
		insn_ud(cpu, in);
	if (op == 0x73 && kind == 4)
		insn_ud(cpu, in);
	sse_shift_lanes(d, op == 0x71 ? 2 : op == 0x72 ? 4 : 8,
			kind == 2 ? 0 : kind == 4 ? 1 : 2, imm, 16);
}

static void shuffle(struct emu_cpu *cpu, struct insn *in)
{
	union xmm s, r;
	uint8_t imm;

	decode_modrm(cpu, in, 1);
	load128(cpu, in, &s, true);
	imm = fetch8(cpu);
	r = s;
	if (in->last_pfx == 0x66) {
		for (int i = 0; i < 4; i++)
			r.d[i] = s.d[(imm >> (2 * i)) & 3];
	} else if (in->last_pfx == 0xf3) {
		for (int i = 0; i < 4; i++)
			r.w[4 + i] = s.w[4 + ((imm >> (2 * i)) & 3)];
	} else if (in->last_pfx == 0xf2) {
		for (int i = 0; i < 4; i++)
			r.w[i] = s.w[(imm >> (2 * i)) & 3];
	} else {
		insn_ud(cpu, in);
	}
	cpu->xmm[in->reg] = r;
}

static void movmsk(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	union xmm *s;
	uint32_t m = 0;

	decode_modrm(cpu, in, 0);
	if (in->mem)
		insn_ud(cpu, in);
	s = &cpu->xmm[in->rm];
	if (op == 0xd7) {
		if (!in->p66)
			insn_ud(cpu, in);
		for (int i = 0; i < 16; i++)
			m |= (uint32_t)(s->b[i] >> 7) << i;
	} else if (in->p66) {
		m = (s->q[0] >> 63) | ((s->q[1] >> 63) << 1);
	} else {
		for (int i = 0; i < 4; i++)
			m |= (s->d[i] >> 31) << i;
	}
	reg_write(cpu, in, in->reg, 4, m);
}

void exec_sse_float(struct emu_cpu *cpu, struct insn *in, uint8_t op);

void sse_require(struct emu_cpu *cpu)
{
	if (!sse_unusable(cpu))
		return;
	if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR))
		cpu_raise_noerr(cpu, EXC_UD);
	cpu_raise_noerr(cpu, EXC_NM);
}

/*
 * The 0F opcodes of SSE/SSE2 (exec_mmx has taken the MMX forms), which
 * CR0 and CR4 can make fault; not MOVNTI (C3), which touches no SSE
 * state, nor what is undefined here (78-7D), which is #UD whatever CR0
 * and CR4 say.
 */
static bool sse_opcode(uint8_t op)
{
	return (op >= 0x10 && op <= 0x17) || (op >= 0x28 && op <= 0x2f) ||
	       (op >= 0x50 && op <= 0x77) || op == 0x7e || op == 0x7f ||
	       op == 0xc2 || (op >= 0xc4 && op <= 0xc6) || op >= 0xd0;
}

void exec_sse(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	struct sse_fp fp;	/* floating point's MXCSR flags, #XM */
	union xmm v;
	uint8_t pfx = in->last_pfx;

	/* no SSE or MMX instruction takes LOCK */
	if (in->lock)
		insn_ud(cpu, in);
	/* an encoding that is no instruction: #UD before CR0's #UD or #NM */
	if ((sse_opcode(op) || op == 0xc3) &&
	    !sse_encoding_ok(pfx, op, op == 0x77 ? 0 : peek8(cpu)))
		insn_ud(cpu, in);
	/* MMX forms: CR0 and a pending x87 exception, not OSFXSR */
	if (exec_mmx(cpu, in, op))
		return;
	/* 66/F2/F3 0F 77: no such EMMS */
	if (op == 0x77)
		insn_ud(cpu, in);
	if (sse_opcode(op))
		sse_require(cpu);
	switch (op) {
	case 0x10: case 0x11: case 0x28: case 0x29: case 0x6f: case 0x7f:
	case 0x2b: case 0xe7: {
		bool load = op == 0x10 || op == 0x28 || op == 0x6f;
		bool aligned = op == 0x28 || op == 0x29 || op == 0x2b ||
			       op == 0xe7 || ((op & 0xf) == 0xf && pfx == 0x66);
		bool scalar = (op == 0x10 || op == 0x11) &&
			      (pfx == 0xf3 || pfx == 0xf2);

		if ((op == 0x6f || op == 0x7f) && pfx != 0x66 && pfx != 0xf3)
			insn_ud(cpu, in);
		decode_modrm(cpu, in, 0);
		if (scalar) {
			int sz = pfx == 0xf3 ? 4 : 8;

			if (load && in->mem) {
				v = (union xmm){ 0 };
				v.q[0] = ea_read(cpu, in, 0, sz);
				cpu->xmm[in->reg] = v;
			} else if (load) {
				memcpy(&cpu->xmm[in->reg], &cpu->xmm[in->rm],
				       sz);
			} else if (in->mem) {
				ea_write(cpu, in, 0, cpu->xmm[in->reg].q[0],
					 sz);
			} else {
				memcpy(&cpu->xmm[in->rm], &cpu->xmm[in->reg],
				       sz);
			}
			return;
		}
		if (load) {
			load128(cpu, in, &v, aligned);
			cpu->xmm[in->reg] = v;
		} else {
			store128(cpu, in, &cpu->xmm[in->reg], aligned);
		}
		return;
	}
	case 0x12: case 0x13: case 0x16: case 0x17: {
		int half = op >= 0x16;

		decode_modrm(cpu, in, 0);
		if (op & 1) {
			if (!in->mem)
				insn_ud(cpu, in);
			ea_write(cpu, in, 0, cpu->xmm[in->reg].q[half], 8);
		} else if (in->mem) {
			cpu->xmm[in->reg].q[half] = ea_read(cpu, in, 0, 8);
		} else {
			/* MOVHLPS / MOVLHPS */
			cpu->xmm[in->reg].q[half] = cpu->xmm[in->rm].q[!half];
		}
		return;
	}
	case 0x14: case 0x15:
		decode_modrm(cpu, in, 0);
		load128(cpu, in, &v, true);
		unpack(&cpu->xmm[in->reg], &v, pfx == 0x66 ? 8 : 4,
		       op == 0x15, 16);
		return;
	case 0x50: case 0xd7:
		movmsk(cpu, in, op);
		return;
	case 0x54 ... 0x57: {
		union xmm *d = &cpu->xmm[in->reg];

		decode_modrm(cpu, in, 0);
		d = &cpu->xmm[in->reg];
		load128(cpu, in, &v, true);
		for (int i = 0; i < 2; i++) {
			uint64_t a = d->q[i], b = v.q[i];

			d->q[i] = op == 0x54 ? a & b : op == 0x55 ? ~a & b :
				  op == 0x56 ? a | b : a ^ b;
		}
		return;
	}
	case 0x6e:
		decode_modrm(cpu, in, 0);
		v = (union xmm){ 0 };
		v.q[0] = rm_read(cpu, in, in->rex & 8 ? 8 : 4);
		if (!in->p66)
			insn_ud(cpu, in);
		cpu->xmm[in->reg] = v;
		return;
	case 0x7e:
		decode_modrm(cpu, in, 0);
		if (pfx == 0xf3) {
			v = (union xmm){ 0 };
			v.q[0] = load64(cpu, in);
			cpu->xmm[in->reg] = v;
		} else if (in->p66) {
			rm_write(cpu, in, in->rex & 8 ? 8 : 4,
				 cpu->xmm[in->reg].q[0]);
		} else {
			insn_ud(cpu, in);
		}
		return;
	case 0xd6:
		decode_modrm(cpu, in, 0);
		if (pfx != 0x66)
			insn_ud(cpu, in);
		if (in->mem) {
			ea_write(cpu, in, 0, cpu->xmm[in->reg].q[0], 8);
		} else {
			cpu->xmm[in->rm].q[0] = cpu->xmm[in->reg].q[0];
			cpu->xmm[in->rm].q[1] = 0;
		}
		return;
	case 0x70:
		shuffle(cpu, in);
		return;
	case 0x71 ... 0x73:
		shift_imm(cpu, in, op);
		return;
	case 0xc2:
		sse_fp_begin(cpu, &fp);
		sse_cmp(cpu, in);
		sse_fp_end(cpu, &fp);
		return;
	case 0x5a:
		if (pfx == 0xf2 || pfx == 0xf3)
			break;
		/* fall through */
	case 0x52: case 0x53: case 0x5b: case 0xe6:
		sse_fp_begin(cpu, &fp);
		if (!sse_cvt_packed(cpu, in, op))
			insn_ud(cpu, in);
		sse_fp_end(cpu, &fp);
		return;
	case 0xf7:
		decode_modrm(cpu, in, 0);
		if (in->mem || pfx != 0x66)
			insn_ud(cpu, in);
		sse_maskmov(cpu, in, cpu->xmm[in->reg].b, cpu->xmm[in->rm].b,
			    16);
		return;
	case 0xc3:	/* MOVNTI */
		decode_modrm(cpu, in, 0);
		if (!in->mem)
			insn_ud(cpu, in);
		ea_write(cpu, in, 0, reg_read(cpu, in, in->reg,
					      in->osize == 8 ? 8 : 4),
			 in->osize == 8 ? 8 : 4);
		return;
	case 0xc6: {
		union xmm *d;
		union xmm r;
		uint8_t imm;

		decode_modrm(cpu, in, 1);
		load128(cpu, in, &v, true);
		imm = fetch8(cpu);
		d = &cpu->xmm[in->reg];
		if (pfx == 0x66) {
			r.q[0] = d->q[imm & 1];
			r.q[1] = v.q[(imm >> 1) & 1];
		} else {
			r.d[0] = d->d[imm & 3];
			r.d[1] = d->d[(imm >> 2) & 3];
			r.d[2] = v.d[(imm >> 4) & 3];
			r.d[3] = v.d[(imm >> 6) & 3];
		}
		*d = r;
		return;
	}
	case 0xc4: {
		uint8_t imm;
		uint64_t w;

		decode_modrm(cpu, in, 1);
		w = rm_read(cpu, in, 2);
		imm = fetch8(cpu);
		if (!in->p66)
			insn_ud(cpu, in);
		cpu->xmm[in->reg].w[imm & 7] = w;
		return;
	}
	case 0xc5: {
		uint8_t imm;

		decode_modrm(cpu, in, 1);
		imm = fetch8(cpu);
		if (!in->p66 || in->mem)
			insn_ud(cpu, in);
		reg_write(cpu, in, in->reg, 4, cpu->xmm[in->rm].w[imm & 7]);
		return;
	}
	}
	if ((op >= 0x60 && op <= 0x76) || op >= 0xd0) {
		decode_modrm(cpu, in, 0);
		if (!in->p66 || !packed_int(cpu, in, op))
			insn_ud(cpu, in);
		return;
	}
	sse_fp_begin(cpu, &fp);
	exec_sse_float(cpu, in, op);
	sse_fp_end(cpu, &fp);
}
