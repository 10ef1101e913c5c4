// SPDX-License-Identifier: MIT
/*
 * The KVM accelerator: guest code runs in hardware through /dev/kvm, with
 * the interrupt controllers (LAPIC, IOAPIC, PIC) and the PIT in the kernel.
 * Port I/O and MMIO exits are dispatched to the VM's buses on the vCPU
 * thread; everything else KVM handles itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/accel.h"
#include "accel/kvm_cpuid.h"
#include "accel/kvm_dirty.h"
#include "accel/kvm_msi.h"
#include "accel/kvm_state.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define KVM_TSS_ADDR		0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000ULL
#define KVM_KICK_SIGNAL		SIGUSR1

struct kvm_vm {
	int kvm_fd;
	int vm_fd;
	int run_size;
	struct kvm_msi_routes *msi;	/* NULL: KVM_SIGNAL_MSI only */
	struct kvm_dirty *dirty;
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
};

static struct kvm_vm *kvm_of(struct vm *vm)
{
	return vm->accel_data;
}

static struct kvm_vcpu *kvm_vcpu_of(struct vcpu *vcpu)
{
	return vcpu->accel_data;
}

static int kvm_open_dev(struct vm *vm)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		snprintf(vm->accel_error, sizeof(vm->accel_error),
			 "/dev/kvm does not exist: load the KVM module (modprobe kvm_intel or kvm_amd) or use --accel emu");
	else if (errno == EACCES || errno == EPERM)
		snprintf(vm->accel_error, sizeof(vm->accel_error),
			 "no permission to open /dev/kvm: add yourself to the kvm group (usermod -aG kvm $USER) or use --accel emu");
	else
		snprintf(vm->accel_error, sizeof(vm->accel_error),
			 "cannot open /dev/kvm: %s", strerror(errno));
	return -errno;
}

static int kvm_fail(struct vm *vm, const char *what)
{
	int err = errno;

	snprintf(vm->accel_error, sizeof(vm->accel_error), "KVM: %s: %s",
		 what, strerror(err));
	return -err;
}

static int kvm_map_memory(struct vm *vm, struct kvm_vm *kvm)
{
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		struct guest_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return kvm_fail(vm, "KVM_SET_USER_MEMORY_REGION");
	}
	return 0;
}

static void kvm_kick_handler(int sig)
{
	(void)sig;
}

