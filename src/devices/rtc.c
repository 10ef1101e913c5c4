// SPDX-License-Identifier: MIT
/*
 * MC146818 real-time clock and CMOS memory (index port 0x70, data 0x71).
 *
 * The clock is not a counter: every read computes the time from the
 * host's UTC clock plus an offset in whole seconds, which a guest write to
 * the time registers adjusts. Status flags (register C) are evaluated
 * lazily from the same clock; when the guest enables an interrupt a timerfd
 * on the VM's event loop evaluates them on time and raises IRQ 8.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/legacy.h"
#include "vmm/event_loop.h"
#include "arch/x86/layout.h"
#include "vmm/bus.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"

enum {
	RTC_SEC = 0x00,
	RTC_SEC_ALARM = 0x01,
	RTC_MIN = 0x02,
	RTC_MIN_ALARM = 0x03,
	RTC_HOUR = 0x04,
	RTC_HOUR_ALARM = 0x05,
	RTC_WDAY = 0x06,
	RTC_MDAY = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	CMOS_BASE_MEM_LO = 0x15,	/* KiB below 640K */
	CMOS_EXT_MEM_LO = 0x17,		/* KiB above 1M, max 0xFFFF */
	CMOS_EXT_MEM2_LO = 0x30,	/* same again */
	RTC_CENTURY = 0x32,
	CMOS_MEM_16M_LO = 0x34,		/* 64 KiB units, 16M..4G */
	CMOS_MEM_4G = 0x5b,		/* 64 KiB units above 4G, 3 bytes */
	CMOS_SIZE = 0x80,
};

#define REG_A_UIP	0x80
#define REG_A_DV_MASK	0x70
#define REG_A_DV_32K	0x20	/* oscillator on, normal divider */
#define REG_A_RS_MASK	0x0f
#define REG_B_SET	0x80
#define REG_B_PIE	0x40
#define REG_B_AIE	0x20
#define REG_B_UIE	0x10
#define REG_B_BINARY	0x04
#define REG_B_24H	0x02
#define REG_C_IRQF	0x80
#define REG_C_PF	0x40
#define REG_C_AF	0x20
#define REG_C_UF	0x10
#define REG_D_VRT	0x80
#define ALARM_DONT_CARE	0xc0

/* UIP is set this long before each update (datasheet: 244 us). */
#define RTC_UIP_NS	244000LL
#define NSEC		1000000000LL
/*
 * The farthest the guest's clock is from the host's: the latest time a
 * guest can write (binary century 255, year 99, month and day 255: year
 * 25620) is 7.5 * 10^11 s after 1970, the earliest before year 0. An
 * offset beyond this comes from a corrupt or hostile stream, and the
 * clock arithmetic would overflow with it.
 */
#define RTC_OFFSET_MAX	(1LL << 40)

struct rtc {
	struct device dev;
	struct bus *pio;
	uint16_t port;
	struct irq_line irq;
	struct event_loop *loop;
	const struct guest_mem *mem;
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[CMOS_SIZE];
	int64_t offset;		/* guest seconds minus host UTC seconds */
	struct tm set_tm;	/* the time being written while SET is on */
	int64_t last_sec;	/* guest second of the last flag update */
	int64_t last_ns;	/* monotonic time of the last flag update */
	bool irq_level;
	int timer_fd;		/* -1 without an event loop */
};

static int64_t rtc_host_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static int64_t rtc_guest_sec(const struct rtc *rtc)
{
	return rtc_host_ns(CLOCK_REALTIME) / NSEC + rtc->offset;
}

static uint8_t rtc_to_bcd(unsigned v)
{
	return (v / 10) << 4 | v % 10;
}

static unsigned rtc_from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

/* Encode a time field as register B says: BCD or binary. */
static uint8_t rtc_encode(const struct rtc *rtc, unsigned v)
{
	return rtc->cmos[RTC_REG_B] & REG_B_BINARY ? v : rtc_to_bcd(v);
}

static unsigned rtc_decode(const struct rtc *rtc, uint8_t v)
{
	return rtc->cmos[RTC_REG_B] & REG_B_BINARY ? v : rtc_from_bcd(v);
}

