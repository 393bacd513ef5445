/* SPDX-License-Identifier: MIT */
/*
 * weft_accept_backoff on the pair under test.  With RLIMIT_NOFILE lowered
 * in this process so that accepts fail with EMFILE, an accept loop pauses
 * instead of spinning (its polls stay few, and each accept took at least
 * as long as the pauses it reports, timers never being early), the
 * connections it holds are still served, and once fds are free the queued
 * connections and a new one are accepted and served.  A close during a
 * pause ends the accept with WEFT_ECLOSED.
 */
#include <errno.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define CLIENTS 12
/* fds left for accepts: fewer than CLIENTS, so that some stay queued. */
#define ROOM 4
/* More than the fds other threads could close while the limit is set. */
#define FILL_MAX 64

static struct weft_addr
loopback(void)
{
	struct weft_addr a;

	assert_int_equal(weft_addr_ip(&a, "127.0.0.1", 0), 0);
	return a;
}

/* ---- fd limit ------------------------------------------------------------ */

static struct rlimit saved_limit;
static bool limited;
static int fill[FILL_MAX];
static int nfill;

/*
 * Valgrind keeps the soft fd limit in user space: the fds a completion
 * reactor's kernel makes (io_uring's accept) never see it, so no accept
 * runs out of fds there.  Called first, before a test makes anything.
 */
static void
skip_where_the_limit_is_emulated(void)
{
	if (under_valgrind() && io_completion_on()) {
		print_message("Valgrind's fd limit does not reach accepts the "
		              "kernel runs for completion I/O: skipped\n");
		skip();
	}
}

/*
 * Lowers the soft limit so that exactly `room` more fds can be made: the
 * limit goes just above the lowest free fd, and free fds below it (closed
 * by another thread meanwhile, say) are taken.
 */
static void
limit_fds(int room)
{
	struct rlimit rl;
	int fd, lowest;

	lowest = dup(0);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved_limit), 0);
	/* The hard limit is left alone: Valgrind refuses to change it. */
	rl = saved_limit;
	rl.rlim_cur = (rlim_t)(lowest + room);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	limited = true;
	while (nfill < FILL_MAX && (fd = dup(0)) >= 0)
		fill[nfill++] = fd;
	assert_int_equal(errno, EMFILE);
	for (int i = 0; i < room && nfill > 0; i++)
		close(fill[--nfill]);
}

static void
unlimit_fds(void)
{
	while (nfill > 0)
		close(fill[--nfill]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved_limit), 0);
	limited = false;
}

/* A failed test must not leave the next one short of fds. */
static int
unlimit_teardown(void **state)
{
	(void)state;
	if (limited)
		unlimit_fds();
	return 0;
}

/*
 * A blocking TCP socket made now, while fds are plentiful, and connected
 * later: loopback connects complete in the listener's backlog whether the
 * server accepts or not, and need no new fd.
 */
static int
client_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	return fd;
}

static struct weft_io *
client_connect(int fd, const struct weft_addr *addr)
{
	struct weft_io *s;

	assert_int_equal(
	    connect(fd, (const struct sockaddr *)&addr->ss, addr->len), 0);
	assert_int_equal(weft_io_from_fd(&s, fd), 0);
	return s;
}

/* ---- the accept loop under test ------------------------------------------ */

/* What the loop did, read by the test thread while the loop runs. */
struct loop_stats {
	atomic_uint polls;
	atomic_uint backoffs; /* pauses, over all its accepts */
	atomic_uint accepted;
	atomic_uint paused_accepts; /* accepts that paused at least once */
	atomic_uint last_backoffs;  /* pauses of the last accept */
	atomic_uint early; /* accepts quicker than their pauses: never */
};

/*
 * Accepts with weft_accept_backoff until the listener (borrowed) is
 * closed, spawning an echo_conn per connection.  Written without the
 * coroutine macros so that every poll can publish the pauses so far.
 */
struct backoff_loop {
	struct weft_future base;
	struct weft_listener *l;
	struct loop_stats *st;
	struct weft_joinset *conns;
	struct weft_accept_backoff acc;
	unsigned backoffs_before; /* of the accepts that completed */
	uint64_t begin;           /* when the current accept started */
	int status;
};

/* The least time n pauses take: 5 ms doubling, at most 1 s each. */
static uint64_t
pauses_min(unsigned n)
{
	uint64_t d = WEFT_ACCEPT_BACKOFF_MIN, sum = 0;

	for (unsigned i = 0; i < n; i++) {
		sum += d;
		d = d * 2 < WEFT_ACCEPT_BACKOFF_MAX ? d * 2
		                                    : WEFT_ACCEPT_BACKOFF_MAX;
	}
	return sum;
}

