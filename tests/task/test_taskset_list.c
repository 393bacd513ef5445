/* SPDX-License-Identifier: MIT */
/*
 * The live-task set's lists (taskset.c): a visit that loses the lock
 * between batches resumes after the task its last batch ended on, or
 * after that task's id once it is gone, so it reports each live task once
 * and in id order; shutdown drops every future exactly once.  Driven by a
 * tiny executor in this file, without any plugin.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "taskcore.h"

#define TASKS 100

static const struct weft_task_core *core = &weft__task_core;

struct queue {
	struct weft_task *items[4 * TASKS];
	size_t head, tail;
};

static void
q_schedule(void *data, struct weft_task *t)
{
	struct queue *q = data;

	q->items[q->tail++] = t;
}

static void
q_run_all(struct queue *q)
{
	struct weft_context cx;

	while (q->head != q->tail) {
		weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
		core->run(q->items[q->head++], &cx);
	}
}

/* Never ready; counts its drops. */
static atomic_int drops;

static weft_poll
idle_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)f;
	(void)cx;
	return WEFT_PENDING;
}

static void
idle_drop(struct weft_future *f)
{
	(void)f;
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(idle_vt, struct weft_future, idle_poll, idle_drop);

struct walk {
	struct queue *q;
	struct weft_join *joins[TASKS];
	uint64_t ids[TASKS];
	uint64_t last;
	int seen;
	int abort_at; /* after this many seen, abort the next two */
};

static int
walk_fn(void *arg, const struct weft_task_info *t)
{
	struct walk *w = arg;

	assert_true(t->id > w->last); /* once each, in id order */
	w->last = t->id;
	w->seen++;
	if (w->seen == w->abort_at) {
		/* The batch's last task and the first of the next one go. */
		for (int i = w->seen - 1; i <= w->seen; i++)
			w->joins[i]->ops->abort(w->joins[i]);
		q_run_all(w->q);
	}
	return 0;
}

static void
spawn_idle(struct queue *q, struct weft_task_set *set, struct walk *w)
{
	struct weft_future f = {&idle_vt};
	struct weft_task *t;

	for (int i = 0; i < TASKS; i++) {
		assert_int_equal(core->spawn(set, &f, &t, &w->joins[i]), 0);
		w->ids[i] = core->id(t);
		q_schedule(q, t); /* the executor's part of a spawn */
	}
	q_run_all(q);
}

static void
test_visit_resumes_after_dropped_task(void **state)
{
	struct queue *q = calloc(1, sizeof(*q));
	struct walk *w = calloc(1, sizeof(*w));
	struct weft_task_set *set;

	(void)state;
	assert_non_null(q);
	assert_non_null(w);
	atomic_store(&drops, 0);
	assert_int_equal(core->set_new(&set, q_schedule, q), 0);
	spawn_idle(q, set, w);
	w->q = q;
	w->abort_at = 16; /* the visit's batch */
	assert_int_equal(weft__taskset_visit(set, walk_fn, w), 0);
	/* Task 17 went before it was reached; the rest were all seen. */
	assert_int_equal(w->seen, TASKS - 1);
	assert_int_equal(atomic_load(&drops), 2);
	assert_int_equal(weft__taskset_live(set), TASKS - 2);
	core->set_close(set);
	assert_int_equal(atomic_load(&drops), TASKS);
	assert_int_equal(weft__taskset_live(set), 0);
	for (int i = 0; i < TASKS; i++)
		w->joins[i]->ops->release(w->joins[i]);
	assert_int_equal(core->set_free(set), 0);
	free(w);
	free(q);
}

static void
test_visit_sees_each_once(void **state)
{
	struct queue *q = calloc(1, sizeof(*q));
	struct walk *w = calloc(1, sizeof(*w));
	struct weft_task_set *set;

	(void)state;
	assert_non_null(q);
	assert_non_null(w);
	atomic_store(&drops, 0);
	assert_int_equal(core->set_new(&set, q_schedule, q), 0);
	spawn_idle(q, set, w);
	/* Every id of this thread's shard, in order, then a clean close. */
	assert_int_equal(weft__taskset_visit(set, walk_fn, w), 0);
	assert_int_equal(w->seen, TASKS);
	assert_int_equal(w->last, w->ids[TASKS - 1]);
	core->set_close(set);
	assert_int_equal(atomic_load(&drops), TASKS);
	for (int i = 0; i < TASKS; i++)
		w->joins[i]->ops->release(w->joins[i]);
	assert_int_equal(core->set_free(set), 0);
	free(w);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_visit_resumes_after_dropped_task),
	    cmocka_unit_test(test_visit_sees_each_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