static int kvm_vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct sigaction sa = { .sa_handler = kvm_kick_handler };
	struct kvm_vm *kvm;
	int ret;

	kvm = calloc(1, sizeof(*kvm));
	if (!kvm)
		return -ENOMEM;
	vm->accel_data = kvm;
	kvm->vm_fd = -1;
	kvm->kvm_fd = kvm_open_dev(vm);
	if (kvm->kvm_fd < 0)
		return kvm->kvm_fd;
	ret = ioctl(kvm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		snprintf(vm->accel_error, sizeof(vm->accel_error),
			 "KVM API version %d, cvisor needs %d", ret,
			 KVM_API_VERSION);
		return -EINVAL;
	}
	kvm->vm_fd = ioctl(kvm->kvm_fd, KVM_CREATE_VM, 0);
	if (kvm->vm_fd < 0)
		return kvm_fail(vm, "KVM_CREATE_VM");
	kvm->run_size = ioctl(kvm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->run_size < (int)sizeof(struct kvm_run))
		return kvm_fail(vm, "KVM_GET_VCPU_MMAP_SIZE");
	/* Needed by VMX for real mode; harmless elsewhere. */
	ioctl(kvm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR);
	ioctl(kvm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR,
	      &(uint64_t){ KVM_IDENTITY_MAP_ADDR });
	if (ioctl(kvm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return kvm_fail(vm, "KVM_CREATE_IRQCHIP");
	if (ioctl(kvm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return kvm_fail(vm, "KVM_CREATE_PIT2");
	ret = kvm_msi_routes_create(kvm->vm_fd, &kvm->msi);
	if (ret)
		return ret;
	ret = kvm_map_memory(vm, kvm);
	if (ret)
		return ret;
	kvm->dirty = kvm_dirty_create(kvm->kvm_fd, kvm->vm_fd, &vm->mem);
	if (!kvm->dirty)
		return -ENOMEM;
	sigemptyset(&sa.sa_mask);
	sigaction(KVM_KICK_SIGNAL, &sa, NULL);
	return 0;
}

static void kvm_vm_destroy(struct vm *vm)
{
	struct kvm_vm *kvm = kvm_of(vm);

	if (!kvm)
		return;
	kvm_dirty_destroy(kvm->dirty);
	kvm_msi_routes_destroy(kvm->msi);
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	if (kvm->kvm_fd >= 0)
		close(kvm->kvm_fd);
	free(kvm);
	vm->accel_data = NULL;
}

static int kvm_vcpu_init(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct kvm_vm *kvm = kvm_of(vm);
	struct kvm_vcpu *kv;
	int ret;

	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	vcpu->accel_data = kv;
	/* KVM's vCPU ID is the initial APIC ID. */
	kv->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU,
		       (unsigned long)topology_apic_id(&vm->topo, vcpu->id));
	if (kv->fd < 0) {
		kv->run = NULL;
		return kvm_fail(vm, "KVM_CREATE_VCPU");
	}
	kv->run = mmap(NULL, kvm->run_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, kv->fd, 0);
	if (kv->run == MAP_FAILED) {
		kv->run = NULL;
		return kvm_fail(vm, "mmap kvm_run");
	}
	ret = kvm_cpuid_setup(kvm->kvm_fd, kv->fd, &vm->topo, vcpu->id);
	if (ret) {
		snprintf(vm->accel_error, sizeof(vm->accel_error),
			 "KVM: setting CPUID failed: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

static void kvm_vcpu_destroy(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);

	if (!kv)
		return;
	if (kv->run)
		munmap(kv->run, kvm_of(vcpu->vm)->run_size);
	if (kv->fd >= 0)
		close(kv->fd);
	free(kv);
	vcpu->accel_data = NULL;
}

static int kvm_get_regs(struct vcpu *vcpu, struct x86_regs *regs)
{
	struct kvm_regs kr;

	if (ioctl(kvm_vcpu_of(vcpu)->fd, KVM_GET_REGS, &kr) < 0)
		return -errno;
	*regs = (struct x86_regs){
		kr.rax, kr.rbx, kr.rcx, kr.rdx, kr.rsi, kr.rdi, kr.rsp, kr.rbp,
		kr.r8, kr.r9, kr.r10, kr.r11, kr.r12, kr.r13, kr.r14, kr.r15,
		kr.rip, kr.rflags,
	};
	return 0;
}

static int kvm_set_regs(struct vcpu *vcpu, const struct x86_regs *r)
{
	struct kvm_regs kr = {
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx,
		.rsi = r->rsi, .rdi = r->rdi, .rsp = r->rsp, .rbp = r->rbp,
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.rip = r->rip, .rflags = r->rflags,
	};

	return ioctl(kvm_vcpu_of(vcpu)->fd, KVM_SET_REGS, &kr) < 0 ? -errno : 0;
}

static void seg_from_kvm(struct x86_segment *s, const struct kvm_segment *k)
{
	*s = (struct x86_segment){
		.base = k->base, .limit = k->limit, .selector = k->selector,
		.type = k->type, .present = k->present, .dpl = k->dpl,
		.db = k->db, .s = k->s, .l = k->l, .g = k->g, .avl = k->avl,
		.unusable = k->unusable,
	};
}

static void seg_to_kvm(struct kvm_segment *k, const struct x86_segment *s)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type, .present = s->present, .dpl = s->dpl,
		.db = s->db, .s = s->s, .l = s->l, .g = s->g, .avl = s->avl,
		.unusable = s->unusable,
	};
}

static int kvm_get_sregs(struct vcpu *vcpu, struct x86_sregs *s)
{
	struct kvm_sregs k;

	if (ioctl(kvm_vcpu_of(vcpu)->fd, KVM_GET_SREGS, &k) < 0)
		return -errno;
	seg_from_kvm(&s->cs, &k.cs);
	seg_from_kvm(&s->ds, &k.ds);
	seg_from_kvm(&s->es, &k.es);
	seg_from_kvm(&s->fs, &k.fs);
	seg_from_kvm(&s->gs, &k.gs);
	seg_from_kvm(&s->ss, &k.ss);
	seg_from_kvm(&s->tr, &k.tr);
	seg_from_kvm(&s->ldt, &k.ldt);
	s->gdt = (struct x86_dtable){ k.gdt.base, k.gdt.limit };
	s->idt = (struct x86_dtable){ k.idt.base, k.idt.limit };
	s->cr0 = k.cr0;
	s->cr2 = k.cr2;
	s->cr3 = k.cr3;
	s->cr4 = k.cr4;
	s->cr8 = k.cr8;
	s->efer = k.efer;
	s->apic_base = k.apic_base;
	return 0;
}

static int kvm_set_sregs(struct vcpu *vcpu, const struct x86_sregs *s)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
	struct kvm_sregs k;

	/* Start from KVM's state to keep apic_base and the interrupt bitmap. */
	if (ioctl(kv->fd, KVM_GET_SREGS, &k) < 0)
		return -errno;
	seg_to_kvm(&k.cs, &s->cs);
	seg_to_kvm(&k.ds, &s->ds);
	seg_to_kvm(&k.es, &s->es);
	seg_to_kvm(&k.fs, &s->fs);
	seg_to_kvm(&k.gs, &s->gs);
	seg_to_kvm(&k.ss, &s->ss);
	seg_to_kvm(&k.tr, &s->tr);
	seg_to_kvm(&k.ldt, &s->ldt);
	k.gdt.base = s->gdt.base;
	k.gdt.limit = s->gdt.limit;
	k.idt.base = s->idt.base;
	k.idt.limit = s->idt.limit;
	k.cr0 = s->cr0;
	k.cr2 = s->cr2;
	k.cr3 = s->cr3;
	k.cr4 = s->cr4;
	k.cr8 = s->cr8;
	k.efer = s->efer;
	if (s->apic_base)
		k.apic_base = s->apic_base;
	return ioctl(kv->fd, KVM_SET_SREGS, &k) < 0 ? -errno : 0;
}

static void kvm_handle_io(struct vm *vm, struct kvm_run *run)
{
	uint8_t *p = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;

	for (uint32_t i = 0; i < run->io.count; i++, p += size) {
		uint64_t val = 0;

		if (run->io.direction == KVM_EXIT_IO_OUT) {
			memcpy(&val, p, size);
			bus_write(&vm->pio, run->io.port, val, size);
		} else {
			bus_read(&vm->pio, run->io.port, &val, size);
			memcpy(p, &val, size);
		}
	}
}

static void kvm_handle_mmio(struct vm *vm, struct kvm_run *run)
{
	unsigned len = run->mmio.len;
	uint64_t val = 0;

	if (len != 1 && len != 2 && len != 4 && len != 8) {
		log_once("MMIO access of %u bytes at 0x%llx ignored", len,
			 (unsigned long long)run->mmio.phys_addr);
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		return;
	}
	if (run->mmio.is_write) {
		memcpy(&val, run->mmio.data, len);
		bus_write(&vm->mmio, run->mmio.phys_addr, val, len);
	} else {
		bus_read(&vm->mmio, run->mmio.phys_addr, &val, len);
		memcpy(run->mmio.data, &val, len);
	}
}

static uint64_t kvm_rip(struct vcpu *vcpu)
{
	struct x86_regs regs;

	return kvm_get_regs(vcpu, &regs) ? 0 : regs.rip;
}

static int kvm_exit_error(struct vcpu *vcpu, struct vcpu_exit *exit,
			  const char *fmt, unsigned long long a)
{
	exit->reason = VCPU_EXIT_ERROR;
	exit->rip = kvm_rip(vcpu);
	snprintf(exit->detail, sizeof(exit->detail), fmt, a);
	return 0;
}

static int kvm_vcpu_run(struct vcpu *vcpu, struct vcpu_exit *exit)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);
	struct kvm_run *run = kv->run;
	struct vm *vm = vcpu->vm;

	memset(exit, 0, sizeof(*exit));
	for (;;) {
		if (ioctl(kv->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&run->immediate_exit, 0,
						 __ATOMIC_RELAXED);
				exit->reason = VCPU_EXIT_KICKED;
				return 0;
			}
			return kvm_exit_error(vcpu, exit, "KVM_RUN failed: errno %llu",
					      errno);
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			kvm_handle_io(vm, run);
			break;
		case KVM_EXIT_MMIO:
			kvm_handle_mmio(vm, run);
			break;
		case KVM_EXIT_HLT:
		case KVM_EXIT_IRQ_WINDOW_OPEN:
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_SHUTDOWN:
			exit->reason = VCPU_EXIT_SHUTDOWN;
			exit->rip = kvm_rip(vcpu);
			return 0;
		case KVM_EXIT_SYSTEM_EVENT:
			if (run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				vm_request_exit(vm, VM_EXIT_RESET, "reset");
			else
				vm_request_exit(vm, VM_EXIT_POWEROFF, "poweroff");
			exit->reason = VCPU_EXIT_KICKED;
			return 0;
		case KVM_EXIT_INTERNAL_ERROR:
			return kvm_exit_error(vcpu, exit,
					      "KVM_EXIT_INTERNAL_ERROR (suberror %llu)",
					      run->internal.suberror);
		case KVM_EXIT_FAIL_ENTRY:
			return kvm_exit_error(vcpu, exit,
					      "KVM_EXIT_FAIL_ENTRY (reason 0x%llx)",
					      run->fail_entry.hardware_entry_failure_reason);
		default:
			return kvm_exit_error(vcpu, exit,
					      "unexpected KVM exit reason %llu",
					      run->exit_reason);
		}
		if (atomic_load_explicit(&vm->stopping, memory_order_relaxed)) {
			exit->reason = VCPU_EXIT_KICKED;
			return 0;
		}
	}
}

