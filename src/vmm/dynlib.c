// SPDX-License-Identifier: MIT
#include "vmm/dynlib.h"

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

bool dynlib_open(const char *soname, const char *what, const char *pkg,
		 const struct dynlib_sym *syms, size_t n, void *table,
		 char *err, size_t errlen)
{
	void *dl = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (!dl) {
		snprintf(err, errlen, "%s needs %s (Debian package %s): %s",
			 what, soname, pkg, dlerror());
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		void *p = dlsym(dl, syms[i].name);

		if (!p) {
			snprintf(err, errlen, "%s has no %s: %s", soname,
				 syms[i].name, dlerror());
			return false;
		}
		*(void **)((uint8_t *)table + syms[i].offset) = p;
	}
	return true;
}

const void *dynlib_get(struct dynlib *d, char *err, size_t errlen)
{
	pthread_mutex_lock(&d->lock);
	if (!d->tried) {
		d->ok = dynlib_open(d->soname, d->what, d->pkg, d->syms, d->n,
				    d->table, d->err, sizeof(d->err));
		d->tried = true;
	}
	pthread_mutex_unlock(&d->lock);
	if (d->ok)
		return d->table;
	snprintf(err, errlen, "%s", d->err);
	return NULL;
}
