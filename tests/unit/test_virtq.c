// SPDX-License-Identifier: MIT
/*
 * Virtqueue parser against hand-built rings in a small guest RAM, most of
 * them hostile. Every bad ring must end in -EIO with the queue broken and
 * the error callback called once, never a crash (run under ASan/UBSan).
 */
#include <errno.h>
#include <string.h>

#include "test.h"
#include "virtio/virtqueue.h"

#define RAM_SIZE	(1u << 20)
#define QSIZE		16
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define BUF_GPA		0x10000
#define IND_GPA		0x8000

static struct guest_mem mem;
static struct virtq vq;
static int errors;

static void on_error(void *opaque)
{
	(*(int *)opaque)++;
}

static struct virtq_desc *desc(unsigned i)
{
	return (struct virtq_desc *)gpa_to_hva(&mem, DESC_GPA, 16 * QSIZE) + i;
}

static uint16_t *avail(void)
{
	return gpa_to_hva(&mem, AVAIL_GPA, 6 + 2 * QSIZE);
}

static uint16_t *used(void)
{
	return gpa_to_hva(&mem, USED_GPA, 6 + 8 * QSIZE);
}

static void set_desc(struct virtq_desc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Fresh RAM and queue; publish one chain starting at head 0. */
static void setup(bool event_idx)
{
	guest_mem_destroy(&mem);
	CHECK_EQ(guest_mem_init(&mem, RAM_SIZE, NULL), 0);
	errors = 0;
	memset(&vq, 0, sizeof(vq));
	vq.on_error = on_error;
	vq.err_opaque = &errors;
	CHECK_EQ(virtq_setup(&vq, &mem, QSIZE, DESC_GPA, AVAIL_GPA, USED_GPA,
			     event_idx), 0);
}

static void publish(uint16_t head)
{
	uint16_t *a = avail();

	a[2 + a[1] % QSIZE] = head;
	a[1]++;
}

static void expect_broken(void)
{
	struct virtq_elem e;

	CHECK_EQ(virtq_pop(&vq, &e), -EIO);
	CHECK(vq.broken);
	CHECK_EQ(errors, 1);
	/* stays broken, no second callback */
	CHECK_EQ(virtq_pop(&vq, &e), -EIO);
	CHECK_EQ(errors, 1);
}

static void test_round_trip(void)
{
	struct virtq_elem e;

	setup(false);
	set_desc(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc(1), BUF_GPA + 0x1000, 512, VIRTQ_DESC_F_WRITE, 0);
	CHECK_EQ(virtq_pop(&vq, &e), 0);
	publish(0);
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	CHECK_EQ(e.head, 0);
	CHECK_EQ(e.nr_out, 1);
	CHECK_EQ(e.nr_in, 1);
	CHECK_EQ(e.out_len, 16);
	CHECK_EQ(e.in_len, 512);
	CHECK(e.iov[0].iov_base == gpa_to_hva(&mem, BUF_GPA, 16));
	CHECK(e.iov[1].iov_base == gpa_to_hva(&mem, BUF_GPA + 0x1000, 512));
	CHECK_EQ(virtq_pop(&vq, &e), 0);
	virtq_push(&vq, &e, 512);
	CHECK_EQ(used()[1], 1);
	CHECK_EQ(used()[2], 0);		/* id */
	CHECK_EQ(used()[4], 512);	/* len */
	CHECK(virtq_should_notify(&vq));
	avail()[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	CHECK(!virtq_should_notify(&vq));
	CHECK_EQ(errors, 0);
}

static void test_setup_rejects(void)
{
	struct virtq q = { 0 };

	guest_mem_destroy(&mem);
	CHECK_EQ(guest_mem_init(&mem, RAM_SIZE, NULL), 0);
	CHECK_EQ(virtq_setup(&q, &mem, 0, DESC_GPA, AVAIL_GPA, USED_GPA, 0),
		 -EINVAL);
	CHECK_EQ(virtq_setup(&q, &mem, 12, DESC_GPA, AVAIL_GPA, USED_GPA, 0),
		 -EINVAL);
	CHECK_EQ(virtq_setup(&q, &mem, 1024, DESC_GPA, AVAIL_GPA, USED_GPA,
			     0), -EINVAL);
	CHECK_EQ(virtq_setup(&q, &mem, QSIZE, DESC_GPA + 8, AVAIL_GPA,
			     USED_GPA, 0), -EINVAL);
	CHECK_EQ(virtq_setup(&q, &mem, QSIZE, DESC_GPA, AVAIL_GPA,
			     RAM_SIZE - 8, 0), -EINVAL);
	CHECK_EQ(virtq_setup(&q, &mem, QSIZE, 0xfffffffffffffff0ULL,
			     AVAIL_GPA, USED_GPA, 0), -EINVAL);
	CHECK(!q.ready);
}

static void test_addr_outside_ram(void)
{
	setup(false);
	set_desc(desc(0), 0xfffffffffff0ULL, 16, 0, 0);
	publish(0);
	expect_broken();
}

static void test_huge_len(void)
{
	setup(false);
	set_desc(desc(0), BUF_GPA, 0xffffffffu, VIRTQ_DESC_F_WRITE, 0);
	publish(0);
	expect_broken();
}

static void test_wrapping_addr(void)
{
	setup(false);
	set_desc(desc(0), 0xffffffffffffff00ULL, 0x200, 0, 0);
	publish(0);
	expect_broken();
}

static void test_loop(void)
{
	setup(false);
	set_desc(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc(1), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	publish(0);
	expect_broken();
}

static void test_self_loop(void)
{
	setup(false);
	set_desc(desc(3), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 3);
	publish(3);
	expect_broken();
}

static void test_next_out_of_range(void)
{
	setup(false);
	set_desc(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	publish(0);
	expect_broken();
}

static void test_head_out_of_range(void)
{
	setup(false);
	publish(0xffff);
	expect_broken();
}

static void test_avail_jump(void)
{
	setup(false);
	set_desc(desc(0), BUF_GPA, 16, 0, 0);
	avail()[1] = QSIZE + 1;
	expect_broken();
}

static void test_read_after_write(void)
{
	setup(false);
	set_desc(desc(0), BUF_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
		 1);
	set_desc(desc(1), BUF_GPA, 16, 0, 0);
	publish(0);
	expect_broken();
}

static void test_zero_length(void)
{
	struct virtq_elem e;

	setup(false);
	set_desc(desc(0), BUF_GPA, 0, VIRTQ_DESC_F_WRITE, 0);
	publish(0);
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	CHECK_EQ(e.in_len, 0);
	/* a zero-length buffer outside RAM is still outside RAM */
	set_desc(desc(1), 0xfffffffff000ULL, 0, 0, 0);
	publish(1);
	expect_broken();
}

static void test_indirect(void)
{
	struct virtq_desc *t;
	struct virtq_elem e;

	setup(false);
	t = gpa_to_hva(&mem, IND_GPA, 64);
	set_desc(&t[0], BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&t[1], BUF_GPA + 16, 4096, VIRTQ_DESC_F_NEXT, 2);
	set_desc(&t[2], BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	set_desc(desc(0), IND_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	CHECK_EQ(e.nr_out, 2);
	CHECK_EQ(e.nr_in, 1);
	CHECK_EQ(e.out_len, 16 + 4096);
	CHECK_EQ(errors, 0);
}

static void test_indirect_outside_ram(void)
{
	setup(false);
	set_desc(desc(0), RAM_SIZE - 16, 64, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken();
}

static void test_indirect_bad_len(void)
{
	setup(false);
	set_desc(desc(0), IND_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken();
	setup(false);
	set_desc(desc(0), IND_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken();
	setup(false);
	set_desc(desc(0), IND_GPA, 0x10000 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken();
}

static void test_indirect_nested_and_loop(void)
{
	struct virtq_desc *t;

	setup(false);
	t = gpa_to_hva(&mem, IND_GPA, 64);
	set_desc(&t[0], IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(desc(0), IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken();

	setup(false);
	t = gpa_to_hva(&mem, IND_GPA, 64);
	set_desc(&t[0], BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&t[1], BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	set_desc(desc(0), IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken();

	setup(false);
	set_desc(desc(0), IND_GPA, 32,
		 VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	publish(0);
	expect_broken();
}

static void test_max_chain(void)
{
	struct virtq_elem e;

	/* a full-length chain through every descriptor is fine */
	setup(false);
	for (unsigned i = 0; i < QSIZE; i++)
		set_desc(desc(i), BUF_GPA, 8,
			 i < QSIZE - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
	publish(0);
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	CHECK_EQ(e.nr_out, QSIZE);
	CHECK_EQ(errors, 0);
}

static void test_event_idx(void)
{
	struct virtq_elem e;
	uint16_t *used_event, *avail_event;

	setup(true);
	used_event = &avail()[2 + QSIZE];
	avail_event = &used()[2 + 4 * QSIZE];
	for (unsigned i = 0; i < 4; i++) {
		set_desc(desc(i), BUF_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
		publish(i);
	}
	*used_event = 2;	/* interrupt once used idx passes 2 */
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	virtq_push(&vq, &e, 8);
	CHECK(virtq_should_notify(&vq));	/* first one always */
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	virtq_push(&vq, &e, 8);
	CHECK(!virtq_should_notify(&vq));	/* used idx 2 */
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	virtq_push(&vq, &e, 8);
	CHECK(virtq_should_notify(&vq));	/* used idx 3 passed 2 */
	CHECK(virtq_enable_notify(&vq));	/* one chain still there */
	CHECK_EQ(*avail_event, 3);
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	CHECK(!virtq_enable_notify(&vq));
	CHECK_EQ(*avail_event, 4);
	CHECK_EQ(errors, 0);
}

/*
 * A device's writes into pages translated code was made from end their
 * code generation (guest_mem.h) before the guest sees the chain used:
 * its in buffers' pages and the used ring's; an out buffer's page keeps
 * its generation.
 */
static void test_code_written(void)
{
	const uint32_t code = GUEST_CODE_SET | GUEST_CODE_SEEN |
			      5 << GUEST_CODE_ASK_SHIFT;
	const uint32_t ended = 5 << GUEST_CODE_ASK_SHIFT;
	struct virtq_elem e;

	setup(false);
	CHECK_EQ(guest_mem_code_start(&mem), 0);
	set_desc(desc(0), BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc(1), BUF_GPA + 0x1ffc, 8, VIRTQ_DESC_F_WRITE, 0);
	publish(0);
	for (unsigned pg = 0; pg < RAM_SIZE >> 12; pg++)
		mem.code[pg] = code;
	CHECK_EQ(virtq_pop(&vq, &e), 1);
	CHECK_EQ(mem.code[BUF_GPA >> 12], code);
	CHECK_EQ(mem.code[(BUF_GPA >> 12) + 2], code);
	virtq_push(&vq, &e, 8);
	CHECK_EQ(mem.code[BUF_GPA >> 12], code);	/* read by the device */
	CHECK_EQ(mem.code[(BUF_GPA >> 12) + 1], ended);
	CHECK_EQ(mem.code[(BUF_GPA >> 12) + 2], ended);
	CHECK_EQ(mem.code[USED_GPA >> 12], ended);
	CHECK_EQ(mem.code[DESC_GPA >> 12], code);
	CHECK_EQ(errors, 0);
	guest_mem_code_stop(&mem);
}

static void test_iov_copy(void)
{
	struct iovec iov[3];
	char a[4], b[3], c[5], out[12];

	iov[0] = (struct iovec){ a, sizeof(a) };
	iov[1] = (struct iovec){ b, sizeof(b) };
	iov[2] = (struct iovec){ c, sizeof(c) };
	CHECK_EQ(virtq_buf_to_iov(iov, 3, 2, "abcdefghijk", 11), 10);
	CHECK_EQ(virtq_iov_to_buf(iov, 3, 2, out, sizeof(out)), 10);
	CHECK(memcmp(out, "abcdefghij", 10) == 0);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_setup_rejects);
	RUN(test_addr_outside_ram);
	RUN(test_huge_len);
	RUN(test_wrapping_addr);
	RUN(test_loop);
	RUN(test_self_loop);
	RUN(test_next_out_of_range);
	RUN(test_head_out_of_range);
	RUN(test_avail_jump);
	RUN(test_read_after_write);
	RUN(test_zero_length);
	RUN(test_indirect);
	RUN(test_indirect_outside_ram);
	RUN(test_indirect_bad_len);
	RUN(test_indirect_nested_and_loop);
	RUN(test_max_chain);
	RUN(test_event_idx);
	RUN(test_code_written);
	RUN(test_iov_copy);
	guest_mem_destroy(&mem);
	return test_summary();
}
