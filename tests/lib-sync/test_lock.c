/* SPDX-License-Identifier: MIT */
/*
 * Mutex and rwlock: on the runtime under test for the behaviour between
 * tasks, and step by step with a counting context for the cancellation
 * cases, where the exact moment of the drop matters.
 */
#include <weft/sync.h>

#include "common.h"

static atomic_int drops;

/* ---- many tasks increment a counter, holding the lock across a sleep - */

struct incr {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mutex_lock lock;
	struct weft_sleep sleep;
	struct weft_mutex *m;
	int *counter;
	int seen;
	int i;
	int out;
};

static weft_poll
incr_poll(struct weft_future *f, struct weft_context *cx)
{
	struct incr *t = (struct incr *)f;

	WEFT_BEGIN(&t->co);
	for (t->i = 0; t->i < 5; t->i++) {
		weft_mutex_lock_init(&t->lock, t->m);
		WEFT_AWAIT(&t->co, cx, &t->lock);
		/* A lost update would show if anyone else got in here. */
		t->seen = *t->counter;
		weft_sleep_init(&t->sleep, WEFT_MSEC / 2);
		WEFT_AWAIT(&t->co, cx, &t->sleep);
		*t->counter = t->seen + 1;
		weft_mutex_unlock(t->m);
	}
	WEFT_END(&t->co);
}

