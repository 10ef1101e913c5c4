/* SPDX-License-Identifier: MIT */
/* Internals shared by the control server and its commands. */
#ifndef CVISOR_VMM_CONTROL_INT_H
#define CVISOR_VMM_CONTROL_INT_H

#include <pthread.h>
#include <sys/un.h>

#include "vmm/control.h"

#define CONTROL_MAX_CLIENTS	16
#define CONTROL_REPLAY_SIZE	(64 * 1024)
#define CONTROL_REPLY_MAX	8192
#define CONTROL_MAX_SECRETS	8
#define CONTROL_SECRET_ID	64

struct json_val;

/* A secret-set value until the VM takes it (control_secret.c). */
struct control_secret {
	char id[CONTROL_SECRET_ID + 1];
	uint8_t *data; /* NULL: slot free */
	size_t len;
};

struct control_client {
	int fd;			/* -1: slot free */
	bool console;		/* raw console stream after "console" */
	size_t len;
	char buf[CONTROL_LINE_MAX];
};

struct control {
	char name[CONTROL_NAME_MAX + 1];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int wake_fd;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;	/* vm, clients, stop_deadline, quit */
	struct vm *vm;
	struct control_client clients[CONTROL_MAX_CLIENTS];
	uint64_t stop_deadline;	/* force the stop at this time, 0: none */
	int stop_timeout;
	bool quit;

	/* Console output arrives on vCPU threads: its own lock. */
	pthread_mutex_t out_lock;
	bool console_enabled;
	int console_fds[CONTROL_MAX_CLIENTS];
	uint8_t replay[CONTROL_REPLAY_SIZE];
	size_t replay_len, replay_pos;

	pthread_cond_t secret_cond; /* with lock: a secret arrived */
	struct control_secret secrets[CONTROL_MAX_SECRETS];
};

/* {"cmd":"secret-set"}: works with or without a VM; lock held. */
int control_cmd_secret_set(struct control *ctl, const struct json_val *obj,
			   char *err, size_t errlen);
/* Wipes the secrets nobody took. */
void control_secrets_clear(struct control *ctl);

/* Run one request line from client c; ctl->lock held. */
void control_dispatch(struct control *ctl, struct control_client *c,
		      const char *line, size_t len);
/* Send a whole line to c, closing it if it cannot take it; lock held. */
void control_send(struct control *ctl, struct control_client *c,
		  const char *line);
void control_close_client(struct control *ctl, struct control_client *c);
/* Turn c into a console stream (replaying recent output); lock held. */
int control_console_attach(struct control *ctl, struct control_client *c);

#endif
