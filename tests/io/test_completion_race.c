/* SPDX-License-Identifier: MIT */
/*
 * Completion I/O (D10, D11, lib/io/op.c, runtime/driver_op.c) at its worst
 * moments, each repeated a bounded number of times: a runtime closed with
 * reads, writes, accepts and connects in flight; a close racing the
 * completion of a read from other tasks; a read dropped mid-flight and
 * the next one from another task; a peer's reset mid-flight; an fd number
 * reused at once after the close of an object with an operation in
 * flight; a listener's port bound again at once after its close with an
 * accept in flight; many objects closed in one task; an allocation failing
 * on the operation path.  On a pair without completion (and with
 * io_completion = false) the same steps run on readiness and must hold
 * as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* Waits for a task's int status. */
static int
join_int(struct weft_join *join)
{
	struct weft_join_future jf;
	int status = 1;

	weft_join_future_init(&jf, join, &status, sizeof(status));
	run_bounded(&jf.base, 10);
	assert_int_equal(jf.status, 0);
	return status;
}


/* Closes its stream on its first poll: a close from some worker. */
struct closer {
	struct weft_future base;
	struct weft_io **s;
	size_t n;
	int status;
};

static weft_poll
closer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct closer *c = (struct closer *)f;

	(void)cx;
	for (size_t i = 0; i < c->n; i++)
		weft_io_close(c->s[i]);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE(closer_vtable, struct closer, status, closer_poll, NULL);


/* Polls a read once and drops it: a read dropped mid-flight in a task. */
struct drop_read {
	struct weft_future base;
	struct weft_io *s;
	char buf[8];
	int status;
};

