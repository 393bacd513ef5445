/* SPDX-License-Identifier: MIT */
/*
 * The one-call awaits of <weft/await.h> for <weft/sync.h> and collect, on
 * a real runtime (the executor and reactor named on the command line):
 * notified, await_until (with a race against a plain thread that would
 * lose wake-ups if the condition were checked before the waiter is
 * armed), semaphore acquire, rwlock read and write, barrier wait and
 * stream collect; weft_now outside a fiber; and WEFT_ECANCELED, with
 * nothing left held, when a waiting fiber is dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Outside a fiber, and missing handles                                */
/* ------------------------------------------------------------------ */

static bool
always(void *arg)
{
	(void)arg;
	return true;
}

static void
test_outside_fiber(void **state)
{
	struct weft_notify *n;
	struct weft_semaphore *s;
	struct weft_rwlock *rw;
	struct weft_barrier *b;
	struct weft_stream_range range;
	struct weft_vec v = {(void *)&v, 1, 1, 1};

	(void)state;
	assert_int_equal(weft_notify_new(&n), 0);
	assert_int_equal(weft_semaphore_new(1, &s), 0);
	assert_int_equal(weft_rwlock_new(&rw), 0);
	assert_int_equal(weft_barrier_new(1, &b), 0);

	assert_int_equal(weft_notified_await(n), -EPERM);
	assert_int_equal(weft_await_until(n, always, NULL), -EPERM);
	assert_int_equal(weft_semaphore_acquire_await(s, 1), -EPERM);
	assert_int_equal(weft_semaphore_available(s), 1);
	assert_int_equal(weft_rwlock_read_await(rw), -EPERM);
	assert_int_equal(weft_rwlock_write_await(rw), -EPERM);
	assert_int_equal(weft_rwlock_try_write(rw), 0); /* nothing held */
	weft_rwlock_write_unlock(rw);
	assert_int_equal(weft_barrier_wait_await(b), -EPERM);
	/* The stream is consumed in every case. */
	weft_stream_range_init(&range, 0, 3);
	assert_int_equal(weft_stream_collect_await(&range.base, &v), -EPERM);
	assert_true(weft_stream_is_empty(&range.base));
	assert_null(v.data);
	assert_int_equal(v.len, 0);

	assert_int_equal(weft_notified_await(NULL), -EINVAL);
	assert_int_equal(weft_await_until(NULL, always, NULL), -EINVAL);
	assert_int_equal(weft_await_until(n, NULL, NULL), -EINVAL);
	assert_int_equal(weft_semaphore_acquire_await(NULL, 1), -EINVAL);
	assert_int_equal(weft_rwlock_read_await(NULL), -EINVAL);
	assert_int_equal(weft_rwlock_write_await(NULL), -EINVAL);
	assert_int_equal(weft_barrier_wait_await(NULL), -EINVAL);
	assert_int_equal(weft_stream_collect_await(NULL, &v), -EINVAL);
	weft_stream_range_init(&range, 0, 3);
	assert_int_equal(weft_stream_collect_await(&range.base, NULL), -EINVAL);
	assert_true(weft_stream_is_empty(&range.base));

	weft_barrier_free(b);
	weft_rwlock_free(rw);
	weft_semaphore_free(s);
	weft_notify_free(n);
}

/* ------------------------------------------------------------------ */
/* weft_now: one clock inside and outside fibers                       */
/* ------------------------------------------------------------------ */

static int
now_fiber(void *arg)
{
	uint64_t *t = arg;

	t[1] = weft_now();
	CHECK(weft_sleep_ms(5) == 0);
	t[2] = weft_now();
	return 0;
}

static void
test_now(void **state)
{
	uint64_t t[4];
	struct timespec ts;

	(void)state;
	t[0] = weft_now();
	assert_true(t[0] > 0);
	assert_int_equal(run_fiber(now_fiber, t), 0);
	t[3] = weft_now();
	assert_true(t[2] >= t[1] + 5 * WEFT_MSEC);
	/*
	 * Outside a fiber weft_now reads CLOCK_MONOTONIC, which a virtual
	 * clock (the sim reactor, R12) does not follow.
	 */
	if (pair_is_sim())
		return;
	/* One time line: what is read outside a fiber orders with what the
	 * driver reads inside one, and a deadline computed outside holds. */
	assert_true(t[0] <= t[1]);
	assert_true(t[3] >= t[2]);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	assert_true((uint64_t)ts.tv_sec * WEFT_SEC + (uint64_t)ts.tv_nsec >=
	            t[3]);
}

