// SPDX-License-Identifier: MIT
#include "block/iscsi_lib.h"

#include <pthread.h>
#include <stdio.h>

#include "vmm/dynlib.h"

/* Debian's libiscsi7 (libiscsi 1.19's pkg-config) */
#define ISCSI_SONAME	"libiscsi.so.7"

static const struct dynlib_sym iscsi_lib_syms[] = {
#define ISCSI_LIB_SYM(member, name) \
	DYNLIB_SYM(struct iscsi_lib, member, name),
	ISCSI_LIB_SYMBOLS(ISCSI_LIB_SYM)
#undef ISCSI_LIB_SYM
};

static struct iscsi_lib iscsi_lib;
static char iscsi_lib_err[256];
static bool iscsi_lib_ok;
static pthread_once_t iscsi_lib_once = PTHREAD_ONCE_INIT;

static void iscsi_lib_load(void)
{
	iscsi_lib_ok = dynlib_open(ISCSI_SONAME, "an iSCSI disk", "libiscsi7",
				   iscsi_lib_syms,
				   sizeof(iscsi_lib_syms) /
					   sizeof(iscsi_lib_syms[0]),
				   &iscsi_lib, iscsi_lib_err,
				   sizeof(iscsi_lib_err));
}

const struct iscsi_lib *iscsi_lib_get(char *err, size_t errlen)
{
	pthread_once(&iscsi_lib_once, iscsi_lib_load);
	if (iscsi_lib_ok)
		return &iscsi_lib;
	snprintf(err, errlen, "%s", iscsi_lib_err);
	return NULL;
}
