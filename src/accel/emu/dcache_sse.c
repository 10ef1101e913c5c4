// SPDX-License-Identifier: MIT
/*
 * Which SSE/SSE2 arithmetic, logic, shuffle, compare and conversion forms
 * the decode cache decodes as DC_SSE (for the translator; the interpreter
 * runs them through the general decoder, H_DECODE), and MOVLPS/MOVHPS/
 * MOVLPD/MOVHPD/MOVHLPS/MOVLHPS: their prefix and
 * second opcode byte, and whether an imm8 follows the ModRM operand.
 */
#include "accel/emu/dcache.h"

/* 66 0F xx: packed integer ops with an xmm/m128 source (sse.c's packed_int) */
static bool dc_sse_int66(uint8_t op)
{
	return (op >= 0x60 && op <= 0x6d) || (op >= 0x74 && op <= 0x76) ||
	       (op >= 0xd1 && op <= 0xd5) || (op >= 0xd8 && op <= 0xe5) ||
	       (op >= 0xe8 && op <= 0xef) || (op >= 0xf1 && op <= 0xf6) ||
	       (op >= 0xf8 && op <= 0xfe);
}

int dc_sse_form(int pfx, uint8_t op)
{
	switch (pfx) {
	case DC_PFX_NONE:
	case DC_PFX_66:
		if (op == 0xc6 || (pfx == DC_PFX_66 &&
				   (op >= 0x70 && op <= 0x73)))
			return DC_SSE_IMM8;
		if ((op >= 0x12 && op <= 0x17) || op == 0x2e || op == 0x2f ||
		    op == 0x50 || (op >= 0x54 && op <= 0x57))
			return DC_SSE_FORM;
		if (pfx == DC_PFX_66 && (dc_sse_int66(op) || op == 0xd7 ||
					 op == 0x51 ||
					 (op >= 0x58 && op <= 0x5f &&
					  op != 0x5a && op != 0x5b)))
			return DC_SSE_FORM;
		return 0;
	case DC_PFX_F3:
	case DC_PFX_F2:
		if (op == 0x70)
			return DC_SSE_IMM8;
		if (op == 0x2a || op == 0x2c || op == 0x2d || op == 0x51 ||
		    op == 0x58 || op == 0x59 || op == 0x5a || op == 0x5c ||
		    op == 0x5e)
			return DC_SSE_FORM;
		if (pfx == DC_PFX_F2 && (op == 0x5d || op == 0x5f))
			return DC_SSE_FORM;
		return 0;
	}
	return 0;
}
