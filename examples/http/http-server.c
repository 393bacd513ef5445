/* SPDX-License-Identifier: MIT */
/*
 * A minimal HTTP/1.1 server on weft, for the client in http-client.c.
 *
 *     http-server [-p PORT]
 *
 * Listens on 127.0.0.1 (the line "listening on ..." gives the port) until
 * SIGINT or SIGTERM.  One request per connection (Connection: close).
 * Out of fds (a low `ulimit -n`), it keeps serving the connections it has
 * and accepts again once some of them close, without spinning meanwhile.
 * Routes, each the case of the chapter's call_service it exercises:
 *
 *   GET /ok    200 with a body
 *   GET /auth  200 with "Authorization: Bearer secret", else 401
 *   GET /busy  429 with "Retry-After: 7"
 *   GET /slow  200, after 3 seconds
 *   GET /down  503
 *   anything else 404
 *
 * The accept loop and each connection's handler are fibers: the code
 * reads straight down, one call per await.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <weft/await.h>
#include <weft/net.h>

#define REQ_MAX 8192

static struct weft_addr addr;

/* Awaits fut: its status output once it completed, else the error. */
static int
await_status(struct weft_future *fut, const int *status)
{
	int r = weft_await(fut);

	return r < 0 ? r : *status;
}

/* ---- one request -------------------------------------------------------- */

/* Fills resp for the request in req; returns true for /slow. */
static bool
route(const char *req, char *resp, size_t size)
{
	const char *status = "404 Not Found", *body = "no such page\n";
	const char *extra = "";
	bool slow = false;

	if (strncmp(req, "GET /ok ", 8) == 0) {
		status = "200 OK";
		body = "hello from weft\n";
	} else if (strncmp(req, "GET /auth ", 10) == 0) {
		/* Header names are case-insensitive; this is a demo. */
		if (strcasestr(req, "\r\nAuthorization: Bearer secret\r\n")) {
			status = "200 OK";
			body = "the protected resource\n";
		} else {
			status = "401 Unauthorized";
			body = "invalid token\n";
		}
	} else if (strncmp(req, "GET /busy ", 10) == 0) {
		status = "429 Too Many Requests";
		extra = "Retry-After: 7\r\n";
		body = "slow down\n";
	} else if (strncmp(req, "GET /slow ", 10) == 0) {
		status = "200 OK";
		body = "finally\n";
		slow = true;
	} else if (strncmp(req, "GET /down ", 10) == 0) {
		status = "503 Service Unavailable";
		body = "down for maintenance\n";
	}
	snprintf(resp, size,
	         "HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
	         "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
	         status, strlen(body), extra, body);
	return slow;
}

/* Reads the request up to its empty line (it has no body): 0, or -EMSGSIZE
 * (too large), WEFT_ECLOSED (the peer went first) or a read's error. */
static int
read_request(struct weft_io *s, char *req, size_t size)
{
	struct weft_io_read rd;
	size_t len = 0;
	int r;

	req[0] = '\0';
	while (!strstr(req, "\r\n\r\n")) {
		if (len + 1 >= size)
			return -EMSGSIZE;
		weft_io_read_init(&rd, s, req + len, size - 1 - len);
		if ((r = await_status(&rd.base, &rd.status)) <= 0)
			return r < 0 ? r : WEFT_ECLOSED;
		len += (size_t)r;
		req[len] = '\0';
	}
	return 0;
}

/*
 * A connection's task: owns s, closed when the request is answered, the
 * peer gives up, or the task is cancelled at shutdown.  (A task spawned in
 * the instant before shutdown and dropped before it first ran leaves s to
 * the process's exit: a fiber that never ran runs none of its code.)
 */
static int
handle(void *arg)
{
	struct weft_io *s = arg;
	struct weft_io_write_all w;
	char req[REQ_MAX], resp[512];
	int r = read_request(s, req, sizeof(req));

	if (r == 0 && route(req, resp, sizeof(resp)))
		r = weft_sleep_for(3 * WEFT_SEC);
	if (r == 0) {
		weft_io_write_all_init(&w, s, resp, strlen(resp));
		r = await_status(&w.base, &w.status);
	}
	weft_io_close(s);
	return r < 0 ? r : 0;
}

/* ---- the accept loop ---------------------------------------------------- */

static int
serve(void)
{
	struct weft_listener *l;
	struct weft_signal sig;
	struct weft_accept_backoff acc;
	char text[64];
	int r;

	/* Caught from here on: the line below tells a user to press ^C. */
	weft_signal_init(&sig, 0); /* SIGINT or SIGTERM */
	if ((r = weft_listen(&l, &addr, 128)) < 0) {
		weft_future_drop(&sig.base);
		return r;
	}
	weft_listener_local_addr(l, &addr);
	printf("listening on %s\n",
	       weft_addr_format(&addr, text, sizeof(text)));
	fflush(stdout);
	for (;;) {
		/*
		 * Out of fds, it pauses rather than failing: a loop that
		 * retried at once would spin on EMFILE and starve the
		 * handlers whose closes would free fds.  The signal is
		 * borrowed, so that it lives across the rounds (a new one
		 * would miss a signal that came between two).
		 */
		weft_accept_backoff_init(&acc, l);
		r = weft_select_await(WEFT_SELECT_BORROW, 2, &sig.base,
		                      &acc.base);
		weft_future_drop(&acc.base);
		if (r != 1)
			break;
		/* Shortages were waited out: the rest is fatal, as in Go. */
		if ((r = acc.status) < 0)
			break;
		if (weft_spawn_fiber(handle, acc.stream, NULL) < 0)
			weft_io_close(acc.stream);
	}
	if (r == 0)
		printf("stopping on signal %d\n", sig.status);
	weft_future_drop(&sig.base);
	weft_listener_close(l);
	return r;
}

int
main(int argc, char **argv)
{
	int port = 0;

	if (argc == 3 && strcmp(argv[1], "-p") == 0) {
		port = atoi(argv[2]);
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [-p PORT]\n", argv[0]);
		return 2;
	}
	if (port < 0 || port > 65535 ||
	    weft_addr_ip(&addr, "127.0.0.1", (uint16_t)port) < 0)
		return 2;
	return weft_fiber_main(serve);
}
