// SPDX-License-Identifier: MIT
/*
 * String instructions (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS) with
 * REP/REPE/REPNE, and port I/O. A REP loop runs a bounded number of
 * iterations per instruction and then re-executes itself, so interrupts
 * and kicks are seen during long copies; registers are updated after each
 * element so a fault mid-way resumes correctly.
 */
#include <string.h>

#include "accel/emu/exec.h"
#include "vmm/vm.h"

#define REP_CHUNK 4096

uint64_t io_in(struct emu_cpu *cpu, uint16_t port, int size)
{
	uint64_t v = 0;

	bus_read(&cpu->vm->pio, port, &v, size);
	return v;
}

void io_out(struct emu_cpu *cpu, uint16_t port, uint64_t v, int size)
{
	bus_write(&cpu->vm->pio, port, v & size_mask(size), size);
}

/*
 * SDM vol. 1, 19.5: in protected mode at CPL > IOPL, and in virtual-8086
 * mode, an access to size bytes at port needs their bits clear in the I/O
 * permission bitmap of the 32-bit (64-bit) TSS, at the 16-bit offset
 * 0x66 holds; #GP(0) with a 16-bit TSS, a limit below 0x67 or a bitmap
 * (read as two bytes, as hardware does) beyond the limit. The TSS is read
 * as the system does (no U/S check at CPL 3).
 */
void io_check(struct emu_cpu *cpu, uint16_t port, int size)
{
	const struct x86_segment *tr = &cpu->tr;
	unsigned iopl = (cpu->rflags >> 12) & 3;
	uint64_t lin_mask = cpu->lma ? ~0ULL : 0xffffffffULL;
	uint32_t off;

	if (!(cpu->cr0 & X86_CR0_PE) ||
	    (!(cpu->rflags & FL_VM) && (unsigned)cpu->cpl <= iopl))
		return;
	if (tr->unusable || !tr->present || (tr->type & 0xd) != 9 ||
	    tr->limit < 0x67)
		cpu_raise(cpu, EXC_GP, 0);
	off = mem_read_sys(cpu, (tr->base + 0x66) & lin_mask, 2) + port / 8;
	if (off + 1 > tr->limit ||
	    (mem_read_sys(cpu, (tr->base + off) & lin_mask, 2) >> (port & 7)) &
	    ((1u << size) - 1))
		cpu_raise(cpu, EXC_GP, 0);
}

void exec_io(struct emu_cpu *cpu, struct insn *in)
{
	uint8_t b = in->op;
	int size = (b & 1) ? (in->osize == 2 ? 2 : 4) : 1;
	uint16_t port = b >= 0xec ? cpu->gpr[R_DX] & 0xffff : fetch8(cpu);

	io_check(cpu, port, size);
	if (b & 2)
		io_out(cpu, port, cpu->gpr[R_AX], size);
	else
		reg_write(cpu, in, R_AX, size, io_in(cpu, port, size));
}

static void idx_step(struct emu_cpu *cpu, struct insn *in, int r, int size)
{
	uint64_t m = size_mask(in->asize);
	uint64_t v = cpu->gpr[r];

	v += (cpu->rflags & FL_DF) ? -(uint64_t)size : (uint64_t)size;
	cpu->gpr[r] = in->asize == 4 ? (v & m) : (cpu->gpr[r] & ~m) | (v & m);
}

/* MOVS reads through RSI; STOS does not */
static inline bool sp_used(uint8_t b)
{
	return b == 0xa4 || b == 0xa5;
}

/* Fast path for REP MOVSB/STOSB etc. within single pages of RAM. */
static bool rep_fast(struct emu_cpu *cpu, struct insn *in, uint8_t b,
		     int size, uint64_t *count)
{
	uint64_t m = size_mask(in->asize), n = *count, di, si = 0;
	uint64_t dl, sl = 0, room;
	uint8_t *dp, *sp = NULL;

	if ((cpu->rflags & FL_DF) || n < 2)
		return false;
	di = cpu->gpr[R_DI] & m;
	dl = in->asize == 8 || cpu->code64 ? di :
	     (cpu->seg[SEG_ES].base + di) & 0xffffffffULL;
	room = (4096 - (dl & 0xfff)) / size;
	if (sp_used(b)) {
		si = cpu->gpr[R_SI] & m;
		sl = seg_lin(cpu, in, SEG_DS, si);
		if ((4096 - (sl & 0xfff)) / size < room)
			room = (4096 - (sl & 0xfff)) / size;
	}
	if (room < n)
		n = room;
	if (!n || (in->asize != 8 && (di + n * size > m ||
				      (sp_used(b) &&
				       (cpu->gpr[R_SI] & m) + n * size > m))))
		return false;
	/* outside the segments: element by element, up to the fault */
	if (!cpu->code64 &&
	    (!seg_ok(cpu, SEG_ES, di, n * size, ACC_W) ||
	     (sp_used(b) &&
	      !seg_ok(cpu, insn_seg(in, SEG_DS), si, n * size, ACC_R))))
		return false;
	if (sp_used(b)) {
		sp = mem_ptr(cpu, sl, n * size, ACC_R);
		if (!sp)
			return false;
	}
	dp = mem_ptr(cpu, dl, n * size, ACC_W);
	if (!dp)
		return false;
	if (sp && (uintptr_t)dp - (uintptr_t)sp - 1 < n * size - 1) {
		/*
		 * The destination starts inside the source above it: each
		 * element reads what the ones before it wrote, as on hardware
		 * (not a memmove, which would copy the source as it was).
		 */
		for (uint64_t i = 0; i < n; i++) {
			uint64_t v;

			memcpy(&v, sp + i * size, size);
			memcpy(dp + i * size, &v, size);
		}
		cpu->gpr[R_SI] += n * size;
	} else if (sp) {
		memmove(dp, sp, n * size);
		cpu->gpr[R_SI] += n * size;
	} else {
		uint64_t v = cpu->gpr[R_AX];

		if (size == 1)
			memset(dp, v & 0xff, n);
		else
			for (uint64_t i = 0; i < n; i++)
				memcpy(dp + i * size, &v, size);
	}
	cpu->gpr[R_DI] += n * size;
	/* a 32-bit index is written zero-extended; STOS leaves RSI alone */
	if (in->asize == 4) {
		cpu->gpr[R_DI] &= 0xffffffffULL;
		if (sp)
			cpu->gpr[R_SI] &= 0xffffffffULL;
	}
	*count -= n;
	return true;
}

