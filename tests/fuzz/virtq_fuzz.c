// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the virtqueue parser: the input becomes a guest's
 * RAM (rings, descriptors, indirect tables, indices) and the device pops
 * and pushes until the ring is empty or broken. Not built by default:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 \
 *	-D_GNU_SOURCE -Isrc -o build/virtq_fuzz tests/fuzz/virtq_fuzz.c \
 *	src/virtio/virtqueue.c src/vmm/guest_mem.c src/vmm/log.c
 *   ./build/virtq_fuzz -max_len=65536 -runs=1000000
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "virtio/virtqueue.h"
#include "ring_fuzz.h"

#define RAM_SIZE	0x10000
#define AVAIL_GPA	0x8000
#define USED_GPA	0x9000

static struct guest_mem mem;
static struct virtq_elem elem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtq vq = { 0 };
	uint16_t qsize;
	bool event_idx;

	if (!mem.nr_regions && guest_mem_init(&mem, RAM_SIZE, NULL))
		return 0;
	if (size < 1)
		return 0;
	/*
	 * byte 0: log2 of the queue size and event idx; then the avail ring
	 * (flags, idx, entries, used_event); the rest is RAM from 0, where
	 * the descriptor table and any indirect tables live.
	 */
	qsize = 1u << (data[0] % 9);
	event_idx = data[0] & 0x80;
	data++;
	size--;
	fuzz_ring_ram(&mem, RAM_SIZE, AVAIL_GPA, qsize, data, size);
	if (virtq_setup(&vq, &mem, qsize, 0x0, AVAIL_GPA, USED_GPA,
			event_idx))
		return 0;
	/* bounded: each pop consumes one avail entry, at most qsize */
	for (unsigned i = 0; i <= qsize; i++) {
		if (virtq_pop(&vq, &elem) != 1)
			break;
		if (elem.nr_in)
			memset(elem.iov[elem.nr_out].iov_base, 0xa5,
			       elem.iov[elem.nr_out].iov_len);
		virtq_push(&vq, &elem, elem.in_len);
		virtq_should_notify(&vq);
	}
	virtq_enable_notify(&vq);
	return 0;
}