static void
loop_accepted(struct backoff_loop *s, struct weft_context *cx)
{
	struct loop_stats *st = s->st;
	uint64_t took = weft_driver_now(cx->driver) - s->begin;
	struct echo_conn conn;

	if (took < pauses_min(s->acc.backoffs))
		atomic_fetch_add(&st->early, 1);
	if (s->acc.backoffs > 0)
		atomic_fetch_add(&st->paused_accepts, 1);
	atomic_store(&st->last_backoffs, s->acc.backoffs);
	s->backoffs_before += s->acc.backoffs;
	echo_conn_init(&conn, s->acc.stream);
	/* In a set, so that the test can wait until their fds are closed. */
	weft_joinset_spawn(s->conns, cx->executor, &conn.base, NULL);
	atomic_fetch_add(&st->accepted, 1);
}

static weft_poll
loop_poll(struct weft_future *f, struct weft_context *cx)
{
	struct backoff_loop *s = (struct backoff_loop *)f;
	weft_poll p;

	atomic_fetch_add(&s->st->polls, 1);
	for (;;) {
		if (weft_future_is_empty(&s->acc.base)) {
			weft_accept_backoff_init(&s->acc, s->l);
			s->begin = weft_driver_now(cx->driver);
		}
		p = weft_future_poll(&s->acc.base, cx);
		atomic_store(&s->st->backoffs,
		             s->backoffs_before + s->acc.backoffs);
		if (p == WEFT_PENDING)
			return WEFT_PENDING;
		weft_future_drop(&s->acc.base);
		if (s->acc.status < 0)
			break;
		loop_accepted(s, cx);
	}
	s->status = s->acc.status == WEFT_ECLOSED ? 0 : s->acc.status;
	return WEFT_READY;
}

static void
loop_drop(struct weft_future *f)
{
	weft_future_drop(&((struct backoff_loop *)f)->acc.base);
}

WEFT_FUTURE_VTABLE(loop_vtable, struct backoff_loop, status, loop_poll,
                   loop_drop);

/* ---- helpers run on the runtime ------------------------------------------ */

/* Lets the runtime run for ms (a single-thread executor runs only here). */
static void
pass_time(unsigned ms)
{
	struct weft_sleep nap;

	weft_sleep_init(&nap, ms * WEFT_MSEC);
	run_bounded(&nap.base, 10);
}

/* Waits, at most ~10 s, until *counter reaches at least n. */
static void
wait_for(atomic_uint *counter, unsigned n)
{
	for (int i = 0; i < 1000 && atomic_load(counter) < n; i++)
		pass_time(10);
	assert_true(atomic_load(counter) >= n);
}

/* One echo round trip on a client stream: status 0, or an error. */
struct ping {
	struct weft_future base;
	struct weft_coro co;
	struct weft_io *s;
	struct weft_io_write_all w;
	struct weft_io_read_exact r;
	char buf[4];
	int status;
};

static weft_poll
ping_poll(struct weft_future *f, struct weft_context *cx)
{
	struct ping *p = (struct ping *)f;

	WEFT_BEGIN(&p->co);
	weft_io_write_all_init(&p->w, p->s, "ping", 4);
	WEFT_AWAIT(&p->co, cx, &p->w);
	p->status = p->w.status;
	if (p->status < 0)
		WEFT_RETURN(&p->co);
	weft_io_read_exact_init(&p->r, p->s, p->buf, sizeof(p->buf));
	WEFT_AWAIT(&p->co, cx, &p->r);
	p->status = p->r.status;
	if (p->status == 0 && memcmp(p->buf, "ping", 4) != 0)
		p->status = -EILSEQ;
	WEFT_END(&p->co);
}

static void
ping_drop(struct weft_future *f)
{
	struct ping *p = (struct ping *)f;

	weft_future_drop(&p->w.base);
	weft_future_drop(&p->r.base);
}

WEFT_FUTURE_VTABLE(ping_vtable, struct ping, status, ping_poll, ping_drop);

static int
ping(struct weft_io *s)
{
	struct ping p = {.base.vtable = &ping_vtable, .s = s};

	run_bounded(&p.base, 10);
	return p.status;
}

/* ---- out of fds ---------------------------------------------------------- */

/* Polls the loop may make in the window: a spinning loop makes thousands. */
#define WINDOW_MS        200
#define WINDOW_POLLS_MAX 40

