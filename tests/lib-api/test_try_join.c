/* SPDX-License-Identifier: MIT */
/*
 * try_join tells a failed child through the status function it is given,
 * never by guessing from the layout of the child's output.
 */
#include <errno.h>

#include <weft/combinator.h>

#include "common.h"

/* A child's status kept away from the start of its struct's output. */
static void
status_member(void **state)
{
	struct probe ok, bad, slow;
	struct weft_join_all j;
	atomic_int slow_drops = 0;
	(void)state;

	probe_init(&ok, 1, 0, NULL, NULL);
	probe_init(&bad, 5, -EIO, NULL, NULL);
	probe_init(&slow, 3600 * 1000, 0, &slow_drops, NULL);
	assert_int_equal(
	    weft_try_join_init(&j, weft_status_at,
	                       WEFT_STATUS_OFFSET(struct probe, status), 3,
	                       &ok.base, &bad.base, &slow.base),
	    0);
	run(&j.base);
	assert_int_equal(j.status, -EIO);
	assert_int_equal(j.failed, 1);
	/* The slow sibling was cancelled. */
	assert_int_equal(atomic_load(&slow_drops), 1);
	weft_future_drop(&j.base);
}

/* The caller's own rule: a ready value below zero is a failure. */
static int
negative_value(const struct weft_future *child, void *arg)
{
	const struct weft_ready *r = (const struct weft_ready *)child;

	(void)arg;
	return r->out.value.i < 0 ? (int)r->out.value.i : 0;
}

static void
own_status_fn(void **state)
{
	struct weft_ready a, b;
	struct weft_future *kids[2] = {&a.base, &b.base};
	struct weft_join_all j;
	(void)state;

	/* Both "succeed" by their status field; b fails by the rule. */
	weft_ready_init(&a, 0, (union weft_value){.i = 7});
	weft_ready_init(&b, 0, (union weft_value){.i = -ENOENT});
	weft_try_join_all_init(&j, kids, 2, negative_value, NULL);
	run(&j.base);
	assert_int_equal(j.status, -ENOENT);
	assert_int_equal(j.failed, 1);
	weft_future_drop(&j.base);

	/* The same children under weft_status_output: both succeed. */
	weft_ready_init(&a, 0, (union weft_value){.i = 7});
	weft_ready_init(&b, 0, (union weft_value){.i = -ENOENT});
	weft_try_join_all_init(&j, kids, 2, weft_status_output, NULL);
	run(&j.base);
	assert_int_equal(j.status, 0);
	assert_int_equal(j.failed, -1);
	weft_future_drop(&j.base);

	/* No status function: a plain join, which never fails. */
	weft_ready_init(&a, -EIO, (union weft_value){.i = 0});
	weft_ready_init(&b, 0, (union weft_value){.i = 0});
	weft_try_join_all_init(&j, kids, 2, NULL, NULL);
	run(&j.base);
	assert_int_equal(j.status, 0);
	assert_int_equal(j.failed, -1);
	assert_int_equal(a.out.status, -EIO);
	weft_future_drop(&j.base);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(status_member),
	    cmocka_unit_test(own_status_fn),
	};

	return run_group(argc, argv, "try_join", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
