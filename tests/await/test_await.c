/* SPDX-License-Identifier: MIT */
/*
 * <weft/await.h> on a real runtime (the executor and reactor named on the
 * command line): every straight-line await does what the future it wraps
 * does, returns that future's result, consumes what it is given, and
 * answers -EPERM outside a fiber; the *_fibers forms run their calls
 * concurrently and cancel the losers; weft_fiber_main gives main's status.
 *
 * Fibers report failures with CHECK (tests/common/pair.h), never cmocka.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Probe futures                                                       */
/* ------------------------------------------------------------------ */

/* Never ready; counts its drops. */
struct never {
	struct weft_future base;
	atomic_int *drops;
	int status;
};

static weft_poll
never_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)f;
	(void)cx;
	return WEFT_PENDING;
}

static void
never_drop(struct weft_future *f)
{
	atomic_fetch_add(((struct never *)f)->drops, 1);
}

WEFT_FUTURE_VTABLE(never_vtable, struct never, status, never_poll, never_drop);

static void
never_init(struct never *n, atomic_int *drops)
{
	*n = (struct never){.base.vtable = &never_vtable, .drops = drops};
}

/* Ready at once with a given status; counts its drops. */
struct fixed {
	struct weft_future base;
	atomic_int *drops;
	int status;
};

static weft_poll
fixed_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)f;
	(void)cx;
	return WEFT_READY;
}

static void
fixed_drop(struct weft_future *f)
{
	atomic_fetch_add(((struct fixed *)f)->drops, 1);
}

WEFT_FUTURE_VTABLE(fixed_vtable, struct fixed, status, fixed_poll, fixed_drop);

static void
fixed_init(struct fixed *x, int status, atomic_int *drops)
{
	*x = (struct fixed){
	    .base.vtable = &fixed_vtable, .drops = drops, .status = status};
}

/* ------------------------------------------------------------------ */
/* Outside a fiber                                                     */
/* ------------------------------------------------------------------ */

static void
add_one(void *data)
{
	++*(int *)data;
}

static int
return_zero(void *arg)
{
	(void)arg;
	return 0;
}

