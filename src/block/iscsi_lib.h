/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_BLOCK_ISCSI_LIB_H
#define CVISOR_BLOCK_ISCSI_LIB_H

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <stddef.h>

/*
 * libiscsi, opened when the first iscsi:// disk opens rather than linked
 * (src/vmm/dynlib.h): it and the RDMA libraries it pulls in (libibverbs,
 * librdmacm, libnl) are resident in every VMM when linked
 * (bench/emu_rss.sh). `cvisor run` opens it before its seccomp filter
 * when a disk is a URL; `cvisor img` on first use.
 *
 * The functions the driver calls, as (member, libiscsi's name).
 */
#define ISCSI_LIB_SYMBOLS(X)						\
	X(create_context, iscsi_create_context)				\
	X(destroy_context, iscsi_destroy_context)			\
	X(get_error, iscsi_get_error)					\
	X(get_fd, iscsi_get_fd)						\
	X(which_events, iscsi_which_events)				\
	X(service, iscsi_service)					\
	X(set_noautoreconnect, iscsi_set_noautoreconnect)		\
	X(set_targetname, iscsi_set_targetname)				\
	X(set_session_type, iscsi_set_session_type)			\
	X(set_header_digest, iscsi_set_header_digest)			\
	X(set_initiator_username_pwd, iscsi_set_initiator_username_pwd)	\
	X(full_connect_async, iscsi_full_connect_async)			\
	X(logout_async, iscsi_logout_async)				\
	X(testunitready_task, iscsi_testunitready_task)			\
	X(inquiry_task, iscsi_inquiry_task)				\
	X(readcapacity10_task, iscsi_readcapacity10_task)		\
	X(readcapacity16_task, iscsi_readcapacity16_task)		\
	X(read16_iov_task, iscsi_read16_iov_task)			\
	X(write16_iov_task, iscsi_write16_iov_task)			\
	X(synchronizecache10_task, iscsi_synchronizecache10_task)	\
	X(synchronizecache16_task, iscsi_synchronizecache16_task)	\
	X(unmap_task, iscsi_unmap_task)					\
	X(writesame16_task, iscsi_writesame16_task)			\
	X(get_lba_status_task, iscsi_get_lba_status_task)		\
	X(datain_unmarshall, scsi_datain_unmarshall)			\
	X(free_scsi_task, scsi_free_scsi_task)

struct iscsi_lib {
#define ISCSI_LIB_MEMBER(member, name) __typeof__(name) *member;
	ISCSI_LIB_SYMBOLS(ISCSI_LIB_MEMBER)
#undef ISCSI_LIB_MEMBER
};

/* The loaded library, or NULL with one line in err. Thread-safe. */
const struct iscsi_lib *iscsi_lib_get(char *err, size_t errlen);

#endif
