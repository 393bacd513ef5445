/* SPDX-License-Identifier: MIT */
/*
 * weft_spawn_join (a JoinHandle in one call: await, abort, detach) and the
 * task tracker (spawn many, close, wait, cancel) on a real runtime.
 */
#include <errno.h>

#include <weft/task.h>

#include "../lib-core/common.h"

/* Waits up to 10 s for *v to reach want, on the test's thread. */
static bool
wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 1000 && atomic_load(v) != want; i++)
		stall_ms(10);
	return atomic_load(v) == want;
}

/* ---- spawn_join ------------------------------------------------------ */

static void
spawn_join_awaits_the_output(void **state)
{
	struct probe p;
	struct weft_join_future h;
	atomic_int drops = 0, done = 0;
	int out = 0;

	(void)state;
	probe_init(&p, 5, 1234, &drops, &done);
	assert_int_equal(weft_spawn_join(weft_runtime_executor(rt), &p.base, &h,
	                                 &out, sizeof(out)),
	                 0);
	run(&h.base);
	weft_future_drop(&h.base);
	assert_int_equal(h.status, 0);
	assert_int_equal(out, 1234);
	assert_int_equal(done, 1);
	assert_int_equal(drops, 1);
}

static void
spawn_join_abort_cancels(void **state)
{
	struct probe p;
	struct weft_join_future h;
	atomic_int drops = 0, done = 0;
	int out = -1;

	(void)state;
	probe_init(&p, 3600 * 1000, 1, &drops, &done);
	assert_int_equal(weft_spawn_join(weft_runtime_executor(rt), &p.base, &h,
	                                 &out, sizeof(out)),
	                 0);
	weft_join_future_abort(&h);
	weft_join_future_abort(&h); /* idempotent */
	run(&h.base);
	weft_future_drop(&h.base);
	weft_join_future_abort(&h); /* after drop: a no-op */
	assert_int_equal(h.status, WEFT_ECANCELED);
	assert_int_equal(out, -1);
	assert_int_equal(done, 0);
	assert_int_equal(drops, 1);
}

static void
spawn_join_detach_lets_it_run(void **state)
{
	struct probe p;
	struct weft_join_future h;
	struct weft_sleep s;
	atomic_int drops = 0, done = 0;

	(void)state;
	probe_init(&p, 5, 1, &drops, &done);
	assert_int_equal(
	    weft_spawn_join(weft_runtime_executor(rt), &p.base, &h, NULL, 0),
	    0);
	weft_future_drop(&h.base); /* detach */
	/* The runtime runs the task while the root sleeps. */
	weft_sleep_init(&s, 50 * WEFT_MSEC);
	run(&s.base);
	weft_future_drop(&s.base);
	assert_true(wait_for(&done, 1));
	assert_true(wait_for(&drops, 1));
}

static void
spawn_join_failure_is_a_ready_handle(void **state)
{
	struct probe p;
	struct weft_join_future h;
	atomic_int drops = 0;

	(void)state;
	probe_init(&p, 5, 1, &drops, NULL);
	assert_int_equal(weft_spawn_join(NULL, &p.base, &h, NULL, 0),
	                 WEFT_ENOTSUP);
	assert_int_equal(drops, 1); /* consumed */
	weft_join_future_abort(&h); /* harmless */
	run(&h.base);
	weft_future_drop(&h.base);
	assert_int_equal(h.status, WEFT_ENOTSUP);
}

/* ---- tracker --------------------------------------------------------- */

enum { MANY = 64 };