static uint8_t rtc_encode_hour(const struct rtc *rtc, unsigned h)
{
	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_encode(rtc, h);
	/* 12-hour mode: 12, 1..11 with bit 7 for PM */
	return rtc_encode(rtc, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static unsigned rtc_decode_hour(const struct rtc *rtc, uint8_t v)
{
	if (rtc->cmos[RTC_REG_B] & REG_B_24H)
		return rtc_decode(rtc, v);
	return rtc_decode(rtc, v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

static void rtc_guest_tm(const struct rtc *rtc, struct tm *tm)
{
	time_t t = rtc_guest_sec(rtc);

	if (rtc->cmos[RTC_REG_B] & REG_B_SET)
		*tm = rtc->set_tm;
	else
		gmtime_r(&t, tm);
}

static void rtc_set_irq(struct rtc *rtc, bool level)
{
	if (level == rtc->irq_level)
		return;
	rtc->irq_level = level;
	irq_line_set(&rtc->irq, level);
}

static bool rtc_alarm_field_match(const struct rtc *rtc, uint8_t alarm,
				  unsigned v, bool hour)
{
	if ((alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE)
		return true;
	return (hour ? rtc_decode_hour(rtc, alarm) : rtc_decode(rtc, alarm)) == v;
}

static bool rtc_alarm_match(const struct rtc *rtc, int64_t sec)
{
	int64_t sod = ((sec % 86400) + 86400) % 86400;

	return rtc_alarm_field_match(rtc, rtc->cmos[RTC_SEC_ALARM], sod % 60,
				     false) &&
	       rtc_alarm_field_match(rtc, rtc->cmos[RTC_MIN_ALARM],
				     sod / 60 % 60, false) &&
	       rtc_alarm_field_match(rtc, rtc->cmos[RTC_HOUR_ALARM],
				     sod / 3600, true);
}

/* Period of the periodic interrupt in ns, 0 when it is off. */
static int64_t rtc_period_ns(const struct rtc *rtc)
{
	unsigned rs = rtc->cmos[RTC_REG_A] & REG_A_RS_MASK;
	unsigned hz;

	if (!rs || (rtc->cmos[RTC_REG_A] & REG_A_DV_MASK) != REG_A_DV_32K)
		return 0;
	/* Rates 1 and 2 repeat 8 and 9 on a 32.768 kHz time base. */
	hz = rs <= 2 ? 65536 >> (rs + 7) : 65536 >> rs;
	return NSEC / hz;
}

/* Bring register C up to date with the time that has passed. */
static void rtc_update_flags(struct rtc *rtc)
{
	int64_t now_ns = rtc_host_ns(CLOCK_MONOTONIC);
	int64_t sec = rtc_guest_sec(rtc), period = rtc_period_ns(rtc);
	uint8_t b = rtc->cmos[RTC_REG_B], c = rtc->cmos[RTC_REG_C];

	/* Updates, and so the update and alarm flags, stop while SET is on. */
	if (sec != rtc->last_sec && !(b & REG_B_SET)) {
		int64_t from = rtc->last_sec + 1;

		c |= REG_C_UF;
		/* Alarm check for every second crossed, a day at most. */
		if (sec < from)		/* the guest set the clock back */
			from = sec;
		else if (sec - from > 86400)
			from = sec - 86400;
		for (int64_t s = from; s <= sec && !(c & REG_C_AF); s++)
			if (rtc_alarm_match(rtc, s))
				c |= REG_C_AF;
	}
	if (period && now_ns / period != rtc->last_ns / period)
		c |= REG_C_PF;
	rtc->last_sec = sec;
	rtc->last_ns = now_ns;

	if ((c & REG_C_PF && b & REG_B_PIE) || (c & REG_C_AF && b & REG_B_AIE) ||
	    (c & REG_C_UF && b & REG_B_UIE))
		c |= REG_C_IRQF;
	rtc->cmos[RTC_REG_C] = c;
	rtc_set_irq(rtc, c & REG_C_IRQF);
}

/* Run the timer only while some interrupt is enabled. */
static void rtc_arm_timer(struct rtc *rtc)
{
	uint8_t b = rtc->cmos[RTC_REG_B];
	int64_t period = b & REG_B_PIE ? rtc_period_ns(rtc) : 0;
	struct itimerspec its = { 0 };
	int flags = 0;

	if (rtc->timer_fd < 0)
		return;
	if (period) {
		its.it_value.tv_sec = period / NSEC;
		its.it_value.tv_nsec = period % NSEC;
		its.it_interval = its.it_value;
	} else if (b & (REG_B_AIE | REG_B_UIE)) {
		/* Just after each second boundary of the host's UTC clock,
		 * which is the guest's: the offset is whole seconds. */
		its.it_value.tv_sec = rtc_host_ns(CLOCK_REALTIME) / NSEC + 1;
		its.it_value.tv_nsec = 1000000;
		its.it_interval.tv_sec = 1;
		flags = TFD_TIMER_ABSTIME;
	}
	if (timerfd_settime(rtc->timer_fd, flags, &its, NULL))
		log_limited(&rtc->dev.log, "rtc: timerfd_settime: %s",
			    strerror(errno));
}

static void rtc_timer_fired(void *opaque, uint32_t events)
{
	struct rtc *rtc = opaque;
	uint64_t expirations;

	(void)events;
	if (read(rtc->timer_fd, &expirations, sizeof(expirations)) < 0)
		return;
	pthread_mutex_lock(&rtc->lock);
	rtc_update_flags(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

static uint8_t rtc_read_reg(struct rtc *rtc, uint8_t reg)
{
	struct tm tm = { 0 };
	int64_t ns;
	uint8_t v;

	switch (reg) {
	case RTC_SEC:
	case RTC_MIN:
	case RTC_HOUR:
	case RTC_WDAY:
	case RTC_MDAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		rtc_guest_tm(rtc, &tm);
		break;
	}
	switch (reg) {
	case RTC_SEC:
		return rtc_encode(rtc, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case RTC_MIN:
		return rtc_encode(rtc, tm.tm_min);
	case RTC_HOUR:
		return rtc_encode_hour(rtc, tm.tm_hour);
	case RTC_WDAY:
		return rtc_encode(rtc, tm.tm_wday + 1);
	case RTC_MDAY:
		return rtc_encode(rtc, tm.tm_mday);
	case RTC_MONTH:
		return rtc_encode(rtc, tm.tm_mon + 1);
	case RTC_YEAR:
		return rtc_encode(rtc, (tm.tm_year + 1900) % 100);
	case RTC_CENTURY:
		return rtc_encode(rtc, (tm.tm_year + 1900) / 100);
	case RTC_REG_A:
		ns = rtc_host_ns(CLOCK_REALTIME) % NSEC;
		v = rtc->cmos[RTC_REG_A];
		if (ns >= NSEC - RTC_UIP_NS && !(rtc->cmos[RTC_REG_B] & REG_B_SET))
			v |= REG_A_UIP;
		return v;
	case RTC_REG_C:
		rtc_update_flags(rtc);
		v = rtc->cmos[RTC_REG_C];
		rtc->cmos[RTC_REG_C] = 0;
		rtc_set_irq(rtc, false);
		return v;
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return rtc->cmos[reg];
	}
}

/* Apply a write to one time field; commits unless SET holds updates. */
static void rtc_write_time(struct rtc *rtc, uint8_t reg, uint8_t val)
{
	bool set = rtc->cmos[RTC_REG_B] & REG_B_SET;
	struct tm tm;
	unsigned v;
	time_t t;

	rtc_guest_tm(rtc, &tm);
	v = reg == RTC_HOUR ? rtc_decode_hour(rtc, val) : rtc_decode(rtc, val);
	switch (reg) {
	case RTC_SEC:
		tm.tm_sec = v;
		break;
	case RTC_MIN:
		tm.tm_min = v;
		break;
	case RTC_HOUR:
		tm.tm_hour = v;
		break;
	case RTC_WDAY:
		tm.tm_wday = v - 1;	/* derived from the date; kept while SET */
		break;
	case RTC_MDAY:
		tm.tm_mday = v;
		break;
	case RTC_MONTH:
		tm.tm_mon = v - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + v - 1900;
		break;
	case RTC_CENTURY:
		tm.tm_year = v * 100 + (tm.tm_year + 1900) % 100 - 1900;
		break;
	}
	if (set) {
		rtc->set_tm = tm;
		return;
	}
	t = timegm(&tm);
	if (t != (time_t)-1)
		rtc->offset = t - rtc_host_ns(CLOCK_REALTIME) / NSEC;
	rtc->last_sec = rtc_guest_sec(rtc);
}

static void rtc_write_reg_b(struct rtc *rtc, uint8_t val)
{
	uint8_t old = rtc->cmos[RTC_REG_B];
	time_t t;

	if (val & REG_B_SET) {
		val &= ~REG_B_UIE;	/* as the datasheet says */
		if (!(old & REG_B_SET))
			rtc_guest_tm(rtc, &rtc->set_tm);
	} else if (old & REG_B_SET) {
		/* Clearing SET starts the clock at the time written. */
		t = timegm(&rtc->set_tm);
		if (t != (time_t)-1)
			rtc->offset = t - rtc_host_ns(CLOCK_REALTIME) / NSEC;
		rtc->last_sec = rtc_guest_sec(rtc);
	}
	rtc->cmos[RTC_REG_B] = val;
	rtc_update_flags(rtc);
	rtc_arm_timer(rtc);
}

static void rtc_write_reg(struct rtc *rtc, uint8_t reg, uint8_t val)
{
	switch (reg) {
	case RTC_SEC:
	case RTC_MIN:
	case RTC_HOUR:
	case RTC_WDAY:
	case RTC_MDAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		rtc_write_time(rtc, reg, val);
		break;
	case RTC_REG_A:
		rtc->cmos[RTC_REG_A] = val & ~REG_A_UIP;
		rtc_arm_timer(rtc);
		break;
	case RTC_REG_B:
		rtc_write_reg_b(rtc, val);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break;			/* read-only */
	default:
		rtc->cmos[reg] = val;
		break;
	}
}

static uint64_t rtc_read(void *opaque, uint64_t off, unsigned size)
{
	struct rtc *rtc = opaque;
	uint8_t v;

	(void)size;
	pthread_mutex_lock(&rtc->lock);
	v = off == 0 ? rtc->index : rtc_read_reg(rtc, rtc->index);
	pthread_mutex_unlock(&rtc->lock);
	return v;
}

static void rtc_write(void *opaque, uint64_t off, uint64_t val,
		      unsigned size)
{
	struct rtc *rtc = opaque;

	(void)size;
	pthread_mutex_lock(&rtc->lock);
	if (off == 0)
		rtc->index = val & 0x7f;	/* bit 7 masks NMI: ignored */
	else
		rtc_write_reg(rtc, rtc->index, val);
	pthread_mutex_unlock(&rtc->lock);
}

static const struct bus_ops rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

static void cmos_put16(struct rtc *rtc, unsigned reg, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	rtc->cmos[reg] = v;
	rtc->cmos[reg + 1] = v >> 8;
}

/* Memory sizes where PC firmware leaves them in CMOS. */
static void rtc_cmos_memory(struct rtc *rtc)
{
	uint64_t low = guest_mem_low_end(rtc->mem);
	uint64_t high = guest_mem_high_size(rtc->mem);
	uint64_t ext = low > (1 << 20) ? (low - (1 << 20)) >> 10 : 0;
	uint64_t above16m = low > (16 << 20) ? (low - (16 << 20)) >> 16 : 0;

	cmos_put16(rtc, CMOS_BASE_MEM_LO, 640);
	cmos_put16(rtc, CMOS_EXT_MEM_LO, ext);
	cmos_put16(rtc, CMOS_EXT_MEM2_LO, ext);
	cmos_put16(rtc, CMOS_MEM_16M_LO, above16m);
	high >>= 16;
	rtc->cmos[CMOS_MEM_4G] = high;
	rtc->cmos[CMOS_MEM_4G + 1] = high >> 8;
	rtc->cmos[CMOS_MEM_4G + 2] = high >> 16;
}

static void rtc_destroy(struct device *dev)
{
	struct rtc *rtc = container_of(dev, struct rtc, dev);

	bus_unregister(rtc->pio, rtc->port, rtc);
	if (rtc->timer_fd >= 0) {
		if (rtc->loop)
			event_loop_del(rtc->loop, rtc->timer_fd);
		close(rtc->timer_fd);
	}
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

/*
 * The guest's time is kept as an offset from the host's UTC clock, as a
 * battery-backed clock follows real time while the VM is saved.
 */
static int rtc_save(struct device *dev, struct state_writer *w)
{
	struct rtc *rtc = container_of(dev, struct rtc, dev);

	pthread_mutex_lock(&rtc->lock);
	state_put_u8(w, rtc->index);
	state_put(w, rtc->cmos, CMOS_SIZE);
	state_put_u64(w, (uint64_t)rtc->offset);
	state_put_u8(w, rtc->irq_level);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

static int rtc_load(struct device *dev, struct state_reader *r,
		    uint32_t version)
{
	struct rtc *rtc = container_of(dev, struct rtc, dev);
	uint8_t index, level, cmos[CMOS_SIZE];
	uint64_t offset;
	int ret;

	(void)version;
	ret = state_get_u8(r, &index);
	ret = ret ?: state_get(r, cmos, CMOS_SIZE);
	ret = ret ?: state_get_u64(r, &offset);
	ret = ret ?: state_get_u8(r, &level);
	if (ret)
		return ret;
	if (index >= CMOS_SIZE || level > 1)
		return state_fail(r, "rtc: bad index %u", index);
	if ((int64_t)offset > RTC_OFFSET_MAX ||
	    (int64_t)offset < -RTC_OFFSET_MAX)
		return state_fail(r, "rtc: clock offset of %" PRId64
				  " seconds out of range", (int64_t)offset);
	rtc->index = index;
	memcpy(rtc->cmos, cmos, CMOS_SIZE);
	rtc->offset = (int64_t)offset;
	rtc->irq_level = level;
	rtc->last_sec = rtc_guest_sec(rtc);
	rtc->last_ns = rtc_host_ns(CLOCK_MONOTONIC);
	rtc_arm_timer(rtc);
	return 0;
}

static const struct device_ops rtc_dev_ops = {
	.state_version = 1,
	.save = rtc_save,
	.load = rtc_load,
	.destroy = rtc_destroy,
};

int rtc_create(const struct dev_env *env, uint16_t port, unsigned gsi,
	       struct device **out)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));
	int ret;

	if (!rtc)
		return -ENOMEM;
	rtc->dev.ops = &rtc_dev_ops;
	snprintf(rtc->dev.name, sizeof(rtc->dev.name), "rtc");
	rtc->pio = env->pio;
	rtc->port = port;
	rtc->irq = (struct irq_line){ env->irq, gsi };
	rtc->loop = env->loop;
	rtc->mem = env->mem;
	rtc->timer_fd = -1;
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->cmos[RTC_REG_A] = REG_A_DV_32K | 0x06;	/* 1024 Hz */
	rtc->cmos[RTC_REG_B] = REG_B_24H;		/* BCD, 24 hours */
	rtc->last_sec = rtc_guest_sec(rtc);
	rtc->last_ns = rtc_host_ns(CLOCK_MONOTONIC);
	rtc_cmos_memory(rtc);

	if (rtc->loop) {
		rtc->timer_fd = timerfd_create(CLOCK_REALTIME,
					       TFD_NONBLOCK | TFD_CLOEXEC);
		if (rtc->timer_fd < 0) {
			ret = -errno;
			goto err_free;
		}
		ret = event_loop_add(rtc->loop, rtc->timer_fd, EPOLLIN,
				     rtc_timer_fired, rtc);
		if (ret)
			goto err_close;
	}
	ret = bus_register(env->pio, port, 2, &rtc_ops, rtc, "rtc");
	if (ret)
		goto err_loop;
	*out = &rtc->dev;
	return 0;

err_loop:
	if (rtc->loop)
		event_loop_del(rtc->loop, rtc->timer_fd);
err_close:
	if (rtc->timer_fd >= 0)
		close(rtc->timer_fd);
err_free:
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
	return ret;
}
