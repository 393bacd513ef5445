/* SPDX-License-Identifier: MIT */
/*
 * The coroutine macros on a real runtime: the generic drop (the awaited
 * child dropped once, mid-await), deferred clean-ups (reverse order, once,
 * on completion and on drop), two awaits on one line, and WEFT_AWAIT_UNTIL
 * against a notifier on another thread.
 */
#include <pthread.h>
#include <sched.h>

#include <weft/sync.h>

#include "common.h"

/* Clean-ups write their ids here, in the order they run. */
static int ran[16];
static atomic_int nran;

static void
record(void *arg)
{
	int i = atomic_fetch_add(&nran, 1);

	if (i < 16)
		ran[i] = *(int *)arg;
}

static void
record_reset(void)
{
	memset(ran, 0, sizeof(ran));
	atomic_store(&nran, 0);
}

/*
 * Registers three clean-ups, registers the first one again across three
 * resume points, then awaits a probe that sleeps ms and reports 7.  Its
 * vtable has the generated drop: nothing here is written by hand.
 */
struct holder {
	struct weft_future base;
	struct weft_coro co;
	struct probe child;
	uint64_t ms;
	atomic_int *drops;
	atomic_int *done;
	int ids[3];
	int i;
	int out;
};

static weft_poll
holder_poll(struct weft_future *f, struct weft_context *cx)
{
	struct holder *h = (struct holder *)f;

	WEFT_BEGIN(&h->co);
	for (h->i = 0; h->i < 3; h->i++) {
		h->ids[h->i] = h->i + 1;
		WEFT_DEFER(&h->co, record, &h->ids[h->i]);
	}
	for (h->i = 0; h->i < 3; h->i++) {
		WEFT_DEFER(&h->co, record, &h->ids[0]);
		WEFT_YIELD(&h->co, cx);
	}
	probe_init(&h->child, h->ms, 7, h->drops, h->done);
	WEFT_AWAIT(&h->co, cx, &h->child);
	h->out = h->child.status; /* readable after the await dropped it */
	WEFT_END(&h->co);
}

WEFT_CORO_FUTURE(holder_vtable, struct holder, co, out, holder_poll);

static void
holder_init(struct holder *h, uint64_t ms, atomic_int *drops, atomic_int *done)
{
	*h = (struct holder){.base.vtable = &holder_vtable,
	                     .ms = ms,
	                     .drops = drops,
	                     .done = done};
	record_reset();
}

static void
assert_ran_reversed(void)
{
	assert_int_equal(atomic_load(&nran), 3);
	assert_int_equal(ran[0], 3);
	assert_int_equal(ran[1], 2);
	assert_int_equal(ran[2], 1);
}

static void
test_defers_on_completion(void **state)
{
	atomic_int drops = 0, done = 0;
	struct holder h;

	(void)state;
	holder_init(&h, 1, &drops, &done);
	run(&h.base);
	assert_int_equal(h.out, 7);
	assert_int_equal(atomic_load(&done), 1);
	assert_int_equal(atomic_load(&drops), 1); /* by the await */
	assert_ran_reversed();
	assert_null(h.co.child);
	weft_future_drop(&h.base);
	assert_int_equal(atomic_load(&drops), 1);
	assert_ran_reversed(); /* nothing ran twice */
}

static void
test_drop_mid_await(void **state)
{
	atomic_int drops = 0, done = 0;
	struct weft_timeout t;
	struct holder h;

	(void)state;
	holder_init(&h, 10000, &drops, &done);
	weft_timeout_init(&t, &h.base, 50 * WEFT_MSEC);
	run(&t.base);
	assert_int_equal(t.status, WEFT_ETIMEDOUT);
	/* The timeout dropped h mid-await: the child and the clean-ups went
	 * with it, with no drop function written for h. */
	assert_true(weft_future_is_empty(&h.base));
	assert_int_equal(atomic_load(&done), 0);
	assert_int_equal(atomic_load(&drops), 1);
	assert_ran_reversed();
	/* A second weft_coro_drop finds nothing left to drop. */
	weft_coro_drop(&h.co);
	weft_future_drop(&t.base);
	assert_int_equal(atomic_load(&drops), 1);
	assert_ran_reversed();
}

static void
test_drop_unpolled(void **state)
{
	atomic_int drops = 0, done = 0;
	struct holder h;

	(void)state;
	holder_init(&h, 1, &drops, &done);
	weft_future_drop(&h.base);
	assert_int_equal(atomic_load(&drops), 0);
	assert_int_equal(atomic_load(&nran), 0);
}

/* Two awaits on one line: each has its own resume point. */
struct twice {
	struct weft_future base;
	struct weft_coro co;
	struct weft_yield a, b;
	int polls;
	int out;
};

