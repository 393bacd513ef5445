/* SPDX-License-Identifier: MIT */
/*
 * The weft echo server of bench/run, on the async library's streams:
 * 127.0.0.1:PORT, one task per connection that reads up to 4 KiB and
 * writes it all back, until end of stream.  The executor and reactor come
 * from the command line.
 *
 * Usage: weft-bench-echo-weft EXECUTOR REACTOR PORT
 */
#include <stdio.h>
#include <stdlib.h>

#include <weft/io.h>
#include <weft/net.h>
#include <weft/weft.h>

#ifndef WEFT_BENCH_PLUGIN_PATH
#define WEFT_BENCH_PLUGIN_PATH ""
#endif

#define BUF 4096

struct conn {
	struct weft_future base;
	struct weft_coro co;
	struct weft_stream *s;
	struct weft_stream_read rd;
	struct weft_stream_write_all wr;
	unsigned char buf[BUF];
};

static weft_poll
conn_poll(struct weft_future *f, struct weft_context *cx)
{
	struct conn *c = (struct conn *)f;

	WEFT_BEGIN(&c->co);
	weft_stream_set_nodelay(c->s, true);
	for (;;) {
		weft_stream_read_init(&c->rd, c->s, c->buf, BUF);
		WEFT_AWAIT(&c->co, cx, &c->rd);
		if (c->rd.status <= 0)
			break;
		weft_stream_write_all_init(&c->wr, c->s, c->buf,
		                           (size_t)c->rd.status);
		WEFT_AWAIT(&c->co, cx, &c->wr);
		if (c->wr.status < 0)
			break;
	}
	weft_stream_close(c->s);
	c->s = NULL;
	WEFT_END(&c->co);
}

static void
conn_drop(struct weft_future *f)
{
	struct conn *c = (struct conn *)f;

	weft_future_drop(&c->rd.base);
	weft_future_drop(&c->wr.base);
	weft_stream_close(c->s);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(conn_vtable, struct conn, conn_poll, conn_drop);

/* block_on's future: accepts forever, one task per connection. */
struct server {
	struct weft_future base;
	struct weft_coro co;
	struct weft_listener *l;
	struct weft_accept acc;
};

static weft_poll
server_poll(struct weft_future *f, struct weft_context *cx)
{
	struct server *sv = (struct server *)f;
	struct conn c = {.base.vtable = &conn_vtable};

	WEFT_BEGIN(&sv->co);
	for (;;) {
		weft_accept_init(&sv->acc, sv->l);
		WEFT_AWAIT(&sv->co, cx, &sv->acc);
		if (sv->acc.status < 0)
			continue;
		c.s = sv->acc.stream;
		if (weft_executor_spawn(cx->executor, &c.base, NULL) < 0)
			weft_stream_close(c.s);
	}
	WEFT_END(&sv->co);
}

static void
server_drop(struct weft_future *f)
{
	weft_future_drop(&((struct server *)f)->acc.base);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(server_vtable, struct server, server_poll,
                             server_drop);

int
main(int argc, char **argv)
{
	struct server sv = {.base.vtable = &server_vtable};
	const char *path = getenv("WEFT_PLUGIN_PATH");
	struct weft_config *cfg = NULL;
	struct weft_runtime *rt = NULL;
	struct weft_addr addr;
	char err[256] = "out of memory";
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR PORT\n", argv[0]);
		return 2;
	}
	if (!path || !*path)
		path = WEFT_BENCH_PLUGIN_PATH;
	if (weft_config_new(&cfg) < 0 ||
	    weft_config_set(cfg, "use_env", "false", err, sizeof(err)) < 0 ||
	    (*path &&
	     weft_config_set(cfg, "plugin_path", path, err, sizeof(err)) < 0) ||
	    weft_config_set(cfg, "executor", argv[1], err, sizeof(err)) < 0 ||
	    weft_config_set(cfg, "reactor", argv[2], err, sizeof(err)) < 0 ||
	    weft_runtime_open(&rt, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s/%s: %s\n", argv[1], argv[2], err);
		return 1;
	}
	weft_config_free(cfg);
	if ((rc = weft_addr_ip(&addr, "127.0.0.1",
	                       (uint16_t)atoi(argv[3]))) < 0 ||
	    (rc = weft_listen(&sv.l, &addr, 4096)) < 0) {
		fprintf(stderr, "listen: %s\n", weft_strerror(rc));
		return 1;
	}
	rc = weft_block_on(rt, &sv.base);
	fprintf(stderr, "block_on: %s\n", weft_strerror(rc));
	return 1;
}
