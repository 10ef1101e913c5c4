// SPDX-License-Identifier: MIT
/* MC146818 RTC: time from the host clock, formats, flags and CMOS. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "devices/legacy.h"
#include "fake_irq.h"
#include "test.h"
#include "vmm/event_loop.h"
#include "vmm/state.h"
#include "vmm/vm.h"

static struct vm_config cfg;
static struct vm vm;

static void vm_setup(void)
{
	fake_irq_vm_init(&vm, &cfg);
	CHECK_EQ(guest_mem_init(&vm.mem, 64 << 20, NULL), 0);
	CHECK_EQ(rtc_create(fake_env(&vm), PORT_RTC, IRQ_RTC, &rtc_dev), 0);
}

/* As vm_destroy: the loop's thread stops, the device goes, the loop. */
static void vm_teardown(void)
{
	event_loop_stop(vm.loop);
	fake_destroy(&rtc_dev);
	event_loop_destroy(vm.loop);
	vm.loop = NULL;
	guest_mem_destroy(&vm.mem);
	fake_irq_vm_destroy(&vm);
}

static uint8_t cmos_read(uint8_t reg)
{
	uint64_t v = 0;

	CHECK(bus_write(&vm.pio, PORT_RTC, reg, 1));
	CHECK(bus_read(&vm.pio, PORT_RTC + 1, &v, 1));
	return v;
}

static void cmos_write(uint8_t reg, uint8_t val)
{
	CHECK(bus_write(&vm.pio, PORT_RTC, reg, 1));
	CHECK(bus_write(&vm.pio, PORT_RTC + 1, val, 1));
}

static unsigned bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

struct rtc_time {
	unsigned sec, min, hour, mday, mon, year;
};

/* Read all fields inside one second, as Linux does around UIP. */
static void rtc_read_time(struct rtc_time *t, bool binary)
{
	unsigned (*dec)(uint8_t) = binary ? NULL : bcd;

	for (int tries = 0; tries < 5; tries++) {
		uint8_t s = cmos_read(0);

		t->min = cmos_read(2);
		t->hour = cmos_read(4);
		t->mday = cmos_read(7);
		t->mon = cmos_read(8);
		t->year = cmos_read(9) | (unsigned)cmos_read(0x32) << 8;
		t->sec = s;
		if (cmos_read(0) == s)
			break;
	}
	if (dec) {
		t->sec = dec(t->sec);
		t->min = dec(t->min);
		t->hour = dec(t->hour);
		t->mday = dec(t->mday);
		t->mon = dec(t->mon);
		t->year = dec(t->year >> 8) * 100 + dec(t->year & 0xff);
	} else {
		t->year = (t->year >> 8) * 100 + (t->year & 0xff);
	}
}

static bool time_near_host(const struct rtc_time *t)
{
	time_t now = time(NULL);
	struct tm tm;

	/* within two seconds of the host's UTC clock */
	for (time_t d = -2; d <= 2; d++) {
		time_t x = now + d;

		gmtime_r(&x, &tm);
		if (t->sec == (unsigned)tm.tm_sec &&
		    t->min == (unsigned)tm.tm_min &&
		    t->hour == (unsigned)tm.tm_hour &&
		    t->mday == (unsigned)tm.tm_mday &&
		    t->mon == (unsigned)tm.tm_mon + 1 &&
		    t->year == (unsigned)tm.tm_year + 1900)
			return true;
	}
	return false;
}

static void test_rtc_bcd_and_binary(void)
{
	struct rtc_time t;

	vm_setup();
	CHECK_EQ(cmos_read(0x0b), 0x02);		/* BCD, 24h */
	CHECK_EQ(cmos_read(0x0d), 0x80);		/* VRT */
	rtc_read_time(&t, false);
	CHECK(time_near_host(&t));
	cmos_write(0x0b, 0x06);				/* binary */
	rtc_read_time(&t, true);
	CHECK(time_near_host(&t));
	CHECK(cmos_read(0) < 60);
	vm_teardown();
}

