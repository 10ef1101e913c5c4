/* SPDX-License-Identifier: MIT */
/*
 * A small builder for ACPI Machine Language (ACPI 6.x, chapter 20) and for
 * resource templates (chapter 6.4). Blocks that carry a PkgLength (Scope,
 * Device, Method, Package, Buffer, If) are opened with *_begin and closed
 * with aml_end, which back-patches the length once the body is known:
 *
 *	aml_scope_begin(a, "\\_SB");
 *	aml_device_begin(a, "PWRB");
 *	aml_name_eisaid(a, "_HID", "PNP0C0C");
 *	aml_end(a);
 *	aml_end(a);
 *
 * Errors (allocation, bad names, unbalanced blocks) are sticky: every call
 * after the first error does nothing and aml_error() reports it once at the
 * end, so building code needs no error check per call.
 */
#ifndef CVISOR_ARCH_X86_AML_H
#define CVISOR_ARCH_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH	16

struct aml {
	uint8_t *buf;
	size_t len, cap;
	struct {
		size_t pos;	/* where the PkgLength goes */
		int kind;
	} open[AML_MAX_DEPTH];
	int depth;
	size_t rt_start;	/* first byte of the open resource template */
	bool in_rt;
	int err;		/* first error, negative errno */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* 0 if the stream is complete and valid, else the first error. */
int aml_error(const struct aml *a);

/*
 * Encode a PkgLength whose value (which counts the encoding itself) is len.
 * Returns the number of bytes written to out (1..4), 0 if len > 2^28 - 1.
 */
size_t aml_pkglen_encode(uint8_t out[4], uint32_t len);

/* Data objects */
void aml_name_string(struct aml *a, const char *path);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* A compressed EISA id such as "PNP0A03", as a DWord integer. */
void aml_eisaid(struct aml *a, const char *id);
uint32_t aml_eisaid_value(const char *id);
void aml_arg(struct aml *a, int n);

/* Name(name, <data object that follows>) */
void aml_name(struct aml *a, const char *name);
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_str(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);

/* Blocks, each closed by aml_end() */
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *name);
void aml_method_begin(struct aml *a, const char *name, int nargs,
		      bool serialized);
void aml_package_begin(struct aml *a, uint8_t nr_elements);
void aml_buffer_begin(struct aml *a);
/* If (LEqual(Arg<arg>, value)) { ... } */
void aml_if_arg_equal_begin(struct aml *a, int arg, uint64_t value);
void aml_end(struct aml *a);

/* Statements */
void aml_return(struct aml *a);		/* followed by the returned object */
void aml_notify(struct aml *a, const char *path, uint64_t value);

/*
 * Resource templates: a Buffer of descriptors ended by an end tag whose
 * checksum makes the descriptors sum to zero.
 */
void aml_rt_begin(struct aml *a);
void aml_rt_end(struct aml *a);
/* IO(Decode16, min, max, align, len) */
void aml_rt_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len);
/* IRQNoFlags() {irq}: ISA, edge, active high */
void aml_rt_irq_noflags(struct aml *a, unsigned irq);
/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, ...) */
void aml_rt_word_bus(struct aml *a, uint16_t min, uint16_t max);
/* WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange) */
void aml_rt_word_io(struct aml *a, uint16_t min, uint16_t max);
/* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, ...) */
void aml_rt_dword_mem(struct aml *a, uint32_t min, uint32_t max,
		      bool cacheable);
/* Memory32Fixed(ReadWrite or ReadOnly, base, len) */
void aml_rt_mem32_fixed(struct aml *a, uint32_t base, uint32_t len, bool rw);

#define AML_IRQ_EDGE		(1u << 1)
#define AML_IRQ_ACTIVE_LOW	(1u << 2)
#define AML_IRQ_SHARED		(1u << 3)
/* Interrupt(ResourceConsumer, flags...) {gsi}: extended descriptor */
void aml_rt_interrupt(struct aml *a, uint32_t gsi, unsigned flags);

#endif
