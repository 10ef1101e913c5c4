// SPDX-License-Identifier: MIT
/*
 * Which encodings of the 0F opcode space of MMX, SSE and SSE2 (the emu's
 * CPUID) are instructions: the mandatory prefix (none, 66, F3 or F2) and
 * whether the ModRM operand may be a register, memory or both. Hardware
 * raises #UD for any other encoding before it looks at CR0 and CR4 (so
 * before CR0.TS's #NM) and before any operand: exec_sse and the decode
 * cache ask here first. The SSE3 and later forms of the same opcodes
 * (MOVSLDUP, MOVDDUP, HADDPS, ADDSUBPS, LDDQU...) and AMD's SSE4a
 * MOVNTSS/MOVNTSD are not in the CPUID and are #UD.
 */
#include "accel/emu/exec.h"

/*
 * Per opcode from 10 to FF, per prefix (none, 66, F3, F2): '-' no such
 * instruction, 'b' register or memory operand, 'm' memory only, 'r'
 * register only. The shift groups 71-73 are sse_encoding_ok's.
 */
static const char *const forms[0x100] = {
	[0x10] = "bbbb", [0x11] = "bbbb", [0x12] = "bm--", [0x13] = "mm--",
	[0x14] = "bb--", [0x15] = "bb--", [0x16] = "bm--", [0x17] = "mm--",
	[0x28] = "bb--", [0x29] = "bb--", [0x2a] = "bbbb", [0x2b] = "mm--",
	[0x2c] = "bbbb", [0x2d] = "bbbb", [0x2e] = "bb--", [0x2f] = "bb--",
	[0x50] = "rr--", [0x51] = "bbbb", [0x52] = "b-b-", [0x53] = "b-b-",
	[0x54] = "bb--", [0x55] = "bb--", [0x56] = "bb--", [0x57] = "bb--",
	[0x58] = "bbbb", [0x59] = "bbbb", [0x5a] = "bbbb", [0x5b] = "bbb-",
	[0x5c] = "bbbb", [0x5d] = "bbbb", [0x5e] = "bbbb", [0x5f] = "bbbb",
	[0x60] = "bb--", [0x61] = "bb--", [0x62] = "bb--", [0x63] = "bb--",
	[0x64] = "bb--", [0x65] = "bb--", [0x66] = "bb--", [0x67] = "bb--",
	[0x68] = "bb--", [0x69] = "bb--", [0x6a] = "bb--", [0x6b] = "bb--",
	[0x6c] = "-b--", [0x6d] = "-b--", [0x6e] = "bb--", [0x6f] = "bbb-",
	[0x70] = "bbbb", [0x74] = "bb--", [0x75] = "bb--", [0x76] = "bb--",
	[0x7e] = "bbb-", [0x7f] = "bbb-",
	[0xc2] = "bbbb", [0xc3] = "m---", [0xc4] = "bb--", [0xc5] = "rr--",
	[0xc6] = "bb--",
	[0xd1] = "bb--", [0xd2] = "bb--", [0xd3] = "bb--", [0xd4] = "bb--",
	[0xd5] = "bb--", [0xd6] = "-brr", [0xd7] = "rr--", [0xd8] = "bb--",
	[0xd9] = "bb--", [0xda] = "bb--", [0xdb] = "bb--", [0xdc] = "bb--",
	[0xdd] = "bb--", [0xde] = "bb--", [0xdf] = "bb--", [0xe0] = "bb--",
	[0xe1] = "bb--", [0xe2] = "bb--", [0xe3] = "bb--", [0xe4] = "bb--",
	[0xe5] = "bb--", [0xe6] = "-bbb", [0xe7] = "mm--", [0xe8] = "bb--",
	[0xe9] = "bb--", [0xea] = "bb--", [0xeb] = "bb--", [0xec] = "bb--",
	[0xed] = "bb--", [0xee] = "bb--", [0xef] = "bb--",
	[0xf1] = "bb--", [0xf2] = "bb--", [0xf3] = "bb--", [0xf4] = "bb--",
	[0xf5] = "bb--", [0xf6] = "bb--", [0xf7] = "rr--", [0xf8] = "bb--",
	[0xf9] = "bb--", [0xfa] = "bb--", [0xfb] = "bb--", [0xfc] = "bb--",
	[0xfd] = "bb--", [0xfe] = "bb--",
};

bool sse_encoding_ok(uint8_t pfx, uint8_t op, uint8_t modrm)
{
	int p = pfx == 0x66 ? 1 : pfx == 0xf3 ? 2 : pfx == 0xf2 ? 3 : 0;
	bool mem = modrm < 0xc0;
	int ext = (modrm >> 3) & 7;
	char f;

	if (op == 0x77)		/* EMMS, which has no ModRM */
		return !p;
	if (op >= 0x71 && op <= 0x73) {
		/* PSRLx /2, PSRAx /4, PSLLx /6; 66 0F 73 /3 /7 PSRLDQ PSLLDQ */
		if (mem || p > 1)
			return false;
		if (op == 0x73)
			return ext == 2 || ext == 6 ||
			       (p == 1 && (ext == 3 || ext == 7));
		return ext == 2 || ext == 4 || ext == 6;
	}
	if (!forms[op])
		return false;
	f = forms[op][p];
	return f == 'b' || (f == 'm' && mem) || (f == 'r' && !mem);
}
