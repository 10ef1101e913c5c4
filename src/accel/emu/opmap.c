// SPDX-License-Identifier: MIT
/*
 * The opcode maps of the CPU cpuid.c describes (Intel SDM vol. 2,
 * appendix A, and each instruction's "#UD if CPUID..." line): which
 * encodings are instructions in 64-bit and in 32-bit protected mode.
 * Hardware raises #UD for any other before it looks at its operands or
 * the CPL. insn_ud asks here whether a #UD it raises is the
 * hardware's (silent) or an instruction the emu lacks (reported);
 * test_emu_opmap sweeps the maps against it.
 *
 * Intel's where Intel and AMD differ: no XOP (8F /1-7), no 3DNow!,
 * SSE4a or SVM, SYSENTER not in the CPUID, and the undocumented aliases
 * Intel parts execute (shift group /6, TEST F6/F7 /1, the x87 FSTP1,
 * FCOM2.. and FFREEP forms) are instructions.
 */
#include "accel/emu/exec.h"

/* x87 escapes D8-DF: the reserved forms, and FISTTP (SSE3, not ours) */
static bool x87_defined(uint8_t op, uint8_t m)
{
	int reg = (m >> 3) & 7;

	if (m < 0xc0) {
		switch (op) {
		case 0xd9: return reg != 1;
		case 0xdb: return reg != 1 && reg != 4 && reg != 6;
		case 0xdd: return reg != 1 && reg != 5;
		case 0xdf: return reg != 1;
		}
		return true;
	}
	switch (op) {
	case 0xd9:
		return m < 0xd1 || (m >= 0xd8 && m <= 0xe1) || m == 0xe4 ||
		       m == 0xe5 || (m >= 0xe8 && m <= 0xee) || m >= 0xf0;
	case 0xda:
		return m < 0xe0 || m == 0xe9;
	case 0xdb:
		return m < 0xe5 || (m >= 0xe8 && m < 0xf8);
	case 0xdd:
		return m < 0xf0;
	case 0xde:
		return m < 0xd8 || m == 0xd9 || m >= 0xe0;
	case 0xdf:
		return m < 0xe1 || (m >= 0xe8 && m < 0xf8);
	}
	return true;
}

static bool onebyte_defined(uint8_t op, uint8_t m, bool code64)
{
	int reg = (m >> 3) & 7;
	bool mem = m < 0xc0;

	switch (op) {
	case 0x06: case 0x07: case 0x0e: case 0x16: case 0x17: case 0x1e:
	case 0x1f: case 0x27: case 0x2f: case 0x37: case 0x3f: case 0x60:
	case 0x61: case 0x82: case 0x9a: case 0xce: case 0xd4: case 0xd5:
	case 0xd6: case 0xea:
		return !code64;
	case 0x62:	/* BOUND; a register form is EVEX (no AVX-512) */
	case 0xc4:	/* LES, LDS; a register form is VEX (no AVX) */
	case 0xc5:
		return !code64 && mem;
	case 0x8c:
		return reg <= 5;
	case 0x8d:
		return mem;
	case 0x8e:	/* not CS */
		return reg <= 5 && reg != 1;
	case 0x8f:
		return reg == 0;
	case 0xc6:	/* C6 F8 XABORT, C7 F8 XBEGIN: no RTM */
	case 0xc7:
		return reg == 0;
	case 0xd8 ... 0xdf:
		return x87_defined(op, m);
	case 0xfe:
		return reg <= 1;
	case 0xff:
		return reg != 7 && (mem || (reg != 3 && reg != 5));
	}
	return true;
}

/* 0F 01: descriptor tables, SMSW/LMSW, INVLPG; SWAPGS and RDTSCP */
static bool grp7_defined(uint8_t m, bool code64)
{
	int reg = (m >> 3) & 7;

	if (m < 0xc0)	/* /5: RSTORSSP (no CET) */
		return reg != 5;
	/* MONITOR/MWAIT, CLAC/STAC, XGETBV, VMX, SVM...: not in the CPUID */
	return reg == 4 || reg == 6 || (m == 0xf8 && code64) || m == 0xf9;
}

