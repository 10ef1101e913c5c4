// SPDX-License-Identifier: MIT
/*
 * virtio-balloon (virtio 1.2, 5.5): inflate and deflate queues of 4 KiB
 * page frame numbers, a statistics queue, and free page reporting. Every
 * PFN and reported range is checked against guest RAM before its host
 * memory is dropped. All queues are served by one thread.
 */
#include "virtio/balloon.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/virtio_pci.h"
#include "virtio/worker.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"
#include "vmm/bytes.h"


#define VIRTIO_BALLOON_F_STATS_VQ	1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM	2
#define VIRTIO_BALLOON_F_PAGE_REPORTING	5

#define BALLOON_PAGE_SHIFT	12
#define BALLOON_PAGE_SIZE	(1ULL << BALLOON_PAGE_SHIFT)
#define BALLOON_NR_QUEUES	4	/* inflate, deflate, stats, reporting */
#define BALLOON_STATS_PERIOD_MS	2000
#define PFN_BATCH		256

/* struct virtio_balloon_config, little-endian */
#define CFG_NUM_PAGES		0
#define CFG_ACTUAL		4
#define CFG_LEN			16

static const char *const stat_names[] = {
	"swap-in", "swap-out", "major-faults", "minor-faults",
	"free-memory", "total-memory", "available-memory", "disk-caches",
	"hugetlb-allocations", "hugetlb-failures",
};

struct virtio_balloon {
	struct virtio_dev vdev;
	uint8_t config[CFG_LEN];
	struct virtio_worker worker;
	int config_fd;		/* the driver wrote "actual" */
	int stats_q, report_q;	/* queue index, or -1 when not negotiated */
	bool stats_held;	/* we hold the guest's stats buffer */
	uint16_t stats_head;
	struct virtq_elem elem;

	pthread_mutex_t lock;	/* the fields below */
	uint64_t inflated, reported;	/* bytes released, cumulative */
	unsigned nr_stats;
	uint16_t stat_tag[BALLOON_MAX_STATS];
	uint64_t stat_val[BALLOON_MAX_STATS];
	void (*notify)(void *opaque, uint64_t actual);
	void *notify_opaque;
};

/* Drop the host memory behind [hva, hva+len) (page aligned inward). */
static void balloon_release(struct virtio_balloon *b, uint8_t *hva,
			    uint64_t len, uint64_t *counter)
{
	uintptr_t start = ((uintptr_t)hva + BALLOON_PAGE_SIZE - 1) &
			  ~(BALLOON_PAGE_SIZE - 1);
	uintptr_t end = ((uintptr_t)hva + len) & ~(BALLOON_PAGE_SIZE - 1);

	if (end <= start)
		return;
	if (madvise((void *)start, end - start, MADV_DONTNEED))
		log_limited(&b->vdev.dev.log, "virtio-balloon: madvise: %s",
			    strerror(errno));
	/* the pages read as zeros from now on: a write for translated code */
	guest_mem_code_written(b->vdev.env.mem, (void *)start, end - start);
	pthread_mutex_lock(&b->lock);
	*counter += end - start;
	pthread_mutex_unlock(&b->lock);
}

/* Inflate: each le32 is a guest PFN the driver no longer uses. */
static void balloon_inflate(struct virtio_balloon *b, struct virtq_elem *e)
{
	const struct guest_mem *mem = b->vdev.env.mem;
	uint8_t *run = NULL;
	uint64_t run_len = 0;
	uint32_t pfns[PFN_BATCH];
	size_t off = 0, n;

	while ((n = virtq_iov_to_buf(e->iov, e->nr_out, off, pfns,
				     sizeof(pfns)) / 4)) {
		for (size_t i = 0; i < n; i++) {
			uint64_t gpa = (uint64_t)le32toh(pfns[i]) <<
				       BALLOON_PAGE_SHIFT;
			uint8_t *hva = gpa_to_hva(mem, gpa, BALLOON_PAGE_SIZE);

			if (!hva) {
				log_limited(&b->vdev.dev.log,
					    "virtio-balloon: PFN %#x is not guest RAM; ignored",
					    le32toh(pfns[i]));
				continue;
			}
			if (run && run + run_len == hva) {
				run_len += BALLOON_PAGE_SIZE;
				continue;
			}
			if (run)
				balloon_release(b, run, run_len, &b->inflated);
			run = hva;
			run_len = BALLOON_PAGE_SIZE;
		}
		off += n * 4;
	}
	if (run)
		balloon_release(b, run, run_len, &b->inflated);
}

