/* SPDX-License-Identifier: MIT */
/*
 * The VM state stream: what a snapshot's state file holds and what live
 * migration sends. A stream is a header (magic, format version) followed by
 * typed sections; each section names its owner ("cpu0", "uart0", ...),
 * carries the owner's own format version, its payload length and a CRC-32
 * of the payload, so a reader can skip what it does not need and refuse
 * what it does not know. docs/snapshot.md describes the bytes.
 *
 * Writers build a section in memory (state_section_begin, state_put*,
 * state_section_end) and the stream writes it out whole. Readers get one
 * section at a time; every state_get* is bounded by the section's length,
 * so a short or corrupt payload is an error, never an overread. Values are
 * little-endian on the wire.
 */
#ifndef CVISOR_VMM_STATE_H
#define CVISOR_VMM_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STATE_MAGIC		"CVISORST"	/* 8 bytes */
#define STATE_FORMAT_VERSION	1
#define STATE_NAME_MAX		32		/* including the NUL */
/* No section is larger than this: a corrupt length cannot allocate more. */
#define STATE_SECTION_MAX	(64u << 20)

struct state_writer;
struct state_reader;

/* A writer that appends to the open file f (not closed by the writer). */
struct state_writer *state_writer_create(FILE *f);
/* The first error any call met so far (negative errno), or 0. */
int state_writer_error(const struct state_writer *w);
/* Flushes; returns 0 or the first error any call met (negative errno). */
int state_writer_finish(struct state_writer *w);
void state_writer_destroy(struct state_writer *w);

/*
 * Start a section owned by name (printf-style), in the owner's format
 * version. Sections do not nest.
 */
void state_section_begin(struct state_writer *w, uint32_t version,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void state_put(struct state_writer *w, const void *buf, size_t len);
void state_put_u8(struct state_writer *w, uint8_t v);
void state_put_u16(struct state_writer *w, uint16_t v);
void state_put_u32(struct state_writer *w, uint32_t v);
void state_put_u64(struct state_writer *w, uint64_t v);
/* Write the section out; errors are kept for state_writer_finish. */
void state_section_end(struct state_writer *w);

/*
 * A reader over the open file f. Checks the header: -EINVAL with a message
 * in err for a file that is not a state stream, -EPROTONOSUPPORT for
 * another format version. Returns NULL on error.
 */
struct state_reader *state_reader_create(FILE *f, char *err, size_t errlen);
void state_reader_destroy(struct state_reader *r);

/*
 * Read the next section. Returns 1 with its name and version, 0 at the
 * end of the stream, or a negative errno (truncated, bad checksum, too
 * large) with a message in state_reader_error(r).
 */
int state_next_section(struct state_reader *r, const char **name,
		       uint32_t *version);
/* Bounded reads from the current section: -EBADMSG past its end. */
int state_get(struct state_reader *r, void *buf, size_t len);
int state_get_u8(struct state_reader *r, uint8_t *v);
int state_get_u16(struct state_reader *r, uint16_t *v);
int state_get_u32(struct state_reader *r, uint32_t *v);
int state_get_u64(struct state_reader *r, uint64_t *v);
/* Bytes of the current section not read yet. */
size_t state_remaining(const struct state_reader *r);
/*
 * Record why loading failed (printf-style); the first message wins.
 * Returns -EBADMSG so a load function can `return state_fail(r, ...)`.
 */
int state_fail(struct state_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *state_reader_error(const struct state_reader *r);

#endif
