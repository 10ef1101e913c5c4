// SPDX-License-Identifier: MIT
/*
 * KVM's VM-wide state in the "kvm" section: kvmclock (KVM_GET_CLOCK), the
 * in-kernel PIC pair and IOAPIC (KVM_GET_IRQCHIP) and the PIT
 * (KVM_GET_PIT2). kvmclock is set back to the saved nanoseconds, so the
 * guest's clock goes on from where it was instead of jumping by the time
 * the VM spent saved. The PIT's channels restart counting from their
 * saved counts when loaded (KVM_SET_PIT2 reloads them), so its host-time
 * stamps are not written.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "accel/kvm_state.h"
#include "accel/state_read.h"

#define IOAPIC_ADDR		0xfec00000ull	/* KVM's fixed IOAPIC address */
#define PIT_RW_STATE_MAX	4	/* LSB, MSB, WORD0, WORD1 */

static int save_fail(char *err, size_t errlen, const char *what)
{
	int e = errno ? errno : EIO;

	snprintf(err, errlen, "KVM: saving the VM: %s: %s", what, strerror(e));
	return -e;
}

/* struct kvm_pic_state is sixteen bytes in a row. */
static uint8_t *pic_bytes(struct kvm_pic_state *p)
{
	_Static_assert(sizeof(*p) == 16, "kvm_pic_state is 16 u8 fields");
	return (uint8_t *)p;
}

static void put_ioapic(struct state_writer *w,
		       const struct kvm_ioapic_state *io)
{
	state_put_u64(w, io->base_address);
	state_put_u32(w, io->ioregsel);
	state_put_u32(w, io->id);
	state_put_u32(w, io->irr);
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		state_put_u64(w, io->redirtbl[i].bits);
}

static void put_pit(struct state_writer *w, const struct kvm_pit_state2 *p)
{
	for (int i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &p->channels[i];

		state_put_u32(w, c->count);
		state_put_u16(w, c->latched_count);
		state_put_u8(w, c->count_latched);
		state_put_u8(w, c->status_latched);
		state_put_u8(w, c->status);
		state_put_u8(w, c->read_state);
		state_put_u8(w, c->write_state);
		state_put_u8(w, c->write_latch);
		state_put_u8(w, c->rw_mode);
		state_put_u8(w, c->mode);
		state_put_u8(w, c->bcd);
		state_put_u8(w, c->gate);
	}
	state_put_u32(w, p->flags);
}

