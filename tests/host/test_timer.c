/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the driver's timer heap (runtime/timer.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "timer.h"

/*
 * A waker whose data is a small integer: the tests read back which timer a
 * popped waker belongs to.  Live clones are counted so that leaks show.
 */
static int wakers_alive;
static int wakes;

static struct weft_waker tag_clone(const void *data);

static void
tag_wake(const void *data)
{
	(void)data;
	wakes++;
	wakers_alive--;
}


static void
tag_wake_by_ref(const void *data)
{
	(void)data;
	wakes++;
}


static void
tag_drop(const void *data)
{
	(void)data;
	wakers_alive--;
}


static const struct weft_waker_vtable tag_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = tag_clone,
    .wake = tag_wake,
    .wake_by_ref = tag_wake_by_ref,
    .drop = tag_drop,
};

static struct weft_waker
tag_clone(const void *data)
{
	wakers_alive++;
	return (struct weft_waker){&tag_vtable, data};
}


/* A borrowed waker, as cx->waker would be: not counted. */
static struct weft_waker
tag(uintptr_t n)
{
	return (struct weft_waker){&tag_vtable, (const void *)n};
}


static int
reset(void **state)
{
	(void)state;
	wakers_alive = 0;
	wakes = 0;
	return 0;
}


static void
pops_in_deadline_order(void **state)
{
	struct weft__timers t;
	struct weft_waker w, old;
	uint64_t id, last = 0;
	int i, popped = 0;

	(void)state;
	weft__timer_init(&t, 7);
	srand(1);
	for (i = 0; i < 1000; i++) {
		uint64_t deadline = (uint64_t)(rand() % 5000) + 1;
		struct weft_waker mine = tag(deadline);

		assert_int_equal(weft__timer_add(&t, deadline, &id), 0);
		assert_int_equal(weft__timer_set_waker(&t, id, &mine, &old), 0);
		assert_null(old.vtable);
	}
	assert_true(weft__timer_check(&t));
	while (weft__timer_pop(&t, UINT64_MAX - 1, &w)) {
		uint64_t deadline = (uint64_t)(uintptr_t)w.data;

		assert_true(deadline >= last);
		last = deadline;
		weft_waker_drop(&w);
		popped++;
	}
	assert_int_equal(popped, 1000);
	assert_int_equal(weft__timer_next_deadline(&t), WEFT__TIMER_NONE);
	weft__timer_fini(&t);
	assert_int_equal(wakers_alive, 0);
}


static void
cancel_arbitrary_entries(void **state)
{
	struct weft__timers t;
	uint64_t ids[300];
	struct weft_waker w, old;
	int i, popped = 0;

	(void)state;
	weft__timer_init(&t, 0);
	for (i = 0; i < 300; i++) {
		/* Interleaved deadlines spread the cancelled ones about. */
		uint64_t deadline = (uint64_t)((i * 7919) % 300) + 1;
		struct weft_waker mine = tag((uintptr_t)i);

		assert_int_equal(weft__timer_add(&t, deadline, &ids[i]), 0);
		weft__timer_set_waker(&t, ids[i], &mine, &old);
	}
	for (i = 0; i < 300; i += 3) {
		assert_int_equal(weft__timer_del(&t, ids[i], &w), 0);
		assert_int_equal((uintptr_t)w.data, (uintptr_t)i);
		weft_waker_drop(&w);
		assert_true(weft__timer_check(&t));
	}
	assert_int_equal(weft__timer_del(&t, ids[0], NULL), -ENOENT);
	while (weft__timer_pop(&t, UINT64_MAX - 1, &w)) {
		assert_int_not_equal((uintptr_t)w.data % 3, 0);
		weft_waker_drop(&w);
		popped++;
	}
	assert_int_equal(popped, 200);
	/* Fired timers stay alive until deleted. */
	assert_int_equal(weft__timer_state(&t, ids[1], NULL), 1);
	for (i = 0; i < 300; i++)
		if (i % 3)
			assert_int_equal(weft__timer_del(&t, ids[i], NULL), 0);
	assert_true(weft__timer_check(&t));
	weft__timer_fini(&t);
	assert_int_equal(wakers_alive, 0);
}


struct live {
	uint64_t id;
	uint64_t deadline;
};

static uint64_t
min_deadline(const struct live *live, int n)
{
	uint64_t m = WEFT__TIMER_NONE;
	int i;

	for (i = 0; i < n; i++)
		if (live[i].deadline < m)
			m = live[i].deadline;
	return m;
}


static void
random_add_cancel_keeps_invariants(void **state)
{
	enum { OPS = 100000, MAX_LIVE = 4096 };
	struct live *live = calloc(MAX_LIVE, sizeof(*live));
	struct weft__timers t;
	int op, n = 0;

	(void)state;
	assert_non_null(live);
	weft__timer_init(&t, 12345);
	srand(42);
	for (op = 0; op < OPS; op++) {
		bool add = n == 0 || (n < MAX_LIVE && rand() % 100 < 55);

		if (add) {
			live[n].deadline = (uint64_t)(rand() % 100000);
			assert_int_equal(
			    weft__timer_add(&t, live[n].deadline, &live[n].id),
			    0);
			assert_int_not_equal(live[n].id, 0);
			n++;
		} else {
			int k = rand() % n;

			assert_int_equal(weft__timer_del(&t, live[k].id, NULL),
			                 0);
			assert_int_equal(
			    weft__timer_state(&t, live[k].id, NULL), -ENOENT);
			live[k] = live[--n];
		}
		if (op % 97 == 0)
			assert_int_equal(weft__timer_next_deadline(&t),
			                 min_deadline(live, n));
		if (op % 1000 == 0)
			assert_true(weft__timer_check(&t));
	}
	assert_true(weft__timer_check(&t));
	assert_int_equal(weft__timer_next_deadline(&t), min_deadline(live, n));
	weft__timer_fini(&t);
	free(live);
}


static void
never_fires_before_deadline(void **state)
{
	struct weft__timers t;
	struct weft_waker w;
	uint64_t id, deadline;

	(void)state;
	weft__timer_init(&t, 1);
	assert_int_equal(weft__timer_add(&t, 1000000, &id), 0);
	assert_false(weft__timer_pop(&t, 0, &w));
	assert_false(weft__timer_pop(&t, 999999, &w));
	assert_int_equal(weft__timer_state(&t, id, &deadline), 0);
	assert_int_equal(deadline, 1000000);
	assert_true(weft__timer_pop(&t, 1000000, &w));
	assert_null(w.vtable);
	assert_int_equal(weft__timer_state(&t, id, NULL), 1);
	assert_false(weft__timer_pop(&t, UINT64_MAX, &w));
	assert_int_equal(weft__timer_del(&t, id, NULL), 0);
	weft__timer_fini(&t);
}


static void
ids_are_not_reused(void **state)
{
	enum { ROUNDS = 10000 };
	uint64_t *seen = calloc(ROUNDS, sizeof(*seen));
	struct weft__timers t;
	uint64_t keep;
	int i, j;

	(void)state;
	assert_non_null(seen);
	weft__timer_init(&t, 0);
	assert_int_equal(weft__timer_add(&t, 5, &keep), 0);
	/* The same slot over and over: the generation must tell them apart. */
	for (i = 0; i < ROUNDS; i++) {
		assert_int_equal(weft__timer_add(&t, 10, &seen[i]), 0);
		assert_int_not_equal(seen[i], 0);
		assert_int_not_equal(seen[i], keep);
		assert_int_equal(weft__timer_del(&t, seen[i], NULL), 0);
	}
	for (i = 0; i < ROUNDS; i++)
		for (j = i + 1; j < i + 50 && j < ROUNDS; j++)
			assert_int_not_equal(seen[i], seen[j]);
	for (i = 0; i < ROUNDS; i++)
		assert_int_equal(weft__timer_state(&t, seen[i], NULL), -ENOENT);
	assert_int_equal(weft__timer_state(&t, 0, NULL), -ENOENT);
	assert_int_equal(weft__timer_state(&t, keep, NULL), 0);
	weft__timer_fini(&t);
	free(seen);
}


static void
set_waker_replaces_and_fini_drops(void **state)
{
	struct weft__timers t;
	struct weft_waker a = tag(1), b = tag(2), old;
	uint64_t id;

	(void)state;
	weft__timer_init(&t, 0);
	assert_int_equal(weft__timer_add(&t, 100, &id), 0);
	weft__timer_set_waker(&t, id, &a, &old);
	assert_null(old.vtable);
	assert_int_equal(wakers_alive, 1);
	/* The same task again: nothing is cloned or handed back. */
	weft__timer_set_waker(&t, id, &a, &old);
	assert_null(old.vtable);
	assert_int_equal(wakers_alive, 1);
	weft__timer_set_waker(&t, id, &b, &old);
	assert_int_equal((uintptr_t)old.data, 1);
	weft_waker_drop(&old);
	assert_int_equal(weft__timer_set_waker(&t, id + 1, &b, &old), -ENOENT);
	weft__timer_fini(&t);
	assert_int_equal(wakers_alive, 0);
	assert_int_equal(wakes, 0);
}


/*
 * weft__timer_reset: earlier, later, after firing; the waker moves with
 * the timer, nothing fires before its new deadline, and the wheel stays
 * consistent across levels (deadlines near and far).
 */
