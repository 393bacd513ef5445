/* SPDX-License-Identifier: MIT */
/*
 * An echo server on weft: every byte a client sends comes back.
 *
 *     echo-server [-a ADDRESS] [-p PORT] [-d DEADLINE_MS]
 *
 * Listens on 127.0.0.1 (or ADDRESS, "::1" for IPv6) and PORT (0: any; the
 * line "listening on ..." says which), until SIGINT or SIGTERM.  Then it
 * shuts down gracefully: it stops accepting, gives the open connections
 * DEADLINE_MS (default 2000) to finish, and drops the ones still open.
 * Out of fds it keeps echoing on the connections it has and accepts again
 * once some close; an accept error that is not a shortage shuts it down
 * the same way, and it exits with status 1.
 * The runtime is whatever the configuration names (WEFT_EXECUTOR,
 * WEFT_REACTOR, WEFT_CONFIG).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/combinator.h>
#include <weft/net.h>
#include <weft/task.h>
#include <weft/weft.h>

#define CONN_BUF 16384

/* ---- one connection ----------------------------------------------------- */

struct conn {
	struct weft_future base;
	struct weft_coro co;
	struct weft_io *s;
	unsigned char *buf;
	struct weft_io_read rd;
	struct weft_io_write_all wr;
	int status;
};

static weft_poll
conn_poll(struct weft_future *f, struct weft_context *cx)
{
	struct conn *c = (struct conn *)f;

	WEFT_BEGIN(&c->co);
	c->buf = malloc(CONN_BUF);
	if (!c->buf) {
		c->status = -ENOMEM;
		WEFT_RETURN(&c->co);
	}
	for (;;) {
		weft_io_read_init(&c->rd, c->s, c->buf, CONN_BUF);
		WEFT_AWAIT(&c->co, cx, &c->rd);
		if (c->rd.status <= 0)
			break; /* end of stream, or an error such as a reset */
		weft_io_write_all_init(&c->wr, c->s, c->buf,
		                       (size_t)c->rd.status);
		WEFT_AWAIT(&c->co, cx, &c->wr);
		if (c->wr.status < 0)
			break;
	}
	c->status = 0;
	WEFT_END(&c->co);
}

static void
conn_drop(struct weft_future *f)
{
	struct conn *c = (struct conn *)f;

	weft_future_drop(&c->rd.base);
	weft_future_drop(&c->wr.base);
	weft_io_close(c->s);
	free(c->buf);
}

WEFT_FUTURE_VTABLE(conn_vtable, struct conn, status, conn_poll, conn_drop);

/* ---- the server --------------------------------------------------------- */

struct server {
	struct weft_future base;
	struct weft_coro co;
	struct weft_addr addr;
	uint64_t deadline_ms;
	struct weft_signal_listener *signals;
	struct weft_listener *l;
	struct weft_joinset *conns;
	/*
	 * The branches of the accept loop, kept across its rounds.  The
	 * accept waits out a shortage of fds itself: retrying EMFILE at once
	 * would spin, since the connection stays queued.
	 */
	struct weft_accept_backoff acc;
	struct weft_signal_recv sig;
	struct weft_joinset_next reap;
	struct weft_select sel;
	/* Shutdown: join what is left, within the deadline. */
	struct weft_joinset_next next;
	struct weft_timeout grace;
	const char *runtime; /* "executor/reactor", for the first line */
	uint64_t end; /* when the deadline is up, on the driver's clock */
	uint64_t served, finished;
	int status;
};

static void
conn_spawn(struct server *s, struct weft_context *cx, struct weft_io *st)
{
	struct conn c = {.base.vtable = &conn_vtable, .s = st};

	/*
	 * Each echo goes out at once, as the libuv and tokio echo servers
	 * of bench/run do; a failure only leaves Nagle's algorithm on.
	 */
	(void)weft_io_set_nodelay(st, true);
	if (weft_joinset_spawn(s->conns, cx->executor, &c.base, NULL) == 0)
		s->served++;
}

/* The accept loop's select: branches that finished are started again. */
static void
loop_arm(struct server *s)
{
	if (weft_future_is_empty(&s->acc.base))
		weft_accept_backoff_init(&s->acc, s->l);
	if (weft_future_is_empty(&s->sig.base))
		weft_signal_recv_init(&s->sig, s->signals);
	if (weft_future_is_empty(&s->reap.base) &&
	    weft_joinset_len(s->conns) > 0)
		weft_joinset_next_init(&s->reap, s->conns, NULL, 0);
	weft_select_init(&s->sel, WEFT_SELECT_BIASED | WEFT_SELECT_BORROW, 3,
	                 &s->sig.base, &s->acc.base, &s->reap.base);
}

/* Handles the branch that won; returns true when it is time to stop. */
static bool
loop_step(struct server *s, struct weft_context *cx)
{
	switch (s->sel.winner) {
	case 0:
		weft_future_drop(&s->sig.base);
		return true;
	case 1:
		weft_future_drop(&s->acc.base);
		if (s->acc.status == 0) {
			conn_spawn(s, cx, s->acc.stream);
			return false;
		}
		/* Shortages were waited out: the rest is fatal, as in Go. */
		fprintf(stderr, "echo-server: accept: %s\n",
		        weft_strerror(s->acc.status));
		s->status = s->acc.status;
		return true;
	default:
		weft_future_drop(&s->reap.base);
		s->finished++;
		return false;
	}
}