/* ------------------------------------------------------------------ */
/* notified and await_until                                            */
/* ------------------------------------------------------------------ */

struct flag {
	struct weft_notify *n;
	atomic_int value;
};

static int
set_later(void *arg)
{
	struct flag *f = arg;

	if (weft_sleep_ms(10) < 0)
		return -1;
	atomic_store(&f->value, 1);
	weft_notify_waiters(f->n);
	return 0;
}

static bool
flag_set(void *arg)
{
	return atomic_load(&((struct flag *)arg)->value) != 0;
}

static int
notify_fiber(void *arg)
{
	struct flag f = {0};
	struct weft_join *join;
	int result = -1;

	(void)arg;
	CHECK(weft_notify_new(&f.n) == 0);
	/* A stored permit: the next notified completes at once. */
	weft_notify_one(f.n);
	CHECK(weft_notified_await(f.n) == 0);
	/* Woken by another task. */
	CHECK(weft_spawn_fiber(set_later, &f, &join) == 0);
	CHECK(weft_await_until(f.n, flag_set, &f) == 0);
	CHECK(atomic_load(&f.value) == 1);
	CHECK(weft_task_await(join, &result, sizeof(result)) == 0);
	CHECK(result == 0);
	/* Already true: returns without waiting for anyone. */
	CHECK(weft_await_until(f.n, flag_set, &f) == 0);
	weft_notify_free(f.n);
	return 0;
}

static void
test_notify(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(notify_fiber, NULL), 0);
}

/*
 * The race: a plain thread publishes round i and calls notify_waiters
 * (which stores nothing) as soon as the fiber has acknowledged round i-1,
 * so its notify often lands between the fiber's arming and its check, or
 * between the check and the suspension.  A helper that checked first and
 * armed after would miss one of those and never wake; the fiber's wait is
 * bounded by a timeout so that the test fails instead of hanging.
 */
#define ROUNDS 2000

struct race {
	struct weft_notify *n;
	atomic_int published;
	atomic_int acked;
	atomic_int stop;
	int round;
};

/*
 * A slow condition: when false it yields before answering, which widens
 * the window between its check and the suspension that follows, the
 * window a check-then-arm order would lose a notify in.
 */
static bool
round_published(void *arg)
{
	struct race *r = arg;

	if (atomic_load(&r->published) >= r->round)
		return true;
	sched_yield();
	return false;
}

static void *
publisher(void *arg)
{
	struct race *r = arg;

	for (int i = 1; i <= ROUNDS && !atomic_load(&r->stop); i++) {
		while (atomic_load(&r->acked) < i - 1 && !atomic_load(&r->stop))
			sched_yield();
		atomic_store(&r->published, i);
		weft_notify_waiters(r->n);
	}
	return NULL;
}

static int
waiter(void *arg)
{
	struct race *r = arg;

	for (r->round = 1; r->round <= ROUNDS; r->round++) {
		int e = weft_await_until(r->n, round_published, r);

		if (e < 0)
			return e;
		atomic_store(&r->acked, r->round);
	}
	return 0;
}

static int
race_fiber(void *arg)
{
	struct race r = {0};
	struct weft_fiber w;
	pthread_t th;
	int e;

	(void)arg;
	CHECK(weft_notify_new(&r.n) == 0);
	CHECK(pthread_create(&th, NULL, publisher, &r) == 0);
	CHECK(weft_fiber_init(&w, waiter, &r, NULL) == 0);
	e = weft_timeout_await(&w.base, 60 * WEFT_SEC);
	atomic_store(&r.stop, 1);
	pthread_join(th, NULL);
	weft_notify_free(r.n);
	CHECK(e == 0);        /* not WEFT_ETIMEDOUT: no wake-up was lost */
	CHECK(w.result == 0); /* and every round was seen */
	CHECK(atomic_load(&r.acked) == ROUNDS);
	return 0;
}