static bool twobyte_defined(uint8_t op, int pfx, uint8_t m, int rex,
			    bool code64)
{
	int reg = (m >> 3) & 7;
	bool mem = m < 0xc0;

	switch (op) {
	case 0x00:
		return reg < 6;
	case 0x01:
		return grp7_defined(m, code64);
	case 0x02: case 0x03: case 0x06: case 0x08: case 0x09: case 0x0d:
	case 0x18 ... 0x1f: case 0x30 ... 0x33: case 0x40 ... 0x4f:
	case 0x80 ... 0x9f: case 0xa0 ... 0xa5: case 0xa8: case 0xa9:
	case 0xab: case 0xac: case 0xad: case 0xaf: case 0xb0: case 0xb1:
	case 0xb3: case 0xb6: case 0xb7: case 0xbb ... 0xbf: case 0xc0:
	case 0xc1: case 0xc8 ... 0xcf:
		return true;
	case 0x05: case 0x07:	/* SYSCALL, SYSRET: Intel's, 64-bit only */
		return code64;
	case 0x20: case 0x22:
		reg |= (rex & 4) << 1;
		return reg == 0 || (reg >= 2 && reg <= 4) || reg == 8;
	case 0x21: case 0x23:
		return !(rex & 4);
	case 0xb2: case 0xb4: case 0xb5:
		return mem;
	case 0xb8:		/* POPCNT; JMPE without F3 */
		return pfx == 0xf3;
	case 0xba:
		return reg >= 4;
	case 0xae:
		if (!mem)	/* the fences; FSGSBASE (not in the CPUID) */
			return !pfx && reg >= 5;
		/* FXSAVE..STMXCSR, CLFLUSH: no XSAVE, CLFLUSHOPT, CLWB */
		return !pfx && reg != 4 && reg != 5 && reg != 6;
	case 0xc7:		/* CMPXCHG8B/16B; F3 /7 RDPID */
		return mem ? reg == 1 : reg == 7 && pfx == 0xf3;
	case 0xc3:
	case 0x10 ... 0x17: case 0x28 ... 0x2f: case 0x50 ... 0x7f:
	case 0xc2: case 0xc4 ... 0xc6: case 0xd0 ... 0xff:
		return sse_encoding_ok(pfx, op, m);
	}
	/*
	 * 04 0A 0C 0E 0F 24-27 34-3F (SYSENTER/EXIT: no SEP; the 0F 38 and
	 * 0F 3A maps: nothing of theirs in the CPUID) A6 A7 AA B9 (UD1)
	 * 0B (UD2) FF (UD0)
	 */
	return false;
}

bool opmap_lockable(bool twobyte, uint8_t op, uint8_t m)
{
	int reg = (m >> 3) & 7;

	if (m >= 0xc0)
		return false;
	if (twobyte)
		return op == 0xab || op == 0xb3 || op == 0xbb ||
		       (op == 0xba && reg >= 5) || op == 0xb0 || op == 0xb1 ||
		       op == 0xc0 || op == 0xc1 || (op == 0xc7 && reg == 1);
	if (op < 0x38 && (op & 7) < 2)
		return true;
	switch (op) {
	case 0x80 ... 0x83:
		return reg != 7;
	case 0x86: case 0x87:
		return true;
	case 0xf6: case 0xf7:
		return reg == 2 || reg == 3;
	case 0xfe: case 0xff:
		return reg <= 1;
	}
	return false;
}

bool opmap_defined(const uint8_t *b, int n, bool code64)
{
	bool lock = false, rep = false;
	int i = 0, pfx = 0, rex = 0;
	uint8_t op, m;

	for (; i < n; i++) {
		switch (b[i]) {
		case 0xf0:
			lock = true;
			break;
		case 0xf2: case 0xf3:
			pfx = b[i];
			rep = true;
			break;
		case 0x66:
			if (!rep)
				pfx = 0x66;
			break;
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64:
		case 0x65: case 0x67:
			break;
		default:
			if (!code64 || (b[i] & 0xf0) != 0x40)
				goto opcode;
			/* a REX counts only right before the opcode */
			rex = b[i];
			continue;
		}
		rex = 0;
	}
opcode:
	if (i >= n)
		return true;	/* not all of it here: cannot tell */
	op = b[i++];
	if (op != 0x0f) {
		m = i < n ? b[i] : 0;
		if (lock && !opmap_lockable(false, op, m))
			return false;
		return onebyte_defined(op, m, code64);
	}
	if (i >= n)
		return true;
	op = b[i++];
	m = i < n ? b[i] : 0;
	if (lock && !opmap_lockable(true, op, m))
		return false;
	return twobyte_defined(op, pfx, m, rex, code64);
}
