// SPDX-License-Identifier: MIT
/*
 * The control socket without a VM: where it lives and with which
 * permissions, stale and duplicate names, peer credentials, how the
 * server answers malformed or hostile requests, and secret-set handing a
 * disk passphrase to a VM that is not built yet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "vmm/control.h"
#include "vmm/json.h"

static char rundir[64];

static void sock_path(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.sock", rundir, name);
}

static void test_control_names(void)
{
	char err[256];

	CHECK(control_name_valid("web1"));
	CHECK(control_name_valid("a.b_c-D9"));
	CHECK(!control_name_valid(""));
	CHECK(!control_name_valid(".hidden"));
	CHECK(!control_name_valid("../etc/x"));
	CHECK(!control_name_valid("a/b"));
	CHECK(!control_name_valid("a b"));
	CHECK(!control_name_valid("0123456789012345678901234567890123456789"
				  "01234567890123456789012345"));
	CHECK(control_create("../escape", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "not a valid name") != NULL);
}

/* Without CVISOR_RUNTIME_DIR: /run/cvisor for root, else per-user dirs. */
static void test_control_default_dirs(void)
{
	char buf[128], saved[128];
	int status;
	pid_t pid;

	snprintf(saved, sizeof(saved), "%s", getenv("CVISOR_RUNTIME_DIR"));
	unsetenv("CVISOR_RUNTIME_DIR");
	setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
	if (geteuid() == 0) {
		CHECK_EQ(control_runtime_dir(buf, sizeof(buf), false), 0);
		CHECK(!strcmp(buf, "/run/cvisor"));
		pid = fork();
		if (pid == 0) {
			if (setresgid(65534, 65534, 65534) ||
			    setresuid(65534, 65534, 65534))
				_exit(3);
			if (control_runtime_dir(buf, sizeof(buf), false) ||
			    strcmp(buf, "/run/user/1234/cvisor"))
				_exit(4);
			unsetenv("XDG_RUNTIME_DIR");
			if (control_runtime_dir(buf, sizeof(buf), false) ||
			    strcmp(buf, "/tmp/cvisor-65534"))
				_exit(5);
			_exit(0);
		}
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	} else {
		CHECK_EQ(control_runtime_dir(buf, sizeof(buf), false), 0);
		CHECK(!strcmp(buf, "/run/user/1234/cvisor"));
	}
	setenv("CVISOR_RUNTIME_DIR", saved, 1);
}

static void test_control_permissions(void)
{
	struct control *ctl;
	char err[256], path[300];
	struct stat st;

	ctl = control_create("perm", err, sizeof(err));
	CHECK(ctl != NULL);
	if (!ctl)
		return;
	CHECK(stat(rundir, &st) == 0 && (st.st_mode & 0777) == 0700);
	sock_path("perm", path, sizeof(path));
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	      (st.st_mode & 0777) == 0600);
	control_destroy(ctl);
	CHECK(stat(path, &st) == -1 && errno == ENOENT);
}

static void test_control_duplicate_name_refused(void)
{
	struct control *a, *b;
	char err[256];

	a = control_create("dup", err, sizeof(err));
	CHECK(a != NULL);
	b = control_create("dup", err, sizeof(err));
	CHECK(b == NULL);
	CHECK(strstr(err, "already running") != NULL);
	control_destroy(a);
	/* Once the first is gone the name is free again. */
	b = control_create("dup", err, sizeof(err));
	CHECK(b != NULL);
	control_destroy(b);
}

