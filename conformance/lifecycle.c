/* SPDX-License-Identifier: MIT */
/*
 * E rules, second half: shutdown, abort, fairness, waker identity,
 * statistics, threading and completion counts, through a real runtime.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* ---- E5: shutdown -------------------------------------------------- */

static int
join_poll_now(struct weft_join *join)
{
	struct weft_context cx;

	weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
	return weft_join_poll(join, &cx, NULL, 0);
}


static void
E5_shutdown_drops_every_future_once(void **state)
{
	enum { N = 200 };
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe *probes = calloc(N, sizeof(*probes));
	struct weft_join *joins[N];
	int i, left = 5, canceled = 0;

	(void)state;
	assert_non_null(probes);
	for (i = 0; i < N; i++) {
		struct h_fut f;

		/* Half wait forever, half stay runnable forever. */
		h_fut_init(&f, &probes[i], i % 2 ? H_FUT_HOLD : H_FUT_YIELD,
		           UINT32_MAX, 0);
		joins[i] = h_spawn(rt, &f.base);
	}
	assert_int_equal(h_block_on_fn(rt, h_yield_n, &left), 0);
	weft_runtime_shutdown(rt);
	for (i = 0; i < N; i++)
		assert_int_equal(atomic_load(&probes[i].drops), 1);
	weft_runtime_shutdown(rt); /* idempotent */
	for (i = 0; i < N; i++) {
		canceled += join_poll_now(joins[i]) == WEFT_ECANCELED;
		weft_join_release(joins[i]);
	}
	weft_runtime_close(rt);
	for (i = 0; i < N; i++)
		assert_int_equal(atomic_load(&probes[i].drops), 1);
	free(probes);
	assert_int_equal(canceled, N);
	H_NO_VIOLATIONS();
}


/* Waits on a timer or on a socket through the runtime's driver. */
struct waiter {
	struct weft_future base;
	struct h_probe *probe;
	atomic_uint *first_polls;
	struct h_signal *sig;
	struct weft_sleep sleep;
	struct weft_driver *driver;
	int fd; /* -1: wait on the sleep */
	uint64_t io;
};


static weft_poll
waiter_poll(struct weft_future *base, struct weft_context *cx)
{
	struct waiter *w = (struct waiter *)base;
	uint32_t ready = 0;
	int r;

	if (atomic_fetch_add(&w->probe->polls, 1) == 0) {
		atomic_fetch_add(w->first_polls, 1);
		h_signal_notify(w->sig);
	}
	if (w->fd < 0)
		return weft_future_poll(&w->sleep.base, cx);
	if (!w->io) {
		w->driver = cx->driver;
		r = weft_driver_io_add(w->driver, w->fd, WEFT_READABLE, &w->io);
		if (r < 0) {
			h_violation("D3: io_add failed: %s", weft_strerror(r));
			return WEFT_READY;
		}
	}
	r = weft_driver_io_poll(w->driver, w->io, WEFT_READABLE, cx, &ready);
	return r == WEFT_PENDING ? WEFT_PENDING : WEFT_READY;
}