static weft_poll
server_poll(struct weft_future *f, struct weft_context *cx)
{
	struct server *s = (struct server *)f;
	char text[80];
	uint64_t now;

	WEFT_BEGIN(&s->co);
	s->status = weft_listen(&s->l, &s->addr, 1024);
	if (s->status < 0) {
		fprintf(stderr, "echo-server: listen on %s: %s\n",
		        weft_addr_format(&s->addr, text, sizeof(text)),
		        weft_strerror(s->status));
		WEFT_RETURN(&s->co);
	}
	weft_listener_local_addr(s->l, &s->addr);
	printf("listening on %s (%s)\n",
	       weft_addr_format(&s->addr, text, sizeof(text)), s->runtime);
	fflush(stdout);
	for (;;) {
		loop_arm(s);
		WEFT_AWAIT(&s->co, cx, &s->sel);
		if (loop_step(s, cx))
			break;
	}

	/* Graceful shutdown: no new connections, then a deadline. */
	weft_future_drop(&s->acc.base);
	weft_future_drop(&s->reap.base);
	weft_listener_close(s->l);
	s->l = NULL;
	printf("stopping: %zu connection(s) open, waiting up to %llu ms\n",
	       weft_joinset_len(s->conns), (unsigned long long)s->deadline_ms);
	s->end = weft_driver_now(cx->driver) + s->deadline_ms * WEFT_MSEC;
	while (weft_joinset_len(s->conns) > 0) {
		/* One deadline for all, not one per connection. */
		now = weft_driver_now(cx->driver);
		weft_joinset_next_init(&s->next, s->conns, NULL, 0);
		weft_timeout_init(&s->grace, &s->next.base,
		                  s->end > now ? s->end - now : 0);
		WEFT_AWAIT(&s->co, cx, &s->grace);
		if (s->grace.status == WEFT_ETIMEDOUT)
			break;
		s->finished++;
	}
	printf("stopped: %llu connection(s) served, %llu finished, %zu "
	       "dropped\n",
	       (unsigned long long)s->served, (unsigned long long)s->finished,
	       weft_joinset_len(s->conns));
	WEFT_END(&s->co);
}

static void
server_drop(struct weft_future *f)
{
	struct server *s = (struct server *)f;

	weft_future_drop(&s->sel.base);
	weft_future_drop(&s->acc.base);
	weft_future_drop(&s->sig.base);
	weft_future_drop(&s->reap.base);
	weft_future_drop(&s->grace.base);
	weft_future_drop(&s->next.base);
	/* Aborts the connections still open: their futures are dropped. */
	weft_joinset_free(s->conns);
	weft_listener_close(s->l);
	weft_signal_listener_free(s->signals);
}

WEFT_FUTURE_VTABLE(server_vtable, struct server, status, server_poll,
                   server_drop);

static int
usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-a ADDRESS] [-p PORT] [-d DEADLINE_MS]\n",
	        argv0);
	return 2;
}

int
main(int argc, char **argv)
{
	struct server s = {.base.vtable = &server_vtable, .deadline_ms = 2000};
	const char *ip = "127.0.0.1";
	struct weft_runtime *rt;
	char err[512], names[128];
	int port = 0, opt, r;

	while ((opt = getopt(argc, argv, "a:p:d:")) != -1) {
		switch (opt) {
		case 'a':
			ip = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'd':
			s.deadline_ms = strtoull(optarg, NULL, 10);
			break;
		default:
			return usage(argv[0]);
		}
	}
	if (port < 0 || port > 65535 ||
	    weft_addr_ip(&s.addr, ip, (uint16_t)port) < 0)
		return usage(argv[0]);
#ifdef WEFT_STATIC_PLUGINS
	/* The static build (echo-server-static): the plugins are inside. */
	r = weft_static_register();
	if (r < 0) {
		fprintf(stderr, "echo-server: %s\n", weft_strerror(r));
		return 1;
	}
#endif
	/*
	 * The signal listener exists before the port is announced, so a
	 * SIGINT sent by whoever read it is always a graceful shutdown.
	 */
	r = weft_runtime_open(&rt, NULL, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "echo-server: %s\n", err);
		return 1;
	}
	snprintf(names, sizeof(names), "executor %s, reactor %s",
	         weft_runtime_plugin(rt, WEFT_PLUGIN_EXECUTOR)->name,
	         weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR)->name);
	s.runtime = names;
	r = weft_signal_listen(&s.signals, 0);
	if (r == 0)
		r = weft_joinset_new(&s.conns);
	if (r == 0)
		r = weft_block_on(rt, &s.base);
	/* Dropped while its runtime exists: it aborts connections there. */
	weft_future_drop(&s.base);
	weft_runtime_close(rt);
	if (r < 0)
		fprintf(stderr, "echo-server: %s\n", weft_strerror(r));
	return r < 0 || s.status < 0 ? 1 : 0;
}
