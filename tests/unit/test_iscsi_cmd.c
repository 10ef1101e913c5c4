// SPDX-License-Identifier: MIT
/*
 * How a finished iSCSI command's status becomes an errno: a READ or WRITE
 * a target answers GOOD but short (residual underflow) is an I/O error,
 * not a buffer left partly as it was.
 */
#include <errno.h>
#include <string.h>

#include "block/iscsi_int.h"
#include "test.h"

static void test_status(void)
{
	struct scsi_task t;
	struct iscsi_cmd c = { .task = &t, .done = true };

	memset(&t, 0, sizeof(t));
	c.status = SCSI_STATUS_GOOD;
	CHECK_EQ(iscsi_cmd_errno(&c), 0);
	c.status = SCSI_STATUS_BUSY;
	CHECK_EQ(iscsi_cmd_errno(&c), -EAGAIN);
	c.status = SCSI_STATUS_RESERVATION_CONFLICT;
	CHECK_EQ(iscsi_cmd_errno(&c), -EBUSY);
	c.status = SCSI_STATUS_CHECK_CONDITION;
	t.sense.key = SCSI_SENSE_DATA_PROTECTION;
	CHECK_EQ(iscsi_cmd_errno(&c), -EROFS);
	c.done = false;
	CHECK_EQ(iscsi_cmd_errno(&c), -EAGAIN);
}

static void test_short_transfer(void)
{
	struct scsi_iovec v = { 0 };
	struct scsi_task t;
	struct iscsi_cmd c = { .task = &t, .done = true,
			       .status = SCSI_STATUS_GOOD };

	memset(&t, 0, sizeof(t));
	t.residual_status = SCSI_RESIDUAL_UNDERFLOW;
	t.residual = 512;
	/* INQUIRY and the like: less than the allocation length is normal */
	CHECK_EQ(iscsi_cmd_errno(&c), 0);
	/* a READ that got 512 bytes fewer than it asked for */
	c.iovs = &v;
	c.niov = 1;
	CHECK_EQ(iscsi_cmd_errno(&c), -EIO);
	t.residual_status = SCSI_RESIDUAL_OVERFLOW;
	CHECK_EQ(iscsi_cmd_errno(&c), 0);
}

int main(void)
{
	RUN(test_status);
	RUN(test_short_transfer);
	return test_summary();
}
