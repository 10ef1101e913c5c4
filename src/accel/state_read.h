/* SPDX-License-Identifier: MIT */
/*
 * Reads from a state section that keep the first error: the accelerators'
 * sections are long fixed layouts, read field by field and checked once
 * at the end (a short section reads as zeros from its end on, and err
 * says so; sread_error names the problem). The values are untrusted: the caller validates them before it
 * applies any.
 */
#ifndef CVISOR_ACCEL_STATE_READ_H
#define CVISOR_ACCEL_STATE_READ_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vmm/state.h"

static inline uint8_t sread_u8(struct state_reader *r, int *err)
{
	uint8_t v = 0;

	if (!*err)
		*err = state_get_u8(r, &v);
	return *err ? 0 : v;
}

static inline uint16_t sread_u16(struct state_reader *r, int *err)
{
	uint16_t v = 0;

	if (!*err)
		*err = state_get_u16(r, &v);
	return *err ? 0 : v;
}

static inline uint32_t sread_u32(struct state_reader *r, int *err)
{
	uint32_t v = 0;

	if (!*err)
		*err = state_get_u32(r, &v);
	return *err ? 0 : v;
}

static inline uint64_t sread_u64(struct state_reader *r, int *err)
{
	uint64_t v = 0;

	if (!*err)
		*err = state_get_u64(r, &v);
	return *err ? 0 : v;
}

static inline void sread(struct state_reader *r, void *buf, size_t len,
			 int *err)
{
	if (!*err)
		*err = state_get(r, buf, len);
	if (*err)
		memset(buf, 0, len);
}

/* A flag: 0 or 1, anything else makes err -ERANGE. */
static inline bool sread_bool(struct state_reader *r, int *err)
{
	uint8_t v = sread_u8(r, err);

	if (v > 1 && !*err)
		*err = -ERANGE;
	return v == 1;
}

/* What went wrong in a run of reads, for state_fail. */
static inline const char *sread_error(int err)
{
	return err == -ERANGE ? "a flag is neither 0 nor 1" :
	       "section too short";
}

/*
 * A segment register on the wire (23 bytes), one layout for both
 * accelerators: base u64, limit u32, selector u16, then u8 type, present,
 * dpl, db, s, l, g, avl, unusable. Macros, since KVM's struct kvm_segment
 * and the emulator's struct x86_segment have the same fields.
 */
#define STATE_PUT_SEGMENT(w, seg)					\
	do {								\
		state_put_u64(w, (seg)->base);				\
		state_put_u32(w, (seg)->limit);				\
		state_put_u16(w, (seg)->selector);			\
		state_put_u8(w, (seg)->type);				\
		state_put_u8(w, (seg)->present);			\
		state_put_u8(w, (seg)->dpl);				\
		state_put_u8(w, (seg)->db);				\
		state_put_u8(w, (seg)->s);				\
		state_put_u8(w, (seg)->l);				\
		state_put_u8(w, (seg)->g);				\
		state_put_u8(w, (seg)->avl);				\
		state_put_u8(w, (seg)->unusable);			\
	} while (0)

#define SREAD_SEGMENT(r, seg, err)					\
	do {								\
		(seg)->base = sread_u64(r, err);			\
		(seg)->limit = sread_u32(r, err);			\
		(seg)->selector = sread_u16(r, err);			\
		(seg)->type = sread_u8(r, err);				\
		(seg)->present = sread_bool(r, err);			\
		(seg)->dpl = sread_u8(r, err);				\
		(seg)->db = sread_bool(r, err);				\
		(seg)->s = sread_bool(r, err);				\
		(seg)->l = sread_bool(r, err);				\
		(seg)->g = sread_bool(r, err);				\
		(seg)->avl = sread_bool(r, err);			\
		(seg)->unusable = sread_bool(r, err);			\
	} while (0)

#endif
