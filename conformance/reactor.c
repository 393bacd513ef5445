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

#include "rtest.h"

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
	/* On the reactor's clock when it keeps one (R12). */
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		start = reactor_time(&hr);
		assert_int_equal(wait_into(&hr, &s, CAP, timeouts[i]), 0);
		elapsed = reactor_time(&hr) - start;
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


/*
 * A bound for one zero-timeout wait that only a wait that blocks can
 * exceed: far above a check of a few fds, far below any sleep a reactor
 * might take for one.  A busy machine can stall any call this long once
 * in a while, so a few late calls are forgiven, never most of them.
 */
#define R3_ZERO_BOUND_NS (20 * WEFT_MSEC)
#define R3_ZERO_CALLS    20
#define R3_ZERO_LATE_MAX 3


static void
R3_wait_zero_does_not_block(void **state)
{
	struct h_reactor hr;
	struct seen s = {0};
	uint64_t start, took, bound, worst = 0;
	int i, late = 0, sv[2];

	(void)state;
	bound = R3_ZERO_BOUND_NS * (h_opt.slow ? 5 : 1);
	h_reactor_open(&hr, CAP);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 8); /* stays quiet */
	/* Each call on its own: ten short sleeps must not add up unseen. */
	for (i = 0; i < R3_ZERO_CALLS; i++) {
		start = h_now();
		assert_int_equal(wait_into(&hr, &s, CAP, 0), 0);
		took = h_now() - start;
		late += took > bound;
		worst = took > worst ? took : worst;
	}
	if (late > R3_ZERO_LATE_MAX)
		fail_msg("R3: %d of %d waits with a zero timeout took over "
		         "%llu ms (the longest %llu ms): a zero timeout only "
		         "checks, it never blocks",
		         late, R3_ZERO_CALLS,
		         (unsigned long long)(bound / WEFT_MSEC),
		         (unsigned long long)(worst / WEFT_MSEC));
	/* Only checks, but does check: readiness already there is seen. */
	h_write_byte(sv[1]);
	for (i = 0; i < 2 && !(s.ready[8] & WEFT_READABLE); i++) {
		if (i)
			h_sleep_ns(10 * WEFT_MSEC); /* let the byte arrive */
		wait_into(&hr, &s, CAP, 0);
	}
	if (!(s.ready[8] & WEFT_READABLE))
		fail_msg("R3: a wait with a zero timeout did not report "
		         "readiness that was already there");
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


struct write_at {
	int fd;
	uint64_t delay;
	atomic_bool sent;
};


static void *
write_after_delay(void *arg)
{
	struct write_at *w = arg;

	h_sleep_ns(w->delay);
	atomic_store(&w->sent, true);
	h_write_byte(w->fd);
	return NULL;
}


/*
 * Timeouts too long for a C int of milliseconds or microseconds: a
 * conversion that truncates turns 2^32 ms and 5 into 5 ms, and the wait
 * ends long before its time.  Each wait here must last until readiness
 * ends it (not a wakeup: R4 is not under test here).
 */
