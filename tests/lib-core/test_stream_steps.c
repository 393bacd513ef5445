/* SPDX-License-Identifier: MIT */
/*
 * The stream sources and adapters, collect and the interval, polled step
 * by step with a hand-made context: an exhausted budget, an error item,
 * an inner stream that ends early, an empty slot, a vector that cannot
 * grow, a context without a driver.
 */
#include <errno.h>

#include <weft/stream.h>
#include <weft/time.h>

#include "common.h"

static int
fail_third(void *state, void *item)
{
	int *n = state;

	if (++*n == 3)
		return -EIO;
	if (*n > 4)
		return 0;
	*(int *)item = *n;
	return 1;
}

static bool
is_big(const void *item, void *arg)
{
	return *(const int64_t *)item >= *(const int64_t *)arg;
}

static void
times_ten(const void *in, void *out, void *arg)
{
	(void)arg;
	*(int64_t *)out = *(const int64_t *)in * 10;
}

static void
stream_sources(void **state)
{
	struct weft_context cx = step_context(NULL);
	struct weft_stream_range rg;
	struct weft_stream_iter it;
	int64_t v;
	int n = 0, item = 0;
	(void)state;

	/* An error item, then items again, then the end for good. */
	weft_stream_iter_init(&it, sizeof(int), fail_third, &n);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item), -EIO);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(item, 4);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_END);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_END);
	assert_int_equal(n, 5); /* next is not called after the end */

	/* No budget: pending and woken, nothing taken. */
	n = 0;
	weft_stream_iter_init(&it, sizeof(int), fail_third, &n);
	cx.budget = 0;
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_PENDING);
	assert_int_equal(n, 0);
	weft_stream_range_init(&rg, 5, 7);
	assert_int_equal(weft_stream_poll_next(&rg.base, &cx, &v),
	                 WEFT_PENDING);
	assert_int_equal(step_wake_refs, 2);
	cx.budget = 8;
	assert_int_equal(weft_stream_poll_next(&rg.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 5);
	weft_stream_drop(&rg.base);
	weft_stream_drop(&it.base);
}

static void
stream_adapters(void **state)
{
	struct weft_context cx = step_context(NULL);
	struct weft_stream_range rg;
	struct weft_stream_filter fl;
	struct weft_stream_map mp;
	struct weft_stream_take tk;
	struct weft_stream_iter it;
	int64_t min = 50, v;
	int n = 0, item;
	(void)state;

	/* A filter that rejects a long run gives the thread back. */
	weft_stream_range_init(&rg, 0, 100);
	weft_stream_filter_init(&fl, &rg.base, is_big, &min);
	cx.budget = 10;
	assert_int_equal(weft_stream_poll_next(&fl.base, &cx, &v),
	                 WEFT_PENDING);
	assert_int_equal(step_wake_refs, 1);
	for (int i = 0; i < 10; i++) {
		cx.budget = 64;
		if (weft_stream_poll_next(&fl.base, &cx, &v) ==
		    WEFT_STREAM_ITEM)
			break;
	}
	assert_int_equal(v, 50);

	/* take stops at n, passes errors through, ends with its inner. */
	weft_stream_take_init(&tk, &fl.base, 2);
	cx.budget = 64;
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 51);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &v),
	                 WEFT_STREAM_END);
	weft_stream_drop(&tk.base);
	assert_true(weft_stream_is_empty(&fl.base));
	assert_true(weft_stream_is_empty(&rg.base));

	weft_stream_iter_init(&it, sizeof(int), fail_third, &n);
	weft_stream_take_init(&tk, &it.base, 10);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item), -EIO);
	assert_int_equal(tk.left, 8); /* an error is not an item */
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_END);
	assert_int_equal(tk.left, 0);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_END);
	weft_stream_drop(&tk.base);

	/* map: pending and end pass through without calling fn. */
	weft_stream_range_init(&rg, 1, 2);
	weft_stream_map_init(&mp, &rg.base, sizeof(int64_t), times_ten, NULL);
	cx.budget = 0;
	assert_int_equal(weft_stream_poll_next(&mp.base, &cx, &v),
	                 WEFT_PENDING);
	cx.budget = 8;
	assert_int_equal(weft_stream_poll_next(&mp.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 10);
	assert_int_equal(weft_stream_poll_next(&mp.base, &cx, &v),
	                 WEFT_STREAM_END);
	weft_stream_drop(&mp.base);
}