static void
test_await_until_race(void **state)
{
	(void)state;
	/*
	 * The publisher is a plain thread: while the fiber waits for it, the
	 * sim executor sees nothing runnable and virtual time jumps past
	 * the 60 s bound.
	 */
	if (pair_is_sim())
		skip();
	assert_int_equal(run_fiber(race_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Semaphore, rwlock, barrier                                          */
/* ------------------------------------------------------------------ */

struct shared {
	struct weft_semaphore *sem;
	struct weft_rwlock *rw;
	atomic_int in; /* 1 once the spawned task holds what it waited for */
};

static int
acquirer(void *arg)
{
	struct shared *s = arg;
	int r = weft_semaphore_acquire_await(s->sem, 2);

	if (r < 0)
		return r;
	atomic_store(&s->in, 1);
	weft_semaphore_release(s->sem, 2);
	return 0;
}

static int
reader(void *arg)
{
	struct shared *s = arg;
	int r = weft_rwlock_read_await(s->rw);

	if (r < 0)
		return r;
	atomic_store(&s->in, 1);
	weft_rwlock_read_unlock(s->rw);
	return 0;
}

static int
locks_fiber(void *arg)
{
	struct shared s = {0};
	struct weft_join *join;
	int result = -1;

	(void)arg;
	CHECK(weft_semaphore_new(2, &s.sem) == 0);
	CHECK(weft_rwlock_new(&s.rw) == 0);

	/* Semaphore: the other task waits for both permits. */
	CHECK(weft_semaphore_acquire_await(s.sem, 1) == 0);
	CHECK(weft_semaphore_available(s.sem) == 1);
	CHECK(weft_spawn_fiber(acquirer, &s, &join) == 0);
	CHECK(weft_sleep_ms(20) == 0);
	CHECK(atomic_load(&s.in) == 0);
	weft_semaphore_release(s.sem, 1);
	CHECK(weft_task_await(join, &result, sizeof(result)) == 0);
	CHECK(result == 0 && atomic_load(&s.in) == 1);
	CHECK(weft_semaphore_available(s.sem) == 2);
	weft_semaphore_close(s.sem);
	CHECK(weft_semaphore_acquire_await(s.sem, 1) == WEFT_ECLOSED);

	/* RwLock: two readers at once, a writer alone, a reader after it. */
	atomic_store(&s.in, 0);
	CHECK(weft_rwlock_read_await(s.rw) == 0);
	CHECK(weft_rwlock_read_await(s.rw) == 0);
	CHECK(weft_rwlock_try_write(s.rw) == -EAGAIN);
	weft_rwlock_read_unlock(s.rw);
	weft_rwlock_read_unlock(s.rw);
	CHECK(weft_rwlock_write_await(s.rw) == 0);
	CHECK(weft_rwlock_try_read(s.rw) == -EAGAIN);
	CHECK(weft_spawn_fiber(reader, &s, &join) == 0);
	CHECK(weft_sleep_ms(20) == 0);
	CHECK(atomic_load(&s.in) == 0);
	weft_rwlock_write_unlock(s.rw);
	CHECK(weft_task_await(join, &result, sizeof(result)) == 0);
	CHECK(result == 0 && atomic_load(&s.in) == 1);
	CHECK(weft_rwlock_try_write(s.rw) == 0);
	weft_rwlock_write_unlock(s.rw);

	weft_rwlock_free(s.rw);
	weft_semaphore_free(s.sem);
	return 0;
}

static void
test_locks(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(locks_fiber, NULL), 0);
}

struct party {
	struct weft_barrier *b;
	int leader[2];
};

static int
arrive(void *arg)
{
	struct party *p = arg;

	for (int round = 0; round < 2; round++) {
		int r = weft_barrier_wait_await(p->b);

		if (r < 0)
			return r;
		p->leader[round] = r;
	}
	return 0;
}

static int
barrier_fiber(void *arg)
{
	struct weft_barrier *b;
	struct party p[3] = {{0}};
	struct weft_fiber_call calls[3];

	(void)arg;
	CHECK(weft_barrier_new(3, &b) == 0);
	for (int i = 0; i < 3; i++) {
		p[i].b = b;
		calls[i] = (struct weft_fiber_call){arrive, &p[i]};
	}
	CHECK(weft_join_fibers(calls, 3) == 0);
	/* One leader per round. */
	for (int round = 0; round < 2; round++) {
		int leaders = 0;

		for (int i = 0; i < 3; i++) {
			CHECK(p[i].leader[round] == 0 ||
			      p[i].leader[round] == 1);
			leaders += p[i].leader[round];
		}
		CHECK(leaders == 1);
	}
	weft_barrier_free(b);
	return 0;
}

static void
test_barrier(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(barrier_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* collect                                                             */
/* ------------------------------------------------------------------ */

/* 10, 11, then the error -EIO. */
static int
failing_next(void *state, void *item)
{
	int *i = state;

	if (*i == 2)
		return -EIO;
	*(int *)item = 10 + (*i)++;
	return 1;
}

static int
collect_fiber(void *arg)
{
	struct weft_stream_range range;
	struct weft_stream_iter it;
	struct weft_vec v;
	int i = 0;

	(void)arg;
	weft_stream_range_init(&range, 3, 8);
	CHECK(weft_stream_collect_await(&range.base, &v) == 0);
	CHECK(v.len == 5 && v.item_size == sizeof(int64_t));
	for (size_t k = 0; k < v.len; k++)
		CHECK(*(int64_t *)weft_vec_at(&v, k) == (int64_t)k + 3);
	weft_vec_free(&v);

	/* The first error item ends it; the items before are kept. */
	weft_stream_iter_init(&it, sizeof(int), failing_next, &i);
	CHECK(weft_stream_collect_await(&it.base, &v) == -EIO);
	CHECK(v.len == 2);
	CHECK(*(int *)weft_vec_at(&v, 0) == 10);
	CHECK(*(int *)weft_vec_at(&v, 1) == 11);
	weft_vec_free(&v);
	return 0;
}

static void
test_collect(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(collect_fiber, NULL), 0);
}

/* ------------------------------------------------------------------ */
/* A fiber dropped mid-wait: WEFT_ECANCELED, nothing left held         */
/* ------------------------------------------------------------------ */

struct stuck {
	struct weft_notify *n;
	struct weft_semaphore *sem;
	struct weft_rwlock *rw;
	struct weft_barrier *b;
	int r[5];
};

static bool
never(void *arg)
{
	(void)arg;
	return false;
}

static int
stuck_notified(void *arg)
{
	struct stuck *s = arg;

	s->r[0] = weft_notified_await(s->n);
	return 0;
}

static int
stuck_until(void *arg)
{
	struct stuck *s = arg;

	s->r[1] = weft_await_until(s->n, never, NULL);
	return 0;
}

static int
stuck_acquire(void *arg)
{
	struct stuck *s = arg;

	s->r[2] = weft_semaphore_acquire_await(s->sem, 1);
	return 0;
}

static int
stuck_write(void *arg)
{
	struct stuck *s = arg;

	s->r[3] = weft_rwlock_write_await(s->rw);
	return 0;
}

static int
stuck_barrier(void *arg)
{
	struct stuck *s = arg;

	s->r[4] = weft_barrier_wait_await(s->b);
	return 0;
}

static int
short_sleep(void *arg)
{
	(void)arg;
	return weft_sleep_ms(20);
}

static int
cancel_fiber(void *arg)
{
	struct stuck s = {.r = {1, 1, 1, 1, 1}};
	struct weft_fiber_call calls[6] = {
	    {stuck_notified, &s}, {stuck_until, &s},   {stuck_acquire, &s},
	    {stuck_write, &s},    {stuck_barrier, &s}, {short_sleep, NULL}};

	(void)arg;
	CHECK(weft_notify_new(&s.n) == 0);
	CHECK(weft_semaphore_new(0, &s.sem) == 0);
	CHECK(weft_rwlock_new(&s.rw) == 0);
	CHECK(weft_barrier_new(2, &s.b) == 0);
	CHECK(weft_rwlock_try_read(s.rw) == 0); /* the writer must wait */
	CHECK(weft_select_fibers(0, calls, 6) == 5);
	for (int i = 0; i < 5; i++)
		CHECK(s.r[i] == WEFT_ECANCELED);
	/* The dropped waits left nothing behind: the writer's place is
	 * gone, the barrier's arrival withdrawn, no permit was taken. */
	weft_rwlock_read_unlock(s.rw);
	CHECK(weft_rwlock_try_write(s.rw) == 0);
	weft_rwlock_write_unlock(s.rw);
	weft_semaphore_release(s.sem, 1);
	CHECK(weft_semaphore_try_acquire(s.sem, 1) == 0);
	/* A lone arrival at the barrier of two still waits: the dropped
	 * one was withdrawn (the sleep wins again). */
	CHECK(weft_select_fibers(0, &calls[4], 2) == 1);
	CHECK(s.r[4] == WEFT_ECANCELED);
	weft_barrier_free(s.b);
	weft_rwlock_free(s.rw);
	weft_semaphore_free(s.sem);
	weft_notify_free(s.n);
	return 0;
}

static void
test_cancelled(void **state)
{
	(void)state;
	assert_int_equal(run_fiber(cancel_fiber, NULL), 0);
	assert_int_equal(weft_fiber_live(), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_outside_fiber),
    cmocka_unit_test(test_now),
    cmocka_unit_test(test_notify),
    cmocka_unit_test(test_await_until_race),
    cmocka_unit_test(test_locks),
    cmocka_unit_test(test_barrier),
    cmocka_unit_test(test_collect),
    cmocka_unit_test(test_cancelled),
};

AWAIT_TEST_MAIN(tests);
