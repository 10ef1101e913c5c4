// SPDX-License-Identifier: MIT
#include "net/slirp_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define SLIRP_SONAME	"libslirp.so.0"

static struct slirp_lib slirp_lib;
static char slirp_lib_err[256];
static bool slirp_lib_ok;
static pthread_once_t slirp_lib_once = PTHREAD_ONCE_INIT;

/* Resolve one symbol into *fn; false with the reason in slirp_lib_err. */
static bool slirp_lib_sym(void *dl, const char *name, void *fn)
{
	void *p = dlsym(dl, name);

	if (!p) {
		snprintf(slirp_lib_err, sizeof(slirp_lib_err),
			 "%s has no %s: %s", SLIRP_SONAME, name, dlerror());
		return false;
	}
	*(void **)fn = p;
	return true;
}

static void slirp_lib_load(void)
{
	/* never closed: the library lives as long as the process */
	void *dl = dlopen(SLIRP_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!dl) {
		snprintf(slirp_lib_err, sizeof(slirp_lib_err),
			 "user-mode networking needs %s (Debian package libslirp0): %s",
			 SLIRP_SONAME, dlerror());
		return;
	}
	slirp_lib_ok = slirp_lib_sym(dl, "slirp_new", &slirp_lib.new) &&
		slirp_lib_sym(dl, "slirp_cleanup", &slirp_lib.cleanup) &&
		slirp_lib_sym(dl, "slirp_input", &slirp_lib.input) &&
		slirp_lib_sym(dl, "slirp_pollfds_fill",
			      &slirp_lib.pollfds_fill) &&
		slirp_lib_sym(dl, "slirp_pollfds_poll",
			      &slirp_lib.pollfds_poll) &&
		slirp_lib_sym(dl, "slirp_handle_timer",
			      &slirp_lib.handle_timer) &&
		slirp_lib_sym(dl, "slirp_add_hostfwd", &slirp_lib.add_hostfwd) &&
		slirp_lib_sym(dl, "slirp_state_save", &slirp_lib.state_save) &&
		slirp_lib_sym(dl, "slirp_state_load", &slirp_lib.state_load) &&
		slirp_lib_sym(dl, "slirp_state_version",
			      &slirp_lib.state_version);
}

const struct slirp_lib *slirp_lib_get(char *err, size_t errlen)
{
	pthread_once(&slirp_lib_once, slirp_lib_load);
	if (slirp_lib_ok)
		return &slirp_lib;
	snprintf(err, errlen, "%s", slirp_lib_err);
	return NULL;
}