static void test_rtc_set_time(void)
{
	vm_setup();
	/* Set 2031-12-24 23:59:30 in BCD with SET held */
	cmos_write(0x0b, 0x82);
	cmos_write(0x32, 0x20);
	cmos_write(0x09, 0x31);
	cmos_write(0x08, 0x12);
	cmos_write(0x07, 0x24);
	cmos_write(0x04, 0x23);
	cmos_write(0x02, 0x59);
	cmos_write(0x00, 0x30);
	CHECK_EQ(cmos_read(0x09), 0x31);		/* frozen while SET */
	CHECK_EQ(cmos_read(0x00), 0x30);
	cmos_write(0x0b, 0x02);				/* run */
	CHECK_EQ(cmos_read(0x09), 0x31);
	CHECK_EQ(cmos_read(0x32), 0x20);
	CHECK_EQ(cmos_read(0x08), 0x12);
	CHECK_EQ(cmos_read(0x07), 0x24);
	CHECK_EQ(cmos_read(0x04), 0x23);
	CHECK(cmos_read(0x00) >= 0x30 && cmos_read(0x00) <= 0x32);
	CHECK_EQ(cmos_read(0x06), 4);			/* a Wednesday */

	/* 12-hour mode: 23h reads as 11 PM */
	cmos_write(0x0b, 0x00);
	CHECK_EQ(cmos_read(0x04), 0x80 | 0x11);
	/* writing 1 AM in 12-hour BCD moves the clock back 22 hours */
	cmos_write(0x04, 0x01);
	cmos_write(0x0b, 0x02);
	CHECK_EQ(cmos_read(0x04), 0x01);
	CHECK_EQ(cmos_read(0x07), 0x24);
	/* binary writes */
	cmos_write(0x0b, 0x06);
	cmos_write(0x02, 45);
	CHECK_EQ(cmos_read(0x02), 45);
	vm_teardown();
}

static void wait_next_second(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	usleep((1000000000 - ts.tv_nsec) / 1000 + 20000);
}

static void test_rtc_flags(void)
{
	uint8_t c;

	vm_setup();
	cmos_read(0x0c);				/* clear */
	wait_next_second();
	c = cmos_read(0x0c);
	/* an update happened; nothing enabled, so no IRQF */
	CHECK(c & 0x10);
	CHECK_EQ(c & 0x80, 0);
	CHECK_EQ(c & 0x20, 0);				/* alarm 00:00:00 */
	CHECK_EQ(cmos_read(0x0c) & 0x30, 0);		/* read cleared it */
	CHECK_EQ(irq_raises[IRQ_RTC], 0);

	/* alarm every second (don't care) and update interrupts on */
	cmos_write(0x01, 0xff);
	cmos_write(0x03, 0xff);
	cmos_write(0x05, 0xff);
	cmos_write(0x0b, 0x02 | 0x20 | 0x10);
	cmos_read(0x0c);
	wait_next_second();
	c = cmos_read(0x0c);
	CHECK_EQ(c & 0xb0, 0xb0);			/* IRQF, AF, UF */
	CHECK(irq_raises[IRQ_RTC] >= 1);
	CHECK_EQ(irq_level[IRQ_RTC], 0);		/* C read lowers it */
	/* cleared; PF (0x40) may tick meanwhile at the rate in A */
	CHECK_EQ(cmos_read(0x0c) & 0xb0, 0);

	/* periodic at 1024 Hz */
	cmos_write(0x0b, 0x02 | 0x40);
	usleep(5000);
	c = cmos_read(0x0c);
	CHECK_EQ(c & 0xc0, 0xc0);
	/* rate 0: no periodic flag at all */
	cmos_write(0x0a, 0x20);
	cmos_read(0x0c);
	usleep(5000);
	CHECK_EQ(cmos_read(0x0c) & 0x40, 0);
	vm_teardown();
}

static void test_rtc_cmos(void)
{
	vm_setup();
	cmos_write(0x40, 0xa5);
	CHECK_EQ(cmos_read(0x40), 0xa5);
	/* bit 7 of the index is the NMI mask, not an address bit */
	CHECK_EQ(cmos_read(0x80 | 0x40), 0xa5);
	/* 64 MiB: 48 MiB above 16 MiB in 64 KiB units, 63 MiB extended */
	CHECK_EQ(cmos_read(0x34) | cmos_read(0x35) << 8, 48 * 16);
	CHECK_EQ(cmos_read(0x30) | cmos_read(0x31) << 8, 63 * 1024);
	CHECK_EQ(cmos_read(0x15) | cmos_read(0x16) << 8, 640);
	CHECK_EQ(cmos_read(0x5b) | cmos_read(0x5c) | cmos_read(0x5d), 0);
	/* register C and D are read-only */
	cmos_write(0x0d, 0);
	CHECK_EQ(cmos_read(0x0d), 0x80);
	vm_teardown();
}

/* With an event loop the update interrupt arrives without a register read. */
static void test_rtc_timer_irq(void)
{
	int raises = 0;

	vm_setup();
	fake_destroy(&rtc_dev);
	vm.loop = event_loop_create();
	CHECK(vm.loop);
	if (!vm.loop)
		goto out;
	CHECK_EQ(rtc_create(fake_env(&vm), PORT_RTC, IRQ_RTC, &rtc_dev), 0);
	CHECK_EQ(event_loop_start(vm.loop), 0);
	cmos_read(0x0c);
	cmos_write(0x0b, 0x02 | 0x10);			/* UIE */
	for (int i = 0; i < 150 && !raises; i++) {
		usleep(10000);
		pthread_mutex_lock(&irq_lock);
		raises = irq_raises[IRQ_RTC];
		pthread_mutex_unlock(&irq_lock);
	}
	CHECK(raises >= 1);
	CHECK_EQ(cmos_read(0x0c) & 0x90, 0x90);
	cmos_write(0x0b, 0x02);				/* timer off again */
out:
	vm_teardown();
}

