// SPDX-License-Identifier: MIT
/*
 * QEMU's extended key event (see vnc_qemu_keys.h). A client asks for it by
 * listing pseudo-encoding -258 and uses it once the server answers with an
 * empty framebuffer update naming that encoding. The message's fixed 12
 * bytes are read here; an unknown subtype (whose length we cannot know)
 * drops the client.
 */
#include "ui/vnc_qemu_keys.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>

#include "ui/keymap.h"

static int qemu_key_encodings[] = { (int)rfbEncodingQemuExtendedKeyEvent, 0 };
static const struct vnc_lib *qemu_key_lib;
static void (*qemu_key_send)(rfbClientPtr cl, unsigned key, bool down);

static rfbBool qemu_key_new_client(rfbClientPtr cl, void **data)
{
	(void)cl;
	(void)data;
	return TRUE;
}

static rfbBool qemu_key_enable(rfbClientPtr cl, void **data, int encoding)
{
	rfbFramebufferUpdateMsg fu = {
		.type = rfbFramebufferUpdate,
		.nRects = htons(1),
	};
	rfbFramebufferUpdateRectHeader rh = {
		.encoding = htonl(rfbEncodingQemuExtendedKeyEvent),
	};

	(void)data;
	if ((uint32_t)encoding != rfbEncodingQemuExtendedKeyEvent)
		return FALSE;
	if (qemu_key_lib->write_exact(cl, (char *)&fu,
				      sz_rfbFramebufferUpdateMsg) < 0 ||
	    qemu_key_lib->write_exact(cl, (char *)&rh,
				      sz_rfbFramebufferUpdateRectHeader) < 0)
		qemu_key_lib->close_client(cl);
	return TRUE;
}

static rfbBool qemu_key_message(rfbClientPtr cl, void *data,
				const rfbClientToServerMsg *msg)
{
	rfbQemuExtendedKeyEventMsg ev;
	int n;

	(void)data;
	if (msg->type != rfbQemuEvent)
		return FALSE;
	n = qemu_key_lib->read_exact(cl, (char *)&ev + 1,
				     sz_rfbQemuExtendedKeyEventMsg - 1);
	if (n <= 0 || ev.subtype != 0) {
		/* an unknown subtype has a length we cannot know */
		qemu_key_lib->close_client(cl);
		return TRUE;
	}
	ev.keycode = ntohl(ev.keycode);
	ev.keysym = ntohl(ev.keysym);
	qemu_key_send(cl, keymap_from_xt(ev.keycode) ?:
			 keymap_from_keysym(ev.keysym),
		      ntohs(ev.down) != 0);
	return TRUE;
}

static rfbProtocolExtension qemu_key_extension = {
	.newClient = qemu_key_new_client,
	.pseudoEncodings = qemu_key_encodings,
	.enablePseudoEncoding = qemu_key_enable,
	.handleMessage = qemu_key_message,
};


void vnc_qemu_keys_register(const struct vnc_lib *lib,
			    void (*send)(rfbClientPtr cl, unsigned key,
					 bool down))
{
	if (qemu_key_send)
		return;
	qemu_key_lib = lib;
	qemu_key_send = send;
	lib->register_protocol_extension(&qemu_key_extension);
}

/*
 * rfbDisableExtension unlinks the record but frees only its data (0.9.14),
 * and rfbClientConnectionGone does not look at the list after its hook.
 */
void vnc_qemu_keys_client_gone(rfbClientPtr cl)
{
	rfbExtensionData **p = &cl->extensions;

	while (*p) {
		rfbExtensionData *e = *p;

		if (e->extension != &qemu_key_extension) {
			p = &e->next;
			continue;
		}
		*p = e->next;
		free(e->data);
		free(e);
	}
}
