/* SPDX-License-Identifier: MIT */
/*
 * Executor tests of the paths that keep work away from the shared queues,
 * run once per executor (WEFT_EXECUTOR, from meson): LIFO slots, private
 * batches, lists of wakes not yet handed over, and the idle hints that
 * decide between them and the shared queue.
 *
 * - Batons: a few pairs of tasks pass a baton back and forth, so that the
 *   woken task lands in the waker's LIFO slot and workers keep going idle
 *   and coming back; one pair has a plain thread on one side, so its
 *   wakes come from outside.  A lost wake-up hangs, which the watchdog
 *   turns into a failure.
 * - A long poll: while one task polls for a long time, tasks spawned from
 *   outside still run, on the other workers (threaded executors only).
 * - Shutdown while busy: tasks that yield and wake each other forever are
 *   all dropped exactly once at close, wherever the stop finds them.
 *
 * Every test is bounded: a watchdog ends the process after WATCHDOG_S.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <weft/weft.h>

#define WATCHDOG_S 60
#define PAIRS      4 /* the last has a thread on one side */

static bool
under_valgrind(void)
{
	const char *v = getenv("WEFT_UNDER_VALGRIND");

	return v && *v && strcmp(v, "0") != 0;
}


static void
on_alarm(int sig)
{
	static const char msg[] =
	    "test_executor_queues: watchdog: a test is stuck (lost wake-up?)\n";

	(void)sig;
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}


static struct weft_runtime *
open_runtime(void)
{
	struct weft_runtime *rt = NULL;
	char err[256] = "";
	int r = weft_runtime_open(&rt, NULL, err, sizeof(err));

	if (r < 0)
		fail_msg("runtime: %s", err);
	return rt;
}


static uint32_t
workers_of(struct weft_runtime *rt)
{
	struct weft_executor_stats s = {.size = sizeof(s)};

	assert_int_equal(weft_runtime_stats(rt, &s), 0);
	return s.workers;
}


static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* ---- a one-waker slot, safe to fill, wake and empty from any thread -- */

struct slot {
	pthread_mutex_t lock;
	struct weft_waker waker;
	bool set;
};

static void
slot_init(struct slot *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
}

/* Keeps a clone of cx's waker, replacing the one kept before. */
static void
slot_store(struct slot *s, struct weft_context *cx)
{
	struct weft_waker old = {0, 0};
	bool had;

	pthread_mutex_lock(&s->lock);
	had = s->set;
	if (had)
		old = s->waker;
	s->waker = weft_waker_clone(&cx->waker);
	s->set = true;
	pthread_mutex_unlock(&s->lock);
	if (had)
		weft_waker_drop(&old);
}

/* Wakes what the slot holds, if anything, and keeps it. */
static void
slot_wake(struct slot *s)
{
	struct weft_waker w = {0, 0};
	bool had;

	pthread_mutex_lock(&s->lock);
	had = s->set;
	if (had)
		w = weft_waker_clone(&s->waker);
	pthread_mutex_unlock(&s->lock);
	if (had)
		weft_waker_wake(&w);
}

static void
slot_clear(struct slot *s)
{
	struct weft_waker w = {0, 0};
	bool had;

	pthread_mutex_lock(&s->lock);
	had = s->set;
	if (had)
		w = s->waker;
	s->set = false;
	pthread_mutex_unlock(&s->lock);
	if (had)
		weft_waker_drop(&w);
}


/* ---- the root: waits until a counter reaches a target ---------------- */

struct until {
	struct weft_future base;
	atomic_uint_fast64_t count;
	uint64_t target;
	struct slot slot;
};

static weft_poll
until_poll(struct weft_future *f, struct weft_context *cx)
{
	struct until *u = (struct until *)f;

	slot_store(&u->slot, cx);
	return atomic_load(&u->count) >= u->target ? WEFT_READY : WEFT_PENDING;
}