static weft_poll
drop_read_poll(struct weft_future *f, struct weft_context *cx)
{
	struct drop_read *d = (struct drop_read *)f;
	struct weft_io_read r;

	weft_io_read_init(&r, d->s, d->buf, sizeof(d->buf));
	d->status = weft_future_poll(&r.base, cx) == WEFT_READY ? r.status : 0;
	weft_future_drop(&r.base);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE(drop_read_vtable, struct drop_read, status, drop_read_poll,
                   NULL);


/* Connects, then reads to the end: a CONNECT, then a RECV, in flight. */
struct conn_read {
	struct weft_future base;
	struct weft_coro co;
	struct weft_connect c;
	struct weft_io_read rd;
	struct weft_addr addr;
	char buf[64];
	int status;
};

static weft_poll
conn_read_poll(struct weft_future *f, struct weft_context *cx)
{
	struct conn_read *c = (struct conn_read *)f;

	WEFT_BEGIN(&c->co);
	weft_connect_init(&c->c, &c->addr);
	WEFT_AWAIT(&c->co, cx, &c->c);
	c->status = c->c.status;
	if (c->status < 0)
		WEFT_RETURN(&c->co);
	do {
		weft_io_read_init(&c->rd, c->c.stream, c->buf, sizeof(c->buf));
		WEFT_AWAIT(&c->co, cx, &c->rd);
	} while (c->rd.status > 0);
	c->status = c->rd.status;
	WEFT_END(&c->co);
}

static void
conn_read_drop(struct weft_future *f)
{
	struct conn_read *c = (struct conn_read *)f;

	weft_future_drop(&c->rd.base);
	if (c->c.status == 0 && c->c.stream)
		weft_io_close(c->c.stream);
	weft_future_drop(&c->c.base);
}

WEFT_FUTURE_VTABLE(conn_read_vtable, struct conn_read, status, conn_read_poll,
                   conn_read_drop);


/*
 * A runtime of its own closed with a read, a write, an accept and a
 * connect in flight (or still queued, or just completed: the moment moves
 * with each round), on whichever workers the executor put them: every
 * future is dropped once and every fd comes back (ASan, Valgrind).
 */
static void
runtime_close_in_flight(void **state)
{
	static char big[1 << 20];
	size_t rounds = scaled(24, 3);
	int before;

	(void)state;
	nap_ms(20); /* what earlier tests cancelled has ended */
	before = count_fds();
	for (size_t i = 0; i < rounds; i++) {
		struct weft_runtime *own;
		struct weft_io *a, *b;
		struct weft_io_read r;
		struct weft_io_write w;
		struct weft_listener *l, *l2;
		struct weft_accept acc;
		struct conn_read cr = {.base.vtable = &conn_read_vtable};
		struct weft_addr addr;
		struct weft_sleep s;
		char buf[16];

		assert_int_equal(rt_open_pair(&own), 0);
		assert_int_equal(weft_io_pair(&a, &b), 0);
		assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", 0), 0);
		assert_int_equal(weft_listen(&l, &addr, 16), 0);
		assert_int_equal(weft_listen(&l2, &addr, 16), 0);
		assert_int_equal(weft_listener_local_addr(l2, &cr.addr), 0);
		weft_io_read_init(&r, a, buf, sizeof(buf));
		assert_int_equal(weft_spawn(own, &r.base, NULL), 0);
		weft_io_write_init(&w, b, big, sizeof(big));
		assert_int_equal(weft_spawn(own, &w.base, NULL), 0);
		weft_accept_init(&acc, l);
		assert_int_equal(weft_spawn(own, &acc.base, NULL), 0);
		assert_int_equal(weft_spawn(own, &cr.base, NULL), 0);
		/* 0 to 3 ms: queued, handed over, or completed. */
		weft_sleep_init(&s, (i % 4) * WEFT_MSEC);
		assert_int_equal(weft_block_on(own, &s.base), 0);
		weft_future_drop(&s.base);
		weft_io_close(a);
		weft_io_close(b);
		weft_listener_close(l);
		weft_listener_close(l2);
		weft_runtime_close(own);
	}
	if (io_completion_on())
		assert_int_equal(count_fds(), before);
}


/*
 * A reader, a writer whose byte completes the reader's RECV, and a close
 * of the reader's stream, spawned in a varying order so that on several
 * workers the close meets the completion: the read gets the byte or
 * WEFT_ECLOSED, never anything else, and nothing leaks.
 */
static void
close_meets_completion(void **state)
{
	size_t rounds = scaled(300, 20);

	(void)state;
	for (size_t i = 0; i < rounds; i++) {
		struct weft_io *a, *b, *ca;
		struct weft_io_read r;
		struct weft_io_write_all w;
		struct closer c = {.base.vtable = &closer_vtable, .n = 1};
		struct weft_join *jr, *jw, *jc;
		char buf[4];
		int st;

		assert_int_equal(weft_io_pair(&a, &b), 0);
		ca = a;
		c.s = &ca;
		weft_io_read_init(&r, a, buf, sizeof(buf));
		weft_io_write_all_init(&w, b, "z", 1);
		if (i % 3 == 0) {
			assert_int_equal(weft_spawn(rt, &r.base, &jr), 0);
			assert_int_equal(weft_spawn(rt, &w.base, &jw), 0);
			assert_int_equal(weft_spawn(rt, &c.base, &jc), 0);
		} else if (i % 3 == 1) {
			assert_int_equal(weft_spawn(rt, &r.base, &jr), 0);
			assert_int_equal(weft_spawn(rt, &c.base, &jc), 0);
			assert_int_equal(weft_spawn(rt, &w.base, &jw), 0);
		} else {
			assert_int_equal(weft_spawn(rt, &r.base, &jr), 0);
			nap_ms(1);
			assert_int_equal(weft_spawn(rt, &w.base, &jw), 0);
			assert_int_equal(weft_spawn(rt, &c.base, &jc), 0);
		}
		st = join_int(jr);
		if (st != 1 && st != WEFT_ECLOSED)
			fail_msg("round %zu: read %d", i, st);
		if (st == 1)
			assert_int_equal(buf[0], 'z');
		(void)join_int(jc);
		/* The writer may find the reader's end closed already. */
		st = join_int(jw);
		if (st != 0 && st != -EPIPE && st != -ECONNRESET)
			fail_msg("round %zu: write %d", i, st);
		weft_io_close(b);
	}
}


/*
 * On one stream, round after round: a task polls a read once and drops
 * it (its RECV stays with the stream), a byte is written, and a read in
 * another task must get exactly that byte: none lost, none twice.
 */
static void
dropped_read_then_other_task(void **state)
{
	size_t rounds = scaled(300, 20);
	struct weft_io *a, *b;

	(void)state;
	assert_int_equal(weft_io_pair(&a, &b), 0);
	for (size_t i = 0; i < rounds; i++) {
		struct drop_read d = {.base.vtable = &drop_read_vtable, .s = a};
		struct weft_io_read r;
		struct weft_join *jd, *jr;
		unsigned char c = (unsigned char)i, got = 0;
		int st, took = 0;

		assert_int_equal(weft_spawn(rt, &d.base, &jd), 0);
		if (i % 2)
			took = join_int(jd);
		assert_int_equal(send(weft_io_fd(b), &c, 1, 0), 1);
		if (!(i % 2))
			took = join_int(jd);
		/*
		 * On readiness (and with the byte there before its poll) the
		 * dropped read may have taken it itself.
		 */
		if (took == 1)
			continue;
		assert_int_equal(took, 0);
		weft_io_read_init(&r, a, &got, 1);
		assert_int_equal(weft_spawn(rt, &r.base, &jr), 0);
		st = join_int(jr);
		if (st != 1 || got != c)
			fail_msg("round %zu: read %d, byte %u not %u", i, st,
			         got, c);
	}
	weft_io_close(a);
	weft_io_close(b);
}


/*
 * A TCP peer resets (SO_LINGER 0) while a read and a large write are in
 * flight: each ends with an error or the end of the stream, and nothing
 * crashes or leaks.
 */
static void
peer_reset_mid_flight(void **state)
{
	static char big[1 << 20];
	size_t rounds = scaled(40, 4);
	struct weft_listener *l;
	struct weft_addr addr;
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	(void)state;
	assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", 0), 0);
	assert_int_equal(weft_listen(&l, &addr, 16), 0);
	assert_int_equal(weft_listener_local_addr(l, &addr), 0);
	for (size_t i = 0; i < rounds; i++) {
		struct weft_accept acc;
		struct weft_io_read r;
		struct weft_io_write w;
		struct weft_join *jr, *jw;
		char buf[16];
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), st;

		assert_true(fd >= 0);
		assert_int_equal(
		    connect(fd, (struct sockaddr *)&addr.ss, addr.len), 0);
		weft_accept_init(&acc, l);
		run_bounded(&acc.base, 10);
		assert_int_equal(acc.status, 0);
		weft_io_read_init(&r, acc.stream, buf, sizeof(buf));
		assert_int_equal(weft_spawn(rt, &r.base, &jr), 0);
		weft_io_write_init(&w, acc.stream, big, sizeof(big));
		assert_int_equal(weft_spawn(rt, &w.base, &jw), 0);
		if (i % 2)
			nap_ms(2);
		assert_int_equal(
		    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
		close(fd);
		st = join_int(jr);
		if (st > 0 || (st < 0 && st != -ECONNRESET))
			fail_msg("round %zu: read %d", i, st);
		st = join_int(jw);
		if (st == 0 || (st < 0 && st != -ECONNRESET && st != -EPIPE))
			fail_msg("round %zu: write %d", i, st);
		weft_io_close(acc.stream);
	}
	weft_listener_close(l);
}


static void
spin_us(unsigned us)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec <
	       (long)us * 1000);
}


