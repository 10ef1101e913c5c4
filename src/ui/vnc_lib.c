// SPDX-License-Identifier: MIT
#include "ui/vnc_lib.h"

#include <pthread.h>
#include <stdio.h>

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
static char vnc_lib_err[256];
static bool vnc_lib_ok;
static pthread_once_t vnc_lib_once = PTHREAD_ONCE_INIT;

static void vnc_lib_load(void)
{
	vnc_lib_ok = dynlib_open(VNC_SONAME, "--vnc", "libvncserver1",
				 vnc_lib_syms,
				 sizeof(vnc_lib_syms) / sizeof(vnc_lib_syms[0]),
				 &vnc_lib, vnc_lib_err, sizeof(vnc_lib_err));
}

const struct vnc_lib *vnc_lib_get(char *err, size_t errlen)
{
	pthread_once(&vnc_lib_once, vnc_lib_load);
	if (vnc_lib_ok)
		return &vnc_lib;
	snprintf(err, errlen, "%s", vnc_lib_err);
	return NULL;
}