static void
incr_drop(struct weft_future *f)
{
	struct incr *t = (struct incr *)f;

	weft_future_drop(&t->lock.base);
	weft_future_drop(&t->sleep.base);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(incr_vtable, struct incr, out, incr_poll, incr_drop);

static void
mutex_across_await(void **state)
{
	struct weft_join *joins[16];
	struct weft_mutex *m;
	int counter = 0;
	(void)state;

	drops = 0;
	assert_int_equal(weft_mutex_new(&m), 0);
	for (int i = 0; i < 16; i++) {
		struct incr t = {
		    .base.vtable = &incr_vtable, .m = m, .counter = &counter};
		spawn(&t.base, &joins[i]);
	}
	join_all(joins, 16);
	assert_int_equal(counter, 16 * 5);
	assert_int_equal(drops, 16);
	assert_int_equal(weft_mutex_try_lock(m), 0);
	weft_mutex_unlock(m);
	weft_mutex_free(m);
}

/* ---- waiters get the lock in the order they asked for it ------------ */

struct locker {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mutex_lock lock;
	struct weft_mutex *m;
	int id;
	int *order;
	int *n;
	atomic_int *queued;
	int out;
};

static weft_poll
locker_poll(struct weft_future *f, struct weft_context *cx)
{
	struct locker *t = (struct locker *)f;

	WEFT_BEGIN(&t->co);
	weft_mutex_lock_init(&t->lock, t->m);
	/*
	 * The test holds the lock, so this first poll queues the future:
	 * tell the test, which spawns the next locker only then.
	 */
	if (weft_future_poll(&t->lock.base, cx) == WEFT_PENDING)
		atomic_fetch_add(t->queued, 1);
	WEFT_AWAIT(&t->co, cx, &t->lock);
	t->order[(*t->n)++] = t->id;
	weft_mutex_unlock(t->m);
	WEFT_END(&t->co);
}

static void
locker_drop(struct weft_future *f)
{
	weft_future_drop(&((struct locker *)f)->lock.base);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(locker_vtable, struct locker, out, locker_poll, locker_drop);

static void
mutex_fifo(void **state)
{
	struct weft_join *joins[6];
	struct weft_mutex *m;
	int order[6], n = 0;
	atomic_int queued = 0;
	(void)state;

	drops = 0;
	assert_int_equal(weft_mutex_new(&m), 0);
	assert_int_equal(weft_mutex_try_lock(m), 0);
	for (int i = 0; i < 6; i++) {
		struct locker t = {.base.vtable = &locker_vtable,
		                   .m = m,
		                   .id = i,
		                   .order = order,
		                   .n = &n,
		                   .queued = &queued};
		spawn(&t.base, &joins[i]);
		/* Let it queue before the next one (bounded: 2 s). */
		for (int k = 0; k < 1000 && queued < i + 1; k++)
			run_for_ms(2);
		assert_int_equal(queued, i + 1);
	}
	assert_int_equal(weft_mutex_try_lock(m), -EAGAIN);
	weft_mutex_unlock(m);
	join_all(joins, 6);
	assert_int_equal(n, 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(order[i], i);
	assert_int_equal(drops, 6);
	weft_mutex_free(m);
}

/* ---- a dropped lock waiter never blocks the next locker ------------- */

static void
mutex_dropped_waiter(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_mutex_lock a, b;
	struct weft_mutex *m;
	(void)state;

	cw_reset();
	assert_int_equal(weft_mutex_new(&m), 0);

	/* Dropped while queued. */
	assert_int_equal(weft_mutex_try_lock(m), 0);
	weft_mutex_lock_init(&a, m);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	weft_future_drop(&a.base);
	weft_mutex_unlock(m);
	assert_int_equal(weft_mutex_try_lock(m), 0);

	/* Handed the lock, then dropped before it saw it: passes it on. */
	weft_mutex_lock_init(&a, m);
	weft_mutex_lock_init(&b, m);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	weft_mutex_unlock(m); /* to a */
	assert_int_equal(cw_wakes, 1);
	weft_future_drop(&a.base); /* to b */
	assert_int_equal(cw_wakes, 2);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	weft_future_drop(&b.base);
	assert_int_equal(weft_mutex_try_lock(m), -EAGAIN);
	weft_mutex_unlock(m);

	/* Handed the lock with nobody behind: the lock is free again. */
	assert_int_equal(weft_mutex_try_lock(m), 0);
	weft_mutex_lock_init(&a, m);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	weft_mutex_unlock(m);
	weft_future_drop(&a.base);
	assert_int_equal(weft_mutex_try_lock(m), 0);
	weft_mutex_unlock(m);

	assert_int_equal(cw_outstanding(), 0);
	weft_mutex_free(m);
}

/* A lock future under a timeout: the timeout drops it while it waits. */
static void
mutex_timeout_drops_waiter(void **state)
{
	struct weft_mutex_lock l;
	struct weft_timeout t;
	struct weft_mutex *m;
	(void)state;

	assert_int_equal(weft_mutex_new(&m), 0);
	assert_int_equal(weft_mutex_try_lock(m), 0);
	weft_mutex_lock_init(&l, m);
	weft_timeout_init(&t, &l.base, 20 * WEFT_MSEC);
	assert_int_equal(weft_block_on(rt, &t.base), 0);
	assert_int_equal(t.status, WEFT_ETIMEDOUT);
	assert_true(weft_future_is_empty(&l.base));
	weft_future_drop(&t.base);
	weft_mutex_unlock(m);
	weft_mutex_lock_init(&l, m);
	run(&l.base);
	weft_mutex_unlock(m);
	weft_mutex_free(m);
}

/* ---- rwlock: readers together, writers alone ------------------------ */

struct rw_task {
	struct weft_future base;
	struct weft_coro co;
	struct weft_rwlock_lock lock;
	struct weft_sleep sleep;
	struct weft_rwlock *rw;
	bool writer;
	atomic_int *readers, *writers, *max_readers, *violations;
	int out;
};

static weft_poll
rw_task_poll(struct weft_future *f, struct weft_context *cx)
{
	struct rw_task *t = (struct rw_task *)f;
	int r;

	WEFT_BEGIN(&t->co);
	if (t->writer)
		weft_rwlock_write_init(&t->lock, t->rw);
	else
		weft_rwlock_read_init(&t->lock, t->rw);
	WEFT_AWAIT(&t->co, cx, &t->lock);
	if (t->writer) {
		if (atomic_fetch_add(t->writers, 1) || *t->readers)
			atomic_fetch_add(t->violations, 1);
	} else {
		r = atomic_fetch_add(t->readers, 1) + 1;
		if (*t->writers)
			atomic_fetch_add(t->violations, 1);
		if (r > *t->max_readers)
			*t->max_readers = r;
	}
	weft_sleep_init(&t->sleep, 30 * WEFT_MSEC);
	WEFT_AWAIT(&t->co, cx, &t->sleep);
	if (t->writer) {
		atomic_fetch_sub(t->writers, 1);
		weft_rwlock_write_unlock(t->rw);
	} else {
		atomic_fetch_sub(t->readers, 1);
		weft_rwlock_read_unlock(t->rw);
	}
	WEFT_END(&t->co);
}

static void
rw_task_drop(struct weft_future *f)
{
	struct rw_task *t = (struct rw_task *)f;

	weft_future_drop(&t->lock.base);
	weft_future_drop(&t->sleep.base);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(rw_task_vtable, struct rw_task, out, rw_task_poll,
                   rw_task_drop);

static void
rwlock_readers_and_writers(void **state)
{
	atomic_int readers = 0, writers = 0, max_readers = 0, violations = 0;
	struct weft_join *joins[7];
	struct weft_rwlock *rw;
	/* r r r w r r w: the first three read together, writers alone. */
	static const bool kind[7] = {0, 0, 0, 1, 0, 0, 1};
	(void)state;

	drops = 0;
	assert_int_equal(weft_rwlock_new(&rw), 0);
	for (int i = 0; i < 7; i++) {
		struct rw_task t = {.base.vtable = &rw_task_vtable,
		                    .rw = rw,
		                    .writer = kind[i],
		                    .readers = &readers,
		                    .writers = &writers,
		                    .max_readers = &max_readers,
		                    .violations = &violations};
		spawn(&t.base, &joins[i]);
		run_for_ms(2);
	}
	join_all(joins, 7);
	assert_int_equal(violations, 0);
	assert_true(max_readers >= 2);
	assert_int_equal(drops, 7);
	assert_int_equal(weft_rwlock_try_write(rw), 0);
	assert_int_equal(weft_rwlock_try_read(rw), -EAGAIN);
	weft_rwlock_write_unlock(rw);
	assert_int_equal(weft_rwlock_try_read(rw), 0);
	assert_int_equal(weft_rwlock_try_read(rw), 0);
	assert_int_equal(weft_rwlock_try_write(rw), -EAGAIN);
	weft_rwlock_read_unlock(rw);
	weft_rwlock_read_unlock(rw);
	weft_rwlock_free(rw);
}

/* A queued writer keeps later readers out; dropping it lets them in. */
static void
rwlock_dropped_writer(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_rwlock_lock w, r;
	struct weft_rwlock *rw;
	(void)state;

	cw_reset();
	assert_int_equal(weft_rwlock_new(&rw), 0);
	assert_int_equal(weft_rwlock_try_read(rw), 0);
	weft_rwlock_write_init(&w, rw);
	weft_rwlock_read_init(&r, rw);
	assert_int_equal(weft_future_poll(&w.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_PENDING);
	weft_future_drop(&w.base);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_READY);
	weft_future_drop(&r.base);
	weft_rwlock_read_unlock(rw);
	weft_rwlock_read_unlock(rw);
	assert_int_equal(weft_rwlock_try_write(rw), 0);
	weft_rwlock_write_unlock(rw);
	assert_int_equal(cw_outstanding(), 0);
	weft_rwlock_free(rw);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mutex_across_await),
	    cmocka_unit_test(mutex_fifo),
	    cmocka_unit_test(mutex_dropped_waiter),
	    cmocka_unit_test(mutex_timeout_drops_waiter),
	    cmocka_unit_test(rwlock_readers_and_writers),
	    cmocka_unit_test(rwlock_dropped_writer),
	};

	return run_group(argc, argv, "lib-lock", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