static void kvm_vcpu_kick(struct vcpu *vcpu)
{
	struct kvm_vcpu *kv = kvm_vcpu_of(vcpu);

	if (!kv || !kv->run)
		return;
	__atomic_store_n(&kv->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, KVM_KICK_SIGNAL);
}

static int kvm_set_irq(struct vm *vm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	return ioctl(kvm_of(vm)->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

static int kvm_send_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = addr >> 32,
		.data = data,
	};

	return ioctl(kvm_of(vm)->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

static int kvm_msi_add(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_vm *kvm = kvm_of(vm);

	return kvm->msi ? kvm_msi_route_add(kvm->msi, addr, data) : -ENOSYS;
}

/* Only ever called with an fd kvm_msi_add returned, so kvm->msi is set. */
static int kvm_msi_update(struct vm *vm, int fd, uint64_t addr, uint32_t data)
{
	return kvm_msi_route_update(kvm_of(vm)->msi, fd, addr, data);
}

static void kvm_msi_del(struct vm *vm, int fd)
{
	kvm_msi_route_del(kvm_of(vm)->msi, fd);
}

static int kvm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, bool pio,
			 int fd, bool deassign)
{
	struct kvm_ioeventfd ev = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};

	return ioctl(kvm_of(vm)->vm_fd, KVM_IOEVENTFD, &ev) < 0 ? -errno : 0;
}

