/* SPDX-License-Identifier: MIT */
/*
 * Executor tests, run once per executor (WEFT_EXECUTOR, from meson):
 * many tasks, no concurrent polls, spawn from every kind of thread, a
 * yield-forever task against a timer, and shutdown with waiting tasks.
 * Every future counts its drops, so "dropped exactly once" is checked, not
 * assumed.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
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

static bool
under_valgrind(void)
{
	const char *v = getenv("WEFT_UNDER_VALGRIND");

	return v && *v && strcmp(v, "0") != 0;
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


static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* ---- the root: waits until a counter reaches a target ---------------- */

/*
 * block_on's future: ready once *count >= target.  Whoever moves the
 * counter to the target wakes `waker`, stored before anything can.
 *
 * The lock matters on threaded executors: the root may see the count,
 * return and be dropped while the task that moved it has not called the
 * waker yet.  Waking and dropping under the lock keeps the two apart; the
 * struct itself outlives the runtime, whose close joins the workers.
 */
struct until {
	struct weft_future base;
	atomic_uint_fast64_t count;
	uint64_t target;
	pthread_mutex_t lock;
	struct weft_waker waker;
	bool stored;
};

static weft_poll
until_poll(struct weft_future *f, struct weft_context *cx)
{
	struct until *u = (struct until *)f;

	pthread_mutex_lock(&u->lock);
	if (!u->stored) {
		u->waker = weft_waker_clone(&cx->waker);
		u->stored = true;
	}
	pthread_mutex_unlock(&u->lock);
	return atomic_load(&u->count) >= u->target ? WEFT_READY : WEFT_PENDING;
}

static void
until_drop(struct weft_future *f)
{
	struct until *u = (struct until *)f;

	pthread_mutex_lock(&u->lock);
	weft_waker_drop(&u->waker);
	pthread_mutex_unlock(&u->lock);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(until_vtable, struct until, until_poll,
                             until_drop);

static void
until_init(struct until *u, uint64_t target)
{
	memset(u, 0, sizeof(*u));
	u->base.vtable = &until_vtable;
	u->target = target;
	pthread_mutex_init(&u->lock, NULL);
}

/* One step towards the target; the last wakes the root. */
static void
until_add(struct until *u)
{
	if (atomic_fetch_add(&u->count, 1) + 1 == u->target) {
		pthread_mutex_lock(&u->lock);
		weft_waker_wake_by_ref(&u->waker);
		pthread_mutex_unlock(&u->lock);
	}
}


/*
 * Runs the first poll of `u` in block_on, after `before` had a chance to
 * start things (it is called from within that first poll, with the waker
 * stored, so that nothing can complete before the root can be woken).
 */
struct rooted {
	struct until u;
	void (*start)(struct rooted *r, struct weft_context *cx);
	void *arg;
	bool started;
};

static weft_poll
rooted_poll(struct weft_future *f, struct weft_context *cx)
{
	struct rooted *r = (struct rooted *)f;

	if (!r->started) {
		r->started = true;
		until_poll(f, cx);
		r->start(r, cx);
	}
	return until_poll(f, cx);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(rooted_vtable, struct rooted, rooted_poll,
                             until_drop);

static void
rooted_init(struct rooted *r, uint64_t target,
            void (*start)(struct rooted *, struct weft_context *), void *arg)
{
	until_init(&r->u, target);
	r->u.base.vtable = &rooted_vtable;
	r->start = start;
	r->arg = arg;
	r->started = false;
}


/* ---- 1. many trivial tasks ------------------------------------------ */

struct many {
	struct until *root;
	atomic_uchar *drops; /* one per task: exactly 1 at the end */
	atomic_uint_fast64_t dropped;
	uint64_t n;
};

struct trivial {
	struct weft_future base;
	struct many *m;
	uint64_t id;
};

static weft_poll
trivial_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)cx;
	until_add(((struct trivial *)f)->m->root);
	return WEFT_READY;
}