static void
R3_long_timeout_is_not_cut_short(void **state)
{
	static const int64_t timeouts[] = {
	    (((int64_t)1 << 32) + 5) * 1000000, /* 2^32 ms + 5 ms */
	    (((int64_t)1 << 32) + 5) * 1000,    /* 2^32 us + 5 us */
	    (((int64_t)1 << 31) + 5) * 1000000, /* 2^31 ms + 5 ms */
	    INT64_MAX,
	};
	struct h_reactor hr;
	struct write_at w = {.delay = 50 * WEFT_MSEC};
	pthread_t t;
	size_t i;
	int sv[2], k;
	bool sent;

	(void)state;
	h_reactor_open(&hr, CAP);
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		struct seen s = {0};
		uint64_t start;

		if (h_virtual_clock()) {
			/* Time jumps: by all of the timeout, not a cut. */
			start = reactor_time(&hr);
			assert_int_equal(wait_into(&hr, &s, CAP, timeouts[i]),
			                 0);
			if (reactor_time(&hr) - start != (uint64_t)timeouts[i])
				fail_msg(
				    "R3: wait(%lld ns) moved the clock by "
				    "%llu ns",
				    (long long)timeouts[i],
				    (unsigned long long)(reactor_time(&hr) -
				                         start));
			continue;
		}
		h_socketpair(sv);
		add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 9);
		w.fd = sv[1];
		atomic_store(&w.sent, false);
		t = h_thread(write_after_delay, &w);
		wait_into(&hr, &s, CAP, timeouts[i]);
		sent = atomic_load(&w.sent);
		pthread_join(t, NULL);
		if (!sent)
			fail_msg(
			    "R3: wait(%lld ns) returned before the "
			    "readiness that should have ended it, 50 ms in",
			    (long long)timeouts[i]);
		/* A 0 return (EINTR) is allowed: wait again, bounded. */
		for (k = 0; k < 10 && !(s.ready[9] & WEFT_READABLE); k++)
			wait_into(&hr, &s, CAP, 1000 * WEFT_MSEC);
		assert_true(s.ready[9] & WEFT_READABLE);
		weft_reactor_del(hr.r, sv[0]);
		close(sv[0]);
		close(sv[1]);
	}
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
	assert_int_equal(wait_into(&hr, &s, CAP, long_wait(10 * WEFT_SEC)), 0);
	assert_true(h_now() - start < h_prompt_ns());
	h_reactor_close(&hr);
}


struct wakeup_at {
	struct h_reactor *hr;
	uint64_t delay;
	atomic_bool sent;
};


static void *
wakeup_after_delay(void *arg)
{
	struct wakeup_at *w = arg;

	h_sleep_ns(w->delay);
	atomic_store(&w->sent, true);
	if (weft_reactor_wakeup(w->hr->r) < 0)
		h_violation("R4: wakeup failed");
	return NULL;
}


/*
 * One wakeup ends one wait: a reactor that never consumes its wakeup
 * (an undrained pipe, an eventfd never read) passes every test of wakeups
 * arriving, and then turns each later park of the host into a spin.  The
 * waits after the first are long and ended by a later wakeup, so that a
 * wait that ends early for want of a timer (R3) is not blamed here.
 */
static void
R4_one_wakeup_ends_one_wait(void **state)
{
	struct h_reactor hr;
	struct wakeup_at w = {.hr = &hr, .delay = 30 * WEFT_MSEC};
	struct seen s = {0};
	pthread_t t;
	bool sent;
	int i;

	(void)state;
	h_reactor_open(&hr, CAP);
	assert_int_equal(weft_reactor_wakeup(hr.r), 0);
	assert_int_equal(wait_into(&hr, &s, CAP, 10 * WEFT_SEC), 0);
	for (i = 0; i < 3; i++) {
		atomic_store(&w.sent, false);
		t = h_thread(wakeup_after_delay, &w);
		assert_int_equal(
		    wait_into(&hr, &s, CAP, long_wait(10 * WEFT_SEC)), 0);
		sent = atomic_load(&w.sent);
		pthread_join(t, NULL);
		if (!sent)
			fail_msg("R4: wait %d after a consumed wakeup returned "
			         "before the next wakeup was made: the first "
			         "was never consumed",
			         i + 1);
		/* This wait's wakeup may have come just as it ended. */
		wait_into(&hr, &s, CAP, 0);
	}
	h_reactor_close(&hr);
	H_NO_VIOLATIONS();
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
	int i, rounds = h_opt.slow ? 50 : 500;
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
    H_TEST(R3_long_timeout_is_not_cut_short),
    H_TEST(R3_infinite_wait_ends_with_an_event),
    H_TEST(R4_wakeup_from_other_thread),
    H_TEST(R4_wakeup_before_wait_is_kept),
    H_TEST(R4_one_wakeup_ends_one_wait),
    H_TEST(R4_wakeups_racing_with_wait),
};

H_GROUP(h_group_reactor, "reactor", tests);
