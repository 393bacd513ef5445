/* SPDX-License-Identifier: MIT */
/*
 * T rules: join handles and the task life cycle, as an executor's spawn
 * hands them out (through the host's task core or its own).
 */
#include <errno.h>
#include <string.h>

#include "harness.h"

/* Polls a join handle by hand inside a root, twice once it is done. */
struct join_by_hand {
	struct weft_join *join;
	uint64_t out;
	size_t out_size;
	int first, second;
};


static weft_poll
join_by_hand_step(void *arg, struct weft_context *cx)
{
	struct join_by_hand *j = arg;
	uint64_t again = 0;

	j->first = weft_join_poll(j->join, cx, &j->out, j->out_size);
	if (j->first == 0)
		return WEFT_PENDING;
	j->second = weft_join_poll(j->join, cx, &again, sizeof(again));
	return WEFT_READY;
}


static void
T1_join_output_taken_once(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	struct join_by_hand j = {.out_size = sizeof(uint64_t)};
	struct h_fut f;

	(void)state;
	h_fut_init(&f, &probe, H_FUT_YIELD, 3, 0x1234567890ull);
	j.join = h_spawn(rt, &f.base);
	assert_int_equal(h_block_on_fn(rt, join_by_hand_step, &j), 0);
	assert_int_equal(j.first, 1);
	assert_int_equal(j.out, 0x1234567890ull);
	assert_int_equal(j.second, WEFT_ETAKEN);
	weft_join_release(j.join);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&probe.drops), 1);
	H_NO_VIOLATIONS();
}


static void
T2_join_small_buffer_is_emsgsize(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	struct join_by_hand j = {.out_size = 4}; /* output is 8 bytes */
	struct h_fut f;

	(void)state;
	h_fut_init(&f, &probe, H_FUT_YIELD, 1, 77);
	j.join = h_spawn(rt, &f.base);
	assert_int_equal(h_block_on_fn(rt, join_by_hand_step, &j), 0);
	assert_int_equal(j.first, -EMSGSIZE);
	/* Too small a buffer takes nothing: the output is still there. */
	assert_int_equal(j.second, 1);
	weft_join_release(j.join);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


static void
T3_detached_task_runs_and_drops_once(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	atomic_uint tally = 0;
	struct h_fut f;

	(void)state;
	h_fut_init(&f, &probe, H_FUT_YIELD, 5, 1);
	f.tally = &tally;
	weft_join_release(h_spawn(rt, &f.base)); /* detached before it ran */
	h_run_until(rt, &tally, 1);
	assert_int_equal(atomic_load(&tally), 1);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&probe.drops), 1);
	assert_int_equal(atomic_load(&probe.polls), 6);
	H_NO_VIOLATIONS();
}


static void *
abort_main(void *arg)
{
	weft_join_abort(arg);
	weft_join_abort(arg);
	return NULL;
}


static void
T4_abort_after_completion_keeps_output(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	struct join_by_hand j = {.out_size = sizeof(uint64_t)};
	struct h_fut f;
	pthread_t t;

	(void)state;
	h_fut_init(&f, &probe, H_FUT_YIELD, 0, 55);
	j.join = h_spawn(rt, &f.base);
	/* Let it complete, then abort it from another thread, twice. */
	assert_int_equal(h_run_until(rt, &probe.readies, 1), 1);
	t = h_thread(abort_main, j.join);
	pthread_join(t, NULL);
	weft_join_abort(j.join);
	assert_int_equal(h_block_on_fn(rt, join_by_hand_step, &j), 0);
	assert_int_equal(j.first, 1);
	assert_int_equal(j.out, 55);
	weft_join_release(j.join);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&probe.drops), 1);
	H_NO_VIOLATIONS();
}


/* A task that awaits another task's join handle. */
struct awaiter {
	struct weft_future base;
	struct weft_coro co;
	struct weft_join_future jf;
	uint64_t got;
	uint64_t out;
};


static weft_poll
awaiter_poll(struct weft_future *base, struct weft_context *cx)
{
	struct awaiter *a = (struct awaiter *)base;

	WEFT_BEGIN(&a->co);
	WEFT_AWAIT(&a->co, cx, &a->jf);
	a->out = a->jf.status == 0 ? a->got : 0;
	WEFT_END(&a->co);
}


static void
awaiter_drop(struct weft_future *base)
{
	struct awaiter *a = (struct awaiter *)base;

	weft_future_drop(&a->jf.base);
}


WEFT_FUTURE_VTABLE(awaiter_vtable, struct awaiter, out, awaiter_poll,
                   awaiter_drop);


static void
T5_join_wakes_its_awaiter(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_sleep sleeper;
	struct awaiter a;
	struct weft_join_future outer;
	uint64_t out = 0;

	(void)state;
	/* The inner task's output is its sleep status (0); wrap a value. */
	weft_sleep_init(&sleeper, 20 * WEFT_MSEC);
	memset(&a, 0, sizeof(a));
	a.base.vtable = &awaiter_vtable;
	a.got = 99;
	weft_join_future_init(&a.jf, h_spawn(rt, &sleeper.base), NULL, 0);
	weft_join_future_init(&outer, h_spawn(rt, &a.base), &out, sizeof(out));
	assert_int_equal(weft_block_on(rt, &outer.base), 0);
	assert_int_equal(outer.status, 0);
	assert_int_equal(out, 99);
	weft_future_drop(&outer.base);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


static const struct CMUnitTest tests[] = {
    H_TEST(T1_join_output_taken_once),
    H_TEST(T2_join_small_buffer_is_emsgsize),
    H_TEST(T3_detached_task_runs_and_drops_once),
    H_TEST(T4_abort_after_completion_keeps_output),
    H_TEST(T5_join_wakes_its_awaiter),
};

H_GROUP(h_group_task, "task", tests);
