/* SPDX-License-Identifier: MIT */
/*
 * R12, D8 and D9: the clock a reactor may keep (ABI 1.2), moving it through
 * the driver, and the driver's fault injection.  A reactor without
 * WEFT_REACTOR_CLOCK skips the R12 tests; D8 then checks that the driver
 * refuses to move real time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#include "rtest.h"

/* ---- R12 ------------------------------------------------------------ */

/* Opens the pair's reactor, or skips when it keeps no clock. */
static void
clock_reactor_open(struct h_reactor *hr)
{
	if (!h_virtual_clock())
		skip(); /* WEFT_REACTOR_CLOCK not claimed */
	h_reactor_open(hr, CAP);
	if (hr->ops->version < 2 || !hr->ops->now || !hr->ops->advance) {
		h_reactor_close(hr);
		fail_msg("R12: claims WEFT_REACTOR_CLOCK with interface "
		         "version %u and now %s, advance %s",
		         hr->ops->version, hr->ops->now ? "set" : "NULL",
		         hr->ops->advance ? "set" : "NULL");
	}
	assert_true(weft_reactor_has_clock(hr->r));
}


static void
R12_wait_jumps_the_clock(void **state)
{
	/*
	 * The long ones would take hours of real time: a reactor that
	 * sleeps instead of jumping fails at the first that exceeds the
	 * bound, which is short enough for the watchdog.
	 */
	const int64_t timeouts[] = {
	    1,
	    999999,
	    10 * (int64_t)WEFT_MSEC,
	    2 * (int64_t)h_prompt_ns(),
	    3600 * (int64_t)WEFT_SEC,
	    ((int64_t)1 << 32) * (int64_t)WEFT_MSEC + 5,
	};
	struct h_reactor hr;
	struct seen s = {0};
	uint64_t before, after, real;
	size_t i;
	int sv[2];

	(void)state;
	clock_reactor_open(&hr);
	h_socketpair(sv);
	add_or_fail(&hr, sv[0], WEFT_READABLE, BASE + 8); /* stays quiet */
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		before = hr.ops->now(hr.r);
		real = h_now();
		assert_int_equal(wait_into(&hr, &s, CAP, timeouts[i]), 0);
		real = h_now() - real;
		after = hr.ops->now(hr.r);
		if (after - before != (uint64_t)timeouts[i])
			fail_msg("R12: a wait(%lld ns) with no event moved the "
			         "clock by %lld ns, not by its timeout",
			         (long long)timeouts[i],
			         (long long)(after - before));
		if (real > h_prompt_ns())
			fail_msg("R12: a wait(%lld ns) with no event took %llu "
			         "ms of real time: time must jump, not pass",
			         (long long)timeouts[i],
			         (unsigned long long)(real / WEFT_MSEC));
	}
	/* A zero timeout only checks: it moves nothing. */
	before = hr.ops->now(hr.r);
	assert_int_equal(wait_into(&hr, &s, CAP, 0), 0);
	assert_int_equal(hr.ops->now(hr.r), before);
	weft_reactor_del(hr.r, sv[0]);
	close(sv[0]);
	close(sv[1]);
	h_reactor_close(&hr);
}


static void
R12_advance_moves_the_clock(void **state)
{
	const uint64_t steps[] = {
	    0, 1, 999, WEFT_MSEC, 7 * WEFT_SEC + 3, ((uint64_t)1 << 40) + 1};
	struct h_reactor hr;
	uint64_t before, after;
	size_t i;
	int r;

	(void)state;
	clock_reactor_open(&hr);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		before = hr.ops->now(hr.r);
		r = weft_reactor_advance(hr.r, steps[i]);
		after = hr.ops->now(hr.r);
		if (r != 0)
			fail_msg("R12: advance(%llu) failed: %s",
			         (unsigned long long)steps[i],
			         weft_strerror(r));
		if (after - before != steps[i])
			fail_msg(
			    "R12: advance(%llu) moved the clock by %llu ns",
			    (unsigned long long)steps[i],
			    (unsigned long long)(after - before));
	}
	h_reactor_close(&hr);
}


