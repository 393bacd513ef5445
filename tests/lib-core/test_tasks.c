/* SPDX-License-Identifier: MIT */
/*
 * Tasks, time and streams on a real runtime: the task set (completion
 * order, abort on free), spawn_blocking, interval policies, stream
 * adapters.
 */
#include <errno.h>

#include <weft/combinator.h>
#include <weft/stream.h>
#include <weft/task.h>
#include <weft/time.h>

#include "common.h"

/* ---- task set ------------------------------------------------------- */

static void
test_joinset_order(void **state)
{
	/* Finishing times far enough apart that the order is the same
	 * on every executor, even when Valgrind serialises the threads. */
	uint64_t unit = getenv("WEFT_UNDER_VALGRIND") ? 150 : 40;
	const uint64_t delay[5] = {5 * unit, unit, 4 * unit, 2 * unit,
	                           3 * unit};
	struct weft_executor *ex = weft_runtime_executor(rt);
	atomic_int drops = 0;
	struct weft_joinset *set;
	struct weft_joinset_next next;
	uint64_t ids[5];
	struct probe p;
	int i, k, out, got[5];

	(void)state;
	assert_int_equal(weft_joinset_new(&set), 0);
	for (i = 0; i < 5; i++) {
		probe_init(&p, delay[i], (int)delay[i], &drops, NULL);
		assert_int_equal(weft_joinset_spawn(set, ex, &p.base, &ids[i]),
		                 0);
	}
	assert_int_equal(weft_joinset_len(set), 5);
	for (k = 0; k < 5; k++) {
		weft_joinset_next_init(&next, set, &out, sizeof(out));
		run(&next.base);
		weft_future_drop(&next.base);
		assert_int_equal(next.status, 1);
		assert_int_equal(next.task_status, 0);
		for (i = 0; i < 5 && ids[i] != next.id; i++)
			;
		assert_true(i < 5);
		assert_int_equal(out, (int)delay[i]);
		got[k] = out;
	}
	for (k = 1; k < 5; k++)
		assert_true(got[k - 1] < got[k]);
	weft_joinset_next_init(&next, set, NULL, 0);
	run(&next.base);
	assert_int_equal(next.status, 0);
	weft_joinset_free(set);
	assert_int_equal(atomic_load(&drops), 5);
}


/* Lets the executor run its queue for a while. */
static void
turn(unsigned ms)
{
	struct weft_sleep s;

	weft_sleep_init(&s, ms * WEFT_MSEC);
	run(&s.base);
	weft_future_drop(&s.base);
}


static void
test_joinset_abort(void **state)
{
	struct weft_executor *ex = weft_runtime_executor(rt);
	atomic_int drops = 0, done = 0;
	struct weft_joinset *set;
	struct weft_joinset_next next;
	struct probe p;
	int i, k;

	(void)state;
	assert_int_equal(weft_joinset_new(&set), 0);
	for (i = 0; i < 5; i++) {
		probe_init(&p, 10000, 0, &drops, &done);
		assert_int_equal(weft_joinset_spawn(set, ex, &p.base, NULL), 0);
	}
	turn(20);
	weft_joinset_free(set);
	/* The executor drops the aborted futures at its next turns. */
	for (k = 0; k < 100 && atomic_load(&drops) < 5; k++)
		turn(10);
	turn(20);
	assert_int_equal(atomic_load(&drops), 5);
	assert_int_equal(atomic_load(&done), 0);

	/* abort_all: join_next reports each task cancelled. */
	assert_int_equal(weft_joinset_new(&set), 0);
	for (i = 0; i < 3; i++) {
		probe_init(&p, 10000, 0, &drops, &done);
		assert_int_equal(weft_joinset_spawn(set, ex, &p.base, NULL), 0);
	}
	weft_joinset_abort_all(set);
	for (k = 0; k < 3; k++) {
		weft_joinset_next_init(&next, set, NULL, 0);
		run(&next.base);
		assert_int_equal(next.status, 1);
		assert_int_equal(next.task_status, WEFT_ECANCELED);
	}
	weft_joinset_free(set);
	assert_int_equal(atomic_load(&drops), 8);
	assert_int_equal(atomic_load(&done), 0);
}


/* ---- spawn_blocking ------------------------------------------------- */

struct sum_job {
	uint64_t n;
	uint64_t sum;
	unsigned sleep_ms;
};

static void
sum_fn(void *data)
{
	struct sum_job *j = data;
	volatile uint64_t s = 0;
	uint64_t i;

	if (j->sleep_ms)
		stall_ms(j->sleep_ms);
	for (i = 0; i < j->n; i++)
		s += i;
	j->sum = s;
}