static void
trivial_drop(struct weft_future *f)
{
	struct trivial *t = (struct trivial *)f;

	atomic_fetch_add(&t->m->drops[t->id], 1);
	atomic_fetch_add(&t->m->dropped, 1);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(trivial_vtable, struct trivial, trivial_poll,
                             trivial_drop);

/* A task that spawns the trivial ones: spawns from a worker. */
struct spawner {
	struct weft_future base;
	struct many *m;
	uint64_t from, to;
};

static weft_poll
spawner_poll(struct weft_future *f, struct weft_context *cx)
{
	struct spawner *s = (struct spawner *)f;
	struct trivial t = {.base.vtable = &trivial_vtable, .m = s->m};

	for (uint64_t i = s->from; i < s->to; i++) {
		t.id = i;
		assert_int_equal(
		    weft_executor_spawn(cx->executor, &t.base, NULL), 0);
	}
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(spawner_vtable, struct spawner, spawner_poll,
                             NULL);

static void
many_start(struct rooted *r, struct weft_context *cx)
{
	struct many *m = r->arg;
	struct spawner s = {.base.vtable = &spawner_vtable, .m = m};
	struct trivial t = {.base.vtable = &trivial_vtable, .m = m};

	/* A tenth from block_on's thread, the rest from a task. */
	for (s.from = 0; s.from < m->n / 10; s.from++) {
		t.id = s.from;
		assert_int_equal(
		    weft_executor_spawn(cx->executor, &t.base, NULL), 0);
	}
	s.to = m->n;
	assert_int_equal(weft_executor_spawn(cx->executor, &s.base, NULL), 0);
}

static void
test_million_tasks(void **state)
{
	struct weft_executor_stats st = {.size = sizeof(st)};
	struct weft_runtime *rt = open_runtime();
	struct many m = {.n = under_valgrind() ? 100000 : 1000000};
	struct rooted root;

	(void)state;
	m.drops = calloc(m.n, sizeof(*m.drops));
	assert_non_null(m.drops);
	m.root = &root.u;
	rooted_init(&root, m.n, many_start, &m);
	assert_int_equal(weft_block_on(rt, &root.u.base), 0);
	weft_future_drop(&root.u.base);
	assert_int_equal(weft_runtime_stats(rt, &st), 0);
	weft_runtime_close(rt);

	assert_int_equal(atomic_load(&m.dropped), m.n);
	for (uint64_t i = 0; i < m.n; i++)
		if (atomic_load(&m.drops[i]) != 1)
			fail_msg("task %llu dropped %d times",
			         (unsigned long long)i, (int)m.drops[i]);
	assert_true(st.spawned >= m.n + 1);
	assert_true(st.polls >= m.n + 1);
	free(m.drops);
}


/* ---- 2. never polled on two threads at once ------------------------- */

#define EXCL_TASKS  8
#define EXCL_POLLS  2000
#define EXCL_WAKERS 2

struct excl {
	struct until *root;
	pthread_mutex_t lock;
	struct weft_waker wakers[EXCL_TASKS];
	atomic_int in_poll[EXCL_TASKS];
	atomic_int overlaps;
	atomic_int dropped;
	atomic_bool done;
};

struct excl_task {
	struct weft_future base;
	struct excl *x;
	int id;
	int polls;
};

static weft_poll
excl_poll(struct weft_future *f, struct weft_context *cx)
{
	struct excl_task *t = (struct excl_task *)f;
	struct excl *x = t->x;

	if (atomic_exchange(&x->in_poll[t->id], 1))
		atomic_fetch_add(&x->overlaps, 1);
	pthread_mutex_lock(&x->lock);
	weft_waker_store(&x->wakers[t->id], &cx->waker);
	pthread_mutex_unlock(&x->lock);
	/* Stay in the poll a little, so foreign wakes land inside it. */
	for (volatile int i = 0; i < 200; i++)
		;
	if (t->polls % 7 == 0)
		weft_waker_wake_by_ref(&cx->waker);
	atomic_store(&x->in_poll[t->id], 0);
	if (++t->polls < EXCL_POLLS)
		return WEFT_PENDING;
	until_add(x->root);
	return WEFT_READY;
}

static void
excl_drop(struct weft_future *f)
{
	struct excl_task *t = (struct excl_task *)f;
	struct weft_waker w;

	pthread_mutex_lock(&t->x->lock);
	w = t->x->wakers[t->id];
	t->x->wakers[t->id].vtable = NULL;
	pthread_mutex_unlock(&t->x->lock);
	weft_waker_drop(&w);
	atomic_fetch_add(&t->x->dropped, 1);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(excl_vtable, struct excl_task, excl_poll,
                             excl_drop);

/* A foreign thread waking the tasks over and over. */
static void *
excl_waker_main(void *arg)
{
	struct excl *x = arg;
	struct weft_waker w;
	unsigned i = 0;

	while (!atomic_load(&x->done)) {
		pthread_mutex_lock(&x->lock);
		w = weft_waker_clone(&x->wakers[i++ % EXCL_TASKS]);
		pthread_mutex_unlock(&x->lock);
		weft_waker_wake(&w);
	}
	return NULL;
}

static void
excl_start(struct rooted *r, struct weft_context *cx)
{
	struct excl *x = r->arg;
	struct excl_task t = {.base.vtable = &excl_vtable, .x = x};

	for (t.id = 0; t.id < EXCL_TASKS; t.id++)
		assert_int_equal(
		    weft_executor_spawn(cx->executor, &t.base, NULL), 0);
}

static void
test_never_polled_twice_at_once(void **state)
{
	struct weft_runtime *rt = open_runtime();
	struct excl x = {.lock = PTHREAD_MUTEX_INITIALIZER};
	pthread_t th[EXCL_WAKERS];
	struct rooted root;

	(void)state;
	x.root = &root.u;
	rooted_init(&root, EXCL_TASKS, excl_start, &x);
	for (int i = 0; i < EXCL_WAKERS; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, excl_waker_main, &x), 0);
	assert_int_equal(weft_block_on(rt, &root.u.base), 0);
	atomic_store(&x.done, true);
	for (int i = 0; i < EXCL_WAKERS; i++)
		pthread_join(th[i], NULL);
	weft_future_drop(&root.u.base);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&x.overlaps), 0);
	assert_int_equal(atomic_load(&x.dropped), EXCL_TASKS);
}


