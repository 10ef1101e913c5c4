// SPDX-License-Identifier: MIT
/*
 * SSE/SSE2 compares and packed conversions: CMPPS/CMPPD/CMPSS/CMPSD with
 * the eight legacy predicates, CVTDQ2PS/CVT(T)PS2DQ, CVTDQ2PD/CVT(T)PD2DQ,
 * CVTPS2PD/CVTPD2PS, RCPPS/RCPSS/RSQRTPS/RSQRTSS and MASKMOVDQU (Intel
 * SDM vol. 2). Conversions use the host's own instructions, as
 * sse_float.c does, so integer-indefinite results and round-to-nearest
 * match the hardware with the default MXCSR.
 */
#include <emmintrin.h>
#include <math.h>
#include <string.h>

#include "accel/emu/exec.h"

/* The source operand: 16 bytes, or the low n bytes of memory zero-extended */
static void load_src(struct emu_cpu *cpu, struct insn *in, union xmm *s,
		     unsigned n)
{
	if (!in->mem) {
		*s = cpu->xmm[in->rm];
		return;
	}
	*s = (union xmm){ 0 };
	if (n == 16 && (in->addr & 15))
		cpu_raise(cpu, EXC_GP, 0);	/* a legacy SSE m128 */
	if (n == 16)
		mem_read_buf(cpu, in->addr, s, 16);
	else
		s->q[0] = mem_read(cpu, in->addr, n);
}

/* imm8[2:0]: EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD (unordered: NaN) */
static bool cmp_pred(double a, double b, unsigned imm)
{
	bool unord = isnan(a) || isnan(b);

	switch (imm & 7) {
	case 0: return !unord && a == b;
	case 1: return !unord && a < b;
	case 2: return !unord && a <= b;
	case 3: return unord;
	case 4: return unord || a != b;
	case 5: return unord || !(a < b);
	case 6: return unord || !(a <= b);
	default: return !unord;
	}
}

/* 0F C2: CMPPS (none), CMPPD (66), CMPSS (F3), CMPSD (F2) */
void sse_cmp(struct emu_cpu *cpu, struct insn *in)
{
	uint8_t pfx = in->last_pfx, imm;
	bool dbl = pfx == 0x66 || pfx == 0xf2;
	bool scalar = pfx == 0xf2 || pfx == 0xf3;
	int n = scalar ? 1 : dbl ? 2 : 4;
	union xmm *d, s;

	decode_modrm(cpu, in, 1);
	load_src(cpu, in, &s, scalar ? (dbl ? 8 : 4) : 16);
	imm = fetch8(cpu);
	d = &cpu->xmm[in->reg];
	for (int i = 0; i < n; i++) {
		if (dbl) {
			double a, b;

			memcpy(&a, &d->q[i], 8);
			memcpy(&b, &s.q[i], 8);
			d->q[i] = cmp_pred(a, b, imm) ? ~0ULL : 0;
		} else {
			float a, b;

			memcpy(&a, &d->d[i], 4);
			memcpy(&b, &s.d[i], 4);
			d->d[i] = cmp_pred(a, b, imm) ? ~0u : 0;
		}
	}
}

static __m128i as_i(const union xmm *v)
{
	return _mm_loadu_si128((const __m128i *)v->b);
}

static void from_i(union xmm *v, __m128i x)
{
	_mm_storeu_si128((__m128i *)v->b, x);
}

static __m128 as_ps(const union xmm *v)
{
	return _mm_loadu_ps((const float *)v->b);
}

static __m128d as_pd(const union xmm *v)
{
	return _mm_loadu_pd((const double *)v->b);
}

/*
 * 0F 5B, 0F E6, packed 0F 5A, 0F 52/53. Returns false for a prefix that
 * has no form here (the caller raises #UD).
 */
bool sse_cvt_packed(struct emu_cpu *cpu, struct insn *in, uint8_t op)
{
	uint8_t pfx = in->last_pfx;
	union xmm s, r = { 0 };
	union xmm *d;
	bool half;	/* the source is 64 bits in memory */

	half = (op == 0xe6 && pfx == 0xf3) || (op == 0x5a && !pfx);
	decode_modrm(cpu, in, 0);
	if ((op == 0x52 || op == 0x53) && pfx == 0xf3)
		load_src(cpu, in, &s, 4);
	else
		load_src(cpu, in, &s, half ? 8 : 16);
	d = &cpu->xmm[in->reg];
	switch (op << 8 | pfx) {
	case 0x5b00:	/* CVTDQ2PS */
		_mm_storeu_ps((float *)r.b, _mm_cvtepi32_ps(as_i(&s)));
		break;
	case 0x5b66:	/* CVTPS2DQ */
		from_i(&r, _mm_cvtps_epi32(as_ps(&s)));
		break;
	case 0x5bf3:	/* CVTTPS2DQ */
		from_i(&r, _mm_cvttps_epi32(as_ps(&s)));
		break;
	case 0xe6f3:	/* CVTDQ2PD */
		_mm_storeu_pd((double *)r.b, _mm_cvtepi32_pd(as_i(&s)));
		break;
	case 0xe6f2:	/* CVTPD2DQ, upper half zeroed */
		from_i(&r, _mm_cvtpd_epi32(as_pd(&s)));
		break;
	case 0xe666:	/* CVTTPD2DQ */
		from_i(&r, _mm_cvttpd_epi32(as_pd(&s)));
		break;
	case 0x5a00:	/* CVTPS2PD */
		_mm_storeu_pd((double *)r.b, _mm_cvtps_pd(as_ps(&s)));
		break;
	case 0x5a66:	/* CVTPD2PS, upper half zeroed */
		_mm_storeu_ps((float *)r.b, _mm_cvtpd_ps(as_pd(&s)));
		break;
	case 0x5200:	/* RSQRTPS */
		_mm_storeu_ps((float *)r.b, _mm_rsqrt_ps(as_ps(&s)));
		break;
	case 0x5300:	/* RCPPS */
		_mm_storeu_ps((float *)r.b, _mm_rcp_ps(as_ps(&s)));
		break;
	case 0x52f3:	/* RSQRTSS: upper lanes of the destination kept */
		r = *d;
		_mm_store_ss((float *)r.b, _mm_rsqrt_ss(as_ps(&s)));
		break;
	case 0x53f3:	/* RCPSS */
		r = *d;
		_mm_store_ss((float *)r.b, _mm_rcp_ss(as_ps(&s)));
		break;
	default:
		return false;
	}
	*d = r;
	return true;
}

/* 66 0F F7: MASKMOVDQU xmm1, xmm2 stores the selected bytes at DS:rDI */
void sse_maskmov(struct emu_cpu *cpu, struct insn *in)
{
	uint64_t di;
	union xmm *v, *m;

	decode_modrm(cpu, in, 0);
	if (in->mem || in->last_pfx != 0x66)
		insn_ud(cpu, in);
	v = &cpu->xmm[in->reg];
	m = &cpu->xmm[in->rm];
	di = cpu->gpr[R_DI] & size_mask(in->asize);
	for (int i = 0; i < 16; i++)
		if (m->b[i] & 0x80)
			mem_write(cpu, seg_lin(cpu, in, SEG_DS, di + i),
				  v->b[i], 1);
}