static void
test_spawn_blocking(void **state)
{
	struct sum_job job = {.n = 1000000};
	struct weft_blocking b;
	struct weft_select s;
	struct weft_sleep sl;

	(void)state;
	weft_blocking_init(&b, sum_fn, &job, sizeof(job), &job);
	run(&b.base);
	weft_future_drop(&b.base);
	if (b.status == WEFT_ENOTSUP)
		skip(); /* the driver has no blocking pool */
	assert_int_equal(b.status, 0);
	assert_true(job.sum == 999999ull * 1000000ull / 2);

	/*
	 * Dropped while fn runs: the job finishes and frees itself.  Not on
	 * the sim executor, where a job runs whole at the next park and
	 * takes no virtual time, so the job, not the sleep, wins.
	 */
	if (pair_is_sim())
		return;
	job = (struct sum_job){.n = 10, .sleep_ms = 60};
	weft_blocking_init(&b, sum_fn, &job, sizeof(job), &job);
	weft_sleep_init(&sl, 5 * WEFT_MSEC);
	weft_select_init(&s, WEFT_SELECT_BIASED, 2, &b.base, &sl.base);
	run(&s.base);
	weft_future_drop(&s.base);
	assert_int_equal(s.winner, 1);
	assert_true(job.sum == 0);
	turn(100);
}


/* ---- interval ------------------------------------------------------- */

static uint64_t
tick(struct weft_interval *iv, uint64_t *fired)
{
	struct weft_interval_tick t;

	weft_interval_tick_init(&t, iv);
	run(&t.base);
	weft_future_drop(&t.base);
	assert_int_equal(t.status, 0);
	*fired = now_ns();
	/* Never early. */
	assert_true(*fired >= t.deadline);
	return t.deadline;
}


static void
test_interval_regular(void **state)
{
	const uint64_t P = 20 * WEFT_MSEC;
	struct weft_interval iv;
	uint64_t d0, d, fired, t0 = now_ns();
	int i;

	(void)state;
	weft_interval_init(&iv, P, WEFT_MISSED_TICK_BURST);
	d0 = tick(&iv, &fired);
	assert_true(fired - t0 < 2 * WEFT_SEC); /* the first is immediate */
	for (i = 1; i <= 5; i++) {
		d = tick(&iv, &fired);
		assert_true(d == d0 + (uint64_t)i * P);
	}
	assert_true(fired - d0 >= 5 * P);
	weft_stream_drop(&iv.base);
}


static void
test_interval_policies(void **state)
{
	const uint64_t P = 20 * WEFT_MSEC;
	struct weft_interval iv;
	uint64_t d0, d, fired, late, stall_end;
	int i;

	(void)state;
	/* Burst: after a stall of ~5 periods the missed ticks come back to
	 * back, on the original schedule. */
	weft_interval_init(&iv, P, WEFT_MISSED_TICK_BURST);
	d0 = tick(&iv, &fired);
	stall_ms(110);
	for (i = 1; i <= 6; i++) {
		d = tick(&iv, &fired);
		assert_true(d == d0 + (uint64_t)i * P);
	}
	weft_stream_drop(&iv.base);

	/* Delay: the late tick restarts the schedule a period after it. */
	weft_interval_init(&iv, P, WEFT_MISSED_TICK_DELAY);
	d0 = tick(&iv, &fired);
	stall_ms(110);
	stall_end = now_ns();
	d = tick(&iv, &late);
	assert_true(d == d0 + P);
	d = tick(&iv, &fired);
	assert_true(d >= stall_end + P);
	assert_true(fired - stall_end >= P);
	weft_stream_drop(&iv.base);

	/* Skip: the missed ticks are dropped; the schedule stays on the
	 * original grid, next point after the late tick. */
	weft_interval_init(&iv, P, WEFT_MISSED_TICK_SKIP);
	d0 = tick(&iv, &fired);
	stall_ms(110);
	stall_end = now_ns();
	d = tick(&iv, &late);
	assert_true(d == d0 + P);
	d = tick(&iv, &fired);
	assert_true((d - d0) % P == 0);
	assert_true(d > stall_end);
	assert_true(d > late);
	assert_true(d - late <= P);
	weft_stream_drop(&iv.base);
}


/* ---- streams -------------------------------------------------------- */

static bool
is_even(const void *item, void *arg)
{
	(void)arg;
	return *(const int64_t *)item % 2 == 0;
}


static void
square(const void *in, void *out, void *arg)
{
	int64_t x = *(const int64_t *)in;

	(void)arg;
	*(int64_t *)out = x * x;
}


/* A range that counts its drops: adapters must drop what they wrap. */
struct counted {
	struct weft_stream base;
	struct weft_stream_range inner;
	atomic_int *drops;
};

