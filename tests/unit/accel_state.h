/* SPDX-License-Identifier: MIT */
/*
 * Accelerator state sections as byte blobs, for the save/load tests: save
 * one section through accel_ops into memory, hand a (possibly damaged)
 * payload back to a load as the reader's current section.
 */
#ifndef CVISOR_TEST_ACCEL_STATE_H
#define CVISOR_TEST_ACCEL_STATE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accel/accel.h"
#include "test.h"
#include "vmm/state.h"
#include "vmm/vm.h"

struct blob {
	char name[STATE_NAME_MAX];
	uint32_t version;
	uint8_t *p;
	size_t n;
};

/* Save the vCPU's section (vcpu != NULL) or the VM's into b. */
static inline void blob_save(struct vm *vm, struct vcpu *vcpu,
			     struct blob *b)
{
	char *buf = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct state_writer *w = state_writer_create(f);
	struct state_reader *r;
	const char *name;

	CHECK_EQ(vcpu ? vm->accel->vcpu_save(vcpu, w) :
		 vm->accel->vm_save(vm, w), 0);
	CHECK_EQ(state_writer_finish(w), 0);
	state_writer_destroy(w);
	fclose(f);
	f = fmemopen(buf, len, "r");
	r = state_reader_create(f, err, sizeof(err));
	CHECK(r);
	memset(b, 0, sizeof(*b));
	if (r && state_next_section(r, &name, &b->version) == 1) {
		snprintf(b->name, sizeof(b->name), "%s", name);
		b->n = state_remaining(r);
		b->p = malloc(b->n ? b->n : 1);
		CHECK_EQ(state_get(r, b->p, b->n), 0);
	}
	CHECK(b->p);
	state_reader_destroy(r);
	fclose(f);
	free(buf);
}

/*
 * Load n bytes of p as section name/version into vcpu (or the VM); returns
 * the load's result, its message in err.
 */
static inline int blob_load_raw(struct vm *vm, struct vcpu *vcpu,
				const char *name, uint32_t version,
				const void *p, size_t n, char *err,
				size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct state_writer *w = state_writer_create(f);
	struct state_reader *r;
	const char *got;
	uint32_t ver;
	int ret = -1;

	state_section_begin(w, version, "%s", name);
	if (n)
		state_put(w, p, n);
	state_section_end(w);
	CHECK_EQ(state_writer_finish(w), 0);
	state_writer_destroy(w);
	fclose(f);
	f = fmemopen(buf, len, "r");
	r = state_reader_create(f, err, errlen);
	if (r && state_next_section(r, &got, &ver) == 1) {
		ret = vcpu ? vm->accel->vcpu_load(vcpu, r, ver) :
		      vm->accel->vm_load(vm, r, ver);
		snprintf(err, errlen, "%s", state_reader_error(r));
	}
	state_reader_destroy(r);
	fclose(f);
	free(buf);
	return ret;
}

static inline int blob_load(struct vm *vm, struct vcpu *vcpu,
			    const struct blob *b, char *err, size_t errlen)
{
	return blob_load_raw(vm, vcpu, b->name, b->version, b->p, b->n, err,
			     errlen);
}

static inline bool same_seg(const struct x86_segment *a,
			    const struct x86_segment *b)
{
	return a->base == b->base && a->limit == b->limit &&
	       a->selector == b->selector && a->type == b->type &&
	       a->present == b->present && a->dpl == b->dpl &&
	       a->db == b->db && a->s == b->s && a->l == b->l &&
	       a->g == b->g && a->avl == b->avl && a->unusable == b->unusable;
}

/* Field by field: the structs have padding. */
static inline bool same_sregs(const struct x86_sregs *a,
			      const struct x86_sregs *b)
{
	return same_seg(&a->cs, &b->cs) && same_seg(&a->ds, &b->ds) &&
	       same_seg(&a->es, &b->es) && same_seg(&a->fs, &b->fs) &&
	       same_seg(&a->gs, &b->gs) && same_seg(&a->ss, &b->ss) &&
	       same_seg(&a->tr, &b->tr) && same_seg(&a->ldt, &b->ldt) &&
	       a->gdt.base == b->gdt.base && a->gdt.limit == b->gdt.limit &&
	       a->idt.base == b->idt.base && a->idt.limit == b->idt.limit &&
	       a->cr0 == b->cr0 && a->cr2 == b->cr2 && a->cr3 == b->cr3 &&
	       a->cr4 == b->cr4 && a->cr8 == b->cr8 && a->efer == b->efer &&
	       a->apic_base == b->apic_base;
}

static inline void blob_free(struct blob *b)
{
	free(b->p);
	b->p = NULL;
}

#endif
