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
    H_TEST(R3_infinite_wait_ends_with_an_event),
    H_TEST(R4_wakeup_from_other_thread),
    H_TEST(R4_wakeup_before_wait_is_kept),
    H_TEST(R4_wakeups_racing_with_wait),
};

H_GROUP(h_group_reactor, "reactor", tests);