static void
backoff_out_of_fds(void **state)
{
	struct weft_addr bind = loopback(), addr;
	struct weft_io *cli[CLIENTS];
	struct loop_stats st = {0};
	struct backoff_loop loop;
	struct weft_listener *l;
	struct weft_join *join;
	struct weft_join_future jf;
	struct echo_client late;
	struct drain d;
	int fds[CLIENTS], i, status = -1;
	unsigned polls, accepted;
	(void)state;
	skip_where_the_limit_is_emulated();

	assert_int_equal(weft_listen(&l, &bind, 64), 0);
	assert_int_equal(weft_listener_local_addr(l, &addr), 0);
	for (i = 0; i < CLIENTS; i++)
		fds[i] = client_socket();
	loop = (struct backoff_loop){
	    .base.vtable = &loop_vtable, .l = l, .st = &st};
	assert_int_equal(weft_joinset_new(&loop.conns), 0);
	assert_int_equal(weft_spawn(rt, &loop.base, &join), 0);

	/* More clients than fds: the first few are accepted, then EMFILE. */
	limit_fds(ROOM);
	for (i = 0; i < CLIENTS; i++)
		cli[i] = client_connect(fds[i], &addr);
	wait_for(&st.backoffs, 2);
	accepted = atomic_load(&st.accepted);
	assert_true(accepted < CLIENTS);

	/* Saturated, the loop sleeps: few polls, whatever the machine. */
	polls = atomic_load(&st.polls);
	pass_time(WINDOW_MS);
	polls = atomic_load(&st.polls) - polls;
	print_message("out of fds: %u accepted of %d, %u pauses so far, %u "
	              "polls in %d ms\n",
	              accepted, CLIENTS, atomic_load(&st.backoffs), polls,
	              WINDOW_MS);
	assert_true(polls <= WINDOW_POLLS_MAX);
	assert_int_equal(atomic_load(&st.accepted), accepted);

	/* The connections it holds are served meanwhile. */
	assert_int_equal(ping(cli[0]), 0);

	/* fds back: the queued connections and a new one are accepted. */
	unlimit_fds();
	for (i = 0; i < CLIENTS; i++)
		weft_io_close(cli[i]);
	echo_client_init(&late, &addr, 1000, 3, 7);
	run_bounded(&late.base, 30);
	assert_int_equal(late.status, 0);
	/*
	 * Valgrind fakes the limit: it closes an fd above it and says
	 * EMFILE, so the connection it was is gone, not left queued.
	 */
	if (!under_valgrind()) {
		wait_for(&st.accepted, CLIENTS + 1);
		assert_int_equal(atomic_load(&st.accepted), CLIENTS + 1);
	}
	/* The pauses start again after an accept: the last one took none. */
	assert_int_equal(atomic_load(&st.last_backoffs), 0);
	assert_true(atomic_load(&st.paused_accepts) >= 1);
	assert_int_equal(atomic_load(&st.early), 0);

	weft_listener_close(l);
	weft_join_future_init(&jf, join, &status, sizeof(status));
	run_bounded(&jf.base, 10);
	assert_int_equal(jf.status, 0);
	assert_int_equal(status, 0);
	drain_init(&d, loop.conns);
	run_bounded(&d.base, 10);
	assert_int_equal(d.failures, 0);
	weft_joinset_free(loop.conns);
}

/* ---- close during a pause ------------------------------------------------ */

/*
 * Accepts with the listener's only handle and, once the accept is in a
 * pause, closes the listener: the accept must end with WEFT_ECLOSED.
 */
struct close_in_pause {
	struct weft_future base;
	struct weft_listener *l; /* owned */
	struct weft_accept_backoff acc;
	int status;
};

static weft_poll
close_in_pause_poll(struct weft_future *f, struct weft_context *cx)
{
	struct close_in_pause *c = (struct close_in_pause *)f;

	if (weft_future_is_empty(&c->acc.base))
		weft_accept_backoff_init(&c->acc, c->l);
	if (weft_future_poll(&c->acc.base, cx) == WEFT_READY) {
		c->status = c->acc.status;
		return WEFT_READY;
	}
	if (c->acc.backoffs > 0 && c->l) {
		weft_listener_close(c->l);
		c->l = NULL;
	}
	return WEFT_PENDING;
}

static void
close_in_pause_drop(struct weft_future *f)
{
	struct close_in_pause *c = (struct close_in_pause *)f;

	weft_future_drop(&c->acc.base);
	weft_listener_close(c->l);
}

WEFT_FUTURE_VTABLE(close_in_pause_vtable, struct close_in_pause, status,
                   close_in_pause_poll, close_in_pause_drop);

static void
backoff_close_ends_pause(void **state)
{
	struct weft_addr bind = loopback(), addr;
	struct close_in_pause c = {.base.vtable = &close_in_pause_vtable};
	struct weft_io *cli;
	int fd;
	(void)state;
	skip_where_the_limit_is_emulated();

	assert_int_equal(weft_listen(&c.l, &bind, 4), 0);
	assert_int_equal(weft_listener_local_addr(c.l, &addr), 0);
	fd = client_socket();
	/* No fd left at all: the first accept already fails. */
	limit_fds(0);
	cli = client_connect(fd, &addr);
	run_bounded(&c.base, 10);
	unlimit_fds();
	assert_int_equal(c.status, WEFT_ECLOSED);
	assert_true(c.acc.backoffs >= 1);
	assert_true(c.acc.cause == -EMFILE || c.acc.cause == -ENFILE);
	weft_future_drop(&c.base);
	weft_io_close(cli);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(backoff_out_of_fds, unlimit_teardown),
	    cmocka_unit_test_teardown(backoff_close_ends_pause,
	                              unlimit_teardown),
	};

	return run_group(argc, argv, "io-backoff", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