/* Whether a byte arrives on fd within a second. */
static bool
byte_arrives(int fd, char want)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c = 0;

	if (poll(&p, 1, 1000) != 1)
		return false;
	return recv(fd, &c, 1, MSG_DONTWAIT) == 1 && c == want;
}


/*
 * An object closed while its RECV is in flight, on whatever thread ends
 * up dropping the last reference, and a new socket made at once (which
 * gets the same fd number, as often as not): the new socket's bytes are
 * its own, never taken by the old operation.
 */
static void
fd_reuse_after_close_in_flight(void **state)
{
	size_t rounds = scaled(1000, 30), reused = 0;

	(void)state;
	for (size_t i = 0; i < rounds; i++) {
		struct weft_io *a, *b;
		struct weft_io_read r;
		char buf[8];
		int fd, sv[2];

		assert_int_equal(weft_io_pair(&a, &b), 0);
		fd = weft_io_fd(a);
		weft_io_read_init(&r, a, buf, sizeof(buf));
		assert_int_equal(poll_once(&r.base), WEFT_PENDING);
		/* 0 to 99 us: a worker may be parking meanwhile. */
		spin_us(i % 100);
		weft_future_drop(&r.base);
		weft_io_close(a);
		weft_io_close(b);
		assert_int_equal(
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		reused += sv[0] == fd || sv[1] == fd;
		assert_int_equal(send(sv[1], "k", 1, 0), 1);
		assert_int_equal(send(sv[0], "k", 1, 0), 1);
		if (!byte_arrives(sv[0], 'k') || !byte_arrives(sv[1], 'k'))
			fail_msg("round %zu: a byte of the new socket was "
			         "taken (fd %d reused)",
			         i, fd);
		close(sv[0]);
		close(sv[1]);
		if (i % 50 == 49)
			nap_ms(1); /* the cancels reach the reactor */
	}
	print_message("fd number reused in %zu of %zu rounds\n", reused,
	              rounds);
}


/*
 * What keeps the test above true, where one thread shows it: a stream
 * closed with its RECV handed to the reactor keeps its fd number until a
 * park has handed over the cancel and then a CLOSE, so a socket made in
 * between gets another number; after a park the number is free.
 */
static void
fd_held_until_park(void **state)
{
	struct weft_io *a, *b;
	struct weft_io_read r;
	char buf[8];
	int fd, sv[2];

	(void)state;
	if (!io_completion_on() || strcmp(test_executor, "single") != 0)
		skip();
	assert_int_equal(weft_io_pair(&a, &b), 0);
	fd = weft_io_fd(a);
	weft_io_read_init(&r, a, buf, sizeof(buf));
	assert_int_equal(poll_once(&r.base), WEFT_PENDING);
	nap_ms(2); /* handed over */
	weft_future_drop(&r.base);
	weft_io_close(a);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	                 0);
	assert_int_not_equal(sv[0], fd);
	assert_int_not_equal(sv[1], fd);
	close(sv[0]);
	close(sv[1]);
	nap_ms(2);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	weft_io_close(b);
}


