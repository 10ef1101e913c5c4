// SPDX-License-Identifier: MIT
/*
 * The baseline for bench/pio.sh: the bare minimum a VMM can do per port
 * I/O exit. It builds the VM as cvisor does (in-kernel irqchip and PIT),
 * loads a test guest with cvisor's own loader, then loops on
 * KVM_RUN with raw ioctls and ignores every exit but the test exit port.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "vmm/vm.h"

static void seg(struct kvm_segment *k, const struct x86_segment *s)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type, .present = s->present, .dpl = s->dpl,
		.db = s->db, .s = s->s, .l = s->l, .g = s->g,
		.unusable = s->unusable,
	};
}

int main(int argc, char **argv)
{
	struct vm_config cfg = { .kernel = argv[1], .mem_size = 64 << 20,
				 .nr_cpus = 1 };
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs ks;
	struct kvm_regs kr = { 0 };
	struct kvm_run *run;
	struct vm vm = { .cfg = &cfg };
	char err[256];
	int kvm, vmfd, cpu;
	unsigned long exits = 0;

	if (argc != 2 || guest_mem_init(&vm.mem, cfg.mem_size, NULL) ||
	    x86_boot_load(&vm, 0, err, sizeof(err))) {
		fprintf(stderr, "usage: pio_bare GUEST.elf\n");
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR);
	vmfd = ioctl(kvm, KVM_CREATE_VM, 0);
	/* Same VM shape as cvisor's, so only the exit handling differs. */
	ioctl(vmfd, KVM_CREATE_IRQCHIP, 0);
	ioctl(vmfd, KVM_CREATE_PIT2, &(struct kvm_pit_config){ .flags = KVM_PIT_SPEAKER_DUMMY });
	region.memory_size = cfg.mem_size;
	region.userspace_addr = (uintptr_t)vm.mem.regions[0].hva;
	ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &region);
	cpu = ioctl(vmfd, KVM_CREATE_VCPU, 0);
	run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
		   PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (kvm < 0 || vmfd < 0 || cpu < 0 || run == MAP_FAILED) {
		perror("kvm");
		return 1;
	}
	ioctl(cpu, KVM_GET_SREGS, &ks);
	seg(&ks.cs, &vm.boot_sregs.cs);
	seg(&ks.ds, &vm.boot_sregs.ds);
	seg(&ks.es, &vm.boot_sregs.es);
	seg(&ks.fs, &vm.boot_sregs.fs);
	seg(&ks.gs, &vm.boot_sregs.gs);
	seg(&ks.ss, &vm.boot_sregs.ss);
	seg(&ks.tr, &vm.boot_sregs.tr);
	ks.gdt.base = vm.boot_sregs.gdt.base;
	ks.gdt.limit = vm.boot_sregs.gdt.limit;
	ks.cr0 = vm.boot_sregs.cr0;
	ks.cr3 = vm.boot_sregs.cr3;
	ks.cr4 = vm.boot_sregs.cr4;
	ks.efer = vm.boot_sregs.efer;
	ioctl(cpu, KVM_SET_SREGS, &ks);
	kr.rip = vm.boot_regs.rip;
	kr.rsi = vm.boot_regs.rsi;
	kr.rsp = vm.boot_regs.rsp;
	kr.rflags = 2;
	ioctl(cpu, KVM_SET_REGS, &kr);
	for (;;) {
		if (ioctl(cpu, KVM_RUN, 0) < 0)
			return 1;
		if (run->exit_reason != KVM_EXIT_IO)
			return 1;
		exits++;
		if (run->io.port == PORT_DEBUG_EXIT)
			break;
	}
	printf("%lu exits\n", exits);
	return 0;
}