static int kvm_add_ioeventfd(struct vm *vm, uint64_t addr, unsigned len,
			     bool pio, int fd)
{
	return kvm_ioeventfd(vm, addr, len, pio, fd, false);
}

static int kvm_del_ioeventfd(struct vm *vm, uint64_t addr, unsigned len,
			     bool pio, int fd)
{
	return kvm_ioeventfd(vm, addr, len, pio, fd, true);
}

static int kvm_vcpu_save(struct vcpu *vcpu, struct state_writer *w)
{
	struct vm *vm = vcpu->vm;

	return kvm_vcpu_state_save(kvm_of(vm)->kvm_fd, kvm_vcpu_of(vcpu)->fd,
				   vcpu->id, w, vm->accel_error,
				   sizeof(vm->accel_error));
}

static int kvm_vcpu_load(struct vcpu *vcpu, struct state_reader *r,
			 uint32_t version)
{
	return kvm_vcpu_state_load(kvm_of(vcpu->vm)->kvm_fd,
				   kvm_vcpu_of(vcpu)->fd, vcpu->id,
				   topology_apic_id(&vcpu->vm->topo, vcpu->id),
				   r, version);
}

static int kvm_vm_save(struct vm *vm, struct state_writer *w)
{
	return kvm_vm_state_save(kvm_of(vm)->vm_fd, w, vm->accel_error,
				 sizeof(vm->accel_error));
}

