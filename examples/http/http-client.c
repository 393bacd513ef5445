/* SPDX-License-Identifier: MIT */
/*
 * The chapter's fetch_with_fallback and call_service over weft TCP,
 * against http-server on 127.0.0.1.
 *
 *     http-client -p PORT
 *
 * fetch_with_fallback tries a primary URL and, when it fails or answers
 * anything but 200, the fallback.  call_service maps the answer to the
 * chapter's ServiceError: 200 returns the body, 401 is an auth error, 429
 * a rate limit whose Retry-After is read, and a server slower than the
 * timeout a timeout error.
 *
 * Everything runs in fibers: fetch_api is a plain function that awaits
 * inline, called directly by fetch_with_fallback and run as a child fiber
 * under a timeout by call_service.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <weft/await.h>
#include <weft/net.h>

#define RESP_MAX 16384

/* The server, and a port nobody serves. */
static struct weft_addr addr, dead;

/* Awaits fut: its status output once it completed, else the error. */
static int
await_status(struct weft_future *fut, const int *status)
{
	int r = weft_await(fut);

	return r < 0 ? r : *status;
}

/* ---- fetch_api: one GET, read to the end -------------------------------- */

struct fetch {
	const struct weft_addr *addr;
	const char *path, *token; /* token NULL: no Authorization */
	char resp[RESP_MAX];
	/* The response: status code, Retry-After (-1: none), body. */
	int code;
	long retry_after;
	const char *body;
};

static int
parse(struct fetch *f)
{
	char *end = strstr(f->resp, "\r\n\r\n"), *h;

	if (strncmp(f->resp, "HTTP/1.", 7) != 0 || !end)
		return -EPROTO;
	f->code = atoi(f->resp + 9);
	f->retry_after = -1;
	*end = '\0';
	h = strcasestr(f->resp, "\r\nRetry-After:");
	if (h)
		f->retry_after = strtol(h + 14, NULL, 10);
	f->body = end + 4;
	return 0;
}

/* Reads s to its end into buf (NUL-terminated): 0 or a read's error. */
static int
read_to_end(struct weft_io *s, char *buf, size_t size)
{
	struct weft_io_read rd;
	size_t len = 0;
	int r;

	do {
		weft_io_read_init(&rd, s, buf + len, size - 1 - len);
		if ((r = await_status(&rd.base, &rd.status)) > 0)
			len += (size_t)r;
	} while (r > 0 && len + 1 < size);
	buf[len] = '\0';
	return r < 0 ? r : 0;
}

/* The GET of f->path: 0 with the response parsed into f, or an error.  A
 * fiber function (arg: the struct fetch), so that it can be timed out. */
static int
fetch_api(void *arg)
{
	struct fetch *f = arg;
	struct weft_connect conn;
	struct weft_io_write_all w;
	char req[512];
	int r;

	weft_connect_init(&conn, f->addr);
	if ((r = await_status(&conn.base, &conn.status)) < 0)
		return r;
	snprintf(req, sizeof(req),
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s"
	         "Connection: close\r\n\r\n",
	         f->path, f->token ? "Authorization: Bearer " : "",
	         f->token ? f->token : "", f->token ? "\r\n" : "");
	weft_io_write_all_init(&w, conn.stream, req, strlen(req));
	r = await_status(&w.base, &w.status);
	/* Connection: close — the response ends where the stream does. */
	if (r == 0)
		r = read_to_end(conn.stream, f->resp, sizeof(f->resp));
	weft_io_close(conn.stream);
	return r < 0 ? r : parse(f);
}

/* ---- the chapter's two functions, and the scenarios -------------------- */

/* fetch_with_fallback: the primary, then the fallback if it is not 200. */
static void
fetch_with_fallback(const struct weft_addr *primary, const char *path,
                    struct fetch *f)
{
	int r;

	*f = (struct fetch){.addr = primary, .path = path};
	if ((r = fetch_api(f)) < 0)
		printf("  primary failed: %s; switching to the fallback\n",
		       weft_strerror(r));
	else if (f->code != 200)
		printf("  primary answered %d; switching to the fallback\n",
		       f->code);
	if (r == 0 && f->code == 200) {
		printf("  primary: %s", f->body);
		return;
	}
	*f = (struct fetch){.addr = &addr, .path = "/ok"};
	if (fetch_api(f) < 0 || f->code != 200)
		printf("  fallback failed too\n");
	else
		printf("  fallback: %s", f->body);
}

/* call_service: the GET under a time limit, its answer mapped to the
 * chapter's errors. */
static void
call_service(const char *path, const char *token, unsigned secs,
             struct fetch *f)
{
	struct weft_fiber call;
	int r;

	*f = (struct fetch){.addr = &addr, .path = path, .token = token};
	weft_fiber_init(&call, fetch_api, f, NULL);
	/* On time, the fiber's own result; a failed init is one too. */
	if ((r = weft_timeout_await(&call.base, secs * WEFT_SEC)) == 0)
		r = call.result;
	if (r == WEFT_ETIMEDOUT)
		printf("  error: timeout: more than %u s\n", secs);
	else if (r < 0)
		printf("  error: network: %s\n", weft_strerror(r));
	else if (f->code == 200)
		printf("  ok: %s", f->body);
	else if (f->code == 401)
		printf("  error: authentication failed: invalid token\n");
	else if (f->code == 429)
		printf("  error: rate limited: retry after %ld s\n",
		       f->retry_after >= 0 ? f->retry_after : 60);
	else
		printf("  error: internal: unexpected status %d\n", f->code);
}

static const struct {
	const char *path, *token;
	unsigned secs;
} calls[] = {
    {"/auth", "secret", 2},
    {"/auth", "wrong", 2},
    {"/busy", "secret", 2},
    {"/slow", "secret", 1},
};

static int
run(void)
{
	/* Large: on the heap rather than the fiber's stack. */
	struct fetch *f = malloc(sizeof(*f));

	if (!f)
		return -ENOMEM;
	/* A primary that answers 503, then one that refuses to connect. */
	printf("fetch_with_fallback(/down, /ok)\n");
	fetch_with_fallback(&addr, "/down", f);
	printf("fetch_with_fallback(a closed port, /ok)\n");
	fetch_with_fallback(&dead, "/down", f);
	/* Each answer, and a server slower than the limit. */
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		printf("call_service(%s, token \"%s\")\n", calls[i].path,
		       calls[i].token);
		call_service(calls[i].path, calls[i].token, calls[i].secs, f);
	}
	free(f);
	return 0;
}

int
main(int argc, char **argv)
{
	struct weft_listener *l;
	int port;

	if (argc != 3 || strcmp(argv[1], "-p") != 0) {
		fprintf(stderr, "usage: %s -p PORT\n", argv[0]);
		return 2;
	}
	port = atoi(argv[2]);
	if (port <= 0 || port > 65535 ||
	    weft_addr_ip(&addr, "127.0.0.1", (uint16_t)port) < 0)
		return 2;
	/* A port that was free a moment ago: connecting there is refused. */
	weft_addr_ip(&dead, "127.0.0.1", 0);
	if (weft_listen(&l, &dead, 1) == 0) {
		weft_listener_local_addr(l, &dead);
		weft_listener_close(l);
	}
	return weft_fiber_main(run);
}
