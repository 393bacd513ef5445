/* SPDX-License-Identifier: MIT */
/* The blocking pool: jobs run off-thread, wake their waker, and closing the
 * pool runs what is queued and joins every thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(runs_off_thread_and_wakes),
	};

	return cmocka_run_group_tests_name("blocking", tests, NULL, NULL);
}
