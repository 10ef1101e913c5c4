// SPDX-License-Identifier: MIT
#include "block/iscsi_lib.h"

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
static struct dynlib iscsi_lib_dl =
	DYNLIB_INIT(ISCSI_SONAME, "an iSCSI disk", "libiscsi7", iscsi_lib_syms,
		    &iscsi_lib);

const struct iscsi_lib *iscsi_lib_get(char *err, size_t errlen)
{
	return dynlib_get(&iscsi_lib_dl, err, errlen);
}
