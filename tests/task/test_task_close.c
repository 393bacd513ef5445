/* SPDX-License-Identifier: MIT */
/*
 * The task core's close against wakes from other threads (W6), made
 * deterministic: the test hook between a wake making a task runnable and
 * the guard holds the waking thread in that window while this thread
 * closes, frees and even reuses the set.  Without the guard the waking
 * thread would then call the closed executor's schedule.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "taskcore.h"

static const struct weft_task_core *core = &weft__task_core;

/* ---- an executor that knows when it is gone ------------------------- */

struct exec {
	pthread_mutex_t lock;
	struct weft_task *items[64];
	size_t n;
	atomic_bool gone;      /* closed and freed: nothing may call it */
	atomic_int late_calls; /* calls after gone */
	atomic_int root_wakes;
	struct weft_task_set *set;
};

static void
ex_schedule(void *data, struct weft_task *t)
{
	struct exec *ex = data;

	if (atomic_load(&ex->gone)) {
		atomic_fetch_add(&ex->late_calls, 1);
		return; /* the reference leaks: the test fails anyway */
	}
	pthread_mutex_lock(&ex->lock);
	ex->items[ex->n++] = t;
	pthread_mutex_unlock(&ex->lock);
}

static void
ex_root_wake(void *data)
{
	struct exec *ex = data;

	if (atomic_load(&ex->gone))
		atomic_fetch_add(&ex->late_calls, 1);
	else
		atomic_fetch_add(&ex->root_wakes, 1);
}

static void
ex_open(struct exec *ex)
{
	memset(ex, 0, sizeof(*ex));
	pthread_mutex_init(&ex->lock, NULL);
	assert_int_equal(core->set_new(&ex->set, ex_schedule, ex), 0);
}

/* shutdown + fini, in the order every executor follows. */
static void
ex_close(struct exec *ex)
{
	core->set_close(ex->set);
	while (ex->n)
		core->drop_runnable(ex->items[--ex->n]);
	assert_int_equal(core->set_free(ex->set), 0);
	atomic_store(&ex->gone, true);
	pthread_mutex_destroy(&ex->lock);
}

static void
ex_run_all(struct exec *ex)
{
	struct weft_context cx;
	struct weft_task *t;

	while (ex->n) {
		t = ex->items[--ex->n];
		weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
		core->run(t, &cx);
	}
}

/* ---- a task that stays pending and keeps its waker ------------------ */

struct keeper {
	struct weft_future base;
	struct weft_waker *slot;
	atomic_int *drops;
};

static weft_poll
keeper_poll(struct weft_future *f, struct weft_context *cx)
{
	struct keeper *k = (struct keeper *)f;

	weft_waker_store(k->slot, &cx->waker);
	return WEFT_PENDING;
}

