// SPDX-License-Identifier: MIT
/*
 * A VNC client for the integration tests, on libvncclient. It connects,
 * then runs its commands in order; the exit status says whether all
 * succeeded (1: a command failed, 2: usage, 3: no connection).
 *
 *   vnc_client [-p PASSWORD_FILE] HOST:PORT COMMAND...
 *
 *   wait-nonblank SECS     until some pixel is not black
 *   type TEXT              key presses for TEXT (US layout, Shift as needed)
 *   enter                  Return
 *   move X Y               pointer to (X, Y), no buttons
 *   pointer X Y MASK       pointer to (X, Y) with RFB button mask MASK
 *                          (1 left, 2 middle, 4 right, 8/16 wheel)
 *   sleep MS               keep processing updates for MS milliseconds
 *   size                   print the framebuffer's WIDTHxHEIGHT
 *   compare-png FILE CMD   run shell CMD (which writes FILE, a PNG), and
 *                          compare FILE with the framebuffer; tries again
 *                          up to 10 times while the screen changes
 *   xtkey CODE             press and release the key with XT code CODE
 *                          through QEMU's extended key event
 *   garbage N              write N random bytes to the server
 *   noread SECS            ask for full updates for SECS and never read
 *   latency N KEYSYM       N times: press KEYSYM and time until the
 *                          screen changes; prints the median in ms
 *   idle SECS              stay connected, asking for incremental
 *                          updates as a viewer does; prints the updates
 */
#include <arpa/inet.h>
#include <errno.h>
#include <png.h>
#include <rfb/rfbclient.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static const char *password_file;
static unsigned long updates;	/* framebuffer updates received */

