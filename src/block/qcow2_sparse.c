// SPDX-License-Identifier: MIT
/*
 * Holes in the image file under allocated clusters. qemu-img looks for them
 * only when the file holds clearly fewer blocks than the image has clusters
 * in use (its test for a preallocated image); then holes read as zeroes in
 * map, measure and convert. Doing the same keeps cvisor's answers equal to
 * qemu-img's, and a conversion of such an image sparse.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/qcow2_int.h"

static bool file_is_sparse(struct qcow2 *s)
{
	uint64_t real, threshold, used = 0, end, rc;
	struct stat st;

	if (s->sparse_checked)
		return s->sparse;
	s->sparse_checked = true;
	if (fstat(s->fd, &st) < 0)
		return false;
	real = (uint64_t)st.st_blocks * 512 / s->cluster_size;
	threshold = real * 10 / 9 > real + 2 ? real * 10 / 9 : real + 2;
	end = qcow2_align_up((uint64_t)st.st_size, s->cluster_size) >>
	      s->cluster_bits;
	/* stops at the threshold: a long scan only for images that pass */
	for (uint64_t c = 0; c < end && used < threshold; c++) {
		if (qcow2_get_refcount(s, c, &rc))
			return false;
		used += rc != 0;
	}
	s->sparse = used >= threshold;
	return s->sparse;
}

int qcow2_host_hole(struct qcow2 *s, uint64_t host, uint64_t *pnum)
{
	off_t data, hole;
	struct stat st;

	if (!file_is_sparse(s) || fstat(s->fd, &st) < 0)
		return 0;
	if (host >= (uint64_t)st.st_size)
		return 1; /* past the end of the file: reads as zeroes */
	data = lseek(s->fd, (off_t)host, SEEK_DATA);
	if (data < 0)
		return errno == ENXIO; /* a hole up to the end of the file */
	if ((uint64_t)data > host) {
		if ((uint64_t)data - host < *pnum)
			*pnum = (uint64_t)data - host;
		return 1;
	}
	hole = lseek(s->fd, (off_t)host, SEEK_HOLE);
	if (hole > data && (uint64_t)hole - host < *pnum)
		*pnum = (uint64_t)hole - host;
	return 0;
}
