// SPDX-License-Identifier: MIT
/*
 * The UI's parsers and tables: VNC keysyms to keys and keys to scan codes,
 * the --vnc option, and typing into the PS/2 keyboard.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "devices/legacy.h"
#include "test.h"
#include "ui/keymap.h"
#include "ui/vnc_opts.h"
#include "vmm/vm.h"
#include "fake_irq.h"

static void test_keysyms(void)
{
	CHECK_EQ(keymap_from_keysym('a'), 30);
	CHECK_EQ(keymap_from_keysym('A'), 30);
	CHECK_EQ(keymap_from_keysym('1'), 2);
	CHECK_EQ(keymap_from_keysym('!'), 2);
	CHECK_EQ(keymap_from_keysym('0'), 11);
	CHECK_EQ(keymap_from_keysym('>'), 52);
	CHECK_EQ(keymap_from_keysym(' '), KEY_SPACE);
	CHECK_EQ(keymap_from_keysym('~'), 41);
	CHECK_EQ(keymap_from_keysym(0xff0d), KEY_ENTER);
	CHECK_EQ(keymap_from_keysym(0xffe1), KEY_LEFTSHIFT);
	CHECK_EQ(keymap_from_keysym(0xffbe), KEY_F1);
	CHECK_EQ(keymap_from_keysym(0xffc7), KEY_F10);
	CHECK_EQ(keymap_from_keysym(0xffc9), KEY_F12);
	CHECK_EQ(keymap_from_keysym(0xff52), KEY_UP);
	/* nothing for the unknown, the control range, Latin-1 */
	CHECK_EQ(keymap_from_keysym(0), 0);
	CHECK_EQ(keymap_from_keysym(0x1f), 0);
	CHECK_EQ(keymap_from_keysym(0xe9), 0);
	CHECK_EQ(keymap_from_keysym(0xffffffff), 0);
	/* every key the map yields is one the keyboard says it has */
	for (uint32_t s = 0x20; s < 0x7f; s++)
		CHECK(keymap_from_keysym(s) >= 1 &&
		      keymap_from_keysym(s) <= KEY_MAX_CODE);
}

static void test_scancodes(void)
{
	uint8_t c[2];

	CHECK_EQ(keymap_to_set1(30, 1, c), 1);
	CHECK_EQ(c[0], 0x1e);
	CHECK_EQ(keymap_to_set1(30, 0, c), 1);
	CHECK_EQ(c[0], 0x9e);
	CHECK_EQ(keymap_to_set1(KEY_UP, 1, c), 2);
	CHECK(c[0] == 0xe0 && c[1] == 0x48);
	CHECK_EQ(keymap_to_set1(KEY_RIGHTCTRL, 0, c), 2);
	CHECK(c[0] == 0xe0 && c[1] == 0x9d);
	CHECK_EQ(keymap_to_set1(KEY_F12, 1, c), 1);
	CHECK_EQ(c[0], 0x58);
	CHECK_EQ(keymap_to_set1(0, 1, c), 0);
	CHECK_EQ(keymap_to_set1(84, 1, c), 0);
	CHECK_EQ(keymap_to_set1(KEY_PAUSE, 1, c), 0);
	CHECK_EQ(keymap_to_set1(1000, 1, c), 0);
	/* QEMU's XT codes: set 1, and 0x80 | the code after 0xe0 */
	CHECK_EQ(keymap_from_xt(0x1e), 30);
	CHECK_EQ(keymap_from_xt(0x58), KEY_F12);
	CHECK_EQ(keymap_from_xt(0xc8), KEY_UP);
	CHECK_EQ(keymap_from_xt(0x9d), KEY_RIGHTCTRL);
	CHECK_EQ(keymap_from_xt(0), 0);
	CHECK_EQ(keymap_from_xt(0x54), 0);
	CHECK_EQ(keymap_from_xt(0x80), 0);
	CHECK_EQ(keymap_from_xt(0x1e1e), 0);
	for (unsigned k = 1; k <= KEY_MAX_CODE; k++) {
		unsigned n = keymap_to_set1(k, 1, c);

		if (n == 1)
			CHECK_EQ(keymap_from_xt(c[0]), k);
		else if (n == 2)
			CHECK_EQ(keymap_from_xt(0x80 | c[1]), k);
	}
}

