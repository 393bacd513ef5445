/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the task core's state machine, driven by a tiny executor in
 * this file (a locked FIFO), without any plugin.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static const struct weft_task_core *core = &weft__task_core;

/* ---- a minimal executor -------------------------------------------- */

struct queue {
	pthread_mutex_t lock;
	struct weft_task *items[4096];
	size_t head, tail;
	atomic_int schedules;
	struct weft_task_set *set;
};

static void
q_schedule(void *data, struct weft_task *t)
{
	struct queue *q = data;

	pthread_mutex_lock(&q->lock);
	q->items[q->tail++ % 4096] = t;
	pthread_mutex_unlock(&q->lock);
	atomic_fetch_add(&q->schedules, 1);
}

static struct weft_task *
q_pop(struct queue *q)
{
	struct weft_task *t = NULL;

	pthread_mutex_lock(&q->lock);
	if (q->head != q->tail)
		t = q->items[q->head++ % 4096];
	pthread_mutex_unlock(&q->lock);
	return t;
}

static int
q_run_all(struct queue *q)
{
	struct weft_context cx;
	struct weft_task *t;
	int n = 0;

	while ((t = q_pop(q))) {
		weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
		core->run(t, &cx);
		n++;
	}
	return n;
}

static int
setup(void **state)
{
	struct queue *q = calloc(1, sizeof(*q));

	pthread_mutex_init(&q->lock, NULL);
	assert_int_equal(core->set_new(&q->set, q_schedule, q), 0);
	*state = q;
	return 0;
}

static int
teardown(void **state)
{
	struct queue *q = *state;
	struct weft_task *t;

	core->set_close(q->set);
	while ((t = q_pop(q)))
		core->drop_runnable(t);
	assert_int_equal(core->set_free(q->set), 0);
	pthread_mutex_destroy(&q->lock);
	free(q);
	return 0;
}

/* ---- a scriptable future -------------------------------------------- */

struct probe {
	atomic_int polls, drops, concurrent, inside;
	int ready_after; /* polls before ready; <0: never */
	struct weft_waker saved;
	bool keep_waker;
	bool wake_inside; /* wake itself during its first poll */
};

struct fut {
	struct weft_future base;
	struct probe *p;
	int out;
};

static weft_poll
fut_poll(struct weft_future *f, struct weft_context *cx)
{
	struct fut *x = (struct fut *)f;
	struct probe *p = x->p;
	int n;

	if (atomic_fetch_add(&p->inside, 1))
		atomic_fetch_add(&p->concurrent, 1);
	n = atomic_fetch_add(&p->polls, 1) + 1;
	if (p->keep_waker)
		weft_waker_store(&p->saved, &cx->waker);
	if (p->wake_inside && n == 1)
		weft_waker_wake_by_ref(&cx->waker);
	atomic_fetch_sub(&p->inside, 1);
	if (p->ready_after >= 0 && n > p->ready_after) {
		x->out = 1000 + n;
		return WEFT_READY;
	}
	return WEFT_PENDING;
}

static void
fut_drop(struct weft_future *f)
{
	atomic_fetch_add(&((struct fut *)f)->p->drops, 1);
}

WEFT_FUTURE_VTABLE(fut_vtable, struct fut, out, fut_poll, fut_drop);

static struct weft_task *
spawn(struct queue *q, struct probe *p, struct weft_join **join)
{
	struct fut f = {.base.vtable = &fut_vtable, .p = p};
	struct weft_task *t = NULL;

	assert_int_equal(core->spawn(q->set, &f.base, &t, join), 0);
	q_schedule(q, t);
	return t;
}

/* ---- tests ---------------------------------------------------------- */

static void
completes_and_joins_output(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = 0};
	struct weft_context cx;
	struct weft_join *j;
	int out = 0;

	spawn(q, &p, &j);
	weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
	assert_int_equal(weft_join_poll(j, &cx, &out, sizeof(out)), 0);
	assert_int_equal(q_run_all(q), 1);
	assert_int_equal(p.drops, 1);
	assert_int_equal(weft_join_poll(j, &cx, &out, sizeof(out)), 1);
	assert_int_equal(out, 1001);
	assert_int_equal(weft_join_poll(j, &cx, &out, sizeof(out)),
	                 WEFT_ETAKEN);
	weft_join_release(j);
}

static void
wakes_coalesce(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = 1, .keep_waker = true};

	spawn(q, &p, NULL);
	q_run_all(q);
	assert_int_equal(p.polls, 1);
	for (int i = 0; i < 5; i++)
		weft_waker_wake_by_ref(&p.saved);
	assert_int_equal(q->schedules, 2); /* spawn + one wake */
	q_run_all(q);
	assert_int_equal(p.polls, 2);
	assert_int_equal(p.drops, 1);
	/* Waking a finished task is harmless. */
	weft_waker_wake_by_ref(&p.saved);
	assert_int_equal(q->schedules, 2);
	weft_waker_drop(&p.saved);
}

