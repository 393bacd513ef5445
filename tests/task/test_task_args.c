/* SPDX-License-Identifier: MIT */
/*
 * The task core and the blocking pool on bad input: a missing set,
 * schedule function or wake function is -EINVAL or an empty waker; a
 * future whose vtable gives a size too small for a future, or too large to
 * allocate, is refused and still dropped (E2); a blocking job without a
 * function or a done waker is refused and never runs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static const struct weft_task_core *core = &weft__task_core;

static void
schedule(void *data, struct weft_task *t)
{
	(void)data;
	(void)t;
	fail_msg("nothing is scheduled in these tests");
}

static void
wake(void *sched)
{
	(void)sched;
}


struct counted {
	struct weft_future base;
	int *drops;
};

static weft_poll
counted_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)f;
	(void)cx;
	return WEFT_READY;
}

static void
counted_drop(struct weft_future *f)
{
	(*((struct counted *)f)->drops)++;
}


static void
test_set_arguments(void **state)
{
	struct weft_task_set *set;
	struct weft_waker w;

	(void)state;
	assert_int_equal(core->set_new(NULL, schedule, NULL), -EINVAL);
	assert_int_equal(core->set_new(&set, NULL, NULL), -EINVAL);
	assert_int_equal(core->set_free(NULL), 0);
	w = core->root_waker(NULL, wake);
	assert_null(w.vtable);

	assert_int_equal(core->set_new(&set, schedule, NULL), 0);
	w = core->root_waker(set, NULL);
	assert_null(w.vtable);
	/* With both, a waker; made once and kept by the set. */
	w = core->root_waker(set, wake);
	assert_non_null(w.vtable);
	core->set_close(set);
	assert_int_equal(core->set_free(set), 0);
}


static void
test_spawn_bad_sizes(void **state)
{
	struct weft_future_vtable small = {
	    .version = WEFT_FUTURE_VTABLE_VERSION,
	    .size = sizeof(struct weft_future) - 1,
	    .poll = counted_poll,
	    .drop = counted_drop,
	};
	struct weft_future_vtable huge = small;
	struct weft_task_set *set;
	struct weft_task *task = NULL;
	struct weft_join *join = NULL;
	struct counted f;
	int drops = 0;

	(void)state;
	huge.size = SIZE_MAX - 8;
	assert_int_equal(core->set_new(&set, schedule, NULL), 0);
	f = (struct counted){{&small}, &drops};
	assert_int_equal(core->spawn(set, &f.base, &task, &join), -EINVAL);
	assert_int_equal(drops, 1);
	assert_null(task);
	assert_null(join);
	f = (struct counted){{&huge}, &drops};
	assert_int_equal(core->spawn(set, &f.base, &task, &join), -ENOMEM);
	assert_int_equal(drops, 2);
	assert_null(task);
	assert_null(join);
	core->set_close(set);
	assert_int_equal(core->set_free(set), 0);
}


static int job_runs;

static void
job(void *arg)
{
	(void)arg;
	job_runs++;
}


static void
test_blocking_arguments(void **state)
{
	struct weft__blocking *b;
	struct weft_waker done = weft_waker_noop();

	(void)state;
	assert_int_equal(weft__blocking_new(&b, 1), 0);
	assert_int_equal(weft__blocking_spawn(b, NULL, NULL, &done), -EINVAL);
	assert_int_equal(weft__blocking_spawn(b, job, NULL, NULL), -EINVAL);
	/* The waker is still the caller's after a refusal. */
	assert_non_null(done.vtable);
	assert_int_equal(weft__blocking_spawn(b, job, NULL, &done), 0);
	assert_null(done.vtable); /* moved in */
	weft__blocking_free(b);
	assert_int_equal(job_runs, 1);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_set_arguments),
	    cmocka_unit_test(test_spawn_bad_sizes),
	    cmocka_unit_test(test_blocking_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
