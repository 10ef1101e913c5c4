/* SPDX-License-Identifier: MIT */
/*
 * The VM's event loop: one thread waiting in epoll for the console, device
 * backends and timers. Callbacks run on that thread.
 */
#ifndef CVISOR_VMM_EVENT_LOOP_H
#define CVISOR_VMM_EVENT_LOOP_H

#include <stdint.h>

struct event_loop;

typedef void (*event_cb)(void *opaque, uint32_t events);

struct event_loop *event_loop_create(void);
/* Stop the thread (if started) and free the loop. */
void event_loop_destroy(struct event_loop *loop);
/*
 * Stop the thread (if started): no callback runs after this returns, so
 * their owners can be freed; handlers can still be removed.
 */
void event_loop_stop(struct event_loop *loop);
int event_loop_start(struct event_loop *loop);

/* events are EPOLLIN/EPOLLOUT/...; fd stays owned by the caller. */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events,
		   event_cb cb, void *opaque);
int event_loop_mod(struct event_loop *loop, int fd, uint32_t events);
int event_loop_del(struct event_loop *loop, int fd);

#endif