static void test_control_stale_socket_replaced(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct control *ctl;
	char err[256];
	struct stat st;
	int fd;

	/* A socket file whose owner died: bound, then closed unlinked-not. */
	sock_path("stale", addr.sun_path, sizeof(addr.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	close(fd);
	CHECK(stat(addr.sun_path, &st) == 0);
	CHECK(control_connect("stale", err, sizeof(err)) == -ECONNREFUSED);
	ctl = control_create("stale", err, sizeof(err));
	CHECK(ctl != NULL);
	if (ctl) {
		fd = control_connect("stale", err, sizeof(err));
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
		control_destroy(ctl);
	}
}

/*
 * A VM binds its socket before it listens; a `cvisor list` connecting in
 * between is refused as from a stale socket and must not remove it.
 */
static void test_control_starting_socket_kept(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char err[256];
	struct stat st;
	int fd, lock, status;
	pid_t pid;

	sock_path("starting", addr.sun_path, sizeof(addr.sun_path));
	lock = control_dir_lock();
	CHECK(lock >= 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	CHECK(control_connect("starting", err, sizeof(err)) == -ECONNREFUSED);
	pid = fork();
	if (pid == 0) {
		close(lock);	/* a shared lock would never be released */
		_exit(control_remove_stale("starting") ? 1 : 0);
	}
	/* The child waits for the lock while the "VM" finishes starting. */
	usleep(200 * 1000);
	CHECK(listen(fd, 1) == 0);
	control_dir_unlock(lock);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(stat(addr.sun_path, &st) == 0);
	close(fd);
	/* Now nobody listens: it is stale and goes. */
	CHECK(control_remove_stale("starting"));
	CHECK(stat(addr.sun_path, &st) == -1 && errno == ENOENT);
	CHECK(!control_remove_stale("starting"));
}

/* Send raw bytes, return the first line the server sends back. */
static int raw_exchange(const char *name, const char *data, size_t len,
			char *resp, size_t size)
{
	char err[256];
	int fd = control_connect(name, err, sizeof(err));
	size_t have = 0;

	if (fd < 0)
		return fd;
	if (send(fd, data, len, MSG_NOSIGNAL) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	while (have + 1 < size) {
		ssize_t n = read(fd, resp + have, 1);

		if (n <= 0 || resp[have] == '\n')
			break;
		have++;
	}
	resp[have] = 0;
	close(fd);
	return have;
}

#define SEND(name, lit, resp, size) \
	raw_exchange(name, lit, sizeof(lit) - 1, resp, size)

static bool reply_is(const char *resp, bool ok, const char *id,
		     const char *err_part)
{
	struct json_val obj = { NULL }, v;
	struct json_out o;
	char buf[256];
	bool b, same;

	if (json_parse(resp, strlen(resp), &obj) || json_get(&obj, "ok", &v) ||
	    json_bool(&v, &b) || b != ok || json_get(&obj, "id", &v)) {
		json_release(&obj);
		return false;
	}
	json_out_init(&o, buf, sizeof(buf));
	json_out_val(&o, &v);
	same = json_out_ok(&o) && !strcmp(buf, id);
	if (same && err_part)
		same = !json_get_string(&obj, "error", buf, sizeof(buf)) &&
		       strstr(buf, err_part);
	json_release(&obj);
	return same;
}

static void test_control_hostile_requests(void)
{
	struct control *ctl;
	char err[256], resp[1024], *big;
	int fd;

	ctl = control_create("proto", err, sizeof(err));
	CHECK(ctl != NULL);
	if (!ctl)
		return;
	CHECK(control_start(ctl) == 0);
	SEND("proto", "not json\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "null", "invalid JSON"));
	SEND("proto", "[1,2]\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "null", "invalid JSON"));
	SEND("proto", "{\"id\":3}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "3", "missing \"cmd\""));
	SEND("proto", "{\"id\":\"x\",\"cmd\":\"reboot-the-host\"}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "\"x\"", "unknown command"));
	SEND("proto", "{\"id\":{\"a\":1},\"cmd\":\"status\"}\n",
		     resp, sizeof(resp));
	CHECK(reply_is(resp, false, "null", "id must be"));
	SEND("proto", "{\"id\":4,\"cmd\":5}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "4", "missing \"cmd\""));
	/* No VM attached: commands say so instead of crashing. */
	SEND("proto", "{\"id\":5,\"cmd\":\"balloon\",\"bytes\":1}\r\n",
		     resp, sizeof(resp));
	CHECK(reply_is(resp, false, "5", "not running"));
	SEND("proto", "{\"id\":6,\"cmd\":\"console\"}\n", resp,
		     sizeof(resp));
	CHECK(reply_is(resp, false, "6", "--daemonize"));
	/* An endless line is refused and the connection closed. */
	big = malloc(3 * CONTROL_LINE_MAX);
	memset(big, 'x', 3 * CONTROL_LINE_MAX);
	raw_exchange("proto", big, CONTROL_LINE_MAX + 10, resp, sizeof(resp));
	CHECK(reply_is(resp, false, "null", "too long"));
	free(big);
	/* The server still answers after all that. */
	fd = control_connect("proto", err, sizeof(err));
	CHECK(fd >= 0);
	if (fd >= 0) {
		int n = control_call(fd, "{\"id\":9,\"cmd\":\"status\"}", resp,
				     sizeof(resp), 5000);

		CHECK(n > 0 && reply_is(resp, false, "9", "not running"));
		close(fd);
	}
	control_destroy(ctl);
}

static bool never(void *opaque)
{
	(void)opaque;
	return false;
}

static bool always(void *opaque)
{
	(void)opaque;
	return true;
}

static void test_control_secret_set(void)
{
	struct control *ctl;
	char err[256], resp[1024];
	uint8_t *data = NULL;
	size_t len = 0;

	ctl = control_create("sec", err, sizeof(err));
	CHECK(ctl != NULL);
	if (!ctl)
		return;
	CHECK(control_start(ctl) == 0);
	/* refused: no id, a bad id, data that is not base64 */
	SEND("sec", "{\"id\":1,\"cmd\":\"secret-set\",\"data\":\"eA==\"}\n",
	     resp, sizeof(resp));
	CHECK(reply_is(resp, false, "1", "needs \"secret\""));
	SEND("sec", "{\"id\":2,\"cmd\":\"secret-set\",\"secret\":\"a/b\","
	     "\"data\":\"eA==\"}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "2", "needs \"secret\""));
	SEND("sec", "{\"id\":3,\"cmd\":\"secret-set\",\"secret\":\"k0\","
	     "\"data\":\"!!!\"}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "3", "not base64"));
	/* padding alone, padding inside, three '=', blanks: not base64 */
	SEND("sec", "{\"id\":5,\"cmd\":\"secret-set\",\"secret\":\"k0\","
	     "\"data\":\"====\"}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "5", "not base64"));
	SEND("sec", "{\"id\":6,\"cmd\":\"secret-set\",\"secret\":\"k0\","
	     "\"data\":\"QQ==QQ==\"}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "6", "not base64"));
	SEND("sec", "{\"id\":7,\"cmd\":\"secret-set\",\"secret\":\"k0\","
	     "\"data\":\"A===\"}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "7", "not base64"));
	SEND("sec", "{\"id\":8,\"cmd\":\"secret-set\",\"secret\":\"k0\","
	     "\"data\":\"  QQ==  \"}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, false, "8", "not base64"));
	/* cancelled while nothing came */
	CHECK_EQ(control_secret_wait(ctl, "k0", &data, &len, always, NULL),
		 -EINTR);
	/* accepted with no VM; the reply does not echo it */
	SEND("sec", "{\"id\":4,\"cmd\":\"secret-set\",\"secret\":\"k0\","
	     "\"data\":\"cGFzcwpwaHJhc2U=\"}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, true, "4", NULL));
	CHECK(strstr(resp, "cGFz") == NULL);
	CHECK_EQ(control_secret_wait(ctl, "k0", &data, &len, never, NULL), 0);
	CHECK_EQ(len, 11);
	CHECK(data && !memcmp(data, "pass\nphrase", 11));
	free(data);
	/* one byte, two bytes of padding */
	SEND("sec", "{\"id\":9,\"cmd\":\"secret-set\",\"secret\":\"k1\","
	     "\"data\":\"QQ==\"}\n", resp, sizeof(resp));
	CHECK(reply_is(resp, true, "9", NULL));
	CHECK_EQ(control_secret_wait(ctl, "k1", &data, &len, never, NULL), 0);
	CHECK_EQ(len, 1);
	CHECK(data && data[0] == 'A');
	free(data);
	/* taken once: a second wait does not find it */
	CHECK_EQ(control_secret_wait(ctl, "k0", &data, &len, always, NULL),
		 -EINTR);
	control_destroy(ctl);
}

static void test_control_other_uid_refused(void)
{
	struct control *ctl;
	char err[256], path[300], parent[64];
	int status;
	pid_t pid;

	snprintf(parent, sizeof(parent), "%s", rundir);

	if (geteuid() != 0) {
		SKIP("needs root to act as another user");
		return;
	}
	ctl = control_create("peer", err, sizeof(err));
	CHECK(ctl != NULL);
	if (!ctl)
		return;
	CHECK(control_start(ctl) == 0);
	/* Open the directory and socket so only SO_PEERCRED stands guard. */
	sock_path("peer", path, sizeof(path));
	chmod(rundir, 0755);
	chmod(path, 0666);
	*strrchr(parent, '/') = 0;
	chmod(parent, 0755);
	pid = fork();
	if (pid == 0) {
		char resp[512];
		int fd, n;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		fd = control_connect("peer", err, sizeof(err));
		if (fd < 0)
			_exit(4);
		/* The server answers before any request, then hangs up. */
		n = read(fd, resp, sizeof(resp) - 1);
		resp[n > 0 ? n : 0] = 0;
		_exit(strstr(resp, "permission denied") ? 0 : 5);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		printf("  child status %#x\n", status);
	chmod(rundir, 0700);
	chmod(parent, 0700);
	control_destroy(ctl);
}

int main(void)
{
	char tmpl[] = "/tmp/cvisor-ctl-XXXXXX";

	if (!mkdtemp(tmpl))
		return 1;
	snprintf(rundir, sizeof(rundir), "%s/run", tmpl);
	setenv("CVISOR_RUNTIME_DIR", rundir, 1);
	RUN(test_control_names);
	RUN(test_control_default_dirs);
	RUN(test_control_permissions);
	RUN(test_control_duplicate_name_refused);
	RUN(test_control_stale_socket_replaced);
	RUN(test_control_starting_socket_kept);
	RUN(test_control_hostile_requests);
	RUN(test_control_secret_set);
	RUN(test_control_other_uid_refused);
	rmdir(rundir);
	rmdir(tmpl);
	return test_summary();
}