static weft_poll
twice_poll(struct weft_future *f, struct weft_context *cx)
{
	struct twice *t = (struct twice *)f;

	t->polls++;
	WEFT_BEGIN(&t->co);
	weft_yield_init(&t->a);
	weft_yield_init(&t->b);
	/* clang-format off */
	WEFT_AWAIT(&t->co, cx, &t->a); t->out++; WEFT_AWAIT(&t->co, cx, &t->b);
	/* clang-format on */
	t->out += 10;
	WEFT_END(&t->co);
}

WEFT_CORO_FUTURE(twice_vtable, struct twice, co, out, twice_poll);

static void
test_two_awaits_one_line(void **state)
{
	struct twice t = {.base.vtable = &twice_vtable};

	(void)state;
	run(&t.base);
	/* Each yield pends once: three polls, each await passed once. */
	assert_int_equal(t.polls, 3);
	assert_int_equal(t.out, 11);
	assert_true(weft_future_is_empty(&t.a.base));
	assert_true(weft_future_is_empty(&t.b.base));
	weft_future_drop(&t.base);
}

/*
 * WEFT_AWAIT_UNTIL against a thread: each round the task asks for round
 * r and waits until `have` reaches it; the thread, spinning on `want`,
 * sets `have` and notifies at once, so the change lands anywhere in the
 * task's check-then-wait, before or after the waiter is queued.  The old
 * two-argument WEFT_AWAIT_UNTIL (now WEFT_AWAIT_POLL with a plain flag)
 * registered no waker at all and timed out on the first round here.
 */
#define RACE_ROUNDS 2000

struct race {
	struct weft_future base;
	struct weft_coro co;
	struct weft_notified wait;
	struct weft_notify *n;
	atomic_uint want, have;
	atomic_bool stop;
	unsigned round;
	int out;
};

static weft_poll
race_poll(struct weft_future *f, struct weft_context *cx)
{
	struct race *r = (struct race *)f;

	WEFT_BEGIN(&r->co);
	for (r->round = 1; r->round <= RACE_ROUNDS; r->round++) {
		atomic_store(&r->want, r->round);
		WEFT_AWAIT_UNTIL(&r->co, cx, &r->wait, r->n,
		                 atomic_load(&r->have) >= r->round);
	}
	r->out = 1;
	WEFT_END(&r->co);
}

WEFT_CORO_FUTURE(race_vtable, struct race, co, out, race_poll);

static void *
notifier(void *arg)
{
	struct race *r = arg;
	unsigned i;

	for (i = 1; i <= RACE_ROUNDS; i++) {
		while (atomic_load(&r->want) < i) {
			if (atomic_load(&r->stop))
				return NULL;
			sched_yield();
		}
		atomic_store(&r->have, i);
		/* Both ways of notifying: one waiter (or the stored permit),
		 * and every waiter armed before the call. */
		if (i % 2)
			weft_notify_one(r->n);
		else
			weft_notify_waiters(r->n);
	}
	return NULL;
}

static void
test_await_until_race(void **state)
{
	struct race r = {.base.vtable = &race_vtable};
	struct weft_timeout t;
	pthread_t th;

	(void)state;
	assert_int_equal(weft_notify_new(&r.n), 0);
	assert_int_equal(pthread_create(&th, NULL, notifier, &r), 0);
	weft_timeout_init(&t, &r.base, 20 * WEFT_SEC);
	run(&t.base);
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	assert_int_equal(t.status, 0); /* not WEFT_ETIMEDOUT: nothing lost */
	assert_int_equal(r.out, 1);
	assert_int_equal(r.round, RACE_ROUNDS + 1);
	weft_future_drop(&t.base);
	assert_true(weft_future_is_empty(&r.wait.base));
	weft_notify_free(r.n);
}

/* Dropped while it waits: the queued waiter leaves the notify's queue. */
static void
test_await_until_dropped(void **state)
{
	struct race r = {.base.vtable = &race_vtable};
	struct weft_timeout t;

	(void)state;
	assert_int_equal(weft_notify_new(&r.n), 0);
	weft_timeout_init(&t, &r.base, 20 * WEFT_MSEC);
	run(&t.base);
	assert_int_equal(t.status, WEFT_ETIMEDOUT);
	assert_true(weft_future_is_empty(&r.wait.base));
	weft_future_drop(&t.base);
	/* Nobody waits now: notify_one stores its permit, free is safe. */
	weft_notify_one(r.n);
	weft_notify_free(r.n);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defers_on_completion),
	    cmocka_unit_test(test_drop_mid_await),
	    cmocka_unit_test(test_drop_unpolled),
	    cmocka_unit_test(test_two_awaits_one_line),
	    cmocka_unit_test(test_await_until_race),
	    cmocka_unit_test(test_await_until_dropped),
	};

	return run_group(argc, argv, "coro", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