/* ---- 3. spawn from a worker, block_on's thread, a foreign thread ---- */

struct where {
	struct until *root;
	atomic_int dropped;
	atomic_int ran[3];
};

struct mark {
	struct weft_future base;
	struct where *w;
	int which;
};

static weft_poll
mark_poll(struct weft_future *f, struct weft_context *cx)
{
	struct mark *m = (struct mark *)f;
	struct mark child = *m;

	/* Mark 0 came from block_on's thread; it spawns 1 from a worker. */
	if (m->which == 0) {
		child.which = 1;
		assert_int_equal(
		    weft_executor_spawn(cx->executor, &child.base, NULL), 0);
	}
	atomic_fetch_add(&m->w->ran[m->which], 1);
	until_add(m->w->root);
	return WEFT_READY;
}

static void
mark_drop(struct weft_future *f)
{
	atomic_fetch_add(&((struct mark *)f)->w->dropped, 1);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(mark_vtable, struct mark, mark_poll, mark_drop);

struct foreign {
	struct weft_runtime *rt;
	struct where *w;
	pthread_t thread;
	int status;
};

static void *
foreign_main(void *arg)
{
	struct foreign *fo = arg;
	struct mark m = {.base.vtable = &mark_vtable, .w = fo->w, .which = 2};

	fo->status = weft_spawn(fo->rt, &m.base, NULL);
	return NULL;
}

/* In block_on's first poll: spawn mark 0 here, mark 2 from a thread. */
static void
where_start(struct rooted *r, struct weft_context *cx)
{
	struct foreign *fo = r->arg;
	struct mark m = {.base.vtable = &mark_vtable, .w = fo->w};

	assert_int_equal(weft_executor_spawn(cx->executor, &m.base, NULL), 0);
	assert_int_equal(pthread_create(&fo->thread, NULL, foreign_main, fo),
	                 0);
}

static void
test_spawn_from_everywhere(void **state)
{
	struct weft_runtime *rt = open_runtime();
	struct where w = {0};
	struct foreign fo = {.rt = rt, .w = &w, .status = -1};
	struct rooted root;

	(void)state;
	w.root = &root.u;
	rooted_init(&root, 3, where_start, &fo);
	assert_int_equal(weft_block_on(rt, &root.u.base), 0);
	pthread_join(fo.thread, NULL);
	assert_int_equal(fo.status, 0);
	weft_future_drop(&root.u.base);
	weft_runtime_close(rt);
	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&w.ran[i]), 1);
	assert_int_equal(atomic_load(&w.dropped), 3);
}