static void
keeper_drop(struct weft_future *f)
{
	atomic_fetch_add(((struct keeper *)f)->drops, 1);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(keeper_vtable, struct keeper, keeper_poll,
                             keeper_drop);

/* ---- the window ----------------------------------------------------- */

static sem_t in_window, go_on;
static atomic_bool hold;

static void
hold_in_window(void)
{
	if (!atomic_exchange(&hold, false))
		return;
	sem_post(&in_window);
	sem_wait(&go_on);
}

static void *
wake_main(void *arg)
{
	weft_waker_wake(arg);
	return NULL;
}

/* Spawns a keeper, runs it once and returns its waker, idle. */
static struct weft_waker
idle_task_waker(struct exec *ex, atomic_int *drops)
{
	struct weft_waker w = {0, 0};
	struct keeper k = {{&keeper_vtable}, &w, drops};
	struct weft_task *t;

	assert_int_equal(core->spawn(ex->set, &k.base, &t, NULL), 0);
	ex_schedule(ex, t);
	ex_run_all(ex);
	assert_non_null(w.vtable);
	return w;
}

static pthread_t
wake_held_in_window(struct weft_waker *w)
{
	pthread_t th;

	sem_init(&in_window, 0, 0);
	sem_init(&go_on, 0, 0);
	atomic_store(&hold, true);
	weft__test_schedule_hook = hold_in_window;
	assert_int_equal(pthread_create(&th, NULL, wake_main, w), 0);
	sem_wait(&in_window); /* the task is runnable; schedule not yet called */
	return th;
}

static void
release_window(pthread_t th)
{
	sem_post(&go_on);
	pthread_join(th, NULL);
	weft__test_schedule_hook = NULL;
	sem_destroy(&in_window);
	sem_destroy(&go_on);
}

/* ---- tests ---------------------------------------------------------- */

/* A wake made runnable before close reaches schedule only after it. */
static void
W6_wake_in_window_during_close(void **state)
{
	struct exec *ex = malloc(sizeof(*ex));
	struct weft_waker w;
	atomic_int drops = 0;
	pthread_t th;

	(void)state;
	ex_open(ex);
	w = idle_task_waker(ex, &drops);
	th = wake_held_in_window(&w);
	ex_close(ex);
	assert_int_equal(drops, 1);
	release_window(th);
	assert_int_equal(ex->late_calls, 0);
	free(ex);
}

/*
 * The same with the set freed and born again for another executor: the
 * late wake enters the new life's guard and must not hand it a task of
 * the old one.
 */
static void
W6_wake_in_window_across_reuse(void **state)
{
	struct exec *old = malloc(sizeof(*old)), *fresh = malloc(sizeof(*fresh));
	struct weft_task_set *old_set;
	struct weft_waker w;
	atomic_int drops = 0;
	pthread_t th;

	(void)state;
	ex_open(old);
	old_set = old->set;
	w = idle_task_waker(old, &drops);
	th = wake_held_in_window(&w);
	ex_close(old);
	ex_open(fresh);
	assert_ptr_equal(fresh->set, old_set); /* the same memory, reborn */
	release_window(th);
	assert_int_equal(old->late_calls, 0);
	assert_int_equal(fresh->n, 0);
	ex_close(fresh);
	free(old);
	free(fresh);
}

struct root_racer {
	struct weft_waker w;
	atomic_bool stop;
};

static void *
root_racer_main(void *arg)
{
	struct root_racer *r = arg;

	while (!atomic_load(&r->stop))
		weft_waker_wake_by_ref(&r->w);
	weft_waker_wake(&r->w);
	return NULL;
}

/* After set_close returns, a root wake never reaches the executor. */
static void
W6_root_wakes_racing_close(void **state)
{
	struct exec *ex = malloc(sizeof(*ex));
	struct root_racer r;
	struct weft_waker root, again;
	unsigned i;
	pthread_t th;

	(void)state;
	for (i = 0; i < 200; i++) {
		ex_open(ex);
		root = core->root_waker(ex->set, ex_root_wake);
		assert_non_null(root.vtable);
		/* The same waker each time: E8's identity holds for the root. */
		again = core->root_waker(ex->set, ex_root_wake);
		assert_true(weft_waker_will_wake(&root, &again));
		r.w = weft_waker_clone(&root);
		atomic_init(&r.stop, false);
		assert_int_equal(pthread_create(&th, NULL, root_racer_main, &r),
		                 0);
		while (i % 2 && !atomic_load(&ex->root_wakes))
			sched_yield();
		core->set_close(ex->set);
		atomic_store(&ex->gone, true); /* nothing may call it now */
		while (ex->n)
			core->drop_runnable(ex->items[--ex->n]);
		assert_int_equal(core->set_free(ex->set), 0);
		pthread_mutex_destroy(&ex->lock);
		atomic_store(&r.stop, true);
		pthread_join(th, NULL);
		assert_int_equal(ex->late_calls, 0);
	}
	free(ex);
}

int
main(void)
{
#ifdef NDEBUG
	/* The window's hook exists only where invariants are checked. */
	(void)W6_wake_in_window_during_close;
	(void)W6_wake_in_window_across_reuse;
	(void)W6_root_wakes_racing_close;
	return 77;
#endif
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(W6_wake_in_window_during_close),
	    cmocka_unit_test(W6_wake_in_window_across_reuse),
	    cmocka_unit_test(W6_root_wakes_racing_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