static void
test_outside_fiber(void **state)
{
	struct weft_fiber_call call = {return_zero, NULL};
	atomic_int drops = 0;
	struct never n;
	struct fixed x;
	int data = 1;

	(void)state;
	/* The runtime's clock, CLOCK_MONOTONIC, also here (test_await_sync
	 * checks it orders with a fiber's). */
	assert_true(weft_now() > 0);
	assert_int_equal(weft_sleep_ms(1), -EPERM);
	assert_int_equal(weft_sleep_for(1), -EPERM);
	assert_int_equal(weft_sleep_until(1), -EPERM);
	assert_int_equal(weft_spawn_blocking(add_one, &data, sizeof(data)),
	                 -EPERM);
	assert_int_equal(data, 1);
	assert_int_equal(weft_spawn_fiber(return_zero, NULL, NULL), -EPERM);
	assert_int_equal(weft_join_fibers(&call, 1), -EPERM);
	assert_int_equal(weft_select_fibers(0, &call, 1), -EPERM);
	assert_int_equal(weft_ctrl_c(), -EPERM);
	/* Futures handed over are consumed even so. */
	never_init(&n, &drops);
	assert_int_equal(weft_timeout_await(&n.base, WEFT_SEC), -EPERM);
	fixed_init(&x, 0, &drops);
	assert_int_equal(weft_spawn_future(&x.base, NULL), -EPERM);
	never_init(&n, &drops);
	fixed_init(&x, 0, &drops);
	assert_int_equal(weft_join_await(2, &n.base, &x.base), -EPERM);
	assert_int_equal(atomic_load(&drops), 4);
	assert_int_equal(weft_task_await(NULL, NULL, 0), -EINVAL);
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

static int
time_fiber(void *arg)
{
	struct weft_interval iv;
	struct weft_sleep s;
	atomic_int drops = 0;
	struct never n;
	uint64_t t0, t1;
	int i;

	(void)arg;
	t0 = weft_now();
	CHECK(t0 > 0);
	CHECK(weft_sleep_ms(20) == 0);
	t1 = weft_now();
	CHECK(t1 - t0 >= 20 * WEFT_MSEC); /* never early */
	CHECK(weft_sleep_for(5 * WEFT_MSEC) == 0);
	CHECK(weft_now() - t1 >= 5 * WEFT_MSEC);
	t1 = weft_now() + 10 * WEFT_MSEC;
	CHECK(weft_sleep_until(t1) == 0);
	CHECK(weft_now() >= t1);

	/* timeout: the inner future loses, and is dropped once. */
	never_init(&n, &drops);
	CHECK(weft_timeout_await(&n.base, 10 * WEFT_MSEC) == WEFT_ETIMEDOUT);
	CHECK(atomic_load(&drops) == 1);
	/* ... or wins. */
	weft_sleep_init(&s, 1 * WEFT_MSEC);
	CHECK(weft_timeout_await(&s.base, 10 * WEFT_SEC) == 0);

	/* An interval's ticks: the first at once, then every period. */
	t0 = weft_now();
	weft_interval_init(&iv, 10 * WEFT_MSEC, WEFT_MISSED_TICK_BURST);
	for (i = 0; i < 3; i++)
		CHECK(weft_interval_tick_await(&iv) == 0);
	weft_stream_drop(&iv.base);
	CHECK(weft_now() - t0 >= 20 * WEFT_MSEC);
	return 0;
}

static void
test_time(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(time_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* join, try_join, select over futures                                 */
/* ------------------------------------------------------------------ */

static int
combinator_fiber(void *arg)
{
	struct weft_future *v[3];
	struct weft_sleep s1, s2;
	struct never n, many[9];
	struct fixed x, y;
	atomic_int drops = 0;
	size_t failed = 99;
	uint64_t t0;
	int i;

	(void)arg;
	/* join: both run, concurrently; NULL counts as done. */
	t0 = weft_now();
	weft_sleep_init(&s1, 20 * WEFT_MSEC);
	weft_sleep_init(&s2, 20 * WEFT_MSEC);
	CHECK(weft_join_await(3, &s1.base, NULL, &s2.base) == 0);
	CHECK(weft_now() - t0 >= 20 * WEFT_MSEC);

	/* try_join: the first error wins and the rest are dropped. */
	never_init(&n, &drops);
	fixed_init(&x, -EIO, &drops);
	CHECK(weft_try_join_await(2, &n.base, &x.base) == -EIO);
	CHECK(atomic_load(&drops) == 2);
	fixed_init(&x, 0, &drops);
	fixed_init(&y, 0, &drops);
	CHECK(weft_try_join_await(2, &x.base, &y.base) == 0);
	CHECK(atomic_load(&drops) == 4);

	/* The array forms, and the index of the failure. */
	fixed_init(&x, 0, &drops);
	never_init(&n, &drops);
	fixed_init(&y, -ENOENT, &drops);
	v[0] = &x.base;
	v[1] = &n.base;
	v[2] = &y.base;
	CHECK(weft_try_join_all_await(v, 3, &failed) == -ENOENT);
	CHECK(failed == 2);
	CHECK(atomic_load(&drops) == 7);
	fixed_init(&x, -EIO, &drops);
	fixed_init(&y, 0, &drops);
	v[0] = &x.base;
	v[1] = &y.base;
	CHECK(weft_join_all_await(v, 2) == 0); /* join reports no error */
	CHECK(x.status == -EIO);
	CHECK(atomic_load(&drops) == 9);

	/* Too many for the variadic forms: all dropped, none polled. */
	for (i = 0; i < 9; i++)
		never_init(&many[i], &drops);
	CHECK(weft_join_await(9, &many[0].base, &many[1].base, &many[2].base,
	                      &many[3].base, &many[4].base, &many[5].base,
	                      &many[6].base, &many[7].base,
	                      &many[8].base) == -E2BIG);
	CHECK(atomic_load(&drops) == 18);

	/* select: the sleep wins, the loser is dropped. */
	weft_sleep_init(&s1, 5 * WEFT_MSEC);
	never_init(&n, &drops);
	CHECK(weft_select_await(0, 2, &n.base, &s1.base) == 1);
	CHECK(atomic_load(&drops) == 19);
	/* biased: the first ready branch listed wins. */
	fixed_init(&x, 0, &drops);
	fixed_init(&y, 0, &drops);
	CHECK(weft_select_await(WEFT_SELECT_BIASED, 2, &x.base, &y.base) == 0);
	CHECK(atomic_load(&drops) == 21);
	/* borrowed: nothing dropped, the caller keeps the branches. */
	never_init(&n, &drops);
	fixed_init(&x, 0, &drops);
	CHECK(weft_select_await(WEFT_SELECT_BORROW, 2, &n.base, &x.base) == 1);
	CHECK(atomic_load(&drops) == 21);
	weft_future_drop(&n.base);
	weft_future_drop(&x.base);
	CHECK(atomic_load(&drops) == 23);
	/* Every branch disabled: `else`, reported as n. */
	CHECK(weft_select_await(0, 2, NULL, NULL) == 2);
	v[0] = NULL;
	CHECK(weft_select_all_await(0, v, 1) == 1);
	return 0;
}

static void
test_combinators(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(combinator_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* join, try_join, select over fiber calls                             */
/* ------------------------------------------------------------------ */

struct napper {
	uint64_t ms;
	int ret;
	int awaited; /* what the sleep returned */
	bool finished;
};

static int
nap(void *arg)
{
	struct napper *p = arg;

	p->awaited = weft_sleep_ms(p->ms);
	if (p->awaited < 0)
		return p->awaited;
	p->finished = true;
	return p->ret;
}

static int
calls_fiber(void *arg)
{
	struct napper a = {30, 1, 1, false}, b = {10, 2, 1, false};
	struct napper c = {5000, 3, 1, false}, d = {5, -EIO, 1, false};
	struct weft_fiber_call ab[] = {{nap, &a}, {nap, &b}};
	struct weft_fiber_call cb[] = {{nap, &c}, {nap, &b}};
	struct weft_fiber_call cdb[] = {{nap, &c}, {nap, &d}, {nap, &b}};
	struct weft_fiber_call ad[] = {{nap, &a}, {nap, &d}};
	size_t failed = 99;
	uint64_t t0;

	(void)arg;
	/* join: every call runs to its end, concurrently. */
	t0 = weft_now();
	CHECK(weft_join_fibers(ab, 2) == 0);
	CHECK(a.finished && b.finished);
	CHECK(weft_now() - t0 >= 30 * WEFT_MSEC);
	CHECK(weft_join_fibers(NULL, 0) == 0);
	/* ... and reports the first failure after all have run. */
	a.finished = false;
	CHECK(weft_join_fibers(ad, 2) == -EIO);
	CHECK(a.finished && d.finished);

	/* select: the fastest wins, the slow one is cancelled mid-sleep. */
	b.finished = false;
	CHECK(weft_select_fibers(0, cb, 2) == 1);
	CHECK(b.finished && !c.finished);
	CHECK(c.awaited == WEFT_ECANCELED);

	/* try_join: d fails and cancels c; all succeed otherwise. */
	c.awaited = 1;
	CHECK(weft_try_join_fibers(cdb, 3, &failed) == -EIO);
	CHECK(failed == 1);
	CHECK(c.awaited == WEFT_ECANCELED && !c.finished);
	CHECK(weft_try_join_fibers(ab, 2, &failed) == 0);
	CHECK(failed == 2);
	CHECK(weft_fiber_live() >= 1); /* this fiber's own stack */
	return 0;
}

static void
test_fiber_calls(void **state)
{
	size_t live = weft_fiber_live();

	(void)state;
	assert_int_equal(run_fiber(calls_fiber, NULL), 0);
	/* Every child's stack, and the parent's, were given back. */
	assert_int_equal(weft_fiber_live(), live);
}

/* ------------------------------------------------------------------ */
/* Tasks                                                               */
/* ------------------------------------------------------------------ */

static int
answer(void *arg)
{
	weft_sleep_ms(1);
	return (int)(intptr_t)arg;
}

static void
sum_to(void *data)
{
	uint64_t *v = data, sum = 0;

	for (uint64_t i = 1; i <= *v; i++)
		sum += i;
	*v = sum;
}

static int
tasks_fiber(void *arg)
{
	struct weft_joinset *set;
	struct weft_fiber_done done;
	struct weft_join *join;
	atomic_int drops = 0;
	struct fixed x;
	struct never n;
	uint64_t v = 1000;
	int out = 0, sum = 0, r, i;

	(void)arg;
	/* spawn a fiber, await its handle. */
	CHECK(weft_spawn_fiber(answer, (void *)(intptr_t)42, &join) == 0);
	CHECK(weft_task_await(join, &out, sizeof(out)) == 0);
	CHECK(out == 42);
	CHECK(weft_spawn_fiber(answer, (void *)(intptr_t)7, NULL) == 0);
	/* spawn a future: the handle's output is the future's. */
	fixed_init(&x, 5, &drops);
	CHECK(weft_spawn_future(&x.base, &join) == 0);
	CHECK(weft_task_await(join, &out, sizeof(out)) == 0);
	CHECK(out == 5 && atomic_load(&drops) == 1);
	/* An aborted task. */
	never_init(&n, &drops);
	CHECK(weft_spawn_future(&n.base, &join) == 0);
	weft_join_abort(join);
	CHECK(weft_task_await(join, NULL, 0) == WEFT_ECANCELED);

	/* spawn_blocking: fn runs on a copy, written back. */
	CHECK(weft_spawn_blocking(sum_to, &v, sizeof(v)) == 0);
	CHECK(v == 500500);
	CHECK(weft_spawn_blocking(NULL, &v, sizeof(v)) == -EINVAL);

	/* A join set of fibers, joined as they finish, then None. */
	CHECK(weft_joinset_new(&set) == 0);
	for (i = 1; i <= 4; i++)
		CHECK(weft_joinset_spawn_fiber(set, answer, (void *)(intptr_t)i,
		                               NULL) == 0);
	while ((r = weft_joinset_next_await(set, &done, sizeof(done))) == 1) {
		CHECK(done.result == (int)(intptr_t)done.arg);
		sum += done.result;
	}
	weft_joinset_free(set);
	CHECK(r == 0);
	CHECK(sum == 10);
	/* An output too small is reported, not truncated silently. */
	CHECK(weft_joinset_new(&set) == 0);
	CHECK(weft_joinset_spawn_fiber(set, answer, NULL, NULL) == 0);
	CHECK(weft_joinset_next_await(set, &out, sizeof(out)) == -EMSGSIZE);
	CHECK(weft_joinset_next_await(set, &done, sizeof(done)) == 0);
	weft_joinset_free(set);
	return 0;
}

static void
test_tasks(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(tasks_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Channels, cancellation, streams, signals                            */
/* ------------------------------------------------------------------ */

static int
producer(void *arg)
{
	struct weft_mpsc_tx *tx = arg;
	int i, r = 0;

	for (i = 0; i < 3 && r == 0; i++) {
		weft_sleep_ms(1);
		r = weft_mpsc_send_await(tx, &i);
	}
	weft_mpsc_tx_free(tx);
	return r;
}

static int
canceller(void *arg)
{
	weft_sleep_ms(5);
	weft_cancel_token_cancel(arg);
	return 0;
}

static int
watcher(void *arg)
{
	struct weft_watch_tx *tx = arg;
	int v = 1;

	weft_sleep_ms(5);
	weft_watch_send(tx, &v);
	weft_sleep_ms(1);
	weft_watch_tx_free(tx);
	return 0;
}

static int
channels_fiber(void *arg)
{
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct weft_oneshot_tx *otx;
	struct weft_oneshot_rx *orx;
	struct weft_watch_tx *wtx;
	struct weft_watch_rx *wrx;
	struct weft_cancel_token *tok;
	struct weft_stream_range range;
	int64_t item;
	int v, i, zero = 0;

	(void)arg;
	/* mpsc: in order, then the end. */
	CHECK(weft_mpsc_new(sizeof(int), 1, &tx, &rx) == 0);
	CHECK(weft_spawn_fiber(producer, tx, NULL) == 0);
	for (i = 0; i < 3; i++) {
		CHECK(weft_mpsc_recv_await(rx, &v) == 0);
		CHECK(v == i);
	}
	CHECK(weft_mpsc_recv_await(rx, &v) == WEFT_ECLOSED);
	weft_mpsc_rx_free(rx);
	CHECK(weft_mpsc_recv_await(NULL, &v) == -EINVAL);

	/* oneshot. */
	CHECK(weft_oneshot_new(sizeof(int), &otx, &orx) == 0);
	v = 9;
	CHECK(weft_oneshot_send(otx, &v) == 0);
	v = 0;
	CHECK(weft_oneshot_recv_await(orx, &v) == 0 && v == 9);
	CHECK(weft_oneshot_recv_await(orx, &v) == WEFT_ECLOSED);
	weft_oneshot_rx_free(orx);

	/* watch: a change, then the sender's end. */
	CHECK(weft_watch_new(sizeof(int), &zero, &wtx, &wrx) == 0);
	CHECK(weft_spawn_fiber(watcher, wtx, NULL) == 0);
	CHECK(weft_watch_changed_await(wrx) == 0);
	weft_watch_borrow(wrx, &v);
	CHECK(v == 1);
	CHECK(weft_watch_changed_await(wrx) == WEFT_ECLOSED);
	weft_watch_rx_free(wrx);

	/* cancellation. */
	CHECK(weft_cancel_token_new(&tok) == 0);
	CHECK(weft_spawn_fiber(canceller, tok, NULL) == 0);
	CHECK(weft_cancelled_await(tok) == 0);
	CHECK(weft_cancel_token_is_cancelled(tok));
	weft_cancel_token_free(tok);

	/* stream.next(): 0, 1, 2, then None. */
	weft_stream_range_init(&range, 0, 3);
	for (i = 0; i < 3; i++) {
		CHECK(weft_stream_next_await(&range.base, &item) == 1);
		CHECK(item == i);
	}
	CHECK(weft_stream_next_await(&range.base, &item) == 0);
	weft_stream_drop(&range.base);
	return 0;
}

static void
test_channels(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(channels_fiber, NULL), 0);
}

static int
wait_ctrl_c(void *arg)
{
	*(int *)arg = weft_ctrl_c();
	return *(int *)arg < 0 ? *(int *)arg : 0;
}

static int
press_ctrl_c(void *arg)
{
	(void)arg;
	weft_sleep_ms(10);
	return raise(SIGINT) == 0 ? 0 : -EIO;
}

static int
signal_fiber(void *arg)
{
	/* Joined in order: the listener exists before the signal comes. */
	int signo = 0;
	struct weft_fiber_call calls[] = {{wait_ctrl_c, &signo},
	                                  {press_ctrl_c, NULL}};

	(void)arg;
	CHECK(weft_join_fibers(calls, 2) == 0);
	CHECK(signo == SIGINT);
	return 0;
}

static void
test_ctrl_c(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(signal_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* weft_fiber_main                                                     */
/* ------------------------------------------------------------------ */

static int main_returns;

static int
main_fiber(void)
{
	if (weft_sleep_ms(1) < 0)
		return 100;
	return main_returns;
}

/* Opens a runtime of its own from the environment (see meson.build). */
static void
test_fiber_main(void **state)
{
	(void)state;
	main_returns = 0;
	assert_int_equal(weft_fiber_main(main_fiber), 0);
	main_returns = 3;
	assert_int_equal(weft_fiber_main(main_fiber), 3);
	main_returns = -EIO;
	assert_int_equal(weft_fiber_main(main_fiber), 1);
	assert_int_equal(weft_fiber_main(NULL), 1);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_outside_fiber),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_combinators),
	    cmocka_unit_test(test_fiber_calls),
	    cmocka_unit_test(test_tasks),
	    cmocka_unit_test(test_channels),
	    cmocka_unit_test(test_ctrl_c),
	    cmocka_unit_test(test_fiber_main),
	};

	return run_group(argc, argv, "await", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