/* Save the RTC into a buffer; its length in *len. */
static char *rtc_save_buf(size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct state_writer *w = f ? state_writer_create(f) : NULL;

	CHECK(w);
	CHECK_EQ(device_save(rtc_dev, w), 0);
	CHECK_EQ(state_writer_finish(w), 0);
	state_writer_destroy(w);
	fclose(f);
	return buf;
}

/* Load buf's one section into the RTC: the load's result. */
static int rtc_load_buf(const char *buf, size_t len)
{
	FILE *f = fmemopen((void *)buf, len, "r");
	char err[256];
	struct state_reader *r = f ? state_reader_create(f, err, sizeof(err))
				   : NULL;
	const char *name;
	uint32_t version;
	int ret = -1;

	CHECK(r);
	if (r && state_next_section(r, &name, &version) == 1)
		ret = rtc_dev->ops->load(rtc_dev, r, version);
	state_reader_destroy(r);
	fclose(f);
	return ret;
}

/* An RTC section as a stream would hold it, with the offset given. */
static char *rtc_forge(int64_t offset, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct state_writer *w = f ? state_writer_create(f) : NULL;
	uint8_t cmos[0x80] = { [0x0a] = 0x26, [0x0b] = 0x02 };

	CHECK(w);
	state_section_begin(w, rtc_dev->ops->state_version, "rtc");
	state_put_u8(w, 0x40);				/* index */
	state_put(w, cmos, sizeof(cmos));
	state_put_u64(w, (uint64_t)offset);
	state_put_u8(w, 0);
	state_section_end(w);
	CHECK_EQ(state_writer_finish(w), 0);
	state_writer_destroy(w);
	fclose(f);
	return buf;
}

static void test_rtc_state(void)
{
	struct rtc_time t, saved;
	size_t len;
	char *buf;

	vm_setup();
	/* The farthest a guest can set it: binary 255/99, month and day 255 */
	cmos_write(0x0b, 0x86);
	cmos_write(0x32, 255);
	cmos_write(0x09, 99);
	cmos_write(0x08, 255);
	cmos_write(0x07, 255);
	cmos_write(0x0b, 0x06);
	cmos_write(0x40, 0x5a);
	rtc_read_time(&saved, true);
	buf = rtc_save_buf(&len);
	fake_destroy(&rtc_dev);
	CHECK_EQ(rtc_create(fake_env(&vm), PORT_RTC, IRQ_RTC, &rtc_dev), 0);
	CHECK_EQ(rtc_load_buf(buf, len), 0);		/* loads back */
	free(buf);
	CHECK_EQ(cmos_read(0x40), 0x5a);
	CHECK_EQ(cmos_read(0x0b), 0x06);
	rtc_read_time(&t, true);
	CHECK_EQ(t.year, saved.year);
	CHECK_EQ(t.mon, saved.mon);

	/* An offset no guest can set is refused, and changes nothing. */
	fake_destroy(&rtc_dev);
	CHECK_EQ(rtc_create(fake_env(&vm), PORT_RTC, IRQ_RTC, &rtc_dev), 0);
	cmos_write(0x40, 0xa5);
	cmos_write(0x0e, 0);				/* index 0x0e */
	buf = rtc_forge(INT64_MAX, &len);
	CHECK(rtc_load_buf(buf, len) < 0);
	free(buf);
	buf = rtc_forge(-(1LL << 41), &len);
	CHECK(rtc_load_buf(buf, len) < 0);
	free(buf);
	CHECK_EQ(cmos_read(0x40), 0xa5);
	rtc_read_time(&t, false);
	CHECK(time_near_host(&t));
	/* the same section with an offset of a day loads */
	buf = rtc_forge(86400, &len);
	CHECK_EQ(rtc_load_buf(buf, len), 0);
	free(buf);
	CHECK_EQ(cmos_read(0x40), 0);
	vm_teardown();
}

int main(void)
{
	RUN(test_rtc_bcd_and_binary);
	RUN(test_rtc_set_time);
	RUN(test_rtc_flags);
	RUN(test_rtc_cmos);
	RUN(test_rtc_timer_irq);
	RUN(test_rtc_state);
	return test_summary();
}
