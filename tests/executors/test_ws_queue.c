/* SPDX-License-Identifier: MIT */
/*
 * The work-stealing executor's per-worker ring (executors/worksteal/
 * queue.c), linked in and tested alone, with made-up task pointers that
 * are never dereferenced.
 *
 * - A full ring spills its newer half and the pushed task, oldest first,
 *   and keeps the older half in order.
 * - An owner that pushes, spills and pops while a thief steals from it:
 *   every task comes out exactly once, from the ring, a steal or a spill.
 *   Bounded by a task count, not by time.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "queue.h"

/* Task i as a pointer: non-NULL, distinct, never dereferenced. */
static struct weft_task *
task_n(uint32_t i)
{
	return (struct weft_task *)(uintptr_t)(((uintptr_t)i + 1) * 16);
}


static uint32_t
task_index(struct weft_task *t)
{
	return (uint32_t)((uintptr_t)t / 16 - 1);
}


static void
test_full_ring_spills_newer_half(void **state)
{
	static struct weft__ws_local q;
	struct weft_task *over[WS_LOCAL_HALF + 1];
	uint32_t i, n;

	(void)state;
	weft__ws_local_init(&q);
	for (i = 0; i < WS_LOCAL_CAP; i++)
		assert_int_equal(weft__ws_local_push(&q, task_n(i), over), 0);
	assert_int_equal(weft__ws_local_len(&q), WS_LOCAL_CAP);

	n = weft__ws_local_push(&q, task_n(WS_LOCAL_CAP), over);
	assert_int_equal(n, WS_LOCAL_HALF + 1);
	/* The newer half, oldest first, then the task pushed. */
	for (i = 0; i < n; i++)
		assert_ptr_equal(over[i], task_n(WS_LOCAL_HALF + i));
	assert_int_equal(weft__ws_local_len(&q), WS_LOCAL_HALF);

	/* The older half stayed, in order, and the ring takes more. */
	assert_int_equal(weft__ws_local_push(&q, task_n(1000), over), 0);
	for (i = 0; i < WS_LOCAL_HALF; i++)
		assert_ptr_equal(weft__ws_local_pop(&q), task_n(i));
	assert_ptr_equal(weft__ws_local_pop(&q), task_n(1000));
	assert_null(weft__ws_local_pop(&q));
}


#define RACE_TASKS 200000u

struct race {
	struct weft__ws_local owner, thief;
	_Atomic uint8_t seen[RACE_TASKS];
	atomic_bool done;
	_Atomic uint32_t stolen;
};

static void
race_see(struct race *r, struct weft_task *t)
{
	uint32_t i = task_index(t);

	assert_true(i < RACE_TASKS);
	atomic_fetch_add_explicit(&r->seen[i], 1, memory_order_relaxed);
}


static void *
race_thief(void *arg)
{
	struct race *r = arg;
	struct weft_task *t;
	uint32_t n;

	/*
	 * Steal until the owner is done and its ring is empty; a steal
	 * needs an empty ring of our own, so drain it each time.
	 */
	for (;;) {
		bool done = atomic_load(&r->done);

		t = weft__ws_local_steal(&r->owner, &r->thief, &n);
		if (t) {
			atomic_fetch_add_explicit(&r->stolen, n,
			                          memory_order_relaxed);
			race_see(r, t);
			while ((t = weft__ws_local_pop(&r->thief)))
				race_see(r, t);
		} else if (done && weft__ws_local_len(&r->owner) == 0) {
			return NULL;
		}
	}
}


static void
test_spill_races_thief(void **state)
{
	struct race *r = calloc(1, sizeof(*r));
	struct weft_task *over[WS_LOCAL_HALF + 1], *t;
	uint32_t i, k, n, spills = 0;
	pthread_t th;

	(void)state;
	assert_non_null(r);
	weft__ws_local_init(&r->owner);
	weft__ws_local_init(&r->thief);
	assert_int_equal(pthread_create(&th, NULL, race_thief, r), 0);
	for (i = 0; i < RACE_TASKS; i++) {
		n = weft__ws_local_push(&r->owner, task_n(i), over);
		if (n)
			spills++;
		for (k = 0; k < n; k++)
			race_see(r, over[k]);
		/*
		 * Bursts of two rings' worth of pushes, then a run of pops:
		 * the ring overflows while the thief takes from it.
		 */
		if (i % (2 * WS_LOCAL_CAP) >= WS_LOCAL_CAP + WS_LOCAL_HALF &&
		    (t = weft__ws_local_pop(&r->owner)))
			race_see(r, t);
	}
	while ((t = weft__ws_local_pop(&r->owner)))
		race_see(r, t);
	atomic_store(&r->done, true);
	assert_int_equal(pthread_join(th, NULL), 0);

	for (i = 0; i < RACE_TASKS; i++)
		if (atomic_load(&r->seen[i]) != 1)
			fail_msg("task %u came out %u times", i,
			         (unsigned)atomic_load(&r->seen[i]));
	/* The race was run: the ring did overflow. */
	assert_true(spills > 0);
	print_message("spills %u, stolen %u\n", spills,
	              (unsigned)atomic_load(&r->stolen));
	free(r);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_ring_spills_newer_half),
	    cmocka_unit_test(test_spill_races_thief),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
