/* SPDX-License-Identifier: MIT */
/* Subcommands that manage running VMs through their control sockets. */
#ifndef CVISOR_CLI_CTL_H
#define CVISOR_CLI_CTL_H

#include <stddef.h>

int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_balloon(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_screendump(int argc, char **argv);
int cmd_secret_set(int argc, char **argv);

/*
 * Send req to the VM called name; on success the response's "result"
 * value is in *result (NULL if none), which the caller json_release()s.
 * Prints errors; returns 0 or 1.
 */
struct json_val;
int ctl_request(const char *name, const char *req, char *resp, size_t size,
		struct json_val *result);
/* Check a control answer of len bytes (or -errno); prints errors, 0 or 1.
 * A result is the caller's to json_release(), as above. */
int ctl_check_answer(const char *name, const char *resp, int len,
		     struct json_val *result);

#endif
