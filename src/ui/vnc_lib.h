/* SPDX-License-Identifier: MIT */
#ifndef CVISOR_UI_VNC_LIB_H
#define CVISOR_UI_VNC_LIB_H

#include <rfb/rfb.h>
#include <stddef.h>

/*
 * libvncserver, opened when a --vnc server is made rather than linked
 * (src/vmm/dynlib.h): it brings gnutls, whose constructor runs at load,
 * p11-kit, nettle, gmp, gcrypt, libjpeg, lzo..., resident in every VMM
 * when linked (bench/emu_rss.sh). `cvisor run` makes the server before
 * its seccomp filter.
 *
 * What the server uses, as (member, libvncserver's name): functions, and
 * three variables (the members point at them). Swap16IfLE and friends read
 * rfbEndianTest, a variable too: use htons/htonl instead.
 */
#define VNC_LIB_SYMBOLS(X)						\
	X(get_screen, rfbGetScreen)					\
	X(init_server, rfbInitServer)					\
	X(screen_cleanup, rfbScreenCleanup)				\
	X(new_framebuffer, rfbNewFramebuffer)				\
	X(mark_rect_as_modified, rfbMarkRectAsModified)			\
	X(new_client, rfbNewClient)					\
	X(close_client, rfbCloseClient)					\
	X(process_events, rfbProcessEvents)				\
	X(check_password_by_list, rfbCheckPasswordByList)		\
	X(read_exact, rfbReadExact)					\
	X(write_exact, rfbWriteExact)					\
	X(register_protocol_extension, rfbRegisterProtocolExtension)	\
	X(log, rfbLog)							\
	X(err, rfbErr)							\
	X(max_client_wait, rfbMaxClientWait)

struct vnc_lib {
#define VNC_LIB_MEMBER(member, name) __typeof__(name) *member;
	VNC_LIB_SYMBOLS(VNC_LIB_MEMBER)
#undef VNC_LIB_MEMBER
};

/* The loaded library, or NULL with one line in err. Thread-safe. */
const struct vnc_lib *vnc_lib_get(char *err, size_t errlen);

#endif