static int
counted_poll(struct weft_stream *s, struct weft_context *cx, void *item)
{
	return weft_stream_poll_next(&((struct counted *)s)->inner.base, cx,
	                             item);
}


static void
counted_drop(struct weft_stream *s)
{
	atomic_fetch_add(((struct counted *)s)->drops, 1);
}

static const struct weft_stream_vtable counted_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = counted_poll,
    .drop = counted_drop,
};


static void
counted_init(struct counted *c, int64_t end, atomic_int *drops)
{
	c->base.vtable = &counted_vtable;
	c->base.item_size = sizeof(int64_t);
	weft_stream_range_init(&c->inner, 0, end);
	c->drops = drops;
}


/* Yields 0, 1, 2, then an error item, then 3, then ends. */
static int
faulty_next(void *state, void *item)
{
	int *n = state;
	int64_t v;

	if (*n == 3) {
		(*n)++;
		return -EIO;
	}
	if (*n > 4)
		return 0;
	v = *n < 3 ? *n : 3;
	(*n)++;
	memcpy(item, &v, sizeof(v));
	return 1;
}


static void
test_stream_adapters(void **state)
{
	static const int64_t want[5] = {0, 4, 16, 36, 64};
	atomic_int drops = 0;
	struct counted src;
	struct weft_stream_filter even;
	struct weft_stream_map sq;
	struct weft_stream_take first5;
	struct weft_stream_collect all;
	struct weft_stream_range big;
	int i;

	(void)state;
	counted_init(&src, 20, &drops);
	weft_stream_filter_init(&even, &src.base, is_even, NULL);
	weft_stream_map_init(&sq, &even.base, sizeof(int64_t), square, NULL);
	weft_stream_take_init(&first5, &sq.base, 5);
	weft_stream_collect_init(&all, &first5.base);
	run(&all.base);
	weft_future_drop(&all.base);
	assert_int_equal(all.out.status, 0);
	assert_int_equal(all.out.vec.len, 5);
	for (i = 0; i < 5; i++)
		assert_true(*(int64_t *)weft_vec_at(&all.out.vec, (size_t)i) ==
		            want[i]);
	weft_vec_free(&all.out.vec);
	assert_int_equal(atomic_load(&drops), 1);

	/* A long ready stream spends its budget and still completes. */
	weft_stream_range_init(&big, 0, 100000);
	weft_stream_collect_init(&all, &big.base);
	run(&all.base);
	weft_future_drop(&all.base);
	assert_int_equal(all.out.vec.len, 100000);
	weft_vec_free(&all.out.vec);

	/* take(0) ends at once; dropping an unfinished collect frees. */
	counted_init(&src, 20, &drops);
	weft_stream_take_init(&first5, &src.base, 0);
	weft_stream_collect_init(&all, &first5.base);
	run(&all.base);
	weft_future_drop(&all.base);
	assert_int_equal(all.out.vec.len, 0);
	weft_vec_free(&all.out.vec);
	assert_int_equal(atomic_load(&drops), 2);
}


static void
test_stream_errors_and_next(void **state)
{
	struct weft_stream_iter it;
	struct weft_stream_map sq;
	struct weft_stream_collect all;
	struct weft_stream_next next;
	int n = 0, got = 0, errors = 0;
	int64_t item;

	(void)state;
	/* Errors pass through adapters; collect stops at the first. */
	weft_stream_iter_init(&it, sizeof(int64_t), faulty_next, &n);
	weft_stream_map_init(&sq, &it.base, sizeof(int64_t), square, NULL);
	weft_stream_collect_init(&all, &sq.base);
	run(&all.base);
	weft_future_drop(&all.base);
	assert_int_equal(all.out.status, -EIO);
	assert_int_equal(all.out.vec.len, 3);
	weft_vec_free(&all.out.vec);

	/* next() borrows: items, an error item, items, then the end. */
	n = 0;
	weft_stream_iter_init(&it, sizeof(int64_t), faulty_next, &n);
	for (;;) {
		weft_stream_next_init(&next, &it.base, &item);
		run(&next.base);
		weft_future_drop(&next.base);
		if (next.status == 0)
			break;
		if (next.status < 0)
			errors++;
		else
			got++;
	}
	assert_int_equal(got, 4);
	assert_int_equal(errors, 1);
	weft_stream_drop(&it.base);
}


int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_joinset_order),
	    cmocka_unit_test(test_joinset_abort),
	    cmocka_unit_test(test_spawn_blocking),
	    cmocka_unit_test(test_interval_regular),
	    cmocka_unit_test(test_interval_policies),
	    cmocka_unit_test(test_stream_adapters),
	    cmocka_unit_test(test_stream_errors_and_next),
	};

	return run_group(argc, argv, "tasks, time, streams", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
