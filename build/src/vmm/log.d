build/src/vmm/log.o: src/vmm/log.c src/vmm/log.h
src/vmm/log.h:
