// SPDX-License-Identifier: MIT
/*
 * SSE/SSE2 compares and packed conversions: CMPPS/CMPPD/CMPSS/CMPSD with
 * the eight legacy predicates, CVTDQ2PS/CVT(T)PS2DQ, CVTDQ2PD/CVT(T)PD2DQ,
 * CVTPS2PD/CVTPD2PS, RCPPS/RCPSS/RSQRTPS/RSQRTSS and MASKMOVDQU (Intel
 * SDM vol. 2). Compares and conversions are the host's own instructions,
 * as in sse_float.c, so integer-indefinite results, round-to-nearest and
 * the MXCSR flags (sse_mxcsr.c) match the hardware with the default
 * MXCSR.
 */
#include <emmintrin.h>
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
		ea_read_buf(cpu, in, s, 16);
	else
		s->q[0] = ea_read(cpu, in, 0, n);
}

/* imm8[2:0]: EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD (unordered: NaN) */
/*
 * CMPPS/PD/SS/SD with predicate p as the host's own instruction (its
 * result, and its flags: the ordered relations signal invalid for any
 * NaN, EQ/UNORD/NEQ/ORD only for a signalling one)
 */
static __m128 cmp_ps(__m128 a, __m128 b, unsigned p, bool scalar)
{
	switch (p | (scalar ? 8 : 0)) {
	case 0: return _mm_cmpeq_ps(a, b);
	case 1: return _mm_cmplt_ps(a, b);
	case 2: return _mm_cmple_ps(a, b);
	case 3: return _mm_cmpunord_ps(a, b);
	case 4: return _mm_cmpneq_ps(a, b);
	case 5: return _mm_cmpnlt_ps(a, b);
	case 6: return _mm_cmpnle_ps(a, b);
	case 7: return _mm_cmpord_ps(a, b);
	case 8: return _mm_cmpeq_ss(a, b);
	case 9: return _mm_cmplt_ss(a, b);
	case 10: return _mm_cmple_ss(a, b);
	case 11: return _mm_cmpunord_ss(a, b);
	case 12: return _mm_cmpneq_ss(a, b);
	case 13: return _mm_cmpnlt_ss(a, b);
	case 14: return _mm_cmpnle_ss(a, b);
	default: return _mm_cmpord_ss(a, b);
	}
}

static __m128d cmp_pd(__m128d a, __m128d b, unsigned p, bool scalar)
{
	switch (p | (scalar ? 8 : 0)) {
	case 0: return _mm_cmpeq_pd(a, b);
	case 1: return _mm_cmplt_pd(a, b);
	case 2: return _mm_cmple_pd(a, b);
	case 3: return _mm_cmpunord_pd(a, b);
	case 4: return _mm_cmpneq_pd(a, b);
	case 5: return _mm_cmpnlt_pd(a, b);
	case 6: return _mm_cmpnle_pd(a, b);
	case 7: return _mm_cmpord_pd(a, b);
	case 8: return _mm_cmpeq_sd(a, b);
	case 9: return _mm_cmplt_sd(a, b);
	case 10: return _mm_cmple_sd(a, b);
	case 11: return _mm_cmpunord_sd(a, b);
	case 12: return _mm_cmpneq_sd(a, b);
	case 13: return _mm_cmpnlt_sd(a, b);
	case 14: return _mm_cmpnle_sd(a, b);
	default: return _mm_cmpord_sd(a, b);
	}
}

void sse_cmp(struct emu_cpu *cpu, struct insn *in)
{
	uint8_t pfx = in->last_pfx, imm;
	bool dbl = pfx == 0x66 || pfx == 0xf2;
	bool scalar = pfx == 0xf2 || pfx == 0xf3;
	union xmm *d, s;

	decode_modrm(cpu, in, 1);
	load_src(cpu, in, &s, scalar ? (dbl ? 8 : 4) : 16);
	imm = fetch8(cpu);
	d = &cpu->xmm[in->reg];
	if (dbl)
		_mm_storeu_pd((double *)d->b,
			      cmp_pd(_mm_loadu_pd((const double *)d->b),
				     _mm_loadu_pd((const double *)s.b),
				     imm & 7, scalar));
	else
		_mm_storeu_ps((float *)d->b,
			      cmp_ps(_mm_loadu_ps((const float *)d->b),
				     _mm_loadu_ps((const float *)s.b),
				     imm & 7, scalar));
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
		if (!sse_fp_ou_unmasked(cpu)) {
			_mm_storeu_ps((float *)r.b, _mm_cvtpd_ps(as_pd(&s)));
			sse_fp_tiny(cpu, &r.d[0], false);
			sse_fp_tiny(cpu, &r.d[1], false);
			break;
		}
		for (int i = 0; i < 2; i++) {	/* each lane's PE */
			uint32_t acc = sse_host_flags_take();
			double v;
			float f;

			memcpy(&v, &s.q[i], 8);
			__asm__ volatile("cvtsd2ss %1, %0" : "=x"(f) : "x"(v));
			sse_fp_tiny(cpu, &f, false);
			sse_fp_lane_pe(cpu, acc, 0x5a, true, v, 0);
			memcpy(&r.d[i], &f, 4);
		}
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

/*
 * MASKMOVDQU xmm1, xmm2 (66 0F F7) and MASKMOVQ mm1, mm2 (0F F7): the n
 * bytes of v whose byte in m has its top bit set go to DS:rDI
 */
void sse_maskmov(struct emu_cpu *cpu, struct insn *in, const uint8_t *v,
		 const uint8_t *m, int n)
{
	uint64_t di = cpu->gpr[R_DI] & size_mask(in->asize);
	uint64_t lin = seg_addr(cpu, insn_seg(in, SEG_DS), di, n, ACC_W);

	for (int i = 0; i < n; i++)
		if (m[i] & 0x80)
			mem_write(cpu, lin + i, v[i], 1);
}
