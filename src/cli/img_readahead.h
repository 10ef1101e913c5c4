/* SPDX-License-Identifier: MIT */
/*
 * An image read front to back on a thread of its own, a few chunks ahead of
 * the caller: "img convert" writes one chunk while the next is read (and,
 * for compressed formats, inflated), as the two would otherwise take turns.
 */
#ifndef CVISOR_CLI_IMG_READAHEAD_H
#define CVISOR_CLI_IMG_READAHEAD_H

#include <stdbool.h>
#include <stdint.h>

struct block_dev;
struct readahead;

struct ra_chunk {
	uint64_t off, len;
	bool zero;    /* block_status says it reads as zeroes: buf unused */
	uint8_t *buf; /* len bytes of data, in a buffer of bufsize bytes */
};

/*
 * Starts reading dev in chunks of at most chunk (<= bufsize) bytes; a run
 * of zeroes is one chunk, cut to a multiple of align unless it reaches the
 * end. 0 or -errno.
 */
int readahead_start(struct readahead **out, struct block_dev *dev,
		    size_t chunk, uint64_t align, size_t bufsize);
/*
 * The next chunk in order: 1 and *ch, 0 after the last, or the read's
 * error (-errno). The chunk is the caller's until released.
 */
int readahead_next(struct readahead *r, struct ra_chunk **ch);
/* Gives back the oldest chunk the caller holds, for the reader to reuse. */
void readahead_release(struct readahead *r);
/* Stops the reader (where it is) and frees everything. */
void readahead_stop(struct readahead *r);

#endif
