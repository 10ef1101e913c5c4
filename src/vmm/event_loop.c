// SPDX-License-Identifier: MIT
#include "vmm/event_loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct event_handler {
	int fd;
	event_cb cb;
	void *opaque;
	bool dead;
	struct event_handler *next;
};

struct event_loop {
	int epfd;
	int stopfd;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	/*
	 * Handlers are never freed while the loop runs: a removed one is only
	 * marked dead, so an event already fetched from epoll cannot reach
	 * freed memory.
	 */
	struct event_handler *handlers;
};

struct event_loop *event_loop_create(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!loop)
		return NULL;
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		goto err_free;
	loop->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->stopfd < 0)
		goto err_epoll;
	ev.data.ptr = NULL;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev) < 0)
		goto err_stop;
	return loop;
err_stop:
	close(loop->stopfd);
err_epoll:
	close(loop->epfd);
err_free:
	free(loop);
	return NULL;
}

static void *event_loop_thread(void *arg)
{
	struct event_loop *loop = arg;
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(loop->epfd, evs, 32, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct event_handler *h = evs[i].data.ptr;

			if (!h)
				return NULL;
			if (!__atomic_load_n(&h->dead, __ATOMIC_ACQUIRE))
				h->cb(h->opaque, evs[i].events);
		}
	}
	return NULL;
}

int event_loop_start(struct event_loop *loop)
{
	int ret = pthread_create(&loop->thread, NULL, event_loop_thread, loop);

	if (ret)
		return -ret;
	loop->started = true;
	return 0;
}

void event_loop_stop(struct event_loop *loop)
{
	uint64_t one = 1;

	if (!loop || !loop->started)
		return;
	if (write(loop->stopfd, &one, sizeof(one)) < 0)
		pthread_cancel(loop->thread);
	pthread_join(loop->thread, NULL);
	loop->started = false;
}

void event_loop_destroy(struct event_loop *loop)
{
	struct event_handler *h, *next;

	if (!loop)
		return;
	event_loop_stop(loop);
	for (h = loop->handlers; h; h = next) {
		next = h->next;
		free(h);
	}
	close(loop->stopfd);
	close(loop->epfd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

static struct event_handler *event_loop_find(struct event_loop *loop, int fd)
{
	for (struct event_handler *h = loop->handlers; h; h = h->next)
		if (h->fd == fd && !h->dead)
			return h;
	return NULL;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events,
		   event_cb cb, void *opaque)
{
	struct event_handler *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = events };
	int ret = 0;

	if (!h)
		return -ENOMEM;
	h->fd = fd;
	h->cb = cb;
	h->opaque = opaque;
	ev.data.ptr = h;
	pthread_mutex_lock(&loop->lock);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		free(h);
	} else {
		h->next = loop->handlers;
		loop->handlers = h;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int event_loop_mod(struct event_loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	struct event_handler *h;
	int ret = -ENOENT;

	pthread_mutex_lock(&loop->lock);
	h = event_loop_find(loop, fd);
	if (h) {
		ev.data.ptr = h;
		ret = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ?
		      -errno : 0;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int event_loop_del(struct event_loop *loop, int fd)
{
	struct event_handler *h;
	int ret = -ENOENT;

	pthread_mutex_lock(&loop->lock);
	h = event_loop_find(loop, fd);
	if (h) {
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		__atomic_store_n(&h->dead, true, __ATOMIC_RELEASE);
		ret = 0;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}
