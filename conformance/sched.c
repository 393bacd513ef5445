/* SPDX-License-Identifier: MIT */
/*
 * T6, E12 and E13 (ABI 1.2): task numbers, per-worker statistics and the
 * deterministic schedule.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- T6: task numbers ---------------------------------------------- */

#define T6_MAX 64

struct id_walk {
	uint64_t ids[T6_MAX];
	size_t n;
	bool overflow;
};


static int
id_visit(void *arg, const struct weft_task_info *t)
{
	struct id_walk *w = arg;

	if (t->size < offsetof(struct weft_task_info, id) + sizeof(t->id))
		return 0;
	if (w->n == T6_MAX)
		w->overflow = true;
	else
		w->ids[w->n++] = t->id;
	return 0;
}


/* The ids of the live tasks; false when the executor has its own tasks. */
static bool
live_ids(struct weft_runtime *rt, struct id_walk *w)
{
	int r;

	memset(w, 0, sizeof(*w));
	r = weft_runtime_tasks(rt, id_visit, w);
	if (r == WEFT_ENOTSUP)
		return false;
	if (r != 0)
		fail_msg("T6: weft_runtime_tasks failed: %s", weft_strerror(r));
	assert_false(w->overflow);
	return true;
}


static bool
has_id(const struct id_walk *w, uint64_t id)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->ids[i] == id)
			return true;
	return false;
}


/*
 * Spawns tasks one at a time and looks at the live set after each: the
 * one new number must be the count of spawns so far.  Ending tasks (an
 * abort, a completion) frees no number, and the numbers of the tasks
 * still alive never change however often they are polled.
 */
