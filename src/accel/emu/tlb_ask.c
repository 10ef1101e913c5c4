// SPDX-License-Identifier: MIT
/*
 * The asks that make every running vCPU act on its soft TLB, their
 * answers, and the list of the CPUs that answer them (see tlb_ask.h).
 */
#include <sched.h>
#include <string.h>
#include <time.h>

#include "accel/emu/code_track.h"
#include "accel/emu/tlb_ask.h"

void tlb_ask_init(struct tlb_ask *a)
{
	memset(a, 0, sizeof(*a));
	atomic_init(&a->asks, 0);
	atomic_init(&a->writes, 0);
	atomic_init(&a->readers, 0);
	pthread_mutex_init(&a->lock, NULL);
}

void tlb_ask_destroy(struct tlb_ask *a)
{
	pthread_mutex_destroy(&a->lock);
}

void tlb_ask_add_cpu(struct tlb_ask *a, struct emu_cpu *cpu)
{
	pthread_mutex_lock(&a->lock);
	cpu->ask = a;
	for (int i = 0; i < MAX_VCPUS; i++) {
		if (!atomic_load(&a->cpus[i])) {
			atomic_store(&a->cpus[i], cpu);
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
}

void tlb_ask_del_cpu(struct tlb_ask *a, struct emu_cpu *cpu)
{
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < MAX_VCPUS; i++)
		if (atomic_load(&a->cpus[i]) == cpu)
			atomic_store(&a->cpus[i], NULL);
	/*
	 * A reader counted itself before it loaded cpus[i] (both
	 * sequentially consistent, as the store above and this load): it
	 * either found NULL or is counted here until it is done with cpu.
	 */
	while (atomic_load(&a->readers))
		sched_yield();
	pthread_mutex_unlock(&a->lock);
}

uint64_t tlb_ask_post(struct tlb_ask *a, enum tlb_ask_what what)
{
	if (what == TLB_ASK_WRITES)
		atomic_fetch_add(&a->writes, 1);
	return atomic_fetch_add(&a->asks, 1) + 1;
}

/* The first CPU but self inside a batch that has not answered ask n */
static struct emu_cpu *pending(struct tlb_ask *a, const struct emu_cpu *self,
			       uint64_t n)
{
	for (int i = 0; i < MAX_VCPUS; i++) {
		struct emu_cpu *c = atomic_load(&a->cpus[i]);

		if (c && c != self && atomic_load(&c->ask_running) &&
		    atomic_load(&c->ask_ack) < n)
			return c;
	}
	return NULL;
}

bool tlb_ask_answered(struct tlb_ask *a, const struct emu_cpu *self,
		      uint64_t n)
{
	bool all;

	atomic_fetch_add(&a->readers, 1);
	all = !pending(a, self, n);
	atomic_fetch_sub(&a->readers, 1);
	return all;
}

void tlb_ask_wait(struct tlb_ask *a, uint64_t n)
{
	atomic_fetch_add(&a->readers, 1);
	for (unsigned k = 0; pending(a, NULL, n); k++) {
		/* A CPU answers within a few hundred instructions. */
		if (k < 100)
			sched_yield();
		else
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
	}
	atomic_fetch_sub(&a->readers, 1);
}

/* TLB_ASK_WRITES: every entry's stores fill it again */
static void drop_writes(struct emu_cpu *cpu)
{
	for (int i = 0; i < TLB_SIZE; i++) {
		cpu->tlb[i].perm &= ~(TLB_W | TLB_UW);
		cpu->tlb[i].tag |= TLB_W | TLB_UW;
	}
	memset(cpu->tlb_direct, 0, sizeof(cpu->tlb_direct));
}

/*
 * TLB_ASK_CODE: every entry that writes a page with GUEST_CODE_SET
 * directly loses that; its stores take the slow path (and end the page's
 * code generation) from now on. Only the entries in tlb_direct may
 * (each entry given direct writes is put there); those found without
 * them (flushed, filled again, or losing them here) leave it.
 */
static void drop_code_writes(struct emu_cpu *cpu)
{
	for (int w = 0; w < TLB_SIZE / 64; w++) {
		for (uint64_t m = cpu->tlb_direct[w]; m; m &= m - 1) {
			int i = w * 64 + __builtin_ctzll(m);
			struct tlb_entry *e = &cpu->tlb[i];

			if (!tlb_direct_write(e)) {
				cpu->tlb_direct[w] &= ~(1ULL << i % 64);
			} else if ((e->perm & TLB_RAM) &&
				   code_page(cpu, tlb_hva(e))) {
				e->tag |= TLB_W | TLB_UW;
				cpu->tlb_direct[w] &= ~(1ULL << i % 64);
			}
		}
	}
}

void tlb_ask_answer(struct emu_cpu *cpu)
{
	struct tlb_ask *a = cpu->ask;
	uint64_t asks = atomic_load(&a->asks);
	/* after asks: every TLB_ASK_WRITES up to it is counted */
	uint64_t writes = atomic_load(&a->writes);

	if (writes != cpu->ask_writes) {
		drop_writes(cpu);
		cpu->ask_writes = writes;
	} else {
		drop_code_writes(cpu);
	}
	cpu->ask_seen = asks;
	atomic_store_explicit(&cpu->ask_ack, asks, memory_order_release);
}

void tlb_ask_enter(struct emu_cpu *cpu)
{
	if (!cpu->ask)
		return;
	/* against the asker's count and load of ask_running (tlb_ask.h) */
	atomic_store(&cpu->ask_running, true);
	if (atomic_load(&cpu->ask->asks) != cpu->ask_seen)
		tlb_ask_answer(cpu);
}