/* Free page reporting: the in buffers are free guest pages. */
static void balloon_report(struct virtio_balloon *b, struct virtq_elem *e)
{
	for (unsigned i = e->nr_out; i < e->nr_out + e->nr_in; i++)
		balloon_release(b, e->iov[i].iov_base, e->iov[i].iov_len,
				&b->reported);
}

/* A stats buffer: packed { le16 tag; le64 val; } entries. */
static void balloon_stats(struct virtio_balloon *b, struct virtq_elem *e)
{
	uint8_t ent[10];
	size_t off = 0;

	pthread_mutex_lock(&b->lock);
	b->nr_stats = 0;
	while (b->nr_stats < BALLOON_MAX_STATS &&
	       virtq_iov_to_buf(e->iov, e->nr_out, off, ent, sizeof(ent)) ==
	       sizeof(ent)) {
		uint64_t val;

		memcpy(&val, ent + 2, 8);
		b->stat_tag[b->nr_stats] = ent[0] | ent[1] << 8;
		b->stat_val[b->nr_stats++] = le64toh(val);
		off += sizeof(ent);
	}
	pthread_mutex_unlock(&b->lock);
}

static void balloon_queue(struct virtio_balloon *b, unsigned qi)
{
	struct virtio_queue *q = &b->vdev.queues[qi];
	int ret;

	if (!q->enabled)
		return;
	do {
		while ((ret = virtq_pop(&q->vq, &b->elem)) == 1) {
			if ((int)qi == b->stats_q) {
				/* Keep it: giving it back asks for new stats. */
				balloon_stats(b, &b->elem);
				if (b->stats_held)
					virtq_push_unwritten(&q->vq, b->stats_head);
				b->stats_head = b->elem.head;
				b->stats_held = true;
				continue;
			}
			if (qi == 0)
				balloon_inflate(b, &b->elem);
			else if ((int)qi == b->report_q)
				balloon_report(b, &b->elem);
			virtq_push(&q->vq, &b->elem, 0);
			virtio_queue_notify(&b->vdev, qi);
		}
	} while (ret == 0 && virtq_enable_notify(&q->vq));
}