static int kvm_vm_load(struct vm *vm, struct state_reader *r, uint32_t version)
{
	return kvm_vm_state_load(kvm_of(vm)->vm_fd, r, version);
}

static int kvm_dirty_log_start(struct vm *vm)
{
	return kvm_dirty_start(kvm_of(vm)->dirty, vm->accel_error,
			       sizeof(vm->accel_error));
}

static int kvm_dirty_log_sync(struct vm *vm, uint64_t *bitmap)
{
	return kvm_dirty_sync(kvm_of(vm)->dirty, bitmap);
}

static void kvm_dirty_log_stop(struct vm *vm)
{
	kvm_dirty_stop(kvm_of(vm)->dirty);
}

static int kvm_dev_slot_map(struct vm *vm, uint64_t gpa, void *hva,
			    uint64_t size)
{
	return kvm_dirty_dev_map(kvm_of(vm)->dirty, gpa, hva, size);
}

static void kvm_dev_slot_unmap(struct vm *vm, int slot)
{
	kvm_dirty_dev_unmap(kvm_of(vm)->dirty, slot);
}

static int kvm_dev_slot_sync(struct vm *vm, int slot, uint64_t *bitmap)
{
	return kvm_dirty_dev_sync(kvm_of(vm)->dirty, slot, bitmap);
}

const struct accel_ops kvm_accel_ops = {
	.name = "kvm",
	.vm_init = kvm_vm_init,
	.vm_destroy = kvm_vm_destroy,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_destroy = kvm_vcpu_destroy,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.set_sregs = kvm_set_sregs,
	.vcpu_run = kvm_vcpu_run,
	.vcpu_kick = kvm_vcpu_kick,
	.set_irq = kvm_set_irq,
	.send_msi = kvm_send_msi,
	.msi_route_add = kvm_msi_add,
	.msi_route_update = kvm_msi_update,
	.msi_route_del = kvm_msi_del,
	.add_ioeventfd = kvm_add_ioeventfd,
	.del_ioeventfd = kvm_del_ioeventfd,
	.vcpu_save = kvm_vcpu_save,
	.vcpu_load = kvm_vcpu_load,
	.vm_save = kvm_vm_save,
	.vm_load = kvm_vm_load,
	.dirty_log_start = kvm_dirty_log_start,
	.dirty_log_sync = kvm_dirty_log_sync,
	.dirty_log_stop = kvm_dirty_log_stop,
	.dev_slot_map = kvm_dev_slot_map,
	.dev_slot_unmap = kvm_dev_slot_unmap,
	.dev_slot_sync = kvm_dev_slot_sync,
};