static void
until_drop(struct weft_future *f)
{
	slot_clear(&((struct until *)f)->slot);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(until_vtable, struct until, until_poll,
                             until_drop);

static void
until_init(struct until *u, uint64_t target)
{
	memset(u, 0, sizeof(*u));
	u->base.vtable = &until_vtable;
	u->target = target;
	slot_init(&u->slot);
}

static void
until_add(struct until *u)
{
	if (atomic_fetch_add(&u->count, 1) + 1 >= u->target)
		slot_wake(&u->slot);
}


/* ---- batons --------------------------------------------------------- */

/* Two sides pass the baton: side s may move only while turn == s. */
struct pair {
	atomic_int turn;
	atomic_long passes; /* how many times the baton moved */
	long rounds;
	struct slot side[2];
	bool thread_side; /* side 1 is a plain thread, not a task */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* the thread side waits here */
};

struct batons {
	struct pair pairs[PAIRS];
	struct until done; /* one count per finished pair side */
	atomic_int drops;
};

struct runner {
	struct weft_future base;
	struct batons *b;
	struct pair *p;
	int side;
};

/* Hands the baton to the other side of p and wakes it. */
static void
pass_to(struct pair *p, int other)
{
	atomic_fetch_add(&p->passes, 1);
	if (other == 1 && p->thread_side) {
		pthread_mutex_lock(&p->lock);
		atomic_store(&p->turn, other);
		pthread_cond_signal(&p->cond);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	atomic_store(&p->turn, other);
	slot_wake(&p->side[other]);
}

static weft_poll
runner_poll(struct weft_future *f, struct weft_context *cx)
{
	struct runner *r = (struct runner *)f;
	struct pair *p = r->p;

	for (;;) {
		if (atomic_load(&p->passes) >= 2 * p->rounds) {
			until_add(&r->b->done);
			return WEFT_READY;
		}
		/* Stored before the check: a pass after it wakes us. */
		slot_store(&p->side[r->side], cx);
		if (atomic_load(&p->turn) != r->side)
			return WEFT_PENDING;
		pass_to(p, 1 - r->side);
	}
}

static void
runner_drop(struct weft_future *f)
{
	atomic_fetch_add(&((struct runner *)f)->b->drops, 1);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(runner_vtable, struct runner, runner_poll,
                             runner_drop);

/* The thread side of the last pair. */
static void *
thread_side_main(void *arg)
{
	struct batons *b = arg;
	struct pair *p = &b->pairs[PAIRS - 1];

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (atomic_load(&p->turn) != 1 &&
		       atomic_load(&p->passes) < 2 * p->rounds)
			pthread_cond_wait(&p->cond, &p->lock);
		pthread_mutex_unlock(&p->lock);
		if (atomic_load(&p->passes) >= 2 * p->rounds)
			break;
		pass_to(p, 0);
	}
	until_add(&b->done);
	return NULL;
}

static void
test_batons_lose_no_wakeup(void **state)
{
	struct weft_runtime *rt = open_runtime();
	struct batons *b = calloc(1, sizeof(*b));
	long rounds = under_valgrind() ? 300 : 20000;
	pthread_t th;

	(void)state;
	assert_non_null(b);
	until_init(&b->done, 2 * PAIRS);
	for (int i = 0; i < PAIRS; i++) {
		struct pair *p = &b->pairs[i];

		p->rounds = rounds;
		p->thread_side = i == PAIRS - 1;
		slot_init(&p->side[0]);
		slot_init(&p->side[1]);
		pthread_mutex_init(&p->lock, NULL);
		pthread_cond_init(&p->cond, NULL);
		for (int s = 0; s < 2; s++) {
			struct runner r = {
			    .base.vtable = &runner_vtable, .b = b, .p = p};

			if (s == 1 && p->thread_side)
				continue;
			r.side = s;
			assert_int_equal(weft_spawn(rt, &r.base, NULL), 0);
		}
	}
	assert_int_equal(pthread_create(&th, NULL, thread_side_main, b), 0);
	assert_int_equal(weft_block_on(rt, &b->done.base), 0);
	weft_future_drop(&b->done.base);
	pthread_join(th, NULL);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&b->drops), 2 * PAIRS - 1);
	for (int i = 0; i < PAIRS; i++) {
		assert_true(atomic_load(&b->pairs[i].passes) >= 2 * rounds);
		slot_clear(&b->pairs[i].side[0]);
		slot_clear(&b->pairs[i].side[1]);
	}
	free(b);
}


/* ---- a long poll does not hold up the other workers ----------------- */

enum { SHORTS = 64 };

struct long_poll {
	atomic_bool started;
	atomic_int shorts_done;
	atomic_bool saw_all; /* the long poll saw every short task finish */
	struct until done;   /* the long task and every short one */
};

struct longer {
	struct weft_future base;
	struct long_poll *lp;
};

static weft_poll
longer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct long_poll *lp = ((struct longer *)f)->lp;
	uint64_t deadline = now_ns() + 20ull * 1000000000u;

	(void)cx;
	atomic_store(&lp->started, true);
	/* One poll, as long as the short tasks take (or 20 s). */
	while (now_ns() < deadline) {
		if (atomic_load(&lp->shorts_done) == SHORTS) {
			atomic_store(&lp->saw_all, true);
			break;
		}
		sched_yield();
	}
	until_add(&lp->done);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(longer_vtable, struct longer, longer_poll, NULL);