static void
T6_task_ids_in_spawn_order(void **state)
{
	enum { N = 12 };
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probes[N + 2];
	struct weft_join *joins[N + 2];
	struct id_walk w, prev;
	uint64_t k;
	size_t i;

	(void)state;
	memset(probes, 0, sizeof(probes));
	if (!live_ids(rt, &prev)) {
		weft_runtime_close(rt);
		skip(); /* the executor brings its own tasks: no task core */
	}
	if (prev.n != 0)
		fail_msg("T6: a new runtime lists %zu live tasks", prev.n);
	for (k = 1; k <= N; k++) {
		struct h_fut f;

		h_fut_init(&f, &probes[k], H_FUT_HOLD, 0, 0);
		joins[k] = h_spawn(rt, &f.base);
		assert_int_equal(h_run_until(rt, &probes[k].polls, 1), 1);
		assert_true(live_ids(rt, &w));
		if (w.n != prev.n + 1 || !has_id(&w, k))
			fail_msg("T6: spawn %llu: %zu live tasks, %s id %llu",
			         (unsigned long long)k, w.n,
			         has_id(&w, k) ? "with" : "without",
			         (unsigned long long)k);
		for (i = 0; i < prev.n; i++)
			if (!has_id(&w, prev.ids[i]))
				fail_msg("T6: task %llu lost its number when "
				         "task %llu was spawned",
				         (unsigned long long)prev.ids[i],
				         (unsigned long long)k);
		prev = w;
	}
	/* End the first and the last: their numbers stay used. */
	weft_join_abort(joins[1]);
	weft_join_abort(joins[N]);
	{
		struct weft_join_future jf;

		weft_join_future_init(&jf, joins[N], NULL, 0);
		assert_int_equal(weft_block_on(rt, &jf.base), 0);
		weft_future_drop(&jf.base);
		weft_join_future_init(&jf, joins[1], NULL, 0);
		assert_int_equal(weft_block_on(rt, &jf.base), 0);
		weft_future_drop(&jf.base);
	}
	{
		struct h_fut f;

		h_fut_init(&f, &probes[N + 1], H_FUT_HOLD, 0, 0);
		joins[N + 1] = h_spawn(rt, &f.base);
		assert_int_equal(h_run_until(rt, &probes[N + 1].polls, 1), 1);
	}
	assert_true(live_ids(rt, &w));
	if (has_id(&w, 1) || has_id(&w, N))
		fail_msg("T6: an aborted task is still listed");
	if (!has_id(&w, N + 1))
		fail_msg("T6: the spawn after two tasks ended did not get "
		         "number %d (a number reused?)",
		         N + 1);
	for (k = 2; k < N; k++)
		if (!has_id(&w, k))
			fail_msg("T6: task %llu lost its number",
			         (unsigned long long)k);
	for (k = 2; k <= N + 1; k++)
		if (k != N)
			weft_join_release(joins[k]);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- E12: per-worker statistics ------------------------------------ */

#define WSTAT_END(m)                                                           \
	(offsetof(struct weft_worker_stats, m) +                               \
	 sizeof(((struct weft_worker_stats *)0)->m))
#define WSTAT_CANARY      32
#define WSTAT_CANARY_BYTE 0x5a


static void
worker_stats_bounded(struct weft_executor *e, uint32_t worker, uint32_t size)
{
	unsigned char buf[sizeof(struct weft_worker_stats) + 2 * WSTAT_CANARY]
	    __attribute__((aligned(8)));
	struct weft_worker_stats *s = (struct weft_worker_stats *)buf;
	size_t i;
	int r;

	assert_true(size + WSTAT_CANARY <= sizeof(buf));
	memset(buf, WSTAT_CANARY_BYTE, sizeof(buf));
	s->size = size;
	r = weft_executor_worker_stats(e, worker, s);
	if (r < 0)
		fail_msg("E12: worker_stats(%u) with size %u failed: %s",
		         worker, size, weft_strerror(r));
	if (s->size > size)
		fail_msg("E12: worker_stats with size %u reports %u bytes "
		         "filled",
		         size, s->size);
	for (i = size; i < size + WSTAT_CANARY; i++)
		if (buf[i] != WSTAT_CANARY_BYTE)
			fail_msg("E12: worker_stats with size %u wrote byte "
			         "%zu, past the caller's struct",
			         size, i);
	if (s->size >= WSTAT_END(worker) && s->worker != worker)
		fail_msg("E12: worker_stats(%u) says it is worker %u", worker,
		         s->worker);
}


/* The sum of every worker's polls; fails on a counter that went back. */
static uint64_t
worker_polls(struct weft_executor *e, uint32_t workers,
             struct weft_worker_stats *last)
{
	uint64_t sum = 0;
	uint32_t w;

	for (w = 0; w < workers; w++) {
		struct weft_worker_stats s = {.size = sizeof(s)};

		assert_int_equal(weft_executor_worker_stats(e, w, &s), 0);
		if (s.size >= WSTAT_END(queue_depth) &&
		    (s.polls < last[w].polls || s.steals < last[w].steals ||
		     s.parks < last[w].parks))
			fail_msg("E12: a counter of worker %u went back", w);
		last[w] = s;
		sum += s.polls;
	}
	return sum;
}


static void
E12_worker_stats_fill_at_most_the_callers_size(void **state)
{
	const uint32_t sizes[] = {
	    sizeof(uint32_t),
	    WSTAT_END(worker),
	    WSTAT_END(polls) + 4,
	    WSTAT_END(parks),
	    sizeof(struct weft_worker_stats),
	    sizeof(struct weft_worker_stats) + 8,
	};
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_executor *e = weft_runtime_executor(rt);
	struct weft_worker_stats probe = {.size = sizeof(probe)}, *last;
	struct h_probe probes[8];
	uint64_t before, after;
	uint32_t workers, w;
	size_t i;
	int r;

	(void)state;
	r = weft_executor_worker_stats(e, 0, &probe);
	if (r == WEFT_ENOTSUP) {
		weft_runtime_close(rt);
		skip(); /* worker_stats is optional */
	}
	if (r < 0)
		fail_msg("E12: worker_stats(0) failed: %s", weft_strerror(r));
	/* Workers: up to the first -ENOENT, bounded. */
	for (workers = 1; workers < 1024; workers++) {
		struct weft_worker_stats s = {.size = sizeof(s)};

		r = weft_executor_worker_stats(e, workers, &s);
		if (r == -ENOENT)
			break;
		if (r < 0)
			fail_msg("E12: worker_stats(%u) failed: %s", workers,
			         weft_strerror(r));
	}
	if (workers == 1024)
		fail_msg("E12: no -ENOENT up to worker 1024");
	r = weft_executor_worker_stats(e, UINT32_MAX, &probe);
	if (r != -ENOENT)
		fail_msg("E12: worker_stats(UINT32_MAX) returned %d, not "
		         "-ENOENT",
		         r);
	for (w = 0; w < workers; w++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			worker_stats_bounded(e, w, sizes[i]);
	/* Cumulative: work done shows, a read resets nothing. */
	last = calloc(workers, sizeof(*last));
	assert_non_null(last);
	before = worker_polls(e, workers, last);
	memset(probes, 0, sizeof(probes));
	for (i = 0; i < 8; i++) {
		struct h_fut f;
		struct weft_join_future jf;

		h_fut_init(&f, &probes[i], H_FUT_YIELD, 1, 0);
		weft_join_future_init(&jf, h_spawn(rt, &f.base), NULL, 0);
		assert_int_equal(weft_block_on(rt, &jf.base), 0);
		weft_future_drop(&jf.base);
	}
	after = worker_polls(e, workers, last);
	after = worker_polls(e, workers, last);
	free(last);
	weft_runtime_close(rt);
	if (after < before + 16)
		fail_msg("E12: 8 tasks of 2 polls each, but the workers' "
		         "polls went from %llu to %llu",
		         (unsigned long long)before, (unsigned long long)after);
	H_NO_VIOLATIONS();
}


/* ---- E13: the same seed, the same order ---------------------------- */

#define E13_LOG 4096

struct e13_log {
	atomic_uint n;
	uint32_t at[E13_LOG];
	struct h_signal sig;
	atomic_uint done;
	/* A waker handed from one task to another. */
	pthread_mutex_t lock;
	struct weft_waker parked;
	bool flag;
};

struct e13_fut {
	struct weft_future base;
	struct e13_log *log;
	uint32_t tag, polls, yields;
};

static void e13_spawn(struct weft_executor *e, struct e13_log *log,
                      uint32_t tag);


static void
e13_record(struct e13_log *log, uint32_t what)
{
	unsigned i = atomic_fetch_add(&log->n, 1);

	if (i < E13_LOG)
		log->at[i] = what;
}


static weft_poll
e13_poll(struct weft_future *base, struct weft_context *cx)
{
	struct e13_fut *f = (struct e13_fut *)base;
	struct e13_log *log = f->log;
	struct weft_waker w = {0, 0};
	bool ready = false;

	e13_record(log, f->tag << 8 | (f->polls & 0xff));
	if (f->polls++ == 0 && f->tag % 3 == 0 && f->tag < 100)
		e13_spawn(cx->executor, log, f->tag + 100);
	if (f->tag == 7) {
		/* Waits for task 8 to pass it a wake. */
		pthread_mutex_lock(&log->lock);
		ready = log->flag;
		if (!ready)
			weft_waker_store(&log->parked, &cx->waker);
		pthread_mutex_unlock(&log->lock);
	} else if (f->polls <= f->yields) {
		weft_waker_wake_by_ref(&cx->waker);
	} else {
		ready = true;
		if (f->tag == 8) {
			pthread_mutex_lock(&log->lock);
			log->flag = true;
			w = log->parked;
			log->parked = (struct weft_waker){0, 0};
			pthread_mutex_unlock(&log->lock);
			weft_waker_wake(&w);
		}
	}
	if (!ready)
		return WEFT_PENDING;
	atomic_fetch_add(&log->done, 1);
	h_signal_notify(&log->sig);
	return WEFT_READY;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(e13_vtable, struct e13_fut, e13_poll, NULL);


static void
e13_spawn(struct weft_executor *e, struct e13_log *log, uint32_t tag)
{
	struct e13_fut f = {{&e13_vtable}, log, tag, 0, (tag * 7) % 5};
	int r = weft_executor_spawn(e, &f.base, NULL);

	if (r < 0)
		h_violation("E13: spawn failed: %s", weft_strerror(r));
}


enum { E13_TASKS = 16, E13_CHILDREN = 6 /* tags 0, 3, ..., 15 */ };


/* One run of the workload on a runtime seeded with seed. */
static void
e13_run(const char *seed, struct e13_log *log)
{
	const char *const settings[] = {"sim_seed", seed, NULL};
	struct h_tally_wait tw = {&log->sig, &log->done,
	                          E13_TASKS + E13_CHILDREN};
	struct weft_runtime *rt;
	char err[1024] = "";
	uint32_t tag;

	rt = h_rt_try_open(NULL, NULL, settings, err, sizeof(err));
	if (!rt)
		fail_msg("E13: cannot open with sim_seed %s: %s", seed, err);
	memset(log, 0, sizeof(*log));
	h_signal_init(&log->sig);
	pthread_mutex_init(&log->lock, NULL);
	for (tag = 0; tag < E13_TASKS; tag++)
		e13_spawn(weft_runtime_executor(rt), log, tag);
	assert_int_equal(h_block_on_fn(rt, h_tally_wait_step, &tw), 0);
	h_signal_fini(&log->sig);
	weft_runtime_close(rt);
	weft_waker_drop(&log->parked);
	pthread_mutex_destroy(&log->lock);
	assert_true(atomic_load(&log->n) <= E13_LOG);
}


static void
E13_same_seed_same_order(void **state)
{
	struct e13_log *a, *b;
	char seed[32];
	unsigned i, n;

	(void)state;
	if (!(h_opt.executor_flags & WEFT_EXECUTOR_DETERMINISTIC))
		skip(); /* capability not claimed */
	if (h_opt.executor_flags & WEFT_EXECUTOR_MULTI_THREAD)
		fail_msg("E13: claims both DETERMINISTIC and MULTI_THREAD");
	a = calloc(1, sizeof(*a));
	b = calloc(1, sizeof(*b));
	assert_non_null(a);
	assert_non_null(b);
	snprintf(seed, sizeof(seed), "%llu",
	         (unsigned long long)(h_opt.seed % 1000000007u));
	e13_run(seed, a);
	e13_run(seed, b);
	n = atomic_load(&a->n);
	if (atomic_load(&b->n) != n)
		fail_msg("E13: seed %s: %u polls in the first run, %u in the "
		         "second",
		         seed, n, atomic_load(&b->n));
	for (i = 0; i < n; i++)
		if (a->at[i] != b->at[i])
			fail_msg("E13: seed %s: poll %u was task %u (its poll "
			         "%u) in the first run, task %u (poll %u) in "
			         "the second",
			         seed, i, a->at[i] >> 8, a->at[i] & 0xff,
			         b->at[i] >> 8, b->at[i] & 0xff);
	free(a);
	free(b);
	H_NO_VIOLATIONS();
}


static const struct CMUnitTest tests[] = {
    H_TEST(T6_task_ids_in_spawn_order),
    H_TEST(E12_worker_stats_fill_at_most_the_callers_size),
    H_TEST(E13_same_seed_same_order),
};

H_GROUP(h_group_sched, "sched", tests);