struct clock_reader {
	struct h_reactor *hr;
	atomic_bool stop;
	atomic_uint reads;
};


static void *
clock_reader_main(void *arg)
{
	struct clock_reader *c = arg;
	uint64_t last = 0, t;

	while (!atomic_load(&c->stop)) {
		t = c->hr->ops->now(c->hr->r);
		if (t < last) {
			h_violation("R12: now() went backwards (%llu after "
			            "%llu)",
			            (unsigned long long)t,
			            (unsigned long long)last);
			break;
		}
		last = t;
		atomic_fetch_add(&c->reads, 1);
	}
	return NULL;
}


static void
R12_clock_is_monotonic(void **state)
{
	struct h_reactor hr;
	struct clock_reader c = {.hr = &hr};
	struct seen s = {0};
	pthread_t t[2];
	uint64_t before;
	int i;

	(void)state;
	clock_reactor_open(&hr);
	/* Real time alone does not move it. */
	before = hr.ops->now(hr.r);
	h_sleep_ns(20 * WEFT_MSEC);
	if (hr.ops->now(hr.r) != before)
		fail_msg("R12: the clock moved by %llu ns while nothing "
		         "waited or advanced it",
		         (unsigned long long)(hr.ops->now(hr.r) - before));
	/* Readers on other threads see it only go forward. */
	for (i = 0; i < 2; i++)
		t[i] = h_thread(clock_reader_main, &c);
	for (i = 0; i < 2000; i++) {
		if (i % 2)
			assert_int_equal(weft_reactor_advance(hr.r, 1 + i % 5),
			                 0);
		else
			wait_into(&hr, &s, CAP, 1 + i % 7);
	}
	atomic_store(&c.stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	h_reactor_close(&hr);
	H_NO_VIOLATIONS();
}


/* ---- D8 ------------------------------------------------------------ */

/* A timer of the driver, polled by hand with a counted waker. */
struct hand_timer {
	uint64_t deadline, id;
	struct h_waker hw;
};


static int
hand_timer_poll(struct weft_driver *d, struct hand_timer *t)
{
	struct weft_context cx;
	struct weft_waker w = h_waker_make(&t->hw);
	int r;

	weft_context_init(&cx, w, NULL, d);
	r = weft_driver_timer_poll(d, t->id, &cx);
	weft_waker_drop(&w);
	return r;
}


static void
D8_clock_advance_fires_due_timers(void **state)
{
	enum { N = 4 };
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_driver *d = weft_runtime_driver(rt);
	struct hand_timer t[N];
	uint64_t start, now, until;
	int i, r, round;

	(void)state;
	if (!h_virtual_clock()) {
		/* Real time cannot be moved: the driver must say so. */
		r = weft_driver_clock_advance(d, WEFT_MSEC);
		weft_runtime_close(rt);
		if (r != WEFT_ENOTSUP)
			fail_msg("D8: clock_advance without a clock reactor "
			         "returned %d, not WEFT_ENOTSUP",
			         r);
		return;
	}
	start = weft_driver_now(d);
	for (i = 0; i < N; i++) {
		h_waker_init(&t[i].hw);
		t[i].deadline = start + (uint64_t)(i + 1) * 10 * WEFT_MSEC;
		assert_int_equal(
		    weft_driver_timer_add(d, t[i].deadline, &t[i].id), 0);
		assert_int_equal(hand_timer_poll(d, &t[i]), WEFT_PENDING);
	}
	/* 15, 25, 35, 45 ms: one more timer is due after each step. */
	for (round = 0; round < N; round++) {
		uint64_t step = round ? 10 * WEFT_MSEC : 15 * WEFT_MSEC;
		uint64_t before = weft_driver_now(d);

		r = weft_driver_clock_advance(d, step);
		if (r != 0)
			fail_msg("D8: clock_advance(%llu) failed: %s",
			         (unsigned long long)step, weft_strerror(r));
		if (weft_driver_now(d) - before < step)
			fail_msg(
			    "D8: clock_advance(%llu) moved now() by %llu",
			    (unsigned long long)step,
			    (unsigned long long)(weft_driver_now(d) - before));
		for (i = 0; i < N; i++) {
			now = weft_driver_now(d);
			if (t[i].deadline > now) {
				/* Not due: not woken, not ready. */
				if (h_waker_woken(&t[i].hw) != 0)
					fail_msg(
					    "D8: a timer %llu ns ahead "
					    "was woken",
					    (unsigned long long)(t[i].deadline -
					                         now));
				continue;
			}
			/* Due: woken, promptly, and then ready. */
			until = h_now() + h_prompt_ns();
			while (h_waker_woken(&t[i].hw) == 0 && h_now() < until)
				h_sleep_ns(WEFT_MSEC);
			if (h_waker_woken(&t[i].hw) == 0)
				fail_msg("D8: a timer due after clock_advance "
				         "was not woken");
			if (hand_timer_poll(d, &t[i]) != WEFT_READY)
				fail_msg("D8: a due timer is not ready");
		}
	}
	for (i = 0; i < N; i++) {
		weft_driver_timer_del(d, t[i].id);
		assert_int_equal(atomic_load(&t[i].hw.live), 0);
		h_waker_fini(&t[i].hw);
	}
	weft_runtime_close(rt);
}


/* ---- D9 ------------------------------------------------------------ */

#define D9_DRAWS 3000

/* The answers of one runtime, one site after another. */
static void
fault_draws(struct weft_runtime *rt, unsigned char *out)
{
	struct weft_driver *d = weft_runtime_driver(rt);
	int i, r;

	for (i = 0; i < D9_DRAWS; i++) {
		r = weft_driver_fault(d, WEFT_FAULT_SHORT_IO + (uint32_t)i % 3);
		if (r != 0 && r != 1)
			fail_msg("D9: fault returned %d, not 0 or 1", r);
		out[i] = (unsigned char)r;
	}
}


static void
D9_no_faults_when_off(void **state)
{
	static const char *const off[] = {"sim_faults", "0", NULL};
	unsigned char a[D9_DRAWS], b[D9_DRAWS];
	const char *on[] = {"sim_faults", "0.5", "sim_seed", NULL, NULL};
	struct weft_runtime *rt;
	char seed[32], err[1024] = "";
	int i, ones = 0;

	(void)state;
	/* The default and an explicit 0: never a fault. */
	rt = h_rt_open(NULL);
	fault_draws(rt, a);
	weft_runtime_close(rt);
	rt = h_rt_try_open(NULL, NULL, off, err, sizeof(err));
	if (!rt)
		fail_msg("D9: sim_faults 0 refused: %s", err);
	fault_draws(rt, b);
	weft_runtime_close(rt);
	for (i = 0; i < D9_DRAWS; i++)
		if (a[i] || b[i])
			fail_msg("D9: draw %d injected a fault with sim_faults "
			         "%s",
			         i, a[i] ? "unset" : "0");
	/* On, twice from one seed: the same answers in the same order. */
	snprintf(seed, sizeof(seed), "%llu",
	         (unsigned long long)(h_opt.seed % 1000000007u));
	on[3] = seed;
	for (i = 0; i < 2; i++) {
		rt = h_rt_try_open(NULL, NULL, on, err, sizeof(err));
		if (!rt) {
			printf("note: faults are not offered on this pair "
			       "(%s); only the off case was checked\n",
			       err);
			return;
		}
		fault_draws(rt, i ? b : a);
		weft_runtime_close(rt);
	}
	for (i = 0; i < D9_DRAWS; i++) {
		if (a[i] != b[i])
			fail_msg("D9: with seed %s, draw %d answered %d, then "
			         "%d",
			         seed, i, a[i], b[i]);
		ones += a[i];
	}
	printf("note: sim_faults 0.5 injected %d faults in %d draws\n", ones,
	       D9_DRAWS);
}


static const struct CMUnitTest tests[] = {
    H_TEST(R12_wait_jumps_the_clock), H_TEST(R12_advance_moves_the_clock),
    H_TEST(R12_clock_is_monotonic),   H_TEST(D8_clock_advance_fires_due_timers),
    H_TEST(D9_no_faults_when_off),
};

H_GROUP(h_group_clock, "clock", tests);