static void
waiter_drop(struct weft_future *base)
{
	struct waiter *w = (struct waiter *)base;

	weft_future_drop(&w->sleep.base);
	if (w->io)
		weft_driver_io_del(w->driver, w->io);
	if (atomic_fetch_add(&w->probe->drops, 1))
		h_violation("F1: a waiting future was dropped twice");
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(waiter_vtable, struct waiter, waiter_poll,
                             waiter_drop);


static void
E5_shutdown_while_waiting_on_timers_and_io(void **state)
{
	enum { N = 20 };
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probes[2 * N];
	int fds[N][2];
	struct h_signal sig;
	atomic_uint first = 0;
	struct h_tally_wait tw = {&sig, &first, 2 * N};
	int i;

	(void)state;
	memset(probes, 0, sizeof(probes));
	h_signal_init(&sig);
	for (i = 0; i < 2 * N; i++) {
		struct waiter w = {
		    .base = {&waiter_vtable},
		    .probe = &probes[i],
		    .first_polls = &first,
		    .sig = &sig,
		    .fd = -1,
		};

		if (i < N) {
			weft_sleep_init(&w.sleep, 3600 * WEFT_SEC);
		} else {
			h_socketpair(fds[i - N]);
			w.fd = fds[i - N][0];
		}
		assert_int_equal(weft_spawn(rt, &w.base, NULL), 0);
	}
	assert_int_equal(h_block_on_fn(rt, h_tally_wait_step, &tw), 0);
	weft_runtime_shutdown(rt);
	for (i = 0; i < 2 * N; i++)
		assert_int_equal(atomic_load(&probes[i].drops), 1);
	h_signal_fini(&sig);
	weft_runtime_close(rt);
	for (i = 0; i < N; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	for (i = 0; i < 2 * N; i++)
		assert_int_equal(atomic_load(&probes[i].drops), 1);
	H_NO_VIOLATIONS();
}


/* ---- E6: abort ----------------------------------------------------- */

static void *
abort_twice(void *arg)
{
	weft_join_abort(arg);
	weft_join_abort(arg);
	return NULL;
}


static void
E6_abort_drops_future_once(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	struct weft_join_future jf;
	struct weft_join *join;
	struct h_fut f;
	pthread_t t;

	(void)state;
	h_fut_init(&f, &probe, H_FUT_HOLD, 0, 0);
	join = h_spawn(rt, &f.base);
	assert_int_equal(h_run_until(rt, &probe.polls, 1), 1);
	t = h_thread(abort_twice, join);
	pthread_join(t, NULL);
	weft_join_future_init(&jf, join, NULL, 0);
	assert_int_equal(weft_block_on(rt, &jf.base), 0);
	assert_int_equal(jf.status, WEFT_ECANCELED);
	weft_future_drop(&jf.base);
	/* Dropped on the executor, once, and never polled again. */
	assert_int_equal(atomic_load(&probe.drops), 1);
	assert_int_equal(atomic_load(&probe.polls), 1);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&probe.drops), 1);
	H_NO_VIOLATIONS();
}


/* ---- E7: fairness -------------------------------------------------- */

struct spinner {
	struct weft_future base;
	atomic_bool *stop;
	atomic_int *stage; /* what the root waits for: 0 a task, 1 a timer */
	uint64_t started;
};


