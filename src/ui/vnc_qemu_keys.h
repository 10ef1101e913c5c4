/* SPDX-License-Identifier: MIT */
/*
 * QEMU's extended key event for libvncserver (RFB message 255, subtype 0,
 * pseudo-encoding -258): clients send the key's XT scan code with the
 * keysym, so the guest gets the physical key whatever the client's layout.
 */
#ifndef CVISOR_UI_VNC_QEMU_KEYS_H
#define CVISOR_UI_VNC_QEMU_KEYS_H

#include <stdbool.h>

#include "ui/vnc_lib.h"

/*
 * Register the extension with libvncserver (once; later calls do nothing);
 * send gets each key as a Linux key code (src/ui/keymap.h).
 */
void vnc_qemu_keys_register(const struct vnc_lib *lib,
			    void (*send)(rfbClientPtr cl, unsigned key,
					 bool down));
/*
 * Call from the client-gone hook: libvncserver never frees the record it
 * keeps of an extension a client has (24 bytes a connection otherwise, for
 * as many connections as clients make).
 */
void vnc_qemu_keys_client_gone(rfbClientPtr cl);

#endif
