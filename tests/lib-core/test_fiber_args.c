/* SPDX-License-Identifier: MIT */
/*
 * <weft/await.h> and fiber options on bad input: every await answers
 * -EINVAL for a missing handle, from inside a fiber, and -EPERM outside
 * one, consuming what it was given; fiber options that cannot be met are
 * refused at init; a sleep of the largest millisecond count does not wrap
 * into a short one.
 *
 * A fiber's function never calls a cmocka assert (a failed one longjmps
 * out of the fiber's stack): it returns 0, or the line of the first check
 * that failed, and the test asserts that.
 */
#include <errno.h>

#include <weft/await.h>

#include "common.h"

/* Runs fn(arg) as a fiber on the test runtime; returns its result. */
static int
in_fiber(weft_fiber_fn fn, void *arg, const struct weft_fiber_opts *opts)
{
	struct weft_fiber f;
	int r;

	r = weft_fiber_init(&f, fn, arg, opts);
	if (r < 0) {
		weft_future_drop(&f.base);
		return r;
	}
	assert_int_equal(weft_block_on(rt, &f.base), 0);
	r = f.result;
	weft_future_drop(&f.base);
	return r;
}

static int
noop(void *arg)
{
	(void)arg;
	return 0;
}

static void
job(void *data)
{
	(void)data;
}

/* ---- -EINVAL inside a fiber ----------------------------------------- */

static int
null_handles(void *arg)
{
	struct weft_future empty = {0};
	struct weft_join *join = (struct weft_join *)&empty;
	struct weft_stream_range rg;
	int x;
	(void)arg;

	CHECK(weft_spawn_future(NULL, &join) == -EINVAL);
	CHECK(join == NULL);
	CHECK(weft_spawn_future(&empty, NULL) == -EINVAL);
	CHECK(weft_task_await(NULL, NULL, 0) == -EINVAL);
	CHECK(weft_spawn_blocking(NULL, NULL, 0) == -EINVAL);
	CHECK(weft_spawn_blocking(job, NULL, 4) == -EINVAL);
	CHECK(weft_timeout_await(NULL, WEFT_MSEC) == -EINVAL);
	CHECK(weft_timeout_await(&empty, WEFT_MSEC) == -EINVAL);
	CHECK(weft_timeout_at_await(NULL, 0) == -EINVAL);
	CHECK(weft_timeout_at_await(&empty, 0) == -EINVAL);
	CHECK(weft_interval_tick_await(NULL) == -EINVAL);
	CHECK(weft_join_fibers(NULL, 2) == -EINVAL);
	CHECK(weft_joinset_spawn_fiber(NULL, noop, NULL, NULL) == -EINVAL);
	CHECK(weft_joinset_next_await(NULL, NULL, 0) == -EINVAL);
	CHECK(weft_mpsc_send_await(NULL, &x) == -EINVAL);
	CHECK(weft_mpsc_recv_await(NULL, &x) == -EINVAL);
	CHECK(weft_oneshot_recv_await(NULL, &x) == -EINVAL);
	CHECK(weft_watch_changed_await(NULL) == -EINVAL);
	CHECK(weft_cancelled_await(NULL) == -EINVAL);
	CHECK(weft_stream_next_await(NULL, &x) == -EINVAL);
	/* Items of 8 bytes need somewhere to go. */
	weft_stream_range_init(&rg, 0, 1);
	CHECK(weft_stream_next_await(&rg.base, NULL) == -EINVAL);
	CHECK(weft_mutex_lock_await(NULL) == -EINVAL);
	CHECK(weft_broadcast_recv_await(NULL, &x, NULL) == -EINVAL);
	CHECK(weft_tracker_spawn_fiber(NULL, noop, NULL, &join) == -EINVAL);
	CHECK(join == NULL);
	CHECK(weft_tracker_wait_await(NULL) == -EINVAL);
	/* The range was never consumed: it still yields its item. */
	CHECK(weft_stream_next_await(&rg.base, &(int64_t){0}) == 1);
	weft_stream_drop(&rg.base);
	return 0;
}

static void
await_null_handles(void **state)
{
	(void)state;
	assert_int_equal(in_fiber(null_handles, NULL, NULL), 0);
}

/* ---- more futures than a variadic call takes ------------------------ */

static int
too_many(void *arg)
{
	struct weft_ready r[WEFT_COMBINATOR_INLINE + 1];
	int *dropped = arg;
	(void)dropped;

	for (int i = 0; i <= WEFT_COMBINATOR_INLINE; i++)
		weft_ready_init(&r[i], 0, (union weft_value){.i = i});
	CHECK(weft_try_join_await(WEFT_COMBINATOR_INLINE + 1, &r[0].base,
	                          &r[1].base, &r[2].base, &r[3].base,
	                          &r[4].base, &r[5].base, &r[6].base,
	                          &r[7].base, &r[8].base) == -E2BIG);
	/* Consumed in every case: each was dropped. */
	for (int i = 0; i <= WEFT_COMBINATOR_INLINE; i++)
		CHECK(weft_future_is_empty(&r[i].base));
	for (int i = 0; i <= WEFT_COMBINATOR_INLINE; i++)
		weft_ready_init(&r[i], 0, (union weft_value){.i = i});
	CHECK(weft_select_await(0, WEFT_COMBINATOR_INLINE + 1, &r[0].base,
	                        &r[1].base, &r[2].base, &r[3].base, &r[4].base,
	                        &r[5].base, &r[6].base, &r[7].base,
	                        &r[8].base) == -E2BIG);
	for (int i = 0; i <= WEFT_COMBINATOR_INLINE; i++)
		CHECK(weft_future_is_empty(&r[i].base));
	return 0;
}

static void
await_too_many(void **state)
{
	(void)state;
	assert_int_equal(in_fiber(too_many, NULL, NULL), 0);
}

/* ---- the largest sleep ---------------------------------------------- */

static int
sleep_forever(void *arg)
{
	(void)arg;
	/* ms * WEFT_MSEC would wrap; it must saturate instead. */
	return weft_sleep_ms(UINT64_MAX) == WEFT_ECANCELED ? 0 : -1;
}

static int
sleep_short(void *arg)
{
	(void)arg;
	return weft_sleep_ms(20);
}

static int
race_sleeps(void *arg)
{
	const struct weft_fiber_call calls[] = {
	    {sleep_forever, NULL},
	    {sleep_short, NULL},
	};
	(void)arg;

	/* The short one wins; the endless one is dropped. */
	CHECK(weft_select_fibers(WEFT_SELECT_BIASED, calls, 2) == 1);
	return 0;
}

static void
await_largest_sleep(void **state)
{
	(void)state;
	assert_int_equal(in_fiber(race_sleeps, NULL, NULL), 0);
}

/* ---- outside any fiber ---------------------------------------------- */

static void
await_outside_fiber(void **state)
{
	const struct weft_fiber_call calls[] = {{noop, NULL}};
	struct weft_join *join = (struct weft_join *)calls;
	struct weft_joinset *set;
	struct weft_tracker *t;
	struct weft_ready r;
	(void)state;

	assert_false(weft_in_fiber());
	/* Outside a fiber the clock is read directly. */
	assert_true(weft_now() > 0);
	weft_ready_init(&r, 0, (union weft_value){.i = 0});
	assert_int_equal(weft_spawn_future(&r.base, &join), -EPERM);
	assert_null(join);
	/* Refused, but consumed. */
	assert_true(weft_future_is_empty(&r.base));
	assert_int_equal(weft_spawn_blocking(job, NULL, 0), -EPERM);
	assert_int_equal(weft_join_fibers(calls, 1), -EPERM);
	assert_int_equal(weft_ctrl_c(), -EPERM);
	assert_int_equal(weft_joinset_new(&set), 0);
	assert_int_equal(weft_joinset_spawn_fiber(set, noop, NULL, NULL),
	                 -EPERM);
	assert_int_equal(weft_joinset_len(set), 0);
	weft_joinset_free(set);
	assert_int_equal(weft_tracker_new(&t, NULL), 0);
	assert_int_equal(weft_tracker_spawn_fiber(t, noop, NULL, &join),
	                 -EPERM);
	assert_int_equal(weft_tracker_len(t), 0);
	weft_tracker_free(t);
}