static const struct weft_stream_vtable no_poll_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
};

static void
stream_empty_slots(void **state)
{
	struct weft_context cx = step_context(NULL);
	struct weft_stream empty = {0}, no_poll = {&no_poll_vtable, 1};
	struct weft_stream_next nx;
	struct weft_vec vec = {.item_size = 0};
	char c;
	(void)state;

	assert_int_equal(weft_stream_poll_next(NULL, &cx, &c), WEFT_ENOTSUP);
	assert_int_equal(weft_stream_poll_next(&empty, &cx, &c), WEFT_ENOTSUP);
	assert_int_equal(weft_stream_poll_next(&no_poll, &cx, &c),
	                 WEFT_ENOTSUP);
	/* next reports the error item as its status. */
	weft_stream_next_init(&nx, &no_poll, &c);
	assert_int_equal(weft_future_poll(&nx.base, &cx), WEFT_READY);
	assert_int_equal(nx.status, WEFT_ENOTSUP);
	weft_future_drop(&nx.base);
	/* Dropping a NULL, empty or vtable-only stream does nothing. */
	weft_stream_drop(NULL);
	weft_stream_drop(&empty);
	weft_stream_drop(&no_poll);
	assert_true(weft_stream_is_empty(NULL));
	assert_true(weft_stream_is_empty(&no_poll));

	/* Zero-sized items count, one byte of room each. */
	for (int i = 0; i < 9; i++)
		assert_int_equal(weft_vec_push(&vec, NULL), 0);
	assert_int_equal(vec.len, 9);
	weft_vec_free(&vec);
	/* A vector whose next room does not fit in a size_t. */
	vec = (struct weft_vec){.item_size = SIZE_MAX / 4};
	assert_int_equal(weft_vec_push(&vec, &c), -ENOMEM);
	assert_int_equal(vec.len, 0);
	assert_null(vec.data);
}

static void
collect_paths(void **state)
{
	struct weft_context cx = step_context(NULL);
	struct weft_stream_collect col;
	struct weft_stream_range rg;
	struct weft_stream_iter it;
	int n = 0;
	(void)state;

	/* Stops at the first error item, keeping what came before. */
	weft_stream_iter_init(&it, sizeof(int), fail_third, &n);
	weft_stream_collect_init(&col, &it.base);
	assert_int_equal(weft_future_poll(&col.base, &cx), WEFT_READY);
	assert_int_equal(col.out.status, -EIO);
	assert_int_equal(col.out.vec.len, 2);
	assert_int_equal(*(int *)weft_vec_at(&col.out.vec, 1), 2);
	weft_future_drop(&col.base);
	weft_vec_free(&col.out.vec);

	/* Dropped while pending: the items so far go with it. */
	weft_stream_range_init(&rg, 0, 1000);
	weft_stream_collect_init(&col, &rg.base);
	cx.budget = 20;
	assert_int_equal(weft_future_poll(&col.base, &cx), WEFT_PENDING);
	assert_int_equal(col.out.vec.len, 20);
	weft_future_drop(&col.base);
	assert_null(col.out.vec.data);
	assert_int_equal(col.out.vec.len, 0);
}

/* ---- the interval without a driver ---------------------------------- */

static void
interval_no_driver(void **state)
{
	struct weft_context cx = step_context(NULL);
	struct weft_interval_tick t;
	struct weft_interval iv;
	uint64_t at;
	(void)state;

	/* Without a driver the clock reads 0: a tick due at 0 is taken at
	 * once, if there is budget for it. */
	weft_interval_init(&iv, WEFT_MSEC, WEFT_MISSED_TICK_BURST);
	cx.budget = 0;
	assert_int_equal(weft_stream_poll_next(&iv.base, &cx, &at),
	                 WEFT_PENDING);
	assert_int_equal(step_wake_refs, 1);
	cx.budget = 8;
	weft_interval_tick_init(&t, &iv);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.status, 0);
	assert_int_equal(t.deadline, 0);
	/* The next is in the future, and there is no timer to wait on. */
	weft_interval_tick_init(&t, &iv);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.status, WEFT_ENOTSUP);
	weft_stream_drop(&iv.base);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stream_sources),
	    cmocka_unit_test(stream_adapters),
	    cmocka_unit_test(stream_empty_slots),
	    cmocka_unit_test(collect_paths),
	    cmocka_unit_test(interval_no_driver),
	};

	return run_group(argc, argv, "stream_steps", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