/* ---- 4. a yield-forever task does not hold up a timer --------------- */

/* Loose enough for a loaded two-core machine (the rule says "bounded"). */
#define TIMER_BOUND_NS (2 * WEFT_SEC)

struct yielder {
	struct weft_future base;
	atomic_bool *stop;
	atomic_int *dropped;
};

static weft_poll
yielder_poll(struct weft_future *f, struct weft_context *cx)
{
	struct yielder *y = (struct yielder *)f;

	if (atomic_load(y->stop))
		return WEFT_READY;
	weft_waker_wake_by_ref(&cx->waker);
	return WEFT_PENDING;
}

static void
yielder_drop(struct weft_future *f)
{
	atomic_fetch_add(((struct yielder *)f)->dropped, 1);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(yielder_vtable, struct yielder, yielder_poll,
                             yielder_drop);

struct napper {
	struct weft_future base;
	struct weft_sleep sleep;
	struct until *root;
	uint64_t *woke_at;
};

static weft_poll
napper_poll(struct weft_future *f, struct weft_context *cx)
{
	struct napper *n = (struct napper *)f;

	if (weft_future_poll(&n->sleep.base, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	*n->woke_at = now_ns();
	until_add(n->root);
	return WEFT_READY;
}

static void
napper_drop(struct weft_future *f)
{
	weft_future_drop(&((struct napper *)f)->sleep.base);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(napper_vtable, struct napper, napper_poll,
                             napper_drop);

struct starve {
	atomic_bool stop;
	atomic_int dropped;
	uint32_t yielders;
	uint64_t started_at, woke_at;
};

static void
starve_start(struct rooted *r, struct weft_context *cx)
{
	struct starve *s = r->arg;
	struct yielder y = {.base.vtable = &yielder_vtable,
	                    .stop = &s->stop,
	                    .dropped = &s->dropped};
	struct napper n = {.base.vtable = &napper_vtable,
	                   .root = &r->u,
	                   .woke_at = &s->woke_at};

	for (uint32_t i = 0; i < s->yielders; i++)
		assert_int_equal(
		    weft_executor_spawn(cx->executor, &y.base, NULL), 0);
	weft_sleep_init(&n.sleep, 10 * WEFT_MSEC);
	s->started_at = now_ns();
	assert_int_equal(weft_executor_spawn(cx->executor, &n.base, NULL), 0);
}

static void
test_yield_forever_vs_timer(void **state)
{
	struct weft_executor_stats st = {.size = sizeof(st)};
	struct weft_runtime *rt = open_runtime();
	struct starve s = {0};
	struct rooted root;
	uint64_t took;

	(void)state;
	assert_int_equal(weft_runtime_stats(rt, &st), 0);
	/* More always-ready tasks than workers: every worker is busy. */
	s.yielders = st.workers + 2;
	rooted_init(&root, 1, starve_start, &s);
	assert_int_equal(weft_block_on(rt, &root.u.base), 0);
	atomic_store(&s.stop, true);
	weft_future_drop(&root.u.base);
	weft_runtime_close(rt);
	took = s.woke_at - s.started_at;
	assert_true(took >= 10 * WEFT_MSEC);
	if (took > TIMER_BOUND_NS)
		fail_msg("the 10 ms timer fired after %llu ms",
		         (unsigned long long)(took / WEFT_MSEC));
	assert_int_equal(atomic_load(&s.dropped), (int)s.yielders);
}


/* ---- 5. shutdown while tasks wait on timers and I/O ----------------- */

#define WAITERS 64

struct waits {
	atomic_uchar drops[WAITERS + 1];
	atomic_int dropped;
	int fds[WAITERS][2];
};

struct waiter {
	struct weft_future base;
	struct waits *w;
	struct until *root;
	int id;
	bool started;
	/* Even ids: a long timer.  Odd ids: a pipe that stays empty. */
	struct weft_sleep sleep;
	struct weft_driver *driver;
	uint64_t io;
};

static weft_poll
waiter_poll(struct weft_future *f, struct weft_context *cx)
{
	struct waiter *t = (struct waiter *)f;
	uint32_t ready = 0;
	int r;

	if (!t->started) {
		t->started = true;
		if (t->id % 2) {
			r = weft_driver_io_add(cx->driver, t->w->fds[t->id][0],
			                       WEFT_READABLE, &t->io);
			assert_int_equal(r, 0);
			t->driver = cx->driver;
		} else {
			weft_sleep_init(&t->sleep, 60 * WEFT_SEC);
		}
	}
	if (t->driver)
		r = weft_driver_io_poll(t->driver, t->io, WEFT_READABLE, cx,
		                        &ready);
	else
		r = weft_future_poll(&t->sleep.base, cx);
	assert_int_equal(r, WEFT_PENDING);
	/* Counted after the waker is stored: the root then shuts down. */
	if (!t->root)
		return WEFT_PENDING;
	until_add(t->root);
	t->root = NULL;
	return WEFT_PENDING;
}

static void
waiter_drop(struct weft_future *f)
{
	struct waiter *t = (struct waiter *)f;

	if (t->driver)
		weft_driver_io_del(t->driver, t->io);
	weft_future_drop(&t->sleep.base);
	atomic_fetch_add(&t->w->drops[t->id], 1);
	atomic_fetch_add(&t->w->dropped, 1);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(waiter_vtable, struct waiter, waiter_poll,
                             waiter_drop);

static void
waits_start(struct rooted *r, struct weft_context *cx)
{
	struct waiter t = {
	    .base.vtable = &waiter_vtable, .w = r->arg, .root = &r->u};

	for (t.id = 0; t.id < WAITERS; t.id++)
		assert_int_equal(
		    weft_executor_spawn(cx->executor, &t.base, NULL), 0);
}

static void
test_shutdown_drops_waiters_once(void **state)
{
	struct weft_runtime *rt = open_runtime();
	struct waits *w = calloc(1, sizeof(*w));
	struct waiter late;
	struct rooted root;

	(void)state;
	assert_non_null(w);
	for (int i = 0; i < WAITERS; i++)
		assert_int_equal(pipe(w->fds[i]), 0);
	rooted_init(&root, WAITERS, waits_start, w);
	assert_int_equal(weft_block_on(rt, &root.u.base), 0);
	weft_future_drop(&root.u.base);
	weft_runtime_shutdown(rt);
	assert_int_equal(atomic_load(&w->dropped), WAITERS);

	/* After shutdown, spawn refuses and drops the future itself. */
	late = (struct waiter){
	    .base.vtable = &waiter_vtable, .w = w, .id = WAITERS};
	assert_int_equal(weft_spawn(rt, &late.base, NULL), WEFT_ECLOSED);
	assert_int_equal(weft_block_on(rt, &root.u.base), WEFT_ECLOSED);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&w->dropped), WAITERS + 1);
	for (int i = 0; i <= WAITERS; i++)
		assert_int_equal(atomic_load(&w->drops[i]), 1);
	for (int i = 0; i < WAITERS; i++) {
		close(w->fds[i][0]);
		close(w->fds[i][1]);
	}
	free(w);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_million_tasks),
	    cmocka_unit_test(test_never_polled_twice_at_once),
	    cmocka_unit_test(test_spawn_from_everywhere),
	    cmocka_unit_test(test_yield_forever_vs_timer),
	    cmocka_unit_test(test_shutdown_drops_waiters_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
