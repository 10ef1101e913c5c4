build/src/vmm/bus.o: src/vmm/bus.c src/vmm/bus.h
src/vmm/bus.h:
