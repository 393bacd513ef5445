/* SPDX-License-Identifier: MIT */
/*
 * R rules, checked on a reactor instance loaded and initialised exactly as
 * a host does it, with real sockets: a third-party reactor gets a failure
 * that names the method and the rule.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define CAP      16
#define SENTINEL 0x5e5e5e5e5e5e5e5eull

struct seen {
	uint32_t ready[CAP]; /* or-ed readiness per token - BASE */
	int count;           /* events returned in total */
	int foreign;         /* events with a token not ours */
};

#define BASE 0xABCD000000000000ull

/* One wait; folds the events into *s and checks the array bounds (R1). */
static int
wait_into(struct h_reactor *hr, struct seen *s, uint32_t capacity,
          int64_t timeout_ns)
{
	struct weft_reactor_event ev[CAP + 2];
	int n, i;

	for (i = 0; i < CAP + 2; i++)
		ev[i] = (struct weft_reactor_event){SENTINEL, 0, 0};
	n = weft_reactor_wait(hr->r, ev, capacity, timeout_ns);
	if (n < 0)
		fail_msg("R3: wait failed: %s", weft_strerror(n));
	if ((uint32_t)n > capacity)
		fail_msg("R1: wait returned %d events for capacity %u", n,
		         capacity);
	for (i = (int)capacity; i < CAP + 2; i++)
		if (ev[i].token != SENTINEL)
			fail_msg("R1: wait wrote past capacity %u", capacity);
	for (i = 0; i < n; i++) {
		uint64_t k = ev[i].token - BASE;

		if (k < CAP)
			s->ready[k] |= ev[i].ready;
		else
			s->foreign++;
	}
	s->count += n;
	return n;
}


static void
add_or_fail(struct h_reactor *hr, int fd, uint32_t interest, uint64_t token)
{
	int r = weft_reactor_add(hr->r, fd, interest, token);

	if (r < 0)
		fail_msg("R2: add(fd %d) failed: %s", fd, weft_strerror(r));
}


/* ---- R1 ------------------------------------------------------------ */

static void
R1_wait_fills_at_most_capacity(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[8][2], i, k, all;

	(void)state;
	h_reactor_open(&hr, CAP);
	for (i = 0; i < 8; i++) {
		h_socketpair(sv[i]);
		add_or_fail(&hr, sv[i][0], WEFT_READABLE, BASE + (uint64_t)i);
		h_write_byte(sv[i][1]);
	}
	/* Capacity 3: the rest must come in later waits, not be lost. */
	for (k = 0, all = 0; k < 20 && !all; k++) {
		wait_into(&hr, &s, 3,
		          k == 0 ? 1000 * WEFT_MSEC : 50 * WEFT_MSEC);
		for (all = 1, i = 0; i < 8; i++)
			all &= (s.ready[i] & WEFT_READABLE) != 0;
	}
	assert_true(all);
	assert_int_equal(s.foreign, 0);
	for (i = 0; i < 8; i++) {
		weft_reactor_del(hr.r, sv[i][0]);
		close(sv[i][0]);
		close(sv[i][1]);
	}
	h_reactor_close(&hr);
}


/* ---- R2 ------------------------------------------------------------ */

static void
R2_readiness_reported_with_its_token(void **state)
{
	struct h_reactor hr;
	struct weft_reactor_event ev[4];
	int sv[2], n, i, found = 0;
	const uint64_t token = 0xFEEDFACECAFEBEEFull;

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, token);
	h_write_byte(sv[1]);
	n = weft_reactor_wait(hr.r, ev, 4, 1000 * WEFT_MSEC);
	assert_true(n >= 1);
	for (i = 0; i < n; i++)
		if (ev[i].token == token && (ev[i].ready & WEFT_READABLE))
			found++;
	/* The full 64 bits come back, once per event. */
	assert_int_equal(found, 1);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R2_writable_reported(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[2];

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_WRITABLE, BASE + 1);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	assert_true(s.ready[1] & WEFT_WRITABLE);
	/* Interest was WRITABLE only: no READABLE for an empty socket. */
	assert_false(s.ready[1] & WEFT_READABLE);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R2_unregistered_interest_not_reported(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[2];

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	/* Writable, not readable, and only READABLE was asked for. */
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 2);
	wait_into(&hr, &s, CAP, 30 * WEFT_MSEC);
	assert_int_equal(s.count, 0);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R2_modify_changes_interest_and_token(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[2], r;

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 3);
	r = weft_reactor_modify(hr.r, sv[0], WEFT_WRITABLE, BASE + 4);
	assert_int_equal(r, 0);
	h_write_byte(sv[1]);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	assert_int_equal(s.ready[3], 0);
	assert_true(s.ready[4] & WEFT_WRITABLE);
	assert_false(s.ready[4] & WEFT_READABLE);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R2_peer_close_reported(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[2];

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 5);
	close(sv[1]);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	/* A read would return EOF: the reader must be told. */
	assert_true(s.ready[5] & (WEFT_READABLE | WEFT_HUP));
	if (!(s.ready[5] & WEFT_HUP))
		printf("quality warning: R2: peer close reported without "
		       "WEFT_HUP (0x%x)\n",
		       s.ready[5]);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	h_reactor_close(&hr);
}


static void
R2_add_refuses_bad_fd(void **state)
{
	struct h_reactor hr;
	int sv[2];

	(void)state;
	h_reactor_open(&hr, CAP);
	assert_true(weft_reactor_add(hr.r, -1, WEFT_READABLE, BASE) < 0);
	h_socketpair(sv);
	close(sv[0]);
	close(sv[1]);
	assert_true(weft_reactor_add(hr.r, sv[0], WEFT_READABLE, BASE) < 0);
	h_reactor_close(&hr);
}


static void
R2_tcp_loopback_accept_and_connect(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int l, c, k, r;

	(void)state;
	h_reactor_open(&hr, CAP);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	add_or_fail(&hr, l, WEFT_READABLE, BASE + 6);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	r = connect(c, (struct sockaddr *)&a, sizeof(a));
	assert_true(r == 0 || errno == EINPROGRESS);
	add_or_fail(&hr, c, WEFT_WRITABLE, BASE + 7);
	for (k = 0; k < 20; k++) {
		if ((s.ready[6] & WEFT_READABLE) &&
		    (s.ready[7] & WEFT_WRITABLE))
			break;
		wait_into(&hr, &s, CAP, 100 * WEFT_MSEC);
	}
	assert_true(s.ready[6] & WEFT_READABLE); /* a connection to accept */
	assert_true(s.ready[7] & WEFT_WRITABLE); /* connected */
	weft_reactor_del(hr.r, l);
	weft_reactor_del(hr.r, c);
	close(c);
	close(l);
	h_reactor_close(&hr);
}


/* ---- R3 ------------------------------------------------------------ */

static void
R3_wait_timeout_never_early(void **state)
{
	static const int64_t timeouts[] = {
	    1, 999999, 1500000, 10000000, 30000000,
	};
	struct h_reactor hr;
	struct seen s = {0};
	uint64_t start, elapsed;
	size_t i;
	int sv[2];

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 8); /* stays quiet */
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		start = h_now();
		assert_int_equal(wait_into(&hr, &s, CAP, timeouts[i]), 0);
		elapsed = h_now() - start;
		/* Rounding a timeout down to whole ms would show here. */
		if (elapsed < (uint64_t)timeouts[i])
			fail_msg("R3: wait(%lld ns) returned after %llu ns",
			         (long long)timeouts[i],
			         (unsigned long long)elapsed);
		h_check_lateness("R3 wait", elapsed - (uint64_t)timeouts[i]);
	}
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R3_wait_zero_does_not_block(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	uint64_t start;
	int i;

	(void)state;
	h_reactor_open(&hr, CAP);
	start = h_now();
	for (i = 0; i < 10; i++)
		assert_int_equal(wait_into(&hr, &s, CAP, 0), 0);
	assert_true(h_now() - start < h_prompt_ns());
	h_reactor_close(&hr);
}


struct delayed {
	struct h_reactor *hr;
	int fd;
	uint64_t delay;
};


static void *
delayed_write(void *arg)
{
	struct delayed *d = arg;

	h_sleep_ns(d->delay);
	h_write_byte(d->fd);
	return NULL;
}


static void
R3_infinite_wait_ends_with_an_event(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	struct delayed d;
	pthread_t t;
	int sv[2], n;

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 9);
	d = (struct delayed){&hr, sv[1], 20 * WEFT_MSEC};
	t = h_thread(delayed_write, &d);
	/* A 0 return (EINTR) is allowed: wait again, bounded. */
	for (n = 0; n < 10 && !(s.ready[9] & WEFT_READABLE); n++)
		wait_into(&hr, &s, CAP, WEFT_TIMEOUT_INFINITE);
	pthread_join(t, NULL);
	assert_true(s.ready[9] & WEFT_READABLE);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


/* ---- R4 ------------------------------------------------------------ */

struct waker_thread {
	struct h_reactor *hr;
	uint64_t delay;
	atomic_int want, done;
	atomic_bool stop;
};


static void *
wakeup_later(void *arg)
{
	struct waker_thread *w = arg;

	h_sleep_ns(w->delay);
	if (weft_reactor_wakeup(w->hr->r) < 0)
		h_violation("R4: wakeup failed");
	return NULL;
}


static void
R4_wakeup_from_other_thread(void **state)
{
	struct h_reactor hr;
	struct waker_thread w = {.hr = &hr, .delay = 30 * WEFT_MSEC};
	struct seen s = {0};
	uint64_t start, elapsed;
	pthread_t t;

	(void)state;
	h_reactor_open(&hr, CAP);
	start = h_now();
	t = h_thread(wakeup_later, &w);
	/* The watchdog ends the run if this never returns. */
	assert_int_equal(wait_into(&hr, &s, CAP, WEFT_TIMEOUT_INFINITE), 0);
	elapsed = h_now() - start;
	pthread_join(t, NULL);
	assert_true(elapsed < 30 * WEFT_MSEC + h_prompt_ns());
	h_reactor_close(&hr);
	H_NO_VIOLATIONS();
}


static void
R4_wakeup_before_wait_is_kept(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	uint64_t start;

	(void)state;
	h_reactor_open(&hr, CAP);
	assert_int_equal(weft_reactor_wakeup(hr.r), 0);
	start = h_now();
	assert_int_equal(wait_into(&hr, &s, CAP, 10 * WEFT_SEC), 0);
	assert_true(h_now() - start < h_prompt_ns());
	h_reactor_close(&hr);
}


static void *
wakeup_each_round(void *arg)
{
	struct waker_thread *w = arg;
	int round = 0;

	while (!atomic_load(&w->stop)) {
		if (atomic_load(&w->want) > round) {
			round++;
			if (round % 3)
				sched_yield(); /* land inside wait, or not */
			weft_reactor_wakeup(w->hr->r);
			atomic_store(&w->done, round);
		} else {
			sched_yield();
		}
	}
	return NULL;
}


static void
R4_wakeups_racing_with_wait(void **state)
{
	struct h_reactor hr;
	struct waker_thread w = {.hr = &hr};
	struct seen s = {0};
	int i, rounds = h_opt.valgrind ? 50 : 500;
	pthread_t t;

	(void)state;
	h_reactor_open(&hr, CAP);
	t = h_thread(wakeup_each_round, &w);
	for (i = 1; i <= rounds; i++) {
		atomic_store(&w.want, i);
		wait_into(&hr, &s, CAP, WEFT_TIMEOUT_INFINITE);
		/* Consume any wakeup of this round before the next. */
		while (atomic_load(&w.done) < i)
			sched_yield();
	}
	atomic_store(&w.stop, true);
	pthread_join(t, NULL);
	h_reactor_close(&hr);
}


/* ---- R5 ------------------------------------------------------------ */

struct waiting {
	struct h_reactor *hr;
	struct seen s;
	atomic_bool in_wait;
};


static void *
wait_for_token(void *arg)
{
	struct waiting *w = arg;
	struct weft_reactor_event ev[CAP];
	int n, i, k;

	atomic_store(&w->in_wait, true);
	for (k = 0; k < 20; k++) {
		n = weft_reactor_wait(w->hr->r, ev, CAP, 100 * WEFT_MSEC);
		for (i = 0; i < n; i++)
			if (ev[i].token == BASE + 10)
				w->s.ready[10] |= ev[i].ready;
		if (w->s.ready[10])
			break;
	}
	return NULL;
}


static void
R5_concurrent_ctl_during_wait(void **state)
{
	struct h_reactor hr;
	struct waiting w = {.hr = &hr};
	pthread_t t;
	int sv[2];

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_CONCURRENT_CTL))
		skip(); /* capability not claimed */
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	h_write_byte(sv[1]);
	t = h_thread(wait_for_token, &w);
	while (!atomic_load(&w.in_wait))
		sched_yield();
	h_sleep_ns(5 * WEFT_MSEC);
	/* Added while the other thread waits, with no wakeup. */
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 10);
	pthread_join(t, NULL);
	assert_true(w.s.ready[10] & WEFT_READABLE);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


/* ---- R6 ------------------------------------------------------------ */

static void
R6_del_discards_pending_events(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[8][2], i;

	(void)state;
	h_reactor_open(&hr, CAP);
	for (i = 0; i < 8; i++) {
		h_socketpair(sv[i]);
		add_or_fail(&hr, sv[i][0], WEFT_READABLE, BASE + (uint64_t)i);
		h_write_byte(sv[i][1]);
	}
	/* Take one event, then deregister every fd: nothing may follow. */
	assert_int_equal(wait_into(&hr, &s, 1, 1000 * WEFT_MSEC), 1);
	for (i = 0; i < 8; i++)
		assert_int_equal(weft_reactor_del(hr.r, sv[i][0]), 0);
	memset(&s, 0, sizeof(s));
	wait_into(&hr, &s, CAP, 30 * WEFT_MSEC);
	assert_int_equal(s.count, 0);
	for (i = 0; i < 8; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	h_reactor_close(&hr);
}


static void
R6_fd_number_reused_reports_new_token(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int a[2], b[2], fd;

	(void)state;
	h_reactor_open(&hr, CAP);
	h_socketpair(a);
	fd = a[0];
	add_or_fail(&hr, fd, WEFT_READABLE, BASE + 11);
	h_write_byte(a[1]);
	assert_int_equal(weft_reactor_del(hr.r, fd), 0);
	close(fd);
	/* A new socket under the old number, with nothing to read. */
	h_socketpair(b);
	if (b[0] != fd) {
		assert_int_equal(dup2(b[0], fd), fd);
		close(b[0]);
	}
	add_or_fail(&hr, fd, WEFT_READABLE, BASE + 12);
	wait_into(&hr, &s, CAP, 30 * WEFT_MSEC);
	assert_int_equal(s.ready[11], 0);
	assert_int_equal(s.ready[12], 0);
	h_write_byte(b[1]);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	assert_int_equal(s.ready[11], 0);
	assert_true(s.ready[12] & WEFT_READABLE);
	weft_reactor_del(hr.r, fd);
	close(fd);
	close(a[1]);
	close(b[1]);
	h_reactor_close(&hr);
}


/* ---- R7 to R9: flags ---------------------------------------------- */

static void
R7_flags_claim_edge_or_level(void **state)
{
	uint32_t f = h_opt.reactor_flags;
	uint32_t mode = f & (WEFT_REACTOR_EDGE | WEFT_REACTOR_LEVEL);

	(void)state;
	assert_true(h_opt.resolved);
	assert_true(mode == WEFT_REACTOR_EDGE || mode == WEFT_REACTOR_LEVEL);
	assert_int_equal(f & ~(WEFT_REACTOR_EDGE | WEFT_REACTOR_LEVEL |
	                       WEFT_REACTOR_CONCURRENT_CTL),
	                 0);
}


static void
R8_level_reports_while_ready(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[2], i;

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_LEVEL))
		skip(); /* capability not claimed */
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 13);
	h_write_byte(sv[1]);
	for (i = 0; i < 3; i++) {
		memset(&s, 0, sizeof(s));
		wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
		assert_true(s.ready[13] & WEFT_READABLE);
	}
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R9_edge_reports_once_per_edge(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	int sv[2];

	(void)state;
	if (!(h_opt.reactor_flags & WEFT_REACTOR_EDGE))
		skip(); /* capability not claimed */
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 14);
	h_write_byte(sv[1]);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	assert_true(s.ready[14] & WEFT_READABLE);
	/* Unread, but no new edge: nothing more. */
	memset(&s, 0, sizeof(s));
	wait_into(&hr, &s, CAP, 30 * WEFT_MSEC);
	assert_int_equal(s.count, 0);
	/* New data is a new edge. */
	h_write_byte(sv[1]);
	wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
	assert_true(s.ready[14] & WEFT_READABLE);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


/* ---- R10 ----------------------------------------------------------- */

static void
R10_instances_are_independent(void **state)
{
	struct h_reactor a, b;
	struct seen sa = {0}, sb = {0};
	uint64_t start;
	int sv[2];

	(void)state;
	h_reactor_open(&a, CAP);
	h_reactor_open(&b, 1); /* the smallest batch hint works too */
	h_socketpair(sv);
	add_or_fail(&a, sv[0], WEFT_READABLE, BASE + 15);
	h_write_byte(sv[1]);
	assert_int_equal(weft_reactor_wakeup(a.r), 0);
	/* b saw neither the fd nor a's wakeup. */
	start = h_now();
	assert_int_equal(wait_into(&b, &sb, 1, 30 * WEFT_MSEC), 0);
	assert_true(h_now() - start >= 30 * WEFT_MSEC);
	wait_into(&a, &sa, CAP, 1000 * WEFT_MSEC);
	if (!(sa.ready[15] & WEFT_READABLE)) /* a wakeup may come first */
		wait_into(&a, &sa, CAP, 1000 * WEFT_MSEC);
	assert_true(sa.ready[15] & WEFT_READABLE);
	weft_reactor_del(a.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&b);
	h_reactor_close(&a);
}


static const struct CMUnitTest tests[] = {
    H_TEST(R1_wait_fills_at_most_capacity),
    H_TEST(R2_readiness_reported_with_its_token),
    H_TEST(R2_writable_reported),
    H_TEST(R2_unregistered_interest_not_reported),
    H_TEST(R2_modify_changes_interest_and_token),
    H_TEST(R2_peer_close_reported),
    H_TEST(R2_add_refuses_bad_fd),
    H_TEST(R2_tcp_loopback_accept_and_connect),
    H_TEST(R3_wait_timeout_never_early),
    H_TEST(R3_wait_zero_does_not_block),
    H_TEST(R3_infinite_wait_ends_with_an_event),
    H_TEST(R4_wakeup_from_other_thread),
    H_TEST(R4_wakeup_before_wait_is_kept),
    H_TEST(R4_wakeups_racing_with_wait),
    H_TEST(R5_concurrent_ctl_during_wait),
    H_TEST(R6_del_discards_pending_events),
    H_TEST(R6_fd_number_reused_reports_new_token),
    H_TEST(R7_flags_claim_edge_or_level),
    H_TEST(R8_level_reports_while_ready),
    H_TEST(R9_edge_reports_once_per_edge),
    H_TEST(R10_instances_are_independent),
};

H_GROUP(h_group_reactor, "reactor", tests);
