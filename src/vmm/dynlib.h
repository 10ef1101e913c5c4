/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_VMM_DYNLIB_H
#define CVISOR_VMM_DYNLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Libraries only some VMs use (libvncserver for --vnc, libiscsi for an
 * iscsi:// disk) are opened with dlopen when one does, not linked: every
 * page they and their dependencies map would otherwise count in every
 * VMM's resident memory. They must be opened before the seccomp filter
 * goes on (src/vmm/sandbox.h), which refuses executable mappings.
 *
 * One symbol to resolve: its name and where in the caller's table of
 * pointers (a function's address, or a variable's) it goes.
 */
struct dynlib_sym {
	const char *name;
	size_t offset;
};

/*
 * A symbol's name as a string once macros are expanded: the header may
 * name a function by a macro (libvncserver's rfbInitServer).
 */
#define DYNLIB_NAME(sym)	#sym
#define DYNLIB_SYM(table, member, sym) \
	{ DYNLIB_NAME(sym), offsetof(table, member) }

/*
 * Open soname (never closed) and fill table with each of syms[0..n).
 * On failure, one line in err: "<what> needs <soname> (Debian package
 * <pkg>): <reason>", or which symbol is missing.
 */
bool dynlib_open(const char *soname, const char *what, const char *pkg,
		 const struct dynlib_sym *syms, size_t n, void *table,
		 char *err, size_t errlen);

/*
 * A library opened once, on its first dynlib_get: what dynlib_open takes,
 * and what came of it. Defined static with DYNLIB_INIT.
 */
struct dynlib {
	const char *soname, *what, *pkg;
	const struct dynlib_sym *syms;
	size_t n;
	void *table;
	pthread_mutex_t lock;
	bool tried, ok;
	char err[256];
};

#define DYNLIB_INIT(soname_, what_, pkg_, syms_, table_) {		\
	.soname = (soname_), .what = (what_), .pkg = (pkg_),		\
	.syms = (syms_), .n = sizeof(syms_) / sizeof((syms_)[0]),	\
	.table = (table_), .lock = PTHREAD_MUTEX_INITIALIZER }

/*
 * d's table once its library is open (the first call opens it), or NULL
 * with dynlib_open's line in err, each time. Thread-safe.
 */
const void *dynlib_get(struct dynlib *d, char *err, size_t errlen);

#endif
