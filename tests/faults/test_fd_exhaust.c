/* SPDX-License-Identifier: MIT */
/*
 * fd exhaustion, on the executor and reactor named on the command line:
 * with RLIMIT_NOFILE lowered and every fd below it taken, connect and
 * accept must report -EMFILE, the connections already established must
 * keep echoing, and an accept loop's weft_accept_backoff must wait the
 * shortage out: it pauses while no fd is free and accepts the queued
 * connection once fds are free again, after which a new connect succeeds.
 * Skipped under Valgrind, which keeps fds of its own near the limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <weft/combinator.h>
#include <weft/io.h>
#include <weft/net.h>
#include <weft/weft.h>

#define CONNS    4
#define FILL_MAX 256

struct root;

/* Gives the fds back after a while, as closing connections would. */
struct releaser {
	struct weft_future base;
	struct weft_coro co;
	struct root *s;
	struct weft_sleep nap;
	int status;
};

struct root {
	struct weft_future base;
	struct weft_coro co;
	struct weft_listener *l;
	struct weft_addr addr;
	struct weft_connect conn;
	struct weft_accept acc;
	struct weft_accept_backoff wait;
	struct releaser rel;
	struct weft_join_all both;
	struct weft_io_write w;
	struct weft_io_read r;
	struct weft_io *cli[CONNS], *srv[CONNS], *queued, *late_cli, *late_srv;
	struct rlimit old;
	int fill[FILL_MAX];
	int nfill, i;
	char buf[8];
	int connect_err, accept_err, served;
	unsigned backoffs;
	int failed;
};

static void
check(struct root *s, int ok, const char *what, int code)
{
	if (!ok) {
		fprintf(stderr, "fd-exhaust: %s: %d (%s)\n", what, code,
		        weft_strerror(code));
		s->failed = 1;
	}
}

/* Lowers the soft limit just above the fds in use and takes the rest. */
static int
exhaust(struct root *s)
{
	struct rlimit rl;
	int fd, lowest;

	if (getrlimit(RLIMIT_NOFILE, &s->old) < 0)
		return -errno;
	lowest = dup(0);
	if (lowest < 0)
		return -errno;
	close(lowest);
	rl = s->old;
	rl.rlim_cur = (rlim_t)lowest + 8;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	while (s->nfill < FILL_MAX &&
	       (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		s->fill[s->nfill++] = fd;
	return errno == EMFILE ? 0 : -errno;
}

static void
release(struct root *s)
{
	while (s->nfill > 0)
		close(s->fill[--s->nfill]);
	setrlimit(RLIMIT_NOFILE, &s->old);
}

static weft_poll
releaser_poll(struct weft_future *f, struct weft_context *cx)
{
	struct releaser *r = (struct releaser *)f;

	WEFT_BEGIN(&r->co);
	weft_sleep_init(&r->nap, 30 * WEFT_MSEC);
	WEFT_AWAIT(&r->co, cx, &r->nap);
	release(r->s);
	WEFT_END(&r->co);
}

static void
releaser_drop(struct weft_future *f)
{
	weft_future_drop(&((struct releaser *)f)->nap.base);
}

WEFT_FUTURE_VTABLE(releaser_vtable, struct releaser, status, releaser_poll,
                   releaser_drop);

static weft_poll
root_poll(struct weft_future *f, struct weft_context *cx)
{
	struct root *s = (struct root *)f;

	WEFT_BEGIN(&s->co);
	/* Established connections, and one left queued in the backlog. */
	for (s->i = 0; s->i < CONNS; s->i++) {
		weft_connect_init(&s->conn, &s->addr);
		WEFT_AWAIT(&s->co, cx, &s->conn);
		check(s, s->conn.status == 0, "connect", s->conn.status);
		s->cli[s->i] = s->conn.stream;
		weft_accept_init(&s->acc, s->l);
		WEFT_AWAIT(&s->co, cx, &s->acc);
		check(s, s->acc.status == 0, "accept", s->acc.status);
		s->srv[s->i] = s->acc.stream;
	}
	weft_connect_init(&s->conn, &s->addr);
	WEFT_AWAIT(&s->co, cx, &s->conn);
	s->queued = s->conn.stream;

	check(s, exhaust(s) == 0, "cannot take every fd", 0);
	weft_connect_init(&s->conn, &s->addr);
	WEFT_AWAIT(&s->co, cx, &s->conn);
	s->connect_err = s->conn.status;
	weft_io_close(s->conn.stream);
	weft_accept_init(&s->acc, s->l);
	WEFT_AWAIT(&s->co, cx, &s->acc);
	s->accept_err = s->acc.status;
	weft_io_close(s->acc.stream);
	check(s, s->connect_err == -EMFILE, "connect without fds",
	      s->connect_err);
	check(s, s->accept_err == -EMFILE, "accept without fds", s->accept_err);

	/* The runtime keeps serving what it has: a round trip on each. */
	for (s->i = 0; s->i < CONNS; s->i++) {
		weft_io_write_init(&s->w, s->cli[s->i], "ping", 4);
		WEFT_AWAIT(&s->co, cx, &s->w);
		weft_io_read_init(&s->r, s->srv[s->i], s->buf, 4);
		WEFT_AWAIT(&s->co, cx, &s->r);
		check(s, s->r.status == 4, "server read", s->r.status);
		weft_io_write_init(&s->w, s->srv[s->i], s->buf, 4);
		WEFT_AWAIT(&s->co, cx, &s->w);
		weft_io_read_init(&s->r, s->cli[s->i], s->buf, 4);
		WEFT_AWAIT(&s->co, cx, &s->r);
		check(s, s->r.status == 4 && memcmp(s->buf, "ping", 4) == 0,
		      "client read", s->r.status);
		s->served += s->r.status == 4;
	}

	/*
	 * The back-off accept, polled first, finds no fd free and pauses;
	 * the releaser gives the fds back 30 ms later, and the accept then
	 * takes the queued connection.
	 */
	weft_accept_backoff_init(&s->wait, s->l);
	s->rel = (struct releaser){.base.vtable = &releaser_vtable, .s = s};
	weft_join_init(&s->both, 2, &s->wait.base, &s->rel.base);
	WEFT_AWAIT(&s->co, cx, &s->both);
	s->backoffs = s->wait.backoffs;
	check(s, s->wait.status == 0, "accept after release", s->wait.status);
	check(s, s->backoffs >= 1, "no pause while out of fds", 0);
	s->late_srv = s->wait.stream;
	weft_connect_init(&s->conn, &s->addr);
	WEFT_AWAIT(&s->co, cx, &s->conn);
	check(s, s->conn.status == 0, "connect after release", s->conn.status);
	s->late_cli = s->conn.stream;
	WEFT_END(&s->co);
}

static void
root_drop(struct weft_future *f)
{
	struct root *s = (struct root *)f;

	weft_future_drop(&s->conn.base);
	weft_future_drop(&s->acc.base);
	weft_future_drop(&s->both.base);
	weft_future_drop(&s->wait.base);
	weft_future_drop(&s->rel.base);
	weft_future_drop(&s->w.base);
	weft_future_drop(&s->r.base);
}

static const struct weft_future_vtable root_vt = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct root),
    .poll = root_poll,
    .drop = root_drop,
};