static void balloon_config_event(struct virtio_balloon *b)
{
	void (*fn)(void *opaque, uint64_t actual);
	uint32_t actual;
	void *opaque;
	uint64_t v;

	if (read(b->config_fd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&b->vdev.lock);
	actual = get_le32(b->config + CFG_ACTUAL);
	pthread_mutex_unlock(&b->vdev.lock);
	/* Call without b->lock: the callee may ask for info meanwhile. */
	pthread_mutex_lock(&b->lock);
	fn = b->notify;
	opaque = b->notify_opaque;
	pthread_mutex_unlock(&b->lock);
	if (fn)
		fn(opaque, b->vdev.env.mem->ram_size -
		   ((uint64_t)actual << BALLOON_PAGE_SHIFT));
}

static uint64_t balloon_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void *balloon_thread(void *arg)
{
	struct virtio_balloon *b = arg;
	struct pollfd fds[BALLOON_NR_QUEUES + 2];
	unsigned nq = b->vdev.nr_queues;
	uint64_t last_stats = balloon_now_ns();

	for (unsigned i = 0; i < nq; i++)
		fds[i] = (struct pollfd){ .fd = b->vdev.queues[i].kick_fd,
					  .events = POLLIN };
	fds[nq] = (struct pollfd){ .fd = b->worker.stop_fd, .events = POLLIN };
	fds[nq + 1] = (struct pollfd){ .fd = b->config_fd, .events = POLLIN };
	for (unsigned i = 0; i < nq; i++)
		balloon_queue(b, i);
	for (;;) {
		int n = poll(fds, nq + 2, BALLOON_STATS_PERIOD_MS);

		if (n < 0 && errno != EINTR)
			break;
		if (fds[nq].revents)
			break;
		if (fds[nq + 1].revents)
			balloon_config_event(b);
		for (unsigned i = 0; i < nq; i++) {
			if (n > 0 && fds[i].revents) {
				virtio_kick_clear(&b->vdev.queues[i]);
				balloon_queue(b, i);
			}
		}
		if (b->stats_held &&
		    balloon_now_ns() - last_stats >=
		    BALLOON_STATS_PERIOD_MS * 1000000ULL) {
			struct virtio_queue *q = &b->vdev.queues[b->stats_q];

			last_stats = balloon_now_ns();
			b->stats_held = false;
			virtq_push_unwritten(&q->vq, b->stats_head);
			virtio_queue_notify(&b->vdev, b->stats_q);
		}
	}
	return NULL;
}

static int balloon_start(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = vdev->opaque;
	int next = 2;

	/* Optional queues are numbered in order, skipping absent ones. */
	b->stats_q = b->report_q = -1;
	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_STATS_VQ))
		b->stats_q = next++;
	if (virtio_has_feature(vdev, VIRTIO_BALLOON_F_PAGE_REPORTING))
		b->report_q = next++;
	b->stats_held = false;
	return virtio_worker_start(&b->worker, balloon_thread, b);
}

/*
 * For a snapshot the stats buffer we hold goes back to the guest (its
 * driver refills and resends it), so no request is in flight in the
 * saved state.
 */
static void balloon_stop(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = vdev->opaque;

	virtio_worker_stop(&b->worker);
	if (vdev->quiesced && b->stats_held) {
		struct virtio_queue *q = &vdev->queues[b->stats_q];

		b->stats_held = false;
		virtq_push_unwritten(&q->vq, b->stats_head);
		virtio_queue_notify(vdev, b->stats_q);
	}
}

/* vdev->lock held: only wake the thread, which reports without it. */
static void balloon_config_write(struct virtio_dev *vdev, unsigned off,
				 unsigned len)
{
	struct virtio_balloon *b = vdev->opaque;
	uint64_t one = 1;

	if (off < CFG_ACTUAL + 4 && off + len > CFG_ACTUAL &&
	    write(b->config_fd, &one, sizeof(one)) < 0)
		log_limited(&vdev->dev.log,
			    "virtio-balloon: config event lost");
}

