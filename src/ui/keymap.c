// SPDX-License-Identifier: MIT
/*
 * VNC keysyms to keys on a US keyboard, and keys to PC scan code set 1.
 * A VNC client sends the keysym of what the key produced with the
 * modifiers it sent separately ('A' comes after Shift), so a letter and
 * its shifted form name the same key. Linux numbered its key codes after
 * set 1, so below 0x59 a key's code is its set 1 make code; the rest
 * carry the 0xe0 prefix.
 */
#include "ui/keymap.h"

#include <stddef.h>

/* Printable ASCII 0x20..0x7e: the key that types it, shifted or not. */
static const uint8_t ascii_keys[0x5f] = {
	/* ' ' ! " # $ % & ' */
	57, 2, 40, 4, 5, 6, 8, 40,
	/* ( ) * + , - . / */
	10, 11, 9, 13, 51, 12, 52, 53,
	/* 0 1 2 3 4 5 6 7 8 9 */
	11, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	/* : ; < = > ? @ */
	39, 39, 51, 13, 52, 53, 3,
	/* A..Z */
	30, 48, 46, 32, 18, 33, 34, 35, 23, 36, 37, 38, 50,
	49, 24, 25, 16, 19, 31, 20, 22, 47, 17, 45, 21, 44,
	/* [ \ ] ^ _ ` */
	26, 43, 27, 7, 12, 41,
	/* a..z */
	30, 48, 46, 32, 18, 33, 34, 35, 23, 36, 37, 38, 50,
	49, 24, 25, 16, 19, 31, 20, 22, 47, 17, 45, 21, 44,
	/* { | } ~ */
	26, 43, 27, 41,
};

static const struct {
	uint16_t keysym;
	uint8_t key;
} special_keys[] = {
	{ 0xff08, KEY_BACKSPACE }, { 0xff09, KEY_TAB },
	{ 0xff0d, KEY_ENTER }, { 0xff13, KEY_PAUSE },
	{ 0xff14, KEY_SCROLLLOCK }, { 0xff1b, KEY_ESC },
	{ 0xff50, KEY_HOME }, { 0xff51, KEY_LEFT }, { 0xff52, KEY_UP },
	{ 0xff53, KEY_RIGHT }, { 0xff54, KEY_DOWN },
	{ 0xff55, KEY_PAGEUP }, { 0xff56, KEY_PAGEDOWN },
	{ 0xff57, KEY_END }, { 0xff61, KEY_SYSRQ }, { 0xff63, KEY_INSERT },
	{ 0xff67, KEY_COMPOSE }, { 0xff7f, KEY_NUMLOCK },
	{ 0xff8d, 96 /* KP_Enter */ }, { 0xffaa, 55 }, { 0xffab, 78 },
	{ 0xffad, 74 }, { 0xffae, 83 }, { 0xffaf, 98 /* KP_Divide */ },
	{ 0xffb0, 82 }, { 0xffb1, 79 }, { 0xffb2, 80 }, { 0xffb3, 81 },
	{ 0xffb4, 75 }, { 0xffb5, 76 }, { 0xffb6, 77 }, { 0xffb7, 71 },
	{ 0xffb8, 72 }, { 0xffb9, 73 },
	{ 0xffc8, KEY_F11 }, { 0xffc9, KEY_F12 },
	{ 0xffe1, KEY_LEFTSHIFT }, { 0xffe2, KEY_RIGHTSHIFT },
	{ 0xffe3, KEY_LEFTCTRL }, { 0xffe4, KEY_RIGHTCTRL },
	{ 0xffe5, KEY_CAPSLOCK },
	{ 0xffe7, KEY_LEFTMETA }, { 0xffe8, KEY_RIGHTMETA },
	{ 0xffe9, KEY_LEFTALT }, { 0xffea, KEY_RIGHTALT },
	{ 0xffeb, KEY_LEFTMETA }, { 0xffec, KEY_RIGHTMETA },
	{ 0xfe03, KEY_RIGHTALT },	/* ISO_Level3_Shift (AltGr) */
	{ 0xffff, KEY_DELETE },
};

unsigned keymap_from_keysym(uint32_t keysym)
{
	if (keysym >= 0x20 && keysym <= 0x7e)
		return ascii_keys[keysym - 0x20];
	/* F1..F10 */
	if (keysym >= 0xffbe && keysym <= 0xffc7)
		return KEY_F1 + (keysym - 0xffbe);
	for (size_t i = 0; i < sizeof(special_keys) / sizeof(special_keys[0]);
	     i++)
		if (special_keys[i].keysym == keysym)
			return special_keys[i].key;
	return 0;
}

/* Keys above 0x58 with their set 1 code after the 0xe0 prefix. */
static const struct {
	uint8_t key, code;
} e0_keys[] = {
	{ 96, 0x1c }, { KEY_RIGHTCTRL, 0x1d }, { 98, 0x35 },
	{ KEY_SYSRQ, 0x37 }, { KEY_RIGHTALT, 0x38 }, { KEY_HOME, 0x47 },
	{ KEY_UP, 0x48 }, { KEY_PAGEUP, 0x49 }, { KEY_LEFT, 0x4b },
	{ KEY_RIGHT, 0x4d }, { KEY_END, 0x4f }, { KEY_DOWN, 0x50 },
	{ KEY_PAGEDOWN, 0x51 }, { KEY_INSERT, 0x52 }, { KEY_DELETE, 0x53 },
	{ KEY_LEFTMETA, 0x5b }, { KEY_RIGHTMETA, 0x5c },
	{ KEY_COMPOSE, 0x5d },
};

unsigned keymap_to_set1(unsigned key, int down, uint8_t out[2])
{
	uint8_t brk = down ? 0 : 0x80;

	if (key >= 1 && key <= KEY_F12 && key != 84 && key != 85) {
		out[0] = key | brk;
		return 1;
	}
	for (size_t i = 0; i < sizeof(e0_keys) / sizeof(e0_keys[0]); i++) {
		if (e0_keys[i].key == key) {
			out[0] = 0xe0;
			out[1] = e0_keys[i].code | brk;
			return 2;
		}
	}
	return 0;
}

unsigned keymap_from_xt(uint32_t xt)
{
	if (xt >= 1 && xt <= KEY_F12 && xt != 84 && xt != 85)
		return xt;
	if (xt < 0x80 || xt > 0xff)
		return 0;
	for (size_t i = 0; i < sizeof(e0_keys) / sizeof(e0_keys[0]); i++)
		if (e0_keys[i].code == (xt & 0x7f))
			return e0_keys[i].key;
	return 0;
}