static void quiet(const char *fmt, ...)
{
	(void)fmt;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static char *get_password(rfbClient *cl)
{
	char line[128] = "";
	FILE *f = password_file ? fopen(password_file, "r") : NULL;

	(void)cl;
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	line[strcspn(line, "\r\n")] = 0;
	return strdup(line);
}

/* Pixels as 0x00RRGGBB words, like the server's. */
static rfbBool alloc_fb(rfbClient *cl)
{
	free(cl->frameBuffer);
	cl->frameBuffer = calloc((size_t)cl->width * cl->height, 4);
	return cl->frameBuffer != NULL;
}

static void got_update(rfbClient *cl, int x, int y, int w, int h)
{
	(void)cl;
	(void)x;
	(void)y;
	(void)w;
	(void)h;
	updates++;
}

static int pump(rfbClient *cl, long ms)
{
	long long end = now_ms() + ms;

	for (;;) {
		long long left = end - now_ms();
		int n;

		if (left <= 0)
			return 0;
		n = WaitForMessage(cl, left * 1000);
		if (n < 0)
			return -1;
		if (n > 0 && !HandleRFBServerMessage(cl))
			return -1;
	}
}

static int nonblank(rfbClient *cl)
{
	const uint32_t *p = (const uint32_t *)cl->frameBuffer;

	for (size_t i = 0; i < (size_t)cl->width * cl->height; i++)
		if (p[i] & 0xffffff)
			return 1;
	return 0;
}

static int cmd_wait_nonblank(rfbClient *cl, long secs)
{
	long long end = now_ms() + secs * 1000;

	while (now_ms() < end) {
		if (pump(cl, 200))
			return -1;
		if (nonblank(cl))
			return 0;
	}
	fprintf(stderr, "vnc_client: screen still blank after %ld s\n", secs);
	return -1;
}

static void key(rfbClient *cl, uint32_t sym)
{
	SendKeyEvent(cl, sym, TRUE);
	SendKeyEvent(cl, sym, FALSE);
}

static int cmd_type(rfbClient *cl, const char *text)
{
	for (const char *c = text; *c; c++) {
		int shift = (*c >= 'A' && *c <= 'Z') ||
			    strchr("~!@#$%^&*()_+{}|:\"<>?", *c);

		if (shift)
			SendKeyEvent(cl, 0xffe1, TRUE);
		key(cl, (unsigned char)*c);
		if (shift)
			SendKeyEvent(cl, 0xffe1, FALSE);
		if (pump(cl, 20))
			return -1;
	}
	return 0;
}

/* Read FILE (8-bit RGB or RGBA PNG) and count pixels that differ. */
static long png_diff(rfbClient *cl, const char *file)
{
	png_image img = { .version = PNG_IMAGE_VERSION };
	const uint32_t *fb = (const uint32_t *)cl->frameBuffer;
	uint8_t *buf;
	long diff = 0;

	if (!png_image_begin_read_from_file(&img, file)) {
		fprintf(stderr, "vnc_client: %s: %s\n", file, img.message);
		return -1;
	}
	img.format = PNG_FORMAT_RGB;
	buf = malloc(PNG_IMAGE_SIZE(img));
	if (!buf || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
		fprintf(stderr, "vnc_client: %s: cannot read\n", file);
		free(buf);
		return -1;
	}
	if ((int)img.width != cl->width || (int)img.height != cl->height) {
		fprintf(stderr, "vnc_client: %s is %ux%u, the screen %dx%d\n",
			file, img.width, img.height, cl->width, cl->height);
		free(buf);
		return -1;
	}
	for (size_t i = 0; i < (size_t)img.width * img.height; i++) {
		uint32_t v = (uint32_t)buf[3 * i] << 16 | buf[3 * i + 1] << 8 |
			     buf[3 * i + 2];

		diff += (fb[i] & 0xffffff) != v;
	}
	free(buf);
	return diff;
}

static int cmd_compare_png(rfbClient *cl, const char *file, const char *cmd)
{
	long diff = -1;

	for (int i = 0; i < 10; i++) {
		/* everything the server has, then the dump */
		SendFramebufferUpdateRequest(cl, 0, 0, cl->width, cl->height,
					     FALSE);
		if (pump(cl, 500))
			return -1;
		if (system(cmd)) {
			fprintf(stderr, "vnc_client: '%s' failed\n", cmd);
			return -1;
		}
		/* anything that changed meanwhile came too */
		if (pump(cl, 300))
			return -1;
		diff = png_diff(cl, file);
		if (diff <= 0)
			return diff;
		fprintf(stderr, "vnc_client: %ld pixels differ, again\n", diff);
	}
	return -1;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int cmd_latency(rfbClient *cl, long n, uint32_t sym)
{
	long long t[100];

	if (n < 1 || n > 100)
		return -1;
	for (long i = 0; i < n; i++) {
		unsigned long before;
		long long t0, end;

		pump(cl, 300);	/* let the screen settle */
		before = updates;
		t0 = now_ms();
		key(cl, sym);
		end = t0 + 10000;
		while (updates == before && now_ms() < end) {
			int k = WaitForMessage(cl, 10000);

			if (k < 0 || (k > 0 && !HandleRFBServerMessage(cl)))
				return -1;
		}
		if (updates == before) {
			fprintf(stderr, "vnc_client: no update in 10 s\n");
			return -1;
		}
		t[i] = now_ms() - t0;
	}
	qsort(t, n, sizeof(t[0]), cmp_ll);
	printf("%lld\n", t[n / 2]);
	fflush(stdout);
	return 0;
}

/*
 * Ask for the extension (this libvncclient does not with an encodings
 * string): raw, NewFBSize, QEMU extended key event; then the server must
 * have announced it: try for 5 s.
 */
static int cmd_xtkey(rfbClient *cl, uint32_t code)
{
	static const uint32_t encs[3] = { rfbEncodingRaw, rfbEncodingNewFBSize,
					  rfbEncodingQemuExtendedKeyEvent };
	char msg[4 + sizeof(encs)] = { rfbSetEncodings, 0, 0, 3 };

	for (int i = 0; i < 3; i++) {
		uint32_t be = htonl(encs[i]);

		memcpy(msg + 4 + 4 * i, &be, 4);
	}
	if (!WriteToRFBServer(cl, msg, sizeof(msg)))
		return -1;
	for (int i = 0; i < 50; i++) {
		if (SendExtendedKeyEvent(cl, 0, code, TRUE))
			return SendExtendedKeyEvent(cl, 0, code, FALSE) ?
			       pump(cl, 20) : -1;
		if (pump(cl, 100))
			return -1;
	}
	fprintf(stderr, "vnc_client: no QEMU extended key events\n");
	return -1;
}

static int cmd_garbage(rfbClient *cl, long n)
{
	char buf[4096];

	while (n > 0) {
		long k = n < (long)sizeof(buf) ? n : (long)sizeof(buf);

		if (getrandom(buf, k, 0) != k || !WriteToRFBServer(cl, buf, k))
			return 0;	/* the server hung up: fine */
		n -= k;
	}
	return 0;
}

static int cmd_noread(rfbClient *cl, long secs)
{
	long long end = now_ms() + secs * 1000;

	while (now_ms() < end) {
		if (!SendFramebufferUpdateRequest(cl, 0, 0, cl->width,
						  cl->height, FALSE))
			return 0;	/* dropped by the server */
		usleep(10000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	rfbClient *cl;
	char *host, *colon;
	int i = 1, ret = 0;

	if (argc > 2 && !strcmp(argv[1], "-p")) {
		password_file = argv[2];
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: vnc_client [-p PASSWORD_FILE] HOST:PORT COMMAND...\n");
		return 2;
	}
	host = strdup(argv[i++]);
	colon = strrchr(host, ':');
	if (!colon)
		return 2;
	*colon = 0;
	if (!getenv("VNC_CLIENT_DEBUG"))
		rfbClientLog = quiet;
	cl = rfbGetClient(8, 3, 4);
	cl->format.redShift = 16;
	cl->format.greenShift = 8;
	cl->format.blueShift = 0;
	cl->canHandleNewFBSize = TRUE;
	cl->MallocFrameBuffer = alloc_fb;
	cl->GetPassword = get_password;
	cl->GotFrameBufferUpdate = got_update;
	cl->serverHost = host;
	cl->serverPort = atoi(colon + 1);
	cl->appData.encodingsString = "raw";
	if (!rfbInitClient(cl, NULL, NULL)) {
		fprintf(stderr, "vnc_client: cannot connect to %s:%s\n", host,
			colon + 1);
		return 3;
	}
	for (; i < argc && !ret; i++) {
		const char *c = argv[i];
		const char *a = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(c, "wait-nonblank") && a) {
			ret = cmd_wait_nonblank(cl, atol(a));
			i++;
		} else if (!strcmp(c, "type") && a) {
			ret = cmd_type(cl, a);
			i++;
		} else if (!strcmp(c, "enter")) {
			key(cl, 0xff0d);
			ret = pump(cl, 20);
		} else if (!strcmp(c, "move") && a && i + 2 < argc) {
			SendPointerEvent(cl, atoi(a), atoi(argv[i + 2]), 0);
			ret = pump(cl, 20);
			i += 2;
		} else if (!strcmp(c, "pointer") && a && i + 3 < argc) {
			SendPointerEvent(cl, atoi(a), atoi(argv[i + 2]),
					 atoi(argv[i + 3]));
			ret = pump(cl, 20);
			i += 3;
		} else if (!strcmp(c, "sleep") && a) {
			ret = pump(cl, atol(a));
			i++;
		} else if (!strcmp(c, "size")) {
			printf("%dx%d\n", cl->width, cl->height);
			fflush(stdout);
		} else if (!strcmp(c, "compare-png") && a && i + 2 < argc) {
			ret = cmd_compare_png(cl, a, argv[i + 2]);
			i += 2;
		} else if (!strcmp(c, "latency") && a && i + 2 < argc) {
			ret = cmd_latency(cl, atol(a),
					  strtoul(argv[i + 2], NULL, 0));
			i += 2;
		} else if (!strcmp(c, "idle") && a) {
			unsigned long before = updates;

			ret = pump(cl, atol(a) * 1000);
			printf("%lu\n", updates - before);
			fflush(stdout);
			i++;
		} else if (!strcmp(c, "xtkey") && a) {
			ret = cmd_xtkey(cl, strtoul(a, NULL, 0));
			i++;
		} else if (!strcmp(c, "garbage") && a) {
			ret = cmd_garbage(cl, atol(a));
			i++;
		} else if (!strcmp(c, "noread") && a) {
			ret = cmd_noread(cl, atol(a));
			i++;
		} else {
			fprintf(stderr, "vnc_client: bad command '%s'\n", c);
			return 2;
		}
		if (ret)
			fprintf(stderr, "vnc_client: '%s' failed\n", c);
	}
	/* rfbClientCleanup frees serverHost, not the framebuffer */
	free(cl->frameBuffer);
	cl->frameBuffer = NULL;
	rfbClientCleanup(cl);
	return ret ? 1 : 0;
}
