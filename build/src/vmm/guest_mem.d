build/src/vmm/guest_mem.o: src/vmm/guest_mem.c src/vmm/guest_mem.h \
 src/arch/x86/layout.h
src/vmm/guest_mem.h:
src/arch/x86/layout.h:
