build/src/vmm/event_loop.o: src/vmm/event_loop.c src/vmm/event_loop.h
src/vmm/event_loop.h:
