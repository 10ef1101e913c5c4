// SPDX-License-Identifier: MIT
#include "ui/vnc_lib.h"

#include "vmm/dynlib.h"

/* Debian's libvncserver1 (libvncserver 0.9.14's pkg-config) */
#define VNC_SONAME	"libvncserver.so.1"

static const struct dynlib_sym vnc_lib_syms[] = {
#define VNC_LIB_SYM(member, name) \
	DYNLIB_SYM(struct vnc_lib, member, name),
	VNC_LIB_SYMBOLS(VNC_LIB_SYM)
#undef VNC_LIB_SYM
};

static struct vnc_lib vnc_lib;
static struct dynlib vnc_lib_dl =
	DYNLIB_INIT(VNC_SONAME, "--vnc", "libvncserver1", vnc_lib_syms,
		    &vnc_lib);

const struct vnc_lib *vnc_lib_get(char *err, size_t errlen)
{
	return dynlib_get(&vnc_lib_dl, err, errlen);
}