void exec_string(struct emu_cpu *cpu, struct insn *in)
{
	uint8_t b = in->op;
	int size = (b & 1) ? in->osize : 1;
	uint64_t am = size_mask(in->asize);
	bool rep = in->rep || in->repne;
	uint64_t count = rep ? cpu->gpr[R_CX] & am : 1;
	uint64_t done = 0;

	if ((b == 0x6d || b == 0x6f) && size == 8)
		size = 4;
	while (count && done < REP_CHUNK) {
		uint64_t di = cpu->gpr[R_DI] & am, si = cpu->gpr[R_SI] & am;
		int ds = insn_seg(in, SEG_DS);
		uint64_t v, w;
		bool stop = false;

		if (rep && (b == 0xa4 || b == 0xa5 || b == 0xaa || b == 0xab) &&
		    rep_fast(cpu, in, b, size, &count)) {
			done += 64;
			goto next;
		}
		switch (b) {
		case 0x6c: case 0x6d:
			di = seg_addr(cpu, SEG_ES, di, size, ACC_W);
			v = io_in(cpu, cpu->gpr[R_DX] & 0xffff, size);
			mem_write(cpu, di, v, size);
			idx_step(cpu, in, R_DI, size);
			break;
		case 0x6e: case 0x6f:
			v = mem_read(cpu, seg_addr(cpu, ds, si, size, ACC_R),
				     size);
			io_out(cpu, cpu->gpr[R_DX] & 0xffff, v, size);
			idx_step(cpu, in, R_SI, size);
			break;
		case 0xa4: case 0xa5:
			v = mem_read(cpu, seg_addr(cpu, ds, si, size, ACC_R),
				     size);
			di = seg_addr(cpu, SEG_ES, di, size, ACC_W);
			mem_write(cpu, di, v, size);
			idx_step(cpu, in, R_SI, size);
			idx_step(cpu, in, R_DI, size);
			break;
		case 0xa6: case 0xa7:
			v = mem_read(cpu, seg_addr(cpu, ds, si, size, ACC_R),
				     size);
			w = mem_read(cpu, seg_addr(cpu, SEG_ES, di, size,
						   ACC_R), size);
			alu_op(cpu, 7, v, w, size);
			idx_step(cpu, in, R_SI, size);
			idx_step(cpu, in, R_DI, size);
			stop = true;
			break;
		case 0xaa: case 0xab:
			di = seg_addr(cpu, SEG_ES, di, size, ACC_W);
			mem_write(cpu, di, cpu->gpr[R_AX], size);
			idx_step(cpu, in, R_DI, size);
			break;
		case 0xac: case 0xad:
			v = mem_read(cpu, seg_addr(cpu, ds, si, size, ACC_R),
				     size);
			reg_write(cpu, in, R_AX, size, v);
			idx_step(cpu, in, R_SI, size);
			break;
		default:
			w = mem_read(cpu, seg_addr(cpu, SEG_ES, di, size,
						   ACC_R), size);
			alu_op(cpu, 7, cpu->gpr[R_AX], w, size);
			idx_step(cpu, in, R_DI, size);
			stop = true;
			break;
		}
		count--;
		done++;
next:
		if (rep)
			cpu->gpr[R_CX] = in->asize == 8 ? count :
					 in->asize == 4 ? (uint32_t)count :
					 (cpu->gpr[R_CX] & ~0xffffULL) | count;
		if (rep && stop) {
			bool zf = cpu->rflags & FL_ZF;

			if ((in->rep && !zf) || (in->repne && zf))
				return;
		}
	}
	if (rep && count)
		cpu->rip = cpu->insn_rip;	/* continue next time round */
}
