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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <weft/combinator.h>
#include <weft/net.h>
#include <weft/weft.h>

#define REQ_MAX 8192

/* ---- one request -------------------------------------------------------- */

struct handler {
	struct weft_future base;
	struct weft_coro co;
	struct weft_io *s;
	char req[REQ_MAX];
	size_t len;
	struct weft_io_read rd;
	struct weft_sleep nap;
	char resp[512];
	struct weft_io_write_all w;
	int status;
};

/* Fills h->resp for the request in h->req; returns true for /slow. */
static bool
route(struct handler *h)
{
	const char *status = "404 Not Found", *body = "no such page\n";
	const char *extra = "";
	bool slow = false;

	if (strncmp(h->req, "GET /ok ", 8) == 0) {
		status = "200 OK";
		body = "hello from weft\n";
	} else if (strncmp(h->req, "GET /auth ", 10) == 0) {
		/* Header names are case-insensitive; this is a demo. */
		if (strcasestr(h->req,
		               "\r\nAuthorization: Bearer secret\r\n")) {
			status = "200 OK";
			body = "the protected resource\n";
		} else {
			status = "401 Unauthorized";
			body = "invalid token\n";
		}
	} else if (strncmp(h->req, "GET /busy ", 10) == 0) {
		status = "429 Too Many Requests";
		extra = "Retry-After: 7\r\n";
		body = "slow down\n";
	} else if (strncmp(h->req, "GET /slow ", 10) == 0) {
		status = "200 OK";
		body = "finally\n";
		slow = true;
	} else if (strncmp(h->req, "GET /down ", 10) == 0) {
		status = "503 Service Unavailable";
		body = "down for maintenance\n";
	}
	snprintf(h->resp, sizeof(h->resp),
	         "HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
	         "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
	         status, strlen(body), extra, body);
	return slow;
}

static weft_poll
handler_poll(struct weft_future *f, struct weft_context *cx)
{
	struct handler *h = (struct handler *)f;

	WEFT_BEGIN(&h->co);
	/* The request ends at the first empty line; it has no body. */
	while (!strstr(h->req, "\r\n\r\n")) {
		if (h->len + 1 >= sizeof(h->req))
			WEFT_RETURN(&h->co); /* too large: just close */
		weft_io_read_init(&h->rd, h->s, h->req + h->len,
		                  sizeof(h->req) - 1 - h->len);
		WEFT_AWAIT(&h->co, cx, &h->rd);
		if (h->rd.status <= 0)
			WEFT_RETURN(&h->co);
		h->len += (size_t)h->rd.status;
		h->req[h->len] = '\0';
	}
	if (route(h)) {
		weft_sleep_init(&h->nap, 3 * WEFT_SEC);
		WEFT_AWAIT(&h->co, cx, &h->nap);
	}
	weft_io_write_all_init(&h->w, h->s, h->resp, strlen(h->resp));
	WEFT_AWAIT(&h->co, cx, &h->w);
	WEFT_END(&h->co);
}

/*
 * The drop is generated: it drops the read, the nap or the write being
 * awaited, then runs the clean-ups, here the stream's close (registered
 * by the accept loop, so it runs even if the handler is never polled).
 */
WEFT_CORO_FUTURE(handler_vtable, struct handler, co, status, handler_poll);

static void
close_stream(void *s)
{
	weft_io_close(s);
}

static void
close_listener(void *l)
{
	weft_listener_close(l);
}

/* ---- the accept loop ---------------------------------------------------- */

struct server {
	struct weft_future base;
	struct weft_coro co;
	struct weft_addr addr;
	struct weft_listener *l;
	struct weft_signal sig;
	struct weft_accept_backoff acc;
	struct weft_select sel;
	int status;
};

static weft_poll
server_poll(struct weft_future *f, struct weft_context *cx)
{
	struct server *s = (struct server *)f;
	struct handler *h;
	char text[64];

	WEFT_BEGIN(&s->co);
	weft_signal_init(&s->sig, 0);
	WEFT_DEFER(&s->co, weft_coro_drop_future, &s->sig);
	s->status = weft_listen(&s->l, &s->addr, 128);
	if (s->status < 0)
		WEFT_RETURN(&s->co);
	WEFT_DEFER(&s->co, close_listener, s->l);
	weft_listener_local_addr(s->l, &s->addr);
	printf("listening on %s\n",
	       weft_addr_format(&s->addr, text, sizeof(text)));
	fflush(stdout);
	for (;;) {
		/*
		 * Out of fds, it pauses rather than failing: a loop that
		 * retried at once would spin on EMFILE and starve the
		 * handlers whose closes would free fds.
		 */
		weft_accept_backoff_init(&s->acc, s->l);
		/* Once: the same registration again is a no-op. */
		WEFT_DEFER(&s->co, weft_coro_drop_future, &s->acc);
		/* Borrowed: the signal future lives across the rounds. */
		weft_select_init(&s->sel, WEFT_SELECT_BORROW, 2, &s->sig.base,
		                 &s->acc.base);
		WEFT_AWAIT(&s->co, cx, &s->sel);
		if (s->sel.winner == 0)
			break;
		weft_future_drop(&s->acc.base);
		/* Shortages were waited out: the rest is fatal, as in Go. */
		if (s->acc.status < 0) {
			s->status = s->acc.status;
			WEFT_RETURN(&s->co);
		}
		/* Handlers are large: built on the heap, spawned by copy. */
		h = calloc(1, sizeof(*h));
		if (!h) {
			weft_io_close(s->acc.stream);
			continue;
		}
		h->base.vtable = &handler_vtable;
		h->s = s->acc.stream;
		/* Not a pointer into *h, which spawn copies. */
		weft_coro_defer(&h->co, close_stream, h->s);
		weft_executor_spawn(cx->executor, &h->base, NULL);
		free(h);
	}
	printf("stopping on signal %d\n", s->sig.status);
	WEFT_END(&s->co);
}

/* The select awaited, then the accept, the listener and the signal. */
WEFT_CORO_FUTURE(server_vtable, struct server, co, status, server_poll);

int
main(int argc, char **argv)
{
	struct server s = {.base.vtable = &server_vtable};
	int port = 0;

	if (argc == 3 && strcmp(argv[1], "-p") == 0) {
		port = atoi(argv[2]);
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [-p PORT]\n", argv[0]);
		return 2;
	}
	if (port < 0 || port > 65535 ||
	    weft_addr_ip(&s.addr, "127.0.0.1", (uint16_t)port) < 0)
		return 2;
	if (weft_run(&s.base) != 0)
		return 1;
	if (s.status < 0) {
		fprintf(stderr, "http-server: %s\n", weft_strerror(s.status));
		return 1;
	}
	return 0;
}
