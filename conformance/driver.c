/* SPDX-License-Identifier: MIT */
/*
 * D rules: the host's driver as futures see it through cx->driver, on the
 * reactor under test.  Timing checks fail only when something is early;
 * lateness beyond 50 ms is a quality warning.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* ---- D1 ------------------------------------------------------------ */

struct clock_run {
	struct weft_driver *d;
	atomic_uint_fast64_t *published;
	int rounds;
};


static void *
clock_main(void *arg)
{
	struct clock_run *c = arg;
	uint64_t last = 0, prev, t;
	int i;

	for (i = 0; i < c->rounds; i++) {
		/* Load first: whatever was published was read before us. */
		prev = atomic_load(c->published);
		t = weft_driver_now(c->d);
		if (t < last || t < prev) {
			h_violation(
			    "D1: now() went backwards (%llu after %llu)",
			    (unsigned long long)t,
			    (unsigned long long)(t < last ? last : prev));
			break;
		}
		last = t;
		while (prev < t &&
		       !atomic_compare_exchange_weak(c->published, &prev, t))
			;
	}
	return NULL;
}


static void
D1_clock_is_monotonic(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_driver *d = weft_runtime_driver(rt);
	atomic_uint_fast64_t published = 0;
	struct clock_run run = {d, &published, h_opt.slow ? 2000 : 50000};
	pthread_t t[4];
	uint64_t a, b, real;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		t[i] = h_thread(clock_main, &run);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	if (h_virtual_clock()) {
		/* The reactor's clock (R12): real time does not move it. */
		weft_runtime_close(rt);
		H_NO_VIOLATIONS();
		return;
	}
	/*
	 * Nanoseconds of real time: at least as much passes as we slept,
	 * and no more than the real time measured around both readings.
	 * Real time was read after a, so a preemption of over 5 ms between
	 * the two reads counted against the driver; around them, a
	 * preemption anywhere only makes the bracket longer.
	 */
	real = h_now();
	a = weft_driver_now(d);
	h_sleep_ns(20 * WEFT_MSEC);
	b = weft_driver_now(d);
	real = h_now() - real;
	assert_true(b - a >= 20 * WEFT_MSEC);
	assert_true(b - a <= real + 5 * WEFT_MSEC);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- D2 ------------------------------------------------------------ */

struct timer_fut {
	struct weft_future base;
	struct weft_driver *d;
	uint64_t duration, deadline, id, start;
	atomic_uint *tally;
	struct h_signal *sig;
	bool armed;
};


static weft_poll
timer_poll(struct weft_future *base, struct weft_context *cx)
{
	struct timer_fut *t = (struct timer_fut *)base;
	uint64_t now, elapsed;
	int r;

	if (!t->armed) {
		t->d = cx->driver;
		t->start = h_clock(t->d);
		t->deadline = weft_driver_now(t->d) + t->duration;
		r = weft_driver_timer_add(t->d, t->deadline, &t->id);
		if (r < 0 || t->id == 0)
			h_violation("D2: timer_add failed (%d) or gave id 0",
			            r);
		t->armed = true;
	}
	r = weft_driver_timer_poll(t->d, t->id, cx);
	if (r == WEFT_PENDING)
		return WEFT_PENDING;
	now = weft_driver_now(t->d);
	elapsed = h_clock(t->d) - t->start;
	if (r < 0)
		h_violation("D2: timer_poll failed: %s", weft_strerror(r));
	else if (now < t->deadline || elapsed < t->duration)
		h_violation("D2: a %llu ns timer fired %llu ns early",
		            (unsigned long long)t->duration,
		            (unsigned long long)(t->duration - elapsed));
	else
		h_check_lateness("D2 timer", elapsed - t->duration);
	atomic_fetch_add(t->tally, 1);
	h_signal_notify(t->sig);
	return WEFT_READY;
}


static void
timer_drop(struct weft_future *base)
{
	struct timer_fut *t = (struct timer_fut *)base;

	if (t->armed)
		weft_driver_timer_del(t->d, t->id);
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(timer_vtable, struct timer_fut, timer_poll,
                             timer_drop);

static void
D2_timers_never_fire_early(void **state)
{
	enum { N = 50 };
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_signal sig;
	atomic_uint tally = 0;
	struct h_tally_wait tw = {&sig, &tally, N};
	unsigned i;

	(void)state;
	h_signal_init(&sig);
	for (i = 0; i < N; i++) {
		/* Odd durations, so that rounding to whole ms would show. */
		struct timer_fut t = {
		    .base = {&timer_vtable},
		    .duration =
		        (i % 7) * WEFT_MSEC + (i * 37 % 1000) * WEFT_USEC + 1,
		    .tally = &tally,
		    .sig = &sig,
		};

		assert_int_equal(weft_spawn(rt, &t.base, NULL), 0);
	}
	assert_int_equal(h_block_on_fn(rt, h_tally_wait_step, &tw), 0);
	h_signal_fini(&sig);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


static void
D2_sleep_never_early(void **state)
{
	static const uint64_t durations[] = {
	    1, WEFT_MSEC - 1, 1500 * WEFT_USEC, 10 * WEFT_MSEC, 30 * WEFT_MSEC,
	};
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_sleep s;
	uint64_t start, elapsed;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		weft_sleep_init(&s, durations[i]);
		start = h_clock(weft_runtime_driver(rt));
		assert_int_equal(weft_block_on(rt, &s.base), 0);
		elapsed = h_clock(weft_runtime_driver(rt)) - start;
		weft_future_drop(&s.base);
		assert_int_equal(s.status, 0);
		if (elapsed < durations[i])
			fail_msg("D2: sleep(%llu ns) ended after %llu ns",
			         (unsigned long long)durations[i],
			         (unsigned long long)elapsed);
		h_check_lateness("D2 sleep", elapsed - durations[i]);
	}
	weft_runtime_close(rt);
}


static void
D2_past_deadline_is_ready_at_once(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_driver *d = weft_runtime_driver(rt);
	struct weft_context cx;
	struct h_waker hw;
	uint64_t id = 0;

	(void)state;
	h_waker_init(&hw);
	weft_context_init(&cx, h_waker_make(&hw), NULL, d);
	assert_int_equal(weft_driver_timer_add(d, 0, &id), 0);
	assert_int_equal(weft_driver_timer_poll(d, id, &cx), WEFT_READY);
	weft_driver_timer_del(d, id);
	assert_int_equal(weft_driver_timer_add(d, weft_driver_now(d) - 1, &id),
	                 0);
	assert_int_equal(weft_driver_timer_poll(d, id, &cx), WEFT_READY);
	weft_driver_timer_del(d, id);
	weft_waker_drop(&cx.waker);
	assert_int_equal(atomic_load(&hw.live), 0);
	h_waker_fini(&hw);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- D3 ------------------------------------------------------------ */

struct io_script {
	struct weft_future base;
	struct weft_coro co;
	struct weft_driver *d;
	int sv[2];
	uint64_t rid, wid;
	uint32_t ready;
	pthread_t writer;
	bool writing;
};


static void *
late_writer(void *arg)
{
	h_sleep_ns(20 * WEFT_MSEC);
	h_write_byte(*(int *)arg);
	return NULL;
}


static int
io_step(struct io_script *s, struct weft_context *cx, uint64_t id,
        uint32_t interest)
{
	int r = weft_driver_io_poll(s->d, id, interest, cx, &s->ready);

	if (r < 0)
		h_violation("D3: io_poll failed: %s", weft_strerror(r));
	return r;
}


static weft_poll
io_script_poll(struct weft_future *base, struct weft_context *cx)
{
	struct io_script *s = (struct io_script *)base;

	WEFT_BEGIN(&s->co);
	s->d = cx->driver;
	if (weft_driver_io_add(s->d, s->sv[0], WEFT_READABLE, &s->rid) < 0 ||
	    weft_driver_io_add(s->d, s->sv[1], WEFT_WRITABLE, &s->wid) < 0 ||
	    !s->rid || !s->wid || s->rid == s->wid) {
		h_violation("D3: io_add failed or gave a bad id");
		WEFT_RETURN(&s->co);
	}
	/* Nothing to read yet: pending, then woken by a foreign write. */
	if (io_step(s, cx, s->rid, WEFT_READABLE) != WEFT_PENDING)
		h_violation("D3: readable before anything was written");
	s->writer = h_thread(late_writer, &s->sv[1]);
	s->writing = true;
	WEFT_AWAIT_POLL(&s->co, io_step(s, cx, s->rid, WEFT_READABLE) != 0);
	if (!(s->ready & WEFT_READABLE))
		h_violation("D3: ready bits 0x%x lack READABLE", s->ready);
	/* Drained and cleared: pending until the next write. */
	h_drain(s->sv[0]);
	weft_driver_io_clear(s->d, s->rid, WEFT_READABLE);
	if (io_step(s, cx, s->rid, WEFT_READABLE) != WEFT_PENDING)
		h_violation("D3: readable again after drain and io_clear");
	h_write_byte(s->sv[1]);
	WEFT_AWAIT_POLL(&s->co, io_step(s, cx, s->rid, WEFT_READABLE) != 0);
	/* An empty socket buffer is writable at once. */
	WEFT_AWAIT_POLL(&s->co, io_step(s, cx, s->wid, WEFT_WRITABLE) != 0);
	if (!(s->ready & WEFT_WRITABLE))
		h_violation("D3: ready bits 0x%x lack WRITABLE", s->ready);
	WEFT_END(&s->co);
}


static void
io_script_drop(struct weft_future *base)
{
	struct io_script *s = (struct io_script *)base;

	if (s->writing)
		pthread_join(s->writer, NULL);
	if (s->rid && weft_driver_io_del(s->d, s->rid) < 0)
		h_violation("D3: io_del failed");
	if (s->wid && weft_driver_io_del(s->d, s->wid) < 0)
		h_violation("D3: io_del failed");
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(io_script_vtable, struct io_script, io_script_poll,
                             io_script_drop);


static void
D3_io_readiness_wakes_stored_waker(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct io_script s;
	struct h_waker hw;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.base.vtable = &io_script_vtable;
	h_socketpair(s.sv);
	h_waker_init(&hw);
	/* Counted: completes only through wakes of the waker io_poll got. */
	assert_int_equal(h_block_on_counted(rt, &s.base, &hw), 0);
	/* A wake may still be on its way from a worker until close. */
	h_waker_unforward(&hw);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&hw.live), 0);
	h_waker_fini(&hw);
	close(s.sv[0]);
	close(s.sv[1]);
	H_NO_VIOLATIONS();
}


/* ---- D5 ------------------------------------------------------------ */

static void
D5_del_drops_stored_waker_unwoken(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_driver *d = weft_runtime_driver(rt);
	struct weft_context cx;
	struct h_waker hw;
	uint32_t ready = 0;
	uint64_t tid = 0, iid = 0;
	int sv[2];

	(void)state;
	h_socketpair(sv);
	h_waker_init(&hw);
	weft_context_init(&cx, h_waker_make(&hw), weft_runtime_executor(rt), d);
	assert_int_equal(weft_driver_timer_add(
	                     d, weft_driver_now(d) + 3600 * WEFT_SEC, &tid),
	                 0);
	assert_true(tid != 0);
	assert_int_equal(weft_driver_timer_poll(d, tid, &cx), WEFT_PENDING);
	assert_int_equal(weft_driver_io_add(d, sv[0], WEFT_READABLE, &iid), 0);
	assert_true(iid != 0);
	assert_int_equal(
	    weft_driver_io_poll(d, iid, WEFT_READABLE, &cx, &ready),
	    WEFT_PENDING);
	/* Ours plus what the driver holds. */
	assert_true(atomic_load(&hw.live) >= 2);
	weft_driver_timer_del(d, tid);
	assert_int_equal(weft_driver_io_del(d, iid), 0);
	/* Deleting released the driver's clones at once, none woken. */
	assert_int_equal(atomic_load(&hw.live), 1);
	assert_int_equal(h_waker_woken(&hw), 0);
	/* And the ids are dead now. */
	assert_true(weft_driver_timer_poll(d, tid, &cx) < 0);
	assert_true(weft_driver_io_poll(d, iid, WEFT_READABLE, &cx, &ready) <
	            0);
	weft_waker_drop(&cx.waker);
	assert_int_equal(atomic_load(&hw.live), 0);
	h_waker_fini(&hw);
	weft_runtime_close(rt);
	close(sv[0]);
	close(sv[1]);
	H_NO_VIOLATIONS();
}


/* ---- D6 ------------------------------------------------------------ */

static void
D6_timeout_future(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	struct weft_timeout t;
	struct h_fut inner;
	uint64_t start, elapsed;

	(void)state;
	/* Time runs out: ETIMEDOUT, not early, inner dropped right away. */
	h_fut_init(&inner, &probe, H_FUT_HOLD, 0, 0);
	weft_timeout_init(&t, &inner.base, 30 * WEFT_MSEC);
	start = h_clock(weft_runtime_driver(rt));
	assert_int_equal(weft_block_on(rt, &t.base), 0);
	elapsed = h_clock(weft_runtime_driver(rt)) - start;
	assert_int_equal(t.status, WEFT_ETIMEDOUT);
	assert_int_equal(atomic_load(&probe.drops), 1);
	weft_future_drop(&t.base);
	assert_int_equal(atomic_load(&probe.drops), 1);
	if (elapsed < 30 * WEFT_MSEC)
		fail_msg("D6: a 30 ms timeout ended after %llu ns",
		         (unsigned long long)elapsed);
	h_check_lateness("D6 timeout", elapsed - 30 * WEFT_MSEC);

	/* Inner first: status 0, output readable, inner dropped once. */
	memset(&probe, 0, sizeof(probe));
	h_fut_init(&inner, &probe, H_FUT_YIELD, 3, 9);
	weft_timeout_init(&t, &inner.base, 10 * WEFT_SEC);
	assert_int_equal(weft_block_on(rt, &t.base), 0);
	assert_int_equal(t.status, 0);
	weft_future_drop(&t.base);
	assert_int_equal(inner.out, 9);
	assert_int_equal(atomic_load(&probe.drops), 1);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- D7 ------------------------------------------------------------ */

struct job {
	atomic_uintptr_t thread;
	atomic_bool ran;
	atomic_bool woken_before_done;
	struct h_waker *hw;
};


static void
job_fn(void *arg)
{
	struct job *j = arg;

	atomic_store(&j->thread, (uintptr_t)pthread_self());
	h_sleep_ns(5 * WEFT_MSEC);
	if (h_waker_woken(j->hw) != 0)
		atomic_store(&j->woken_before_done, true);
	atomic_store(&j->ran, true);
}


static void
D7_blocking_runs_on_the_pool_then_wakes(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_driver *d = weft_runtime_driver(rt);
	/*
	 * Static: a job a broken driver runs late must not write into a
	 * stack frame that has gone.
	 */
	static struct job j;
	static struct h_waker hw;
	struct weft_waker done;
	uint64_t start;
	int r;

	(void)state;
	memset(&j, 0, sizeof(j));
	h_waker_init(&hw);
	j.hw = &hw;
	done = h_waker_make(&hw);
	r = weft_driver_blocking(d, job_fn, &j, &done);
	if (r == WEFT_ENOTSUP) {
		weft_waker_drop(&done);
		h_waker_fini(&hw);
		weft_runtime_close(rt);
		skip(); /* a driver from before blocking was added */
	}
	assert_int_equal(r, 0);
	assert_null(done.vtable); /* moved in */
	start = h_now();
	while (atomic_load(&hw.live) != 0 && h_now() - start < h_prompt_ns()) {
		if (h_opt.executor_flags & WEFT_EXECUTOR_DETERMINISTIC) {
			/* Its jobs run at park (E13): give it parks. */
			int left = 1;

			assert_int_equal(h_block_on_fn(rt, h_yield_n, &left),
			                 0);
		}
		h_sleep_ns(WEFT_MSEC);
	}
	assert_int_equal(atomic_load(&hw.live), 0);
	assert_true(atomic_load(&j.ran));
	assert_false(atomic_load(&j.woken_before_done));
	assert_true(h_waker_woken(&hw) >= 1);
	/* Never inside the call; at park on this thread when deterministic. */
	if (!(h_opt.executor_flags & WEFT_EXECUTOR_DETERMINISTIC))
		assert_true(atomic_load(&j.thread) !=
		            (uintptr_t)pthread_self());

	/* After shutdown: refused, fn never runs, done stays ours. */
	weft_runtime_shutdown(rt);
	atomic_store(&j.ran, false);
	done = h_waker_make(&hw);
	r = weft_driver_blocking(d, job_fn, &j, &done);
	/* Whatever happened, close first so that a failure leaks nothing. */
	weft_waker_drop(&done);
	weft_runtime_close(rt);
	if (r != WEFT_ECLOSED)
		fail_msg("D7: blocking after shutdown returned %d (%s), not "
		         "WEFT_ECLOSED; the job %s",
		         r, weft_strerror(r),
		         atomic_load(&j.ran) ? "ran" : "did not run");
	assert_false(atomic_load(&j.ran));
	assert_int_equal(atomic_load(&hw.live), 0);
	h_waker_fini(&hw);
	H_NO_VIOLATIONS();
}


static const struct CMUnitTest tests[] = {
    H_TEST(D1_clock_is_monotonic),
    H_TEST(D2_timers_never_fire_early),
    H_TEST(D2_sleep_never_early),
    H_TEST(D2_past_deadline_is_ready_at_once),
    H_TEST(D3_io_readiness_wakes_stored_waker),
    H_TEST(D5_del_drops_stored_waker_unwoken),
    H_TEST(D6_timeout_future),
    H_TEST(D7_blocking_runs_on_the_pool_then_wakes),
};

H_GROUP(h_group_driver, "driver", tests);