static void
tracker_waits_for_every_task(void **state)
{
	struct weft_tracker *t;
	struct weft_tracker_wait w;
	struct weft_timeout early;
	struct probe p;
	atomic_int drops = 0, done = 0;

	(void)state;
	assert_int_equal(weft_tracker_new(&t, NULL), 0);
	for (int i = 0; i < MANY; i++) {
		probe_init(&p, 5 + (uint64_t)(i % 20), 0, &drops, &done);
		assert_int_equal(weft_tracker_spawn(t,
		                                    weft_runtime_executor(rt),
		                                    &p.base, NULL),
		                 0);
	}
	assert_true(weft_tracker_len(t) > 0);
	/* Open: wait does not complete, even once the tasks are done. */
	weft_tracker_wait_init(&w, t);
	weft_timeout_init(&early, &w.base, 100 * WEFT_MSEC);
	run(&early.base);
	weft_future_drop(&early.base);
	assert_int_equal(early.status, WEFT_ETIMEDOUT);
	assert_int_equal(done, MANY);

	assert_false(weft_tracker_is_closed(t));
	weft_tracker_close(t);
	assert_true(weft_tracker_is_closed(t));
	weft_tracker_wait_init(&w, t);
	run(&w.base);
	weft_future_drop(&w.base);
	assert_int_equal(w.status, 0);
	assert_int_equal(weft_tracker_len(t), 0);
	assert_int_equal(drops, MANY);
	weft_tracker_free(t);
}

static void
tracker_wait_completes_when_the_last_ends(void **state)
{
	struct weft_tracker *t;
	struct weft_tracker_wait w;
	struct weft_join *j;
	struct weft_join_future jf;
	struct probe p;
	atomic_int drops = 0, done = 0;
	int status = -1;

	(void)state;
	assert_int_equal(weft_tracker_new(&t, NULL), 0);
	for (int i = 0; i < 8; i++) {
		probe_init(&p, 30 + (uint64_t)i * 5, 0, &drops, &done);
		assert_int_equal(
		    weft_tracker_spawn(t, weft_runtime_executor(rt), &p.base,
		                       i == 0 ? &j : NULL),
		    0);
	}
	weft_tracker_close(t); /* closed early: wait waits for the tasks */
	weft_tracker_wait_init(&w, t);
	run(&w.base);
	weft_future_drop(&w.base);
	assert_int_equal(drops, 8);
	assert_int_equal(done, 8);
	/* The handle's output is the tracked status. */
	weft_join_future_init(&jf, j, &status, sizeof(status));
	run(&jf.base);
	weft_future_drop(&jf.base);
	assert_int_equal(jf.status, 0);
	assert_int_equal(status, 0);
	/* Reopened, it waits again; a new task counts. */
	weft_tracker_reopen(t);
	assert_false(weft_tracker_is_closed(t));
	weft_tracker_free(t);
}

static void
tracker_cancel_stops_every_task(void **state)
{
	struct weft_tracker *t;
	struct weft_cancel_token *parent;
	struct weft_tracker_wait w;
	struct weft_timeout guard;
	struct weft_join *j;
	struct weft_join_future jf;
	struct probe p;
	atomic_int drops = 0, done = 0;
	int status = 0;

	(void)state;
	assert_int_equal(weft_cancel_token_new(&parent), 0);
	assert_int_equal(weft_tracker_new(&t, parent), 0);
	for (int i = 0; i < MANY; i++) {
		probe_init(&p, 3600 * 1000, 0, &drops, &done);
		assert_int_equal(
		    weft_tracker_spawn(t, weft_runtime_executor(rt), &p.base,
		                       i == 0 ? &j : NULL),
		    0);
	}
	/* Cancelling the parent reaches the tracker's token. */
	weft_cancel_token_cancel(parent);
	assert_true(weft_cancel_token_is_cancelled(weft_tracker_token(t)));
	weft_tracker_close(t);
	weft_tracker_wait_init(&w, t);
	weft_timeout_init(&guard, &w.base, 10 * WEFT_SEC);
	run(&guard.base);
	weft_future_drop(&guard.base);
	assert_int_equal(guard.status, 0);
	assert_int_equal(drops, MANY);
	assert_int_equal(done, 0);
	weft_join_future_init(&jf, j, &status, sizeof(status));
	run(&jf.base);
	weft_future_drop(&jf.base);
	assert_int_equal(jf.status, 0);
	assert_int_equal(status, WEFT_ECANCELED);
	/* Spawned after the cancel: stopped before its future runs. */
	probe_init(&p, 3600 * 1000, 0, &drops, &done);
	assert_int_equal(
	    weft_tracker_spawn(t, weft_runtime_executor(rt), &p.base, NULL), 0);
	weft_tracker_wait_init(&w, t);
	run(&w.base);
	weft_future_drop(&w.base);
	assert_int_equal(drops, MANY + 1);
	weft_tracker_free(t);
	weft_cancel_token_free(parent);
}

