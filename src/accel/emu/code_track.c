// SPDX-License-Identifier: MIT
/*
 * Write tracking of the guest pages translated code is made from: the
 * asks that make CPUs drop direct writes to them (see code_track.h).
 */
#include <string.h>

#include "accel/emu/code_track.h"

void emu_code_init(struct emu_code *c)
{
	memset(c, 0, sizeof(*c));
	atomic_init(&c->asks, 0);
	pthread_mutex_init(&c->lock, NULL);
}

void emu_code_destroy(struct emu_code *c)
{
	pthread_mutex_destroy(&c->lock);
}

void emu_code_add_cpu(struct emu_code *c, struct emu_cpu *cpu)
{
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < MAX_VCPUS; i++) {
		if (!c->cpus[i]) {
			c->cpus[i] = cpu;
			break;
		}
	}
	cpu->code = c;
	pthread_mutex_unlock(&c->lock);
}

void emu_code_del_cpu(struct emu_code *c, struct emu_cpu *cpu)
{
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < MAX_VCPUS; i++)
		if (c->cpus[i] == cpu)
			c->cpus[i] = NULL;
	pthread_mutex_unlock(&c->lock);
}

/*
 * Every entry that writes a page with GUEST_CODE_SET directly loses
 * that: its stores take the slow path (and give the page a new
 * generation) from now on.
 */
void code_ack(struct emu_cpu *cpu)
{
	uint64_t asks = atomic_load(&cpu->code->asks);

	for (int i = 0; i < TLB_SIZE; i++) {
		struct tlb_entry *e = &cpu->tlb[i];

		if ((e->perm & TLB_RAM) &&
		    (~e->tag & (TLB_W | TLB_UW)) && code_page(cpu, tlb_hva(e)))
			e->tag |= TLB_W | TLB_UW;
	}
	cpu->code_seen = asks;
	atomic_store_explicit(&cpu->code_ack, asks, memory_order_release);
}

void code_enter(struct emu_cpu *cpu)
{
	if (!cpu->code)
		return;
	/* against code_trusted's reads, as dirty_enter's */
	atomic_store(&cpu->code_running, true);
	if (atomic_load(&cpu->code->asks) != cpu->code_seen)
		code_ack(cpu);
}

/*
 * Whether every other CPU has answered the asks up to now (or runs
 * nothing): none of them writes a page with GUEST_CODE_SET directly.
 * The acquire loads order the bytes a caller reads next after the
 * stores those CPUs made before answering.
 */
static bool code_trusted(struct emu_cpu *cpu)
{
	struct emu_code *c = cpu->code;
	uint64_t asks = atomic_load(&c->asks);
	bool all = true;

	pthread_mutex_lock(&c->lock);	/* against CPUs added or gone */
	for (int i = 0; i < MAX_VCPUS && all; i++) {
		struct emu_cpu *o = c->cpus[i];

		if (o && o != cpu && atomic_load(&o->code_running) &&
		    atomic_load(&o->code_ack) < asks)
			all = false;
	}
	pthread_mutex_unlock(&c->lock);
	return all;
}

uint32_t code_track(struct emu_cpu *cpu, const uint8_t *page)
{
	_Atomic uint32_t *gen = code_gen(cpu, page);
	uint32_t g = atomic_load(gen);

	for (;;) {
		if (!(g & GUEST_CODE_SET)) {
			if (!atomic_compare_exchange_weak(gen, &g,
							  g | GUEST_CODE_SET))
				continue;
			g |= GUEST_CODE_SET;
		}
		if (g & GUEST_CODE_SEEN)
			break;
		/*
		 * Whoever set GUEST_CODE_SET, an ask counted after it was
		 * set: each CPU's answer to it drops direct writes here
		 */
		atomic_fetch_add(&cpu->code->asks, 1);
		if (atomic_compare_exchange_strong(gen, &g,
						   g | GUEST_CODE_SEEN)) {
			g |= GUEST_CODE_SEEN;
			break;
		}
	}
	code_check(cpu);
	return code_trusted(cpu) ? g : CODE_UNTRUSTED;
}