static void balloon_destroy(struct virtio_dev *vdev)
{
	struct virtio_balloon *b = vdev->opaque;

	virtio_pci_destroy(&b->vdev);
	virtio_worker_destroy(&b->worker);
	close(b->config_fd);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* The config bytes hold the target and the guest's answer. */
static int balloon_save(struct virtio_dev *vdev, struct state_writer *w)
{
	struct virtio_balloon *b = vdev->opaque;

	pthread_mutex_lock(&vdev->lock);
	state_put_u32(w, get_le32(b->config + CFG_NUM_PAGES));
	state_put_u32(w, get_le32(b->config + CFG_ACTUAL));
	pthread_mutex_unlock(&vdev->lock);
	pthread_mutex_lock(&b->lock);
	state_put_u64(w, b->inflated);
	state_put_u64(w, b->reported);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int balloon_load(struct virtio_dev *vdev, struct state_reader *r)
{
	struct virtio_balloon *b = vdev->opaque;
	uint64_t pages = vdev->env.mem->ram_size >> BALLOON_PAGE_SHIFT;
	uint32_t num_pages, actual;
	int ret;

	ret = state_get_u32(r, &num_pages);
	ret = ret ?: state_get_u32(r, &actual);
	ret = ret ?: state_get_u64(r, &b->inflated);
	ret = ret ?: state_get_u64(r, &b->reported);
	if (ret)
		return ret;
	if (num_pages > pages || actual > pages)
		return state_fail(r, "virtio-balloon: %u pages asked, %u given "
				  "of %llu", num_pages, actual,
				  (unsigned long long)pages);
	put_le32(b->config + CFG_NUM_PAGES, num_pages);
	put_le32(b->config + CFG_ACTUAL, actual);
	return 0;
}

static const struct virtio_dev_ops balloon_ops = {
	.start = balloon_start,
	.stop = balloon_stop,
	.destroy = balloon_destroy,
	.config_write = balloon_config_write,
	.save = balloon_save,
	.load = balloon_load,
};

int virtio_balloon_set_target(struct virtio_balloon *b, uint64_t bytes)
{
	uint64_t ram = b->vdev.env.mem->ram_size;

	if (bytes > ram)
		return -EINVAL;
	pthread_mutex_lock(&b->vdev.lock);
	put_le32(b->config + CFG_NUM_PAGES,
		  (ram - bytes) >> BALLOON_PAGE_SHIFT);
	pthread_mutex_unlock(&b->vdev.lock);
	virtio_config_changed(&b->vdev);
	return 0;
}

void virtio_balloon_get_info(struct virtio_balloon *b,
			     struct balloon_info *info)
{
	uint64_t ram = b->vdev.env.mem->ram_size;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&b->vdev.lock);
	info->target_bytes = ram - ((uint64_t)get_le32(b->config + CFG_NUM_PAGES)
				    << BALLOON_PAGE_SHIFT);
	info->actual_bytes = ram - ((uint64_t)get_le32(b->config + CFG_ACTUAL)
				    << BALLOON_PAGE_SHIFT);
	pthread_mutex_unlock(&b->vdev.lock);
	pthread_mutex_lock(&b->lock);
	info->inflated_bytes = b->inflated;
	info->reported_bytes = b->reported;
	for (unsigned i = 0; i < b->nr_stats; i++) {
		if (b->stat_tag[i] >= sizeof(stat_names) / sizeof(stat_names[0]))
			continue;
		info->stats[info->nr_stats].name = stat_names[b->stat_tag[i]];
		info->stats[info->nr_stats++].value = b->stat_val[i];
	}
	pthread_mutex_unlock(&b->lock);
}

void virtio_balloon_set_notify(struct virtio_balloon *b,
			       void (*fn)(void *opaque, uint64_t actual),
			       void *opaque)
{
	pthread_mutex_lock(&b->lock);
	b->notify = fn;
	b->notify_opaque = opaque;
	pthread_mutex_unlock(&b->lock);
}

int virtio_balloon_create(const struct dev_env *env, bool page_reporting,
			  struct virtio_balloon **out)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	uint64_t features = 1ULL << VIRTIO_BALLOON_F_STATS_VQ |
			    1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM |
			    1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING;
	int ret = -ENOMEM;

	if (!page_reporting)
		features &= ~(1ULL << VIRTIO_BALLOON_F_PAGE_REPORTING);

	if (!b)
		goto err;
	pthread_mutex_init(&b->lock, NULL);
	ret = virtio_worker_init(&b->worker, "virtio-balloon");
	if (ret)
		goto err_lock;
	b->config_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->config_fd < 0) {
		ret = -errno;
		goto err_worker;
	}
	ret = virtio_pci_init(&b->vdev, env, "virtio-balloon", VIRTIO_ID_BALLOON,
			      PCI_CLASS_OTHERS, features, BALLOON_NR_QUEUES,
			      b->config, CFG_LEN, &balloon_ops, b);
	if (ret)
		goto err_config;
	*out = b;
	return 0;
err_config:
	close(b->config_fd);
err_worker:
	virtio_worker_destroy(&b->worker);
err_lock:
	pthread_mutex_destroy(&b->lock);
	free(b);
err:
	log_error("virtio-balloon: %s", strerror(-ret));
	return ret;
}

struct device *virtio_balloon_device(struct virtio_balloon *b)
{
	return &b->vdev.dev;
}