static void
tracker_freed_while_tasks_run(void **state)
{
	struct weft_tracker *t;
	struct weft_sleep s;
	struct probe p;
	atomic_int drops = 0, done = 0;

	(void)state;
	assert_int_equal(weft_tracker_new(&t, NULL), 0);
	for (int i = 0; i < 16; i++) {
		probe_init(&p, 10, 0, &drops, &done);
		assert_int_equal(weft_tracker_spawn(t,
		                                    weft_runtime_executor(rt),
		                                    &p.base, NULL),
		                 0);
	}
	weft_tracker_free(t); /* the tasks hold it now */
	weft_sleep_init(&s, 60 * WEFT_MSEC);
	run(&s.base);
	weft_future_drop(&s.base);
	assert_true(wait_for(&done, 16));
	assert_true(wait_for(&drops, 16));
}

/* Several tasks wait on one tracker; each ends once it settles. */
struct waiter {
	struct weft_future base;
	struct weft_tracker_wait w;
	atomic_int *woken;
	int started;
	int status;
};

static weft_poll
waiter_poll(struct weft_future *f, struct weft_context *cx)
{
	struct waiter *x = (struct waiter *)f;

	if (weft_future_poll(&x->w.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	atomic_fetch_add(x->woken, 1);
	return WEFT_READY;
}

static void
waiter_drop(struct weft_future *f)
{
	weft_future_drop(&((struct waiter *)f)->w.base);
}

WEFT_FUTURE_VTABLE(waiter_vtable, struct waiter, status, waiter_poll,
                   waiter_drop);

static void
tracker_many_waiters(void **state)
{
	struct weft_tracker *t;
	struct weft_join_future h[4];
	struct weft_sleep s;
	struct waiter x;
	struct probe p;
	atomic_int woken = 0, drops = 0;

	(void)state;
	assert_int_equal(weft_tracker_new(&t, NULL), 0);
	probe_init(&p, 40, 0, &drops, NULL);
	assert_int_equal(
	    weft_tracker_spawn(t, weft_runtime_executor(rt), &p.base, NULL), 0);
	for (int i = 0; i < 4; i++) {
		x = (struct waiter){.base.vtable = &waiter_vtable,
		                    .woken = &woken};
		weft_tracker_wait_init(&x.w, t);
		assert_int_equal(weft_spawn_join(weft_runtime_executor(rt),
		                                 &x.base, &h[i], NULL, 0),
		                 0);
	}
	weft_sleep_init(&s, 10 * WEFT_MSEC);
	run(&s.base);
	weft_future_drop(&s.base);
	weft_tracker_close(t);
	for (int i = 0; i < 4; i++) {
		run(&h[i].base);
		weft_future_drop(&h[i].base);
		assert_int_equal(h[i].status, 0);
	}
	assert_int_equal(woken, 4);
	assert_int_equal(drops, 1);
	weft_tracker_free(t);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(spawn_join_awaits_the_output),
	    cmocka_unit_test(spawn_join_abort_cancels),
	    cmocka_unit_test(spawn_join_detach_lets_it_run),
	    cmocka_unit_test(spawn_join_failure_is_a_ready_handle),
	    cmocka_unit_test(tracker_waits_for_every_task),
	    cmocka_unit_test(tracker_wait_completes_when_the_last_ends),
	    cmocka_unit_test(tracker_cancel_stops_every_task),
	    cmocka_unit_test(tracker_freed_while_tasks_run),
	    cmocka_unit_test(tracker_many_waiters),
	};

	return run_group(argc, argv, "task-api", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