static void test_vnc_opts(void)
{
	struct vnc_opts o;
	char err[256], pw[] = "/tmp/cvisor-test-vnc-pw-XXXXXX";
	int fd;

	CHECK_EQ(vnc_opts_parse(":0", &o, err, sizeof(err)), 0);
	CHECK_EQ(o.port, 5900);
	CHECK(!strcmp(o.host, "127.0.0.1") && o.local && !o.ipv6);
	CHECK_EQ(o.websocket_port, 0);
	CHECK_EQ(o.password[0], 0);
	CHECK_EQ(vnc_opts_parse("0.0.0.0:1,websocket=5701", &o, err,
				sizeof(err)), 0);
	CHECK_EQ(o.port, 5901);
	CHECK_EQ(o.websocket_port, 5701);
	CHECK(!o.local);
	CHECK_EQ(vnc_opts_parse("[::1]:3", &o, err, sizeof(err)), 0);
	CHECK(o.ipv6 && o.local && o.port == 5903);
	CHECK_EQ(vnc_opts_parse("localhost:2", &o, err, sizeof(err)), 0);
	CHECK(o.local);
	fd = mkstemp(pw);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "s3cret\nignored\n", 15), 15);
	close(fd);
	snprintf(err, sizeof(err), ":5,password-file=%s", pw);
	{
		char spec[256];

		snprintf(spec, sizeof(spec), "%s", err);
		CHECK_EQ(vnc_opts_parse(spec, &o, err, sizeof(err)), 0);
	}
	CHECK(!strcmp(o.password, "s3cret"));
	unlink(pw);
	/* bad values name themselves */
	static const char *const bad[] = {
		"", "5900", ":x", ":-1", ":59636", "1.2.3:0", "[::1:0",
		"[zz]:0", ":0,websocket=0", ":0,websocket=5900",
		":0,websocket=99999", ":0,password-file=/nonexistent",
		":0,password-file=/dev/null", ":0,color=red", ":0,websocket",
		":0,websocket=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK_EQ(vnc_opts_parse(bad[i], &o, err, sizeof(err)), -EINVAL);
		CHECK(!strncmp(err, "--vnc: ", 7));
	}
}

static struct vm_config cfg;
static struct vm vm;

static void test_ps2_typing(void)
{
	struct device *kbc;
	uint64_t v;

	CHECK_EQ(i8042_create(fake_env(&vm), IRQ_KBD, IRQ_MOUSE, &kbd_dev), 0);
	kbc = kbd_dev;
	i8042_key(kbc, 30, true);
	i8042_key(kbc, KEY_UP, false);
	CHECK(bus_read(&vm.pio, PORT_I8042_CMD, &v, 1) && (v & 1));
	bus_read(&vm.pio, PORT_I8042_DATA, &v, 1);
	CHECK_EQ(v, 0x1e);
	bus_read(&vm.pio, PORT_I8042_DATA, &v, 1);
	CHECK_EQ(v, 0xe0);
	bus_read(&vm.pio, PORT_I8042_DATA, &v, 1);
	CHECK_EQ(v, 0xc8);
	bus_read(&vm.pio, PORT_I8042_CMD, &v, 1);
	CHECK(!(v & 1));
	/* a disabled keyboard types nothing; a full buffer takes no half key */
	bus_write(&vm.pio, PORT_I8042_CMD, 0xad, 1);
	i8042_key(kbc, 30, true);
	bus_read(&vm.pio, PORT_I8042_CMD, &v, 1);
	CHECK(!(v & 1));
	bus_write(&vm.pio, PORT_I8042_CMD, 0xae, 1);
	for (int i = 0; i < 20; i++)
		i8042_key(kbc, KEY_UP, true);
	for (int i = 0; i < 16; i++) {
		bus_read(&vm.pio, PORT_I8042_DATA, &v, 1);
		CHECK_EQ(v, i % 2 ? 0x48 : 0xe0);
	}
	fake_destroy(&kbd_dev);
}

int main(void)
{
	fake_irq_vm_init(&vm, &cfg);
	RUN(test_keysyms);
	RUN(test_scancodes);
	RUN(test_vnc_opts);
	RUN(test_ps2_typing);
	fake_irq_vm_destroy(&vm);
	return test_summary();
}
