// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the virtio-net packet paths: the input becomes a
 * guest's RAM (rings, descriptor table, buffers); the device takes every
 * transmit chain through net_tx_get (malformed and oversized chains must
 * be refused) and then puts frames of input-chosen sizes, up to 64 KiB,
 * into the same ring as receive buffers. Not built by default:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 \
 *	-D_GNU_SOURCE -Isrc -o build/net_fuzz tests/fuzz/net_fuzz.c \
 *	src/virtio/net_io.c src/virtio/virtqueue.c src/vmm/guest_mem.c \
 *	src/vmm/log.c
 *   ./build/net_fuzz -max_len=65536 -runs=1000000
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "net/net.h"
#include "virtio/net_int.h"
#include "ring_fuzz.h"

#define RAM_SIZE	0x20000
#define AVAIL_GPA	0x8000
#define USED_GPA	0x9000

static struct guest_mem mem;
static struct virtq_elem elem;
static struct virtq_elem elems[NET_RX_MAX_BUFS];
static uint8_t txhdr[NET_HDR_LEN];
static uint8_t frame[NET_MAX_FRAME];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtq vq = { 0 };
	uint8_t hdr[NET_HDR_LEN] = { 0 };
	uint16_t qsize, start;
	size_t flen;
	bool event_idx, mrg, raw;

	if (!mem.nr_regions && guest_mem_init(&mem, RAM_SIZE, NULL))
		return 0;
	if (size < 3)
		return 0;
	/*
	 * byte 0: log2 queue size, event idx, mrg, raw backend; bytes 1-2:
	 * receive frame length; then the avail ring; the rest is RAM from 0.
	 */
	qsize = 1u << (data[0] % 9);
	event_idx = data[0] & 0x80;
	mrg = data[0] & 0x40;
	raw = data[0] & 0x20;
	flen = (data[1] | data[2] << 8) % (NET_MAX_FRAME - NET_HDR_LEN + 1);
	data += 3;
	size -= 3;
	fuzz_ring_ram(&mem, RAM_SIZE, AVAIL_GPA, qsize, data, size);
	if (virtq_setup(&vq, &mem, qsize, 0x0, AVAIL_GPA, USED_GPA,
			event_idx))
		return 0;
	/* transmit: each pop consumes one avail entry, at most qsize */
	for (unsigned i = 0; i <= qsize; i++) {
		ssize_t len;

		if (virtq_pop(&vq, &elem) != 1)
			break;
		len = net_tx_get(NULL, &elem, raw, txhdr);
		if (len > NET_MAX_FRAME || (len >= 0 && len < NET_HDR_LEN))
			__builtin_trap();
		virtq_push(&vq, &elem, 0);
	}
	/* receive: the same ring read as writable buffers */
	virtq_reset(&vq);
	if (virtq_setup(&vq, &mem, qsize, 0x0, AVAIL_GPA, USED_GPA,
			event_idx))
		return 0;
	for (unsigned i = 0; i <= qsize; i++) {
		int ret;

		start = vq.last_avail;
		ret = net_rx_put(&vq, elems, mrg, hdr, frame, flen);
		if (ret == -EAGAIN && vq.last_avail != start)
			__builtin_trap();
		if (ret <= 0)
			break;
		if (!mrg && ret != 1)
			__builtin_trap();
	}
	return 0;
}