struct shorter {
	struct weft_future base;
	struct long_poll *lp;
	int yields;
};

static weft_poll
shorter_poll(struct weft_future *f, struct weft_context *cx)
{
	struct shorter *s = (struct shorter *)f;

	/* A few yields: each goes back to a queue another worker reads. */
	if (s->yields-- > 0) {
		weft_waker_wake_by_ref(&cx->waker);
		return WEFT_PENDING;
	}
	atomic_fetch_add(&s->lp->shorts_done, 1);
	until_add(&s->lp->done);
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(shorter_vtable, struct shorter, shorter_poll,
                             NULL);

static void
test_long_poll_does_not_hold_up_others(void **state)
{
	struct weft_runtime *rt = open_runtime();
	struct long_poll *lp = calloc(1, sizeof(*lp));
	struct longer l = {.base.vtable = &longer_vtable};

	(void)state;
	assert_non_null(lp);
	if (workers_of(rt) < 2) {
		weft_runtime_close(rt);
		free(lp);
		skip(); /* one thread runs everything: nothing to overtake */
		return; /* skip() is not marked noreturn */
	}
	until_init(&lp->done, SHORTS + 1);
	l.lp = lp;
	assert_int_equal(weft_spawn(rt, &l.base, NULL), 0);
	while (!atomic_load(&lp->started))
		sched_yield();
	/* From outside, while the long poll runs: the shared queues. */
	for (int i = 0; i < SHORTS; i++) {
		struct shorter s = {
		    .base.vtable = &shorter_vtable, .lp = lp, .yields = 3};

		assert_int_equal(weft_spawn(rt, &s.base, NULL), 0);
	}
	assert_int_equal(weft_block_on(rt, &lp->done.base), 0);
	weft_future_drop(&lp->done.base);
	weft_runtime_close(rt);
	assert_true(atomic_load(&lp->saw_all));
	free(lp);
}


/* ---- shutdown while every task is busy ------------------------------ */

enum { BUSY = 256 };

struct busy_set {
	struct slot slots[BUSY];
	atomic_int drops[BUSY];
	atomic_long polls;
	struct until warm; /* enough polls that every queue is in use */
};

struct busy {
	struct weft_future base;
	struct busy_set *set;
	int id;
};

static weft_poll
busy_poll(struct weft_future *f, struct weft_context *cx)
{
	struct busy *t = (struct busy *)f;
	struct busy_set *s = t->set;

	slot_store(&s->slots[t->id], cx);
	/* A peer (LIFO slot or hand-over list), then itself (the back). */
	slot_wake(&s->slots[(t->id * 7 + 1) % BUSY]);
	weft_waker_wake_by_ref(&cx->waker);
	atomic_fetch_add(&s->polls, 1);
	until_add(&s->warm);
	return WEFT_PENDING;
}

static void
busy_drop(struct weft_future *f)
{
	struct busy *t = (struct busy *)f;

	atomic_fetch_add(&t->set->drops[t->id], 1);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(busy_vtable, struct busy, busy_poll, busy_drop);

static void
test_shutdown_while_busy_drops_once(void **state)
{
	struct weft_runtime *rt = open_runtime();
	struct busy_set *s = calloc(1, sizeof(*s));

	(void)state;
	assert_non_null(s);
	for (int i = 0; i < BUSY; i++)
		slot_init(&s->slots[i]);
	until_init(&s->warm, under_valgrind() ? 2000 : 50000);
	for (int i = 0; i < BUSY; i++) {
		struct busy t = {
		    .base.vtable = &busy_vtable, .set = s, .id = i};

		assert_int_equal(weft_spawn(rt, &t.base, NULL), 0);
	}
	assert_int_equal(weft_block_on(rt, &s->warm.base), 0);
	weft_future_drop(&s->warm.base);
	/* Close with every task runnable: in queues, slots and batches. */
	weft_runtime_close(rt);
	for (int i = 0; i < BUSY; i++) {
		assert_int_equal(atomic_load(&s->drops[i]), 1);
		slot_clear(&s->slots[i]);
	}
	free(s);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batons_lose_no_wakeup),
	    cmocka_unit_test(test_long_poll_does_not_hold_up_others),
	    cmocka_unit_test(test_shutdown_while_busy_drops_once),
	};

	signal(SIGALRM, on_alarm);
	alarm(WATCHDOG_S);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