int
main(int argc, char **argv)
{
	struct weft_config *cfg;
	struct weft_runtime *rt;
	struct root s;
	char err[512];
	int i, r;

	if (argc != 3)
		return 2;
	if (getenv("WEFT_UNDER_VALGRIND")) {
		printf("fd-exhaust: skipped under Valgrind\n");
		return 77;
	}
	memset(&s, 0, sizeof(s));
	s.base.vtable = &root_vt;
	if (weft_config_new(&cfg) < 0)
		return 1;
	weft_config_set(cfg, "executor", argv[1], NULL, 0);
	weft_config_set(cfg, "reactor", argv[2], NULL, 0);
	r = weft_runtime_open(&rt, cfg, err, sizeof(err));
	weft_config_free(cfg);
	if (r < 0) {
		fprintf(stderr, "fd-exhaust: %s\n", err);
		return 1;
	}
	weft_addr_ip(&s.addr, "127.0.0.1", 0);
	r = weft_listen(&s.l, &s.addr, 16);
	if (r == 0)
		r = weft_listener_local_addr(s.l, &s.addr);
	if (r == 0)
		r = weft_block_on(rt, &s.base);
	check(&s, r == 0, "setup or block_on", r);
	weft_future_drop(&s.base);
	release(&s);
	for (i = 0; i < CONNS; i++) {
		weft_io_close(s.cli[i]);
		weft_io_close(s.srv[i]);
	}
	weft_io_close(s.queued);
	weft_io_close(s.late_cli);
	weft_io_close(s.late_srv);
	weft_listener_close(s.l);
	weft_runtime_close(rt);
	printf("fd-exhaust %s x %s: connect %d (%s), accept %d (%s) without "
	       "fds; %d of %d connections still served; the back-off accept "
	       "paused %u time(s): %s\n",
	       argv[1], argv[2], s.connect_err, weft_strerror(s.connect_err),
	       s.accept_err, weft_strerror(s.accept_err), s.served, CONNS,
	       s.backoffs, s.failed ? "FAILED" : "ok");
	return s.failed;
}