static void
wake_during_poll_polls_again(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = 1, .wake_inside = true};

	spawn(q, &p, NULL);
	assert_int_equal(q_run_all(q), 2);
	assert_int_equal(p.polls, 2);
	assert_int_equal(p.drops, 1);
}

static void
abort_drops_without_polling(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = -1, .keep_waker = true};
	struct weft_context cx;
	struct weft_join *j;
	int out;

	spawn(q, &p, &j);
	q_run_all(q);
	weft_join_abort(j);
	weft_join_abort(j);
	q_run_all(q);
	assert_int_equal(p.polls, 1);
	assert_int_equal(p.drops, 1);
	weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
	assert_int_equal(weft_join_poll(j, &cx, &out, sizeof(out)),
	                 WEFT_ECANCELED);
	weft_waker_wake(&p.saved);
	assert_int_equal(q_run_all(q), 0);
	weft_join_release(j);
}

static void
close_drops_idle_and_queued_once(void **state)
{
	struct queue *q = *state;
	struct probe idle = {.ready_after = -1, .keep_waker = true};
	struct probe queued = {.ready_after = -1};
	struct probe lost = {.ready_after = -1}; /* keeps no waker */
	struct fut f = {.base.vtable = &fut_vtable, .p = &idle};
	struct weft_task *t;

	spawn(q, &idle, NULL);
	spawn(q, &lost, NULL);
	q_run_all(q);
	spawn(q, &queued, NULL);
	core->set_close(q->set);
	assert_int_equal(idle.drops, 1);
	assert_int_equal(queued.drops, 1);
	assert_int_equal(lost.drops, 1);
	assert_int_equal(queued.polls, 0);
	/* Wakes after close do nothing; spawn after close fails and drops. */
	weft_waker_wake_by_ref(&idle.saved);
	weft_waker_drop(&idle.saved);
	assert_int_equal(core->spawn(q->set, &f.base, &t, NULL), WEFT_ECLOSED);
	assert_int_equal(idle.drops, 2);
}

static void
join_released_early_discards_output(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = 0};
	struct weft_join *j;

	spawn(q, &p, &j);
	weft_join_release(j);
	q_run_all(q);
	assert_int_equal(p.drops, 1);
}

static void
join_rejects_small_buffer(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = 0};
	struct weft_context cx;
	struct weft_join *j;
	char small;

	spawn(q, &p, &j);
	q_run_all(q);
	weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
	assert_int_equal(weft_join_poll(j, &cx, &small, 1), -EMSGSIZE);
	assert_int_equal(weft_join_poll(j, &cx, NULL, 0), 1);
	weft_join_release(j);
}

/* Wakers on four threads while the task runs: one poll at a time. */
struct storm {
	struct queue *q;
	struct probe *p;
	atomic_bool stop;
};

static void *
storm_waker(void *data)
{
	struct storm *s = data;

	for (int i = 0; i < 20000 && !atomic_load(&s->stop); i++) {
		struct weft_waker w = weft_waker_clone(&s->p->saved);
		weft_waker_wake(&w);
	}
	return NULL;
}

static void
foreign_wakes_never_poll_twice_at_once(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = 3000, .keep_waker = true};
	struct storm s = {.q = q, .p = &p};
	pthread_t th[4];

	spawn(q, &p, NULL);
	q_run_all(q); /* first poll stores the waker */
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, storm_waker, &s);
	for (int spins = 0; spins < 2000000 && p.drops == 0; spins++)
		q_run_all(q);
	atomic_store(&s.stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	q_run_all(q);
	assert_int_equal(p.concurrent, 0);
	assert_true(p.drops <= 1);
	weft_waker_drop(&p.saved);
}

/* ---- the waker's reference, the sharded set ------------------------- */

/* Wake by value on an idle task: its reference becomes the queue's. */
static void
wake_by_value_hands_over_its_reference(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = 2, .keep_waker = true};
	struct weft_waker w;

	spawn(q, &p, NULL);
	q_run_all(q);
	w = weft_waker_clone(&p.saved);
	weft_waker_wake(&w); /* idle: queued, with w's reference */
	assert_int_equal(q->schedules, 2);
	w = weft_waker_clone(&p.saved);
	weft_waker_wake(&w); /* already queued: w's reference goes */
	assert_int_equal(q->schedules, 2);
	assert_int_equal(q_run_all(q), 1);
	assert_int_equal(p.polls, 2);
	w = weft_waker_clone(&p.saved);
	weft_waker_wake(&w);
	assert_int_equal(q_run_all(q), 1);
	assert_int_equal(p.polls, 3);
	assert_int_equal(p.drops, 1);
	/* Finished: a wake by value only lets go; the last one frees. */
	w = weft_waker_clone(&p.saved);
	weft_waker_wake(&w);
	assert_int_equal(q->schedules, 3);
	weft_waker_wake(&p.saved);
	p.saved.vtable = NULL;
}