/*
 * A listener closed with its ACCEPT in flight, and its port listened on
 * again right away: as on readiness, the port is free once the close has
 * returned and the accept's task is gone.
 */
static void
port_free_after_listener_close(void **state)
{
	size_t rounds = scaled(20, 3);
	struct weft_addr addr;

	(void)state;
	assert_int_equal(weft_addr_ip(&addr, "127.0.0.1", 0), 0);
	for (size_t i = 0; i < rounds; i++) {
		struct weft_listener *l;
		struct weft_accept acc;
		struct weft_addr at;

		assert_int_equal(weft_listen(&l, &addr, 16), 0);
		assert_int_equal(weft_listener_local_addr(l, &at), 0);
		weft_accept_init(&acc, l);
		assert_int_equal(poll_once(&acc.base), WEFT_PENDING);
		if (i % 2)
			nap_ms(2);
		weft_future_drop(&acc.base);
		weft_listener_close(l);
		assert_int_equal(weft_listen(&l, &at, 16), 0);
		weft_listener_close(l);
	}
}


/*
 * Many streams with a read in flight each, all closed by one task in one
 * poll (a burst of cancels for one park): every read ends with
 * WEFT_ECLOSED and every fd comes back.
 */
static void
many_closed_at_once(void **state)
{
	enum { MAX = 64 };
	size_t n = scaled(MAX, 8);
	struct weft_io *a[MAX], *b[MAX];
	struct weft_join *j[MAX], *jc;
	struct closer c = {.base.vtable = &closer_vtable, .s = a, .n = n};
	char buf[MAX][4];
	int before;

	(void)state;
	nap_ms(20);
	before = count_fds();
	for (size_t i = 0; i < n; i++) {
		struct weft_io_read r;

		assert_int_equal(weft_io_pair(&a[i], &b[i]), 0);
		weft_io_read_init(&r, a[i], buf[i], sizeof(buf[i]));
		assert_int_equal(weft_spawn(rt, &r.base, &j[i]), 0);
	}
	nap_ms(5);
	assert_int_equal(weft_spawn(rt, &c.base, &jc), 0);
	(void)join_int(jc);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(join_int(j[i]), WEFT_ECLOSED);
		weft_io_close(b[i]);
	}
	nap_ms(20);
	if (io_completion_on())
		assert_int_equal(count_fds(), before);
}


/*
 * The n-th allocation of a read's, a write's and a gathered write's first
 * poll fails, for every n that fails one: each reports -ENOMEM or its
 * result, and no byte is lost or sent twice.
 */
static void
allocation_fails_on_op_path(void **state)
{
	static char large[200000];
	struct weft_io *a, *b;
	char in[16];
	unsigned failed = 0;

	(void)state;
	assert_int_equal(weft_io_pair(&a, &b), 0);
	for (unsigned n = 1; n < 16; n++) {
		struct weft_io_read r;
		struct weft_io_write w;
		struct weft_io_writev wv;
		struct iovec iov[2] = {{"ab", 2}, {"cd", 2}};
		char want[8] = "";
		size_t got = 0;
		bool fired;

		/*
		 * A read: its failure leaves the bytes for the next one.  A
		 * large one, so that the driver allocates its buffer (a
		 * record keeps only a small one for the next operation).
		 */
		assert_int_equal(send(weft_io_fd(b), "xy", 2, 0), 2);
		weft_io_read_init(&r, a, large, sizeof(large));
		fired = run_failing(&r.base, n, 10);
		if (r.status == -ENOMEM) {
			assert_true(fired);
			failed++;
			weft_io_read_init(&r, a, large, sizeof(large));
			run_bounded(&r.base, 10);
		}
		assert_int_equal(r.status, 2);
		assert_memory_equal(large, "xy", 2);
		/* A write and a gathered one: all of it, or nothing. */
		weft_io_write_init(&w, b, "pq", 2);
		fired = run_failing(&w.base, n, 10);
		assert_true(w.status == 2 || (fired && w.status == -ENOMEM));
		if (w.status == 2)
			strcat(want, "pq");
		weft_io_writev_init(&wv, b, iov, 2);
		fired = run_failing(&wv.base, n, 10);
		if (wv.status != 0 && !(fired && wv.status == -ENOMEM))
			fail_msg("n %u: writev %d (fired %d)", n, wv.status,
			         fired);
		/* A failed one reports what it had sent. */
		strncat(want, "abcd", wv.done);
		strcat(want, "!");
		assert_int_equal(send(weft_io_fd(b), "!", 1, 0), 1);
		/* What arrives is what the writes reported, in order. */
		while (got == 0 || in[got - 1] != '!') {
			weft_io_read_init(&r, a, in + got, sizeof(in) - got);
			run_bounded(&r.base, 10);
			assert_true(r.status > 0);
			got += (size_t)r.status;
		}
		assert_int_equal(got, strlen(want));
		assert_memory_equal(in, want, got);
	}
	/* On completion I/O the driver's allocation did fail once. */
	if (io_completion_on())
		assert_true(failed > 0);
	weft_io_close(a);
	weft_io_close(b);
}


int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(runtime_close_in_flight),
	    cmocka_unit_test(close_meets_completion),
	    cmocka_unit_test(dropped_read_then_other_task),
	    cmocka_unit_test(peer_reset_mid_flight),
	    cmocka_unit_test(fd_reuse_after_close_in_flight),
	    cmocka_unit_test(fd_held_until_park),
	    cmocka_unit_test(port_free_after_listener_close),
	    cmocka_unit_test(many_closed_at_once),
	    cmocka_unit_test(allocation_fails_on_op_path),
	};

	fault_install();
	return run_group(argc, argv, "io-completion-race", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