static void
reset_moves_deadline_and_keeps_waker(void **state)
{
	struct weft__timers t;
	struct weft_waker a = tag(1), b = tag(2), w, old;
	uint64_t ida, idb, deadline;

	(void)state;
	weft__timer_init(&t, 3);
	assert_int_equal(weft__timer_add_waker(&t, 1000000, &ida, &a), 0);
	assert_int_equal(weft__timer_add_waker(&t, 2000000, &idb, &b), 0);
	assert_int_equal(wakers_alive, 2);

	/* Later, to a far level: nothing fires at the old deadline. */
	assert_int_equal(weft__timer_reset(&t, ida, 5000000000ull), 0);
	assert_true(weft__timer_check(&t));
	assert_int_equal(weft__timer_state(&t, ida, &deadline), 0);
	assert_int_equal(deadline, 5000000000ull);
	assert_true(weft__timer_pop(&t, 4999999999ull, &w));
	assert_int_equal((uintptr_t)w.data, 2); /* b, at its own deadline */
	weft_waker_drop(&w);
	assert_false(weft__timer_pop(&t, 4999999999ull, &w));

	/* Earlier again: fires at the new deadline, never before, with a. */
	assert_int_equal(weft__timer_reset(&t, ida, 4999999999ull + 100), 0);
	assert_true(weft__timer_check(&t));
	assert_false(weft__timer_pop(&t, 4999999999ull + 99, &w));
	assert_true(weft__timer_pop(&t, 4999999999ull + 100, &w));
	assert_int_equal((uintptr_t)w.data, 1);
	weft_waker_drop(&w);
	assert_int_equal(weft__timer_state(&t, ida, NULL), 1);

	/* After firing: pending again, with no waker until one is set. */
	assert_int_equal(weft__timer_reset(&t, ida, 6000000000ull), 0);
	assert_int_equal(weft__timer_state(&t, ida, &deadline), 0);
	assert_int_equal(deadline, 6000000000ull);
	assert_true(weft__timer_check(&t));
	assert_false(weft__timer_pop(&t, 5999999999ull, &w));
	assert_int_equal(weft__timer_set_waker(&t, ida, &a, &old), 0);
	assert_null(old.vtable);
	/* Into the past: due at once. */
	assert_int_equal(weft__timer_reset(&t, ida, 10), 0);
	assert_true(weft__timer_check(&t));
	assert_true(weft__timer_pop(&t, 5000000000ull, &w));
	assert_int_equal((uintptr_t)w.data, 1);
	weft_waker_drop(&w);

	assert_int_equal(weft__timer_reset(&t, ida ^ (2ull << 32), 5), -ENOENT);
	assert_int_equal(weft__timer_del(&t, idb, NULL), 0);
	assert_int_equal(weft__timer_reset(&t, idb, 5), -ENOENT);
	/* A reset timer that is deleted hands its waker back. */
	assert_int_equal(weft__timer_reset(&t, ida, 7000000000ull), 0);
	assert_int_equal(weft__timer_set_waker(&t, ida, &b, &old), 0);
	assert_int_equal(weft__timer_del(&t, ida, &w), 0);
	assert_int_equal((uintptr_t)w.data, 2);
	weft_waker_drop(&w);
	assert_true(weft__timer_check(&t));
	weft__timer_fini(&t);
	assert_int_equal(wakers_alive, 0);
	assert_int_equal(wakes, 0);
}


/* Many timers reset at random, fired and reset again: never early. */
static void
random_resets_never_fire_early(void **state)
{
	enum { N = 2000 };
	static uint64_t ids[N], due[N];
	struct weft__timers t;
	struct weft_waker w;
	uint64_t now = 0;
	int i, round, fired = 0;

	(void)state;
	weft__timer_init(&t, 11);
	srand(5);
	for (i = 0; i < N; i++) {
		struct weft_waker mine = tag((uintptr_t)i + 1);

		due[i] = (uint64_t)(rand() % 100000000) + 1;
		assert_int_equal(
		    weft__timer_add_waker(&t, due[i], &ids[i], &mine), 0);
	}
	for (round = 0; round < 50; round++) {
		for (i = 0; i < N / 10; i++) {
			int k = rand() % N;

			struct weft_waker mine = tag((uintptr_t)k + 1), old;

			due[k] = now + (uint64_t)(rand() % 100000000);
			assert_int_equal(weft__timer_reset(&t, ids[k], due[k]),
			                 0);
			/* A fired one has lost its waker: store it again. */
			assert_int_equal(
			    weft__timer_set_waker(&t, ids[k], &mine, &old), 0);
			assert_null(old.vtable);
		}
		assert_true(weft__timer_check(&t));
		now += 3000000;
		while (weft__timer_pop(&t, now, &w)) {
			assert_non_null(w.vtable);
			i = (int)(uintptr_t)w.data - 1;
			weft_waker_drop(&w);
			assert_true(due[i] <= now);
			fired++;
		}
	}
	assert_true(fired > 0);
	weft__timer_fini(&t);
	assert_int_equal(wakers_alive, 0);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(pops_in_deadline_order, reset),
	    cmocka_unit_test_setup(cancel_arbitrary_entries, reset),
	    cmocka_unit_test_setup(random_add_cancel_keeps_invariants, reset),
	    cmocka_unit_test_setup(never_fires_before_deadline, reset),
	    cmocka_unit_test_setup(ids_are_not_reused, reset),
	    cmocka_unit_test_setup(set_waker_replaces_and_fini_drops, reset),
	    cmocka_unit_test_setup(reset_moves_deadline_and_keeps_waker, reset),
	    cmocka_unit_test_setup(random_resets_never_fire_early, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
