/* SPDX-License-Identifier: MIT */
/*
 * Keys as the input devices take them: Linux input event codes (KEY_*,
 * include/uapi/linux/input-event-codes.h), which virtio-input passes to the
 * guest as they are and the i8042 turns into scan codes.
 */
#ifndef CVISOR_UI_KEYMAP_H
#define CVISOR_UI_KEYMAP_H

#include <stdint.h>

/* Event types and codes used by the devices (Linux's values). */
#define EV_SYN			0x00
#define EV_KEY			0x01
#define EV_REL			0x02
#define EV_ABS			0x03
#define EV_REP			0x14
#define SYN_REPORT		0
#define ABS_X			0x00
#define ABS_Y			0x01
#define REL_WHEEL		0x08
#define BTN_LEFT		0x110
#define BTN_RIGHT		0x111
#define BTN_MIDDLE		0x112

#define KEY_ESC			1
#define KEY_BACKSPACE		14
#define KEY_TAB			15
#define KEY_ENTER		28
#define KEY_LEFTCTRL		29
#define KEY_LEFTSHIFT		42
#define KEY_RIGHTSHIFT		54
#define KEY_LEFTALT		56
#define KEY_SPACE		57
#define KEY_CAPSLOCK		58
#define KEY_F1			59
#define KEY_F10			68
#define KEY_NUMLOCK		69
#define KEY_SCROLLLOCK		70
#define KEY_F11			87
#define KEY_F12			88
#define KEY_RIGHTCTRL		97
#define KEY_SYSRQ		99
#define KEY_RIGHTALT		100
#define KEY_HOME		102
#define KEY_UP			103
#define KEY_PAGEUP		104
#define KEY_LEFT		105
#define KEY_RIGHT		106
#define KEY_END			107
#define KEY_DOWN		108
#define KEY_PAGEDOWN		109
#define KEY_INSERT		110
#define KEY_DELETE		111
#define KEY_PAUSE		119
#define KEY_LEFTMETA		125
#define KEY_RIGHTMETA		126
#define KEY_COMPOSE		127
#define KEY_MAX_CODE		127	/* the highest code the keymap yields */

/* The key a VNC keysym (X11 keysym) names on a US keyboard, or 0. */
unsigned keymap_from_keysym(uint32_t keysym);

/*
 * The key of a QEMU extended key event's XT code: a set 1 make code below
 * 0x80, or 0x80 | the code that follows an 0xe0 prefix. 0 if unknown.
 */
unsigned keymap_from_xt(uint32_t xt);

/*
 * The PC scan code set 1 bytes of a key press (down) or release: 1 or 2
 * bytes (0xe0 prefix) into out; returns the count, 0 for an unknown key.
 */
unsigned keymap_to_set1(unsigned key, int down, uint8_t out[2]);

#endif