static weft_poll
spinner_poll(struct weft_future *base, struct weft_context *cx)
{
	struct spinner *s = (struct spinner *)base;

	if (!s->started)
		s->started = h_now();
	if (atomic_load(s->stop))
		return WEFT_READY;
	if (h_now() - s->started > 5 * h_prompt_ns()) {
		h_violation(
		    "E7: a yielding task starved %s for %llu ms",
		    atomic_load(s->stage) ? "a 10 ms timer" : "another task",
		    (unsigned long long)((h_now() - s->started) / WEFT_MSEC));
		return WEFT_READY;
	}
	weft_waker_wake_by_ref(&cx->waker);
	return WEFT_PENDING;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(spinner_vtable, struct spinner, spinner_poll,
                             NULL);

struct fair_root {
	struct weft_coro co;
	struct weft_runtime *rt;
	atomic_bool stop;
	atomic_int stage;
	struct h_probe probe;
	struct h_fut other;
	struct weft_join_future spin_join, other_join;
	struct weft_sleep sleep;
};


static weft_poll
fair_root_step(void *arg, struct weft_context *cx)
{
	struct fair_root *fr = arg;
	struct spinner sp = {{&spinner_vtable}, &fr->stop, &fr->stage, 0};

	WEFT_BEGIN(&fr->co);
	weft_join_future_init(&fr->spin_join, h_spawn(fr->rt, &sp.base), NULL,
	                      0);
	h_fut_init(&fr->other, &fr->probe, H_FUT_YIELD, 3, 0);
	weft_join_future_init(&fr->other_join, h_spawn(fr->rt, &fr->other.base),
	                      NULL, 0);
	/* Another task, then a timer, must run while the spinner spins. */
	WEFT_AWAIT(&fr->co, cx, &fr->other_join);
	atomic_store(&fr->stage, 1);
	weft_sleep_init(&fr->sleep, 10 * WEFT_MSEC);
	WEFT_AWAIT(&fr->co, cx, &fr->sleep);
	atomic_store(&fr->stop, true);
	WEFT_AWAIT(&fr->co, cx, &fr->spin_join);
	WEFT_END(&fr->co);
}


/*
 * On a reactor's clock (R12) time stands still while a task spins, so
 * the timer could never become due: another thread moves the clock, as a
 * test driving a simulation does, and the executor must still look at
 * the driver to see the timer fire.
 */
static void *
fair_ticker(void *arg)
{
	struct fair_root *fr = arg;

	while (!atomic_load(&fr->stop)) {
		h_sleep_ns(2 * WEFT_MSEC);
		weft_driver_clock_advance(weft_runtime_driver(fr->rt),
		                          WEFT_MSEC);
	}
	return NULL;
}


static void
E7_yielding_task_does_not_starve_others(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct fair_root fr;
	pthread_t ticker = 0;

	(void)state;
	memset(&fr, 0, sizeof(fr));
	fr.rt = rt;
	if (h_virtual_clock())
		ticker = h_thread(fair_ticker, &fr);
	assert_int_equal(h_block_on_fn(rt, fair_root_step, &fr), 0);
	if (h_virtual_clock())
		pthread_join(ticker, NULL);
	weft_future_drop(&fr.spin_join.base);
	weft_future_drop(&fr.other_join.base);
	weft_future_drop(&fr.sleep.base);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- E8: waker identity -------------------------------------------- */

struct ident {
	struct weft_future base;
	struct weft_waker first; /* value only: never woken or dropped */
	int polls;
};


static weft_poll
ident_poll(struct weft_future *base, struct weft_context *cx)
{
	struct ident *id = (struct ident *)base;
	struct weft_waker c;

	if (id->polls++ == 0)
		id->first = cx->waker;
	else if (!weft_waker_will_wake(&id->first, &cx->waker))
		h_violation("E8: poll %d got another waker than poll 1",
		            id->polls);
	c = weft_waker_clone(&cx->waker);
	if (!weft_waker_will_wake(&c, &cx->waker))
		h_violation("E8: a clone does not will_wake its original");
	weft_waker_drop(&c);
	if (id->polls < 3) {
		weft_waker_wake_by_ref(&cx->waker);
		return WEFT_PENDING;
	}
	return WEFT_READY;
}


WEFT_FUTURE_VTABLE(ident_vtable, struct ident, first, ident_poll, NULL);


static void
E8_waker_identity_is_stable(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct ident a = {{&ident_vtable}, {0, 0}, 0}, b = a, root = a;
	struct weft_waker wa, wb;
	struct weft_join_future ja, jb;

	(void)state;
	weft_join_future_init(&ja, h_spawn(rt, &a.base), &wa, sizeof(wa));
	weft_join_future_init(&jb, h_spawn(rt, &b.base), &wb, sizeof(wb));
	assert_int_equal(weft_block_on(rt, &ja.base), 0);
	assert_int_equal(weft_block_on(rt, &jb.base), 0);
	weft_future_drop(&ja.base);
	weft_future_drop(&jb.base);
	assert_int_equal(weft_block_on(rt, &root.base), 0);
	weft_future_drop(&root.base);
	/* Values compared only: two tasks never share a waker. */
	assert_false(weft_waker_will_wake(&wa, &wb));
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- E9 and E11: statistics ------------------------------------- */

#define STAT_END(m)                                                            \
	(offsetof(struct weft_executor_stats, m) +                             \
	 sizeof(((struct weft_executor_stats *)0)->m))

/* The stats struct of ABI 1.0 ended with queue_depth. */
#define STATS_1_0_SIZE STAT_END(queue_depth)

/* Bytes past the caller's size, which no stats call may touch. */
#define STATS_CANARY 32
#define STATS_CANARY_BYTE 0xa5


/* Opens a runtime; false (runtime closed) when stats is absent. */
static bool
stats_open(struct weft_runtime **rt)
{
	struct weft_executor_stats s;

	*rt = h_rt_open(NULL);
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	if (weft_runtime_stats(*rt, &s) == WEFT_ENOTSUP) {
		weft_runtime_close(*rt);
		return false;
	}
	return true;
}


/*
 * One stats call with the caller's struct `size` bytes long, followed by a
 * canary: the executor may fill at most `size` bytes and must say it did.
 */
static void
stats_bounded(struct weft_runtime *rt, uint32_t size)
{
	unsigned char buf[sizeof(struct weft_executor_stats) + 2 * STATS_CANARY]
	    __attribute__((aligned(8)));
	struct weft_executor_stats *s = (struct weft_executor_stats *)buf;
	uint32_t got;
	size_t i;
	int r;

	assert_true(size + STATS_CANARY <= sizeof(buf));
	memset(buf, STATS_CANARY_BYTE, sizeof(buf));
	s->size = size;
	r = weft_runtime_stats(rt, s);
	if (r < 0)
		fail_msg("E9: stats with size %u failed: %s", size,
		         weft_strerror(r));
	got = s->size;
	if (got > size)
		fail_msg("E9: stats with size %u reports %u bytes filled", size,
		         got);
	for (i = size; i < size + STATS_CANARY; i++)
		if (buf[i] != STATS_CANARY_BYTE)
			fail_msg("E9: stats with size %u wrote byte %zu, past "
			         "the caller's struct",
			         size, i);
}


static void
E9_stats_fill_at_most_the_callers_size(void **state)
{
	struct weft_runtime *rt;
	const uint32_t sizes[] = {
	    sizeof(uint32_t),        /* the size field alone */
	    STAT_END(workers),       /* the first counter left out */
	    STAT_END(spawned) + 4,   /* cuts a counter in half */
	    STAT_END(polls),         /* a caller that stops early */
	    STATS_1_0_SIZE,          /* a caller built against 1.0 */
	    STATS_1_0_SIZE + 8,      /* a newer caller: a member unknown here */
	};
	size_t i;

	(void)state;
	if (!stats_open(&rt))
		skip(); /* stats is optional */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		stats_bounded(rt, sizes[i]);
	weft_runtime_close(rt);
}


/*
 * A batch of tasks for the stats tests.  It outlives the batch's wait:
 * a worker may still be inside the last task's notify or drop when the
 * root sees the tally, so it is freed only after the runtime is closed.
 */
struct stats_job {
	struct h_probe probes[16];
	struct h_signal sig;
	atomic_uint tally;
};


/* Spawns n tasks that each take `yields` + 1 polls and waits for them. */
static void
stats_work(struct weft_runtime *rt, struct stats_job *job, int n,
           uint32_t yields)
{
	struct h_tally_wait tw = {&job->sig, &job->tally, (unsigned)n};
	int i;

	assert_true(n <= 16);
	memset(job->probes, 0, sizeof(job->probes));
	atomic_init(&job->tally, 0);
	h_signal_init(&job->sig);
	for (i = 0; i < n; i++) {
		struct h_fut f;

		h_fut_init(&f, &job->probes[i], H_FUT_YIELD, yields, 0);
		f.tally = &job->tally;
		f.on_ready = &job->sig;
		assert_int_equal(weft_spawn(rt, &f.base, NULL), 0);
	}
	assert_int_equal(h_block_on_fn(rt, h_tally_wait_step, &tw), 0);
}


/* After the runtime is closed: nothing of the jobs is in use any more. */
static void
stats_jobs_free(struct stats_job *jobs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		h_signal_fini(&jobs[i].sig);
	free(jobs);
}


static void
stats_read(struct weft_runtime *rt, struct weft_executor_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	assert_int_equal(weft_runtime_stats(rt, s), 0);
	assert_true(s->size >= STAT_END(workers) && s->size <= sizeof(*s));
}


#define STAT_GROWS(a, b, m, by)                                                \
	do {                                                                   \
		if ((b).size >= STAT_END(m) && (b).m < (a).m + (by))           \
			fail_msg("E9: " #m " went from %llu to %llu over "     \
			         "work worth %llu",                            \
			         (unsigned long long)(a).m,                    \
			         (unsigned long long)(b).m,                    \
			         (unsigned long long)(by));                    \
	} while (0)


static void
E9_stats_are_monotonic(void **state)
{
	enum { ROUNDS = 4, N = 10 };
	struct weft_runtime *rt;
	struct weft_executor_stats a, b;
	struct stats_job *jobs;
	int round;

	(void)state;
	if (!stats_open(&rt))
		skip(); /* stats is optional */
	jobs = calloc(ROUNDS, sizeof(*jobs));
	assert_non_null(jobs);
	stats_read(rt, &a);
	for (round = 0; round < ROUNDS; round++) {
		/* N tasks of two polls each, then a read. */
		stats_work(rt, &jobs[round], N, 1);
		stats_read(rt, &b);
		assert_int_equal(b.size, a.size);
		/* Counters grow by at least the work done, never reset. */
		STAT_GROWS(a, b, spawned, N);
		STAT_GROWS(a, b, polls, 2 * N);
		STAT_GROWS(a, b, completed, 0);
		STAT_GROWS(a, b, parks, 0);
		STAT_GROWS(a, b, foreign_wakes, 0);
		STAT_GROWS(a, b, steals, 0);
		a = b;
	}
	weft_runtime_close(rt);
	stats_jobs_free(jobs, ROUNDS);
}


/*
 * Completions: N tasks complete, M are polled and then aborted (run, but
 * dropped rather than completed).  An executor that leaves `completed` 0
 * through all of it does not count completions (a 1.0 executor, or one on
 * a task core older than 3): that is allowed.  One that counts must count
 * exactly the tasks whose future returned ready.
 */
static void
E11_completed_counts_completed_tasks(void **state)
{
	enum { N = 10, M = 5 };
	struct weft_runtime *rt;
	struct weft_executor_stats a, b;
	struct h_probe held[M];
	struct weft_join *joins[M];
	struct stats_job *job;
	uint64_t until;
	int i, turns;

	(void)state;
	if (!stats_open(&rt))
		skip(); /* stats is optional */
	stats_read(rt, &a);
	if (a.size < STAT_END(completed)) {
		weft_runtime_close(rt);
		skip(); /* the executor's struct stops before completed */
	}
	job = calloc(1, sizeof(*job));
	assert_non_null(job);
	memset(held, 0, sizeof(held));
	for (i = 0; i < M; i++) {
		struct h_fut f;

		h_fut_init(&f, &held[i], H_FUT_HOLD, 0, 0);
		joins[i] = h_spawn(rt, &f.base);
	}
	for (i = 0; i < M; i++)
		assert_int_equal(h_run_until(rt, &held[i].polls, 1), 1);
	stats_work(rt, job, N, 2);
	for (i = 0; i < M; i++) {
		struct weft_join_future jf;

		weft_join_abort(joins[i]);
		weft_join_future_init(&jf, joins[i], NULL, 0);
		assert_int_equal(weft_block_on(rt, &jf.base), 0);
		assert_int_equal(jf.status, WEFT_ECANCELED);
		weft_future_drop(&jf.base);
		assert_int_equal(atomic_load(&held[i].drops), 1);
	}
	/*
	 * A worker counts a completion after the poll that notified the
	 * root: give the runtime turns, then wait (boundedly) for the count.
	 */
	for (turns = 0; turns < 5; turns++) {
		int left = 2;

		assert_int_equal(h_block_on_fn(rt, h_yield_n, &left), 0);
	}
	stats_read(rt, &b);
	if (b.completed == 0) {
		weft_runtime_close(rt);
		stats_jobs_free(job, 1);
		skip(); /* completions not counted: allowed (see E11) */
	}
	until = h_now() + h_prompt_ns();
	while (b.completed < a.completed + N && h_now() < until) {
		h_sleep_ns(WEFT_MSEC);
		stats_read(rt, &b);
	}
	if (b.completed != a.completed + N)
		fail_msg("E11: %d tasks completed and %d were aborted, but "
		         "completed went from %llu to %llu",
		         N, M, (unsigned long long)a.completed,
		         (unsigned long long)b.completed);
	weft_runtime_close(rt);
	stats_jobs_free(job, 1);
}


/* ---- E10: threads -------------------------------------------------- */

static void
record_threads(struct weft_runtime *rt, struct h_probe *probes, int n)
{
	struct weft_join_future jf[64];
	int i;

	for (i = 0; i < n; i++) {
		struct h_fut f;

		h_fut_init(&f, &probes[i], H_FUT_YIELD, 2, 0);
		weft_join_future_init(&jf[i], h_spawn(rt, &f.base), NULL, 0);
	}
	for (i = 0; i < n; i++) {
		assert_int_equal(weft_block_on(rt, &jf[i].base), 0);
		weft_future_drop(&jf[i].base);
	}
}


static void
E10_single_thread_polls_on_block_on_thread(void **state)
{
	struct weft_runtime *rt;
	struct h_probe probes[16];
	int i;

	(void)state;
	if (h_opt.executor_flags & WEFT_EXECUTOR_MULTI_THREAD)
		skip(); /* claims MULTI_THREAD: polls anywhere */
	rt = h_rt_open(NULL);
	memset(probes, 0, sizeof(probes));
	record_threads(rt, probes, 16);
	weft_runtime_close(rt);
	for (i = 0; i < 16; i++)
		assert_true(atomic_load(&probes[i].poll_thread) ==
		            (uintptr_t)pthread_self());
	H_NO_VIOLATIONS();
}


struct slow {
	struct weft_future base;
	struct h_probe *probe;
};


static weft_poll
slow_poll(struct weft_future *base, struct weft_context *cx)
{
	struct slow *s = (struct slow *)base;

	(void)cx;
	atomic_store(&s->probe->poll_thread, (uintptr_t)pthread_self());
	h_sleep_ns(2 * WEFT_MSEC); /* blocks its worker: others must help */
	return WEFT_READY;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(slow_vtable, struct slow, slow_poll, NULL);


static void
E10_multi_thread_polls_on_several_threads(void **state)
{
	enum { N = 64 };
	struct weft_runtime *rt;
	struct h_probe probes[N];
	struct weft_join_future jf[N];
	int i, distinct = 1;

	(void)state;
	if (!(h_opt.executor_flags & WEFT_EXECUTOR_MULTI_THREAD))
		skip(); /* capability not claimed */
	rt = h_rt_open("4");
	memset(probes, 0, sizeof(probes));
	for (i = 0; i < N; i++) {
		struct slow s = {{&slow_vtable}, &probes[i]};

		weft_join_future_init(&jf[i], h_spawn(rt, &s.base), NULL, 0);
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(weft_block_on(rt, &jf[i].base), 0);
		weft_future_drop(&jf[i].base);
	}
	weft_runtime_close(rt);
	for (i = 1; i < N; i++)
		if (atomic_load(&probes[i].poll_thread) !=
		    atomic_load(&probes[0].poll_thread))
			distinct++;
	assert_true(distinct > 1);
}


static const struct CMUnitTest tests[] = {
    H_TEST(E5_shutdown_drops_every_future_once),
    H_TEST(E5_shutdown_while_waiting_on_timers_and_io),
    H_TEST(E6_abort_drops_future_once),
    H_TEST(E7_yielding_task_does_not_starve_others),
    H_TEST(E8_waker_identity_is_stable),
    H_TEST(E9_stats_fill_at_most_the_callers_size),
    H_TEST(E9_stats_are_monotonic),
    H_TEST(E10_single_thread_polls_on_block_on_thread),
    H_TEST(E10_multi_thread_polls_on_several_threads),
    H_TEST(E11_completed_counts_completed_tasks),
};

H_GROUP(h_group_lifecycle, "lifecycle", tests);