/* A future that wakes a clone of its waker by value during its poll. */
static weft_poll
self_waking_poll(struct weft_future *f, struct weft_context *cx)
{
	struct fut *x = (struct fut *)f;
	int n = atomic_fetch_add(&x->p->polls, 1) + 1;
	struct weft_waker w;

	if (n < 3) {
		w = weft_waker_clone(&cx->waker);
		weft_waker_wake(&w); /* while running: one more poll (W4) */
		return WEFT_PENDING;
	}
	x->out = n;
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE(self_waking_vtable, struct fut, out, self_waking_poll,
                   fut_drop);

static void
wake_by_value_during_poll_polls_again(void **state)
{
	struct queue *q = *state;
	struct probe p = {0};
	struct fut f = {.base.vtable = &self_waking_vtable, .p = &p};
	struct weft_context cx;
	struct weft_task *t;
	struct weft_join *j;
	int out = 0;

	assert_int_equal(core->spawn(q->set, &f.base, &t, &j), 0);
	q_schedule(q, t);
	assert_int_equal(q_run_all(q), 3);
	assert_int_equal(p.polls, 3);
	assert_int_equal(p.drops, 1);
	weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
	assert_int_equal(weft_join_poll(j, &cx, &out, sizeof(out)), 1);
	assert_int_equal(out, 3);
	weft_join_release(j);
}

/* A waker may outlive the set: its last drop frees the task. */
static void
waker_outlives_the_set(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = -1, .keep_waker = true};
	struct weft_task_set *set = q->set;
	struct weft_task *t;

	spawn(q, &p, NULL);
	q_run_all(q);
	core->set_close(set);
	while ((t = q_pop(q)))
		core->drop_runnable(t);
	assert_int_equal(p.drops, 1);
	assert_int_equal(core->set_free(set), 0);
	assert_int_equal(core->set_new(&q->set, q_schedule, q), 0);
	weft_waker_wake_by_ref(&p.saved);
	assert_int_equal(q_run_all(q), 0);
	weft_waker_drop(&p.saved);
}

static void
set_free_refuses_a_live_task(void **state)
{
	struct queue *q = *state;
	struct probe p = {.ready_after = -1};

	spawn(q, &p, NULL);
	q_run_all(q);
	assert_int_equal(core->set_free(q->set), -EBUSY);
	core->set_close(q->set);
	assert_int_equal(p.drops, 1);
}

/*
 * Threads spawn into their own shards and complete one another's tasks,
 * entries are freed and reused, then close drops the rest: every future
 * is dropped exactly once, and closing many tasks is quick.
 */
#define SPAWNERS    4
#define PER_SPAWNER 5000

struct many {
	struct queue *q;
	struct probe probes[SPAWNERS][PER_SPAWNER];
	atomic_int next;
};

static void *
many_spawner(void *data)
{
	struct many *m = data;
	int me = atomic_fetch_add(&m->next, 1);
	struct weft_context cx;
	struct weft_task *t;

	for (int i = 0; i < PER_SPAWNER; i++) {
		struct probe *p = &m->probes[me][i];

		/* Every third never finishes; the rest finish at once. */
		p->ready_after = i % 3 == 0 ? -1 : 0;
		spawn(m->q, p, NULL);
		/* Run whatever is queued, which may be another's task. */
		if ((t = q_pop(m->q))) {
			weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
			core->run(t, &cx);
		}
	}
	return NULL;
}

static void
sharded_set_drops_every_future_once(void **state)
{
	struct queue *q = *state;
	struct many *m = calloc(1, sizeof(*m));
	pthread_t th[SPAWNERS];
	struct weft_task *t;
	int finished = 0;

	m->q = q;
	for (int i = 0; i < SPAWNERS; i++)
		pthread_create(&th[i], NULL, many_spawner, m);
	for (int i = 0; i < SPAWNERS; i++)
		pthread_join(th[i], NULL);
	q_run_all(q);
	for (int i = 0; i < SPAWNERS; i++)
		for (int k = 0; k < PER_SPAWNER; k++)
			finished += m->probes[i][k].drops;
	assert_int_equal(finished,
	                 SPAWNERS * (PER_SPAWNER - (PER_SPAWNER + 2) / 3));
	assert_int_equal(core->set_free(q->set), -EBUSY);
	core->set_close(q->set);
	while ((t = q_pop(q)))
		core->drop_runnable(t);
	for (int i = 0; i < SPAWNERS; i++)
		for (int k = 0; k < PER_SPAWNER; k++) {
			assert_int_equal(m->probes[i][k].drops, 1);
			assert_int_equal(m->probes[i][k].concurrent, 0);
		}
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(completes_and_joins_output, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(wakes_coalesce, setup, teardown),
	    cmocka_unit_test_setup_teardown(wake_during_poll_polls_again, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(abort_drops_without_polling, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(close_drops_idle_and_queued_once,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(join_released_early_discards_output,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(join_rejects_small_buffer, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        foreign_wakes_never_poll_twice_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        wake_by_value_hands_over_its_reference, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        wake_by_value_during_poll_polls_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(waker_outlives_the_set, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(set_free_refuses_a_live_task, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(sharded_set_drops_every_future_once,
	                                    setup, teardown),
	};

	return cmocka_run_group_tests_name("task", tests, NULL, NULL);
}