/* ---- fiber options -------------------------------------------------- */

static int
deep(void *arg)
{
	volatile char buf[48 * 1024];

	/* Uses most of a 64 KiB stack. */
	for (size_t i = 0; i < sizeof(buf); i += 512)
		buf[i] = (char)(i / 512);
	return buf[sizeof(buf) - 512] - 95 + *(int *)arg;
}

static void
fiber_options(void **state)
{
	struct weft_fiber_opts o;
	struct weft_fiber f;
	size_t live;
	int r;
	int one = 1;
	(void)state;

	/* Options from a build that predates guard_size. */
	weft_fiber_opts_init(&o);
	o.size = offsetof(struct weft_fiber_opts, guard_size);
	assert_int_equal(weft_fiber_init(&f, noop, NULL, &o), -EINVAL);
	assert_int_equal(f.result, -EINVAL);
	weft_future_drop(&f.base);
	/* Sizes whose rounding overflows. */
	weft_fiber_opts_init(&o);
	o.stack_size = SIZE_MAX;
	assert_int_equal(weft_fiber_init(&f, noop, NULL, &o), -EINVAL);
	weft_future_drop(&f.base);
	weft_fiber_opts_init(&o);
	o.guard_size = SIZE_MAX;
	assert_int_equal(weft_fiber_init(&f, noop, NULL, &o), -EINVAL);
	weft_future_drop(&f.base);
	weft_fiber_opts_init(&o);
	o.stack_size = SIZE_MAX - 8 * 4096;
	o.guard_size = 16 * 4096;
	assert_int_equal(weft_fiber_init(&f, noop, NULL, &o), -EINVAL);
	weft_future_drop(&f.base);
	/* More address space than there is. */
	weft_fiber_opts_init(&o);
	o.stack_size = SIZE_MAX / 2;
	r = weft_fiber_init(&f, noop, NULL, &o);
	/* Valgrind's mmap refuses a size it cannot track with EINVAL. */
	if (getenv("WEFT_UNDER_VALGRIND") && r == -EINVAL)
		r = -ENOMEM;
	assert_int_equal(r, -ENOMEM);
	weft_future_drop(&f.base);
	/* A failed init leaves a future that completes with the error. */
	weft_fiber_opts_init(&o);
	o.size = 0;
	assert_int_equal(
	    weft_fiber_spawn(weft_runtime_executor(rt), noop, NULL, &o, NULL),
	    -EINVAL);

	/* Made, then dropped without ever running: its stack goes back. */
	live = weft_fiber_live();
	assert_int_equal(weft_fiber_init(&f, noop, NULL, NULL), 0);
	assert_int_equal(weft_fiber_live(), live + 1);
	weft_future_drop(&f.base);
	assert_int_equal(weft_fiber_live(), live);

	/* A stack and a guard of the caller's size: the fiber runs. */
	weft_fiber_opts_init(&o);
	o.stack_size = 64 * 1024;
	o.guard_size = 3 * 4096;
	assert_int_equal(in_fiber(deep, &one, &o), 1);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(await_null_handles),
	    cmocka_unit_test(await_too_many),
	    cmocka_unit_test(await_largest_sleep),
	    cmocka_unit_test(await_outside_fiber),
	    cmocka_unit_test(fiber_options),
	};

	return run_group(argc, argv, "fiber_args", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
