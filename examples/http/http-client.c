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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <weft/net.h>
#include <weft/weft.h>

#define RESP_MAX 65536

/* ---- fetch_api: one GET, read to the end -------------------------------- */

struct fetch {
	struct weft_future base;
	struct weft_coro co;
	struct weft_addr addr;
	char req[512];
	struct weft_connect conn;
	struct weft_io *s;
	struct weft_io_write_all w;
	struct weft_io_read rd;
	char resp[RESP_MAX];
	size_t len;
	/* The response: status code, Retry-After (-1: none), body. */
	int code;
	long retry_after;
	const char *body;
	int status;
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

static weft_poll
fetch_poll(struct weft_future *fut, struct weft_context *cx)
{
	struct fetch *f = (struct fetch *)fut;

	WEFT_BEGIN(&f->co);
	weft_connect_init(&f->conn, &f->addr);
	WEFT_AWAIT(&f->co, cx, &f->conn);
	f->status = f->conn.status;
	if (f->status < 0)
		WEFT_RETURN(&f->co);
	f->s = f->conn.stream;
	weft_io_write_all_init(&f->w, f->s, f->req, strlen(f->req));
	WEFT_AWAIT(&f->co, cx, &f->w);
	f->status = f->w.status;
	if (f->status < 0)
		WEFT_RETURN(&f->co);
	/* Connection: close — the response ends where the stream does. */
	do {
		weft_io_read_init(&f->rd, f->s, f->resp + f->len,
		                  sizeof(f->resp) - 1 - f->len);
		WEFT_AWAIT(&f->co, cx, &f->rd);
		if (f->rd.status < 0) {
			f->status = f->rd.status;
			WEFT_RETURN(&f->co);
		}
		f->len += (size_t)f->rd.status;
	} while (f->rd.status > 0 && f->len + 1 < sizeof(f->resp));
	f->resp[f->len] = '\0';
	f->status = parse(f);
	WEFT_END(&f->co);
}

static void
fetch_drop(struct weft_future *fut)
{
	struct fetch *f = (struct fetch *)fut;

	weft_future_drop(&f->conn.base);
	weft_future_drop(&f->w.base);
	weft_future_drop(&f->rd.base);
	weft_io_close(f->s);
	f->s = NULL;
}

WEFT_FUTURE_VTABLE(fetch_vtable, struct fetch, status, fetch_poll, fetch_drop);

static void
fetch_init(struct fetch *f, const struct weft_addr *addr, const char *path,
           const char *token)
{
	memset(f, 0, sizeof(*f));
	f->base.vtable = &fetch_vtable;
	f->addr = *addr;
	snprintf(f->req, sizeof(f->req),
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s"
	         "Connection: close\r\n\r\n",
	         path, token ? "Authorization: Bearer " : "",
	         token ? token : "", token ? "\r\n" : "");
}

/* ---- the chapter's two functions, and the scenarios -------------------- */

struct client {
	struct weft_future base;
	struct weft_coro co;
	struct weft_addr addr, dead; /* the server; a port nobody serves */
	struct fetch a, b;
	struct weft_timeout limit;
	int step;
	int status;
};

/* fetch_with_fallback's decision, once the primary has answered. */
static bool
primary_ok(struct fetch *f)
{
	if (f->status < 0)
		printf("  primary failed: %s; switching to the fallback\n",
		       weft_strerror(f->status));
	else if (f->code != 200)
		printf("  primary answered %d; switching to the fallback\n",
		       f->code);
	else
		printf("  primary: %s", f->body);
	return f->status == 0 && f->code == 200;
}

/* call_service's mapping of a response to the chapter's errors. */
static void
service_result(struct fetch *f, int timeout_status, unsigned secs)
{
	if (timeout_status == WEFT_ETIMEDOUT)
		printf("  error: timeout: more than %u s\n", secs);
	else if (f->status < 0)
		printf("  error: network: %s\n", weft_strerror(f->status));
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

static weft_poll
client_poll(struct weft_future *f, struct weft_context *cx)
{
	struct client *c = (struct client *)f;

	WEFT_BEGIN(&c->co);
	/* fetch_with_fallback: a primary that answers 503, then one that
	 * refuses the connection. */
	for (c->step = 0; c->step < 2; c->step++) {
		printf("fetch_with_fallback(%s, /ok)\n",
		       c->step == 0 ? "/down" : "a closed port");
		fetch_init(&c->a, c->step == 0 ? &c->addr : &c->dead, "/down",
		           NULL);
		WEFT_AWAIT(&c->co, cx, &c->a);
		if (!primary_ok(&c->a)) {
			fetch_init(&c->b, &c->addr, "/ok", NULL);
			WEFT_AWAIT(&c->co, cx, &c->b);
			if (c->b.status < 0 || c->b.code != 200)
				printf("  fallback failed too\n");
			else
				printf("  fallback: %s", c->b.body);
		}
	}
	/* call_service: each answer, and a server slower than the limit. */
	for (c->step = 0; c->step < 4; c->step++) {
		printf("call_service(%s, token \"%s\")\n", calls[c->step].path,
		       calls[c->step].token);
		fetch_init(&c->a, &c->addr, calls[c->step].path,
		           calls[c->step].token);
		weft_timeout_init(&c->limit, &c->a.base,
		                  calls[c->step].secs * WEFT_SEC);
		WEFT_AWAIT(&c->co, cx, &c->limit);
		service_result(&c->a, c->limit.status, calls[c->step].secs);
	}
	WEFT_END(&c->co);
}

static void
client_drop(struct weft_future *f)
{
	struct client *c = (struct client *)f;

	weft_future_drop(&c->limit.base);
	weft_future_drop(&c->a.base);
	weft_future_drop(&c->b.base);
}

WEFT_FUTURE_VTABLE(client_vtable, struct client, status, client_poll,
                   client_drop);

int
main(int argc, char **argv)
{
	struct client *c;
	struct weft_listener *l;
	int port, rc;

	if (argc != 3 || strcmp(argv[1], "-p") != 0) {
		fprintf(stderr, "usage: %s -p PORT\n", argv[0]);
		return 2;
	}
	port = atoi(argv[2]);
	c = calloc(1, sizeof(*c));
	if (!c || port <= 0 || port > 65535 ||
	    weft_addr_ip(&c->addr, "127.0.0.1", (uint16_t)port) < 0) {
		free(c);
		return 2;
	}
	/* A port that was free a moment ago: connecting there is refused. */
	weft_addr_ip(&c->dead, "127.0.0.1", 0);
	if (weft_listen(&l, &c->dead, 1) == 0) {
		weft_listener_local_addr(l, &c->dead);
		weft_listener_close(l);
	}
	c->base.vtable = &client_vtable;
	rc = weft_run(&c->base);
	free(c);
	return rc;
}
