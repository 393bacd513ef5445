/* SPDX-License-Identifier: MIT */
/* The blocking pool: jobs run off-thread, wake their waker, and closing the
 * pool runs what is queued and joins every thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

static atomic_int ran, woken;

static void
count_wake(const void *data)
{
	(void)data;
	atomic_fetch_add(&woken, 1);
}

static void
nothing(const void *data)
{
	(void)data;
}

static struct weft_waker counting_clone(const void *data);

static const struct weft_waker_vtable counting = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = counting_clone,
    .wake = count_wake,
    .wake_by_ref = count_wake,
    .drop = nothing,
};

static struct weft_waker
counting_clone(const void *data)
{
	return (struct weft_waker){&counting, data};
}

static void
job(void *arg)
{
	usleep(1000);
	atomic_fetch_add(&ran, 1);
	*(pthread_t *)arg = pthread_self();
}

static void
runs_off_thread_and_wakes(void **state)
{
	struct weft__blocking *b;
	pthread_t where[50];
	(void)state;

	atomic_store(&ran, 0);
	atomic_store(&woken, 0);
	assert_int_equal(weft__blocking_new(&b, 4), 0);
	for (int i = 0; i < 50; i++) {
		struct weft_waker w = {&counting, NULL};
		assert_int_equal(weft__blocking_spawn(b, job, &where[i], &w),
		                 0);
		assert_null(w.vtable); /* moved in */
	}
	weft__blocking_free(b); /* runs what is queued, joins */
	assert_int_equal(ran, 50);
	assert_int_equal(woken, 50);
	for (int i = 0; i < 50; i++)
		assert_false(pthread_equal(where[i], pthread_self()));
}

/* ---- close with a time limit ---------------------------------------- */

/* An allocator that counts what is live, to see the pool freed at last. */
static atomic_int live_allocs;

static void *
counting_alloc(void *ud, size_t size)
{
	(void)ud;
	atomic_fetch_add(&live_allocs, 1);
	return malloc(size);
}

static void
counting_free(void *ud, void *p)
{
	(void)ud;
	atomic_fetch_sub(&live_allocs, 1);
	free(p);
}

static atomic_int slow_done;

static void
slow_job(void *arg)
{
	usleep((useconds_t)(uintptr_t)arg);
	atomic_fetch_add(&slow_done, 1);
}

/* Polls cond for up to 10 s: the bound keeps a broken pool from hanging. */
static bool
wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 10000 && atomic_load(v) != want; i++)
		usleep(1000);
	return atomic_load(v) == want;
}

static void
close_timeout_detaches_busy_threads(void **state)
{
	struct weft__blocking *b;
	(void)state;

	atomic_store(&woken, 0);
	atomic_store(&slow_done, 0);
	atomic_store(&live_allocs, 0);
	{
		/* Goes out of scope long before the threads are done. */
		struct weft_allocator a = {WEFT_ALLOCATOR_VERSION,
		                           counting_alloc, counting_free, NULL};

		assert_int_equal(weft__blocking_new_with(&b, 1, &a), 0);
	}
	for (int i = 0; i < 2; i++) {
		struct weft_waker w = {&counting, NULL};

		/* One thread: the second job waits in the queue. */
		assert_int_equal(
		    weft__blocking_spawn(b, slow_job,
		                         (void *)(uintptr_t)1500000, &w),
		    0);
	}
	assert_int_equal(weft__blocking_close_timeout(b, 50 * 1000000ull),
	                 WEFT_ETIMEDOUT);
	/* The job sleeps 1.5 s: close did not wait for it. */
	assert_int_equal(atomic_load(&slow_done), 0);
	/* Settled: a later close does not wait either, and says the same. */
	assert_int_equal(weft__blocking_close_timeout(b, UINT64_MAX),
	                 WEFT_ETIMEDOUT);
	weft__blocking_free(b); /* the owner lets go; the thread keeps b */
	assert_true(atomic_load(&live_allocs) > 0);
	/* Both jobs (the queued one too) run and wake; then b is freed. */
	assert_true(wait_for(&slow_done, 2));
	assert_true(wait_for(&woken, 2));
	assert_true(wait_for(&live_allocs, 0));
}

static void
close_timeout_joins_when_in_time(void **state)
{
	struct weft__blocking *b;
	(void)state;

	atomic_store(&woken, 0);
	atomic_store(&slow_done, 0);
	assert_int_equal(weft__blocking_new(&b, 4), 0);
	for (int i = 0; i < 8; i++) {
		struct weft_waker w = {&counting, NULL};

		assert_int_equal(weft__blocking_spawn(
		                     b, slow_job, (void *)(uintptr_t)1000, &w),
		                 0);
	}
	assert_int_equal(weft__blocking_close_timeout(b, 60 * 1000000000ull),
	                 0);
	assert_int_equal(atomic_load(&slow_done), 8);
	assert_int_equal(atomic_load(&woken), 8);
	assert_int_equal(weft__blocking_close_timeout(b, 0), 0);
	{
		struct weft_waker w = {&counting, NULL};

		assert_int_equal(weft__blocking_spawn(b, slow_job, NULL, &w),
		                 WEFT_ECLOSED);
		assert_non_null(w.vtable); /* still the caller's */
	}
	weft__blocking_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(runs_off_thread_and_wakes),
	    cmocka_unit_test(close_timeout_detaches_busy_threads),
	    cmocka_unit_test(close_timeout_joins_when_in_time),
	};

	return cmocka_run_group_tests_name("blocking", tests, NULL, NULL);
}