int kvm_vm_state_save(int vm_fd, struct state_writer *w, char *err,
		      size_t errlen)
{
	struct kvm_irqchip chip[3] = {
		{ .chip_id = KVM_IRQCHIP_PIC_MASTER },
		{ .chip_id = KVM_IRQCHIP_PIC_SLAVE },
		{ .chip_id = KVM_IRQCHIP_IOAPIC },
	};
	struct kvm_clock_data clock = { 0 };
	struct kvm_pit_state2 pit;

	if (ioctl(vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return save_fail(err, errlen, "KVM_GET_CLOCK");
	for (int i = 0; i < 3; i++)
		if (ioctl(vm_fd, KVM_GET_IRQCHIP, &chip[i]) < 0)
			return save_fail(err, errlen, "KVM_GET_IRQCHIP");
	if (ioctl(vm_fd, KVM_GET_PIT2, &pit) < 0)
		return save_fail(err, errlen, "KVM_GET_PIT2");

	state_section_begin(w, KVM_STATE_VERSION, "kvm");
	state_put_u64(w, clock.clock);
	state_put(w, pic_bytes(&chip[0].chip.pic), 16);
	state_put(w, pic_bytes(&chip[1].chip.pic), 16);
	put_ioapic(w, &chip[2].chip.ioapic);
	put_pit(w, &pit);
	state_section_end(w);
	return 0;
}

static void get_ioapic(struct state_reader *r, struct kvm_ioapic_state *io,
		       int *err)
{
	io->base_address = sread_u64(r, err);
	io->ioregsel = sread_u32(r, err);
	io->id = sread_u32(r, err);
	io->irr = sread_u32(r, err);
	for (int i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
		io->redirtbl[i].bits = sread_u64(r, err);
}

static void get_pit(struct state_reader *r, struct kvm_pit_state2 *p,
		    int *err)
{
	for (int i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *c = &p->channels[i];

		c->count = sread_u32(r, err);
		c->latched_count = sread_u16(r, err);
		c->count_latched = sread_u8(r, err);
		c->status_latched = sread_bool(r, err);
		c->status = sread_u8(r, err);
		c->read_state = sread_u8(r, err);
		c->write_state = sread_u8(r, err);
		c->write_latch = sread_u8(r, err);
		c->rw_mode = sread_u8(r, err);
		c->mode = sread_u8(r, err);
		c->bcd = sread_bool(r, err);
		c->gate = sread_bool(r, err);
	}
	p->flags = sread_u32(r, err);
}

/* What KVM's 8259 code indexes, shifts or switches on without checking. */
static const char *check_pic(const struct kvm_pic_state *p, bool master)
{
	const uint8_t *b = pic_bytes((struct kvm_pic_state *)p);

	if (p->priority_add > 7 || p->irq_base & 7 || p->init_state > 3)
		return "priority, vector base or init step out of range";
	/* read_reg_select .. init4: flags */
	for (int i = 6; i < 14; i++)
		if (b[i] > 1 && i != 9)
			return "a mode flag is neither 0 nor 1";
	if (p->elcr_mask != (master ? 0xf8 : 0xde) ||
	    (p->elcr & ~p->elcr_mask))
		return "ELCR makes a fixed edge input level-triggered";
	return NULL;
}

static const char *check_ioapic(const struct kvm_ioapic_state *io)
{
	if (io->base_address != IOAPIC_ADDR)
		return "IOAPIC moved from 0xfec00000";
	if (io->ioregsel > 0xff || io->id > 0xf)
		return "IOAPIC register select or ID out of range";
	/*
	 * The redirection entries are not checked: KVM keeps whatever the
	 * guest writes, reserved bits included, and acts on the defined
	 * fields only.
	 */
	if (io->irr >> KVM_IOAPIC_NUM_PINS)
		return "IOAPIC IRR beyond pin 23";
	return NULL;
}

static const char *check_pit(const struct kvm_pit_state2 *p)
{
	for (int i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *c = &p->channels[i];

		/* mode 0xff: never programmed since KVM's reset */
		if (c->count > 0x10000 || (c->mode > 7 && c->mode != 0xff) ||
		    c->rw_mode > 3 || c->count_latched > 3 ||
		    c->read_state > PIT_RW_STATE_MAX ||
		    c->write_state > PIT_RW_STATE_MAX)
			return "PIT channel state out of range";
	}
	if (p->flags & ~(uint32_t)(KVM_PIT_FLAGS_HPET_LEGACY |
				   KVM_PIT_FLAGS_SPEAKER_DATA_ON))
		return "PIT flags with reserved bits";
	return NULL;
}

static int load_fail(struct state_reader *r, const char *what)
{
	return state_fail(r, "kvm: %s: %s", what, strerror(errno));
}

int kvm_vm_state_load(int vm_fd, struct state_reader *r, uint32_t version)
{
	struct kvm_irqchip chip[3] = {
		{ .chip_id = KVM_IRQCHIP_PIC_MASTER },
		{ .chip_id = KVM_IRQCHIP_PIC_SLAVE },
		{ .chip_id = KVM_IRQCHIP_IOAPIC },
	};
	struct kvm_clock_data clock = { 0 };
	struct kvm_pit_state2 pit = { 0 };
	const char *bad = NULL;
	int err = 0;

	if (version != KVM_STATE_VERSION)
		return state_fail(r, "kvm: state version %u, this cvisor "
				  "reads %u", version, KVM_STATE_VERSION);
	clock.clock = sread_u64(r, &err);
	sread(r, pic_bytes(&chip[0].chip.pic), 16, &err);
	sread(r, pic_bytes(&chip[1].chip.pic), 16, &err);
	get_ioapic(r, &chip[2].chip.ioapic, &err);
	get_pit(r, &pit, &err);
	if (err)
		bad = sread_error(err);
	else if (state_remaining(r))
		bad = "bytes past the KVM VM state";
	if (!bad)
		bad = check_pic(&chip[0].chip.pic, true);
	if (!bad)
		bad = check_pic(&chip[1].chip.pic, false);
	if (!bad)
		bad = check_ioapic(&chip[2].chip.ioapic);
	if (!bad)
		bad = check_pit(&pit);
	if (bad)
		return state_fail(r, "kvm: %s", bad);

	for (int i = 0; i < 3; i++)
		if (ioctl(vm_fd, KVM_SET_IRQCHIP, &chip[i]) < 0)
			return load_fail(r, "KVM_SET_IRQCHIP");
	if (ioctl(vm_fd, KVM_SET_PIT2, &pit) < 0)
		return load_fail(r, "KVM_SET_PIT2");
	if (ioctl(vm_fd, KVM_SET_CLOCK, &clock) < 0)
		return load_fail(r, "KVM_SET_CLOCK");
	return 0;
}
