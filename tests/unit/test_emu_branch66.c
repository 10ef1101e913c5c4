// SPDX-License-Identifier: MIT
/*
 * emu: near branches with a 66 prefix in 64-bit mode. Intel's (the CPU
 * the emu describes) ignore it: CALL, JMP and Jcc take a rel32, CALL and
 * RET push and pop 8 bytes, RIP is not truncated (AMD's take a rel16 and
 * 16-bit return addresses). In the general decoder, the decode cache and
 * the translator.
 */
#include "emu_paths.h"
#include "test.h"

/*
 *	0x000	66 e8 rel32	call l1
 *	0x006	66 e9 rel32	jmp l2
 *	0x00c	hlt
 *	0x00d l1: mov rax, [rsp]
 *		mov rbx, rsp
 *		66 c2 00 00	ret 0
 *		hlt
 *	0x019 l2: xor ecx, ecx
 *		66 0f 84 rel32	jz l3
 *		hlt
 *	0x023 l3: lea rdx, [rip + l4]
 *		66 ff d2	call rdx
 *		hlt
 *	0x02e l4: mov rsi, [rsp]
 *		add rsp, 8
 *		66 0f 85 rel32	jnz l5
 *		66 e9 rel32	jmp l5
 *		hlts
 *	0x164 l5: lea rdi, [rip + l6]
 *		push rdi
 *		66 c3		ret
 *		hlt
 *	0x16f l6: hlt
 */
static const uint8_t head[] = {
	0x66, 0xe8, 0x07, 0x00, 0x00, 0x00, 0x66, 0xe9, 0x0d, 0x00, 0x00,
	0x00, 0xf4, 0x48, 0x8b, 0x04, 0x24, 0x48, 0x89, 0xe3, 0x66, 0xc2,
	0x00, 0x00, 0xf4, 0x31, 0xc9, 0x66, 0x0f, 0x84, 0x01, 0x00, 0x00,
	0x00, 0xf4, 0x48, 0x8d, 0x15, 0x04, 0x00, 0x00, 0x00, 0x66, 0xff,
	0xd2, 0xf4, 0x48, 0x8b, 0x34, 0x24, 0x48, 0x83, 0xc4, 0x08, 0x66,
	0x0f, 0x85, 0x27, 0x01, 0x00, 0x00, 0x66, 0xe9, 0x21, 0x01, 0x00,
	0x00,
};
static const uint8_t tail[] = {
	0x48, 0x8d, 0x3d, 0x04, 0x00, 0x00, 0x00, 0x57, 0x66, 0xc3, 0xf4,
	0xf4,
};

static void test_near_branch_66(void)
{
	uint8_t code[0x170];

	memset(code, 0xf4, sizeof(code));
	memcpy(code, head, sizeof(head));
	memcpy(code + 0x164, tail, sizeof(tail));
	for (int path = 0; path < EMU_PATHS; path++) {
		struct emu_test *t = emu_path_cpu(path, true);
		struct emu_cpu *c = &t->cpu;

		/* twice: the translator makes its blocks in the first run */
		for (int round = 0; round < 2; round++) {
			c->gpr[R_SP] = EMU_TEST_STACK;
			emu_test_run(t, code, sizeof(code));
			if (c->rip == EMU_TEST_CODE + 0x170 &&
			    c->gpr[R_AX] == EMU_TEST_CODE + 6 &&
			    c->gpr[R_BX] == EMU_TEST_STACK - 8 &&
			    c->gpr[R_SI] == EMU_TEST_CODE + 0x2d &&
			    c->gpr[R_SP] == EMU_TEST_STACK)
				continue;
			printf("  %s: rip %#llx rax %#llx rbx %#llx rsi %#llx "
			       "rsp %#llx\n", emu_path_name(path),
			       (unsigned long long)c->rip,
			       (unsigned long long)c->gpr[R_AX],
			       (unsigned long long)c->gpr[R_BX],
			       (unsigned long long)c->gpr[R_SI],
			       (unsigned long long)c->gpr[R_SP]);
			CHECK(0);
		}
		emu_path_free(t);
	}
}

int main(void)
{
	RUN(test_near_branch_66);
	return test_summary();
}
