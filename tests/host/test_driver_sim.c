/* SPDX-License-Identifier: MIT */
/*
 * The driver's side of simulation, over the real epoll reactor: a virtual
 * clock kept by a reactor (R12), clock_advance (D8), the fault generator
 * and delayed timers (D9), and blocking jobs at park under a
 * deterministic executor (E13).
 *
 * The clock reactor is the test's own: epoll polled without blocking,
 * with WEFT_REACTOR_CLOCK, whose wait moves its clock by exactly a finite
 * timeout that finds no event.  Only virtual time is asserted, never the
 * speed of the wall clock.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "driver.h"
#include "driver_fixture.h"

#define SEC (1000000000ull)
/* Off every tick boundary, so that rounding to ticks would show. */
#define START (1000 * SEC + 12345u)

/* ---- a reactor that keeps a virtual clock, over epoll --------------- */

struct clock_reactor {
	struct weft_reactor head;
	struct weft_reactor *inner;
	_Atomic uint64_t now;
	int64_t last_timeout;
};

static struct clock_reactor ck;


static int
ck_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	return weft_reactor_add(((struct clock_reactor *)self)->inner, fd,
	                        interest, token);
}


static int
ck_modify(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	return weft_reactor_modify(((struct clock_reactor *)self)->inner, fd,
	                           interest, token);
}


static int
ck_del(struct weft_reactor *self, int fd)
{
	return weft_reactor_del(((struct clock_reactor *)self)->inner, fd);
}


static int
ck_wait(struct weft_reactor *self, struct weft_reactor_event *ev, uint32_t cap,
        int64_t timeout_ns)
{
	struct clock_reactor *c = (struct clock_reactor *)self;
	int got;

	/* An infinite wait still blocks, so a wrong one hangs the test. */
	got = weft_reactor_wait(c->inner, ev, cap, timeout_ns < 0 ? -1 : 0);
	c->last_timeout = timeout_ns;
	if (got == 0 && timeout_ns > 0)
		atomic_fetch_add(&c->now, (uint64_t)timeout_ns);
	return got;
}


static int
ck_wakeup(struct weft_reactor *self)
{
	return weft_reactor_wakeup(((struct clock_reactor *)self)->inner);
}


static uint64_t
ck_now(struct weft_reactor *self)
{
	return atomic_load(&((struct clock_reactor *)self)->now);
}


static int
ck_advance(struct weft_reactor *self, uint64_t ns)
{
	atomic_fetch_add(&((struct clock_reactor *)self)->now, ns);
	return 0;
}


static struct weft_reactor_iface ck_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .instance_size = sizeof(struct clock_reactor),
    .add = ck_add,
    .modify = ck_modify,
    .del = ck_del,
    .wait = ck_wait,
    .wakeup = ck_wakeup,
    .now = ck_now,
    .advance = ck_advance,
};


/* fx.d over the clock reactor over a fresh epoll instance. */
static int
open_clock(void **state)
{
	struct weft_reactor_params params = {
	    .version = WEFT_REACTOR_PARAMS_VERSION, .max_events = 256};
	char err[256] = "";

	(void)state;
	fx.epoll = calloc(1, fx.iface->instance_size);
	assert_non_null(fx.epoll);
	fx.epoll->version = fx.iface->version;
	fx.epoll->ops = fx.iface;
	assert_int_equal(fx.iface->init(fx.epoll, &params), 0);
	ck_iface.flags = fx.iface->flags | WEFT_REACTOR_CLOCK;
	ck = (struct clock_reactor){
	    .head = {WEFT_REACTOR_IFACE_VERSION, &ck_iface},
	    .inner = fx.epoll,
	    .now = START};
	assert_true(weft_reactor_has_clock(&ck.head));
	assert_int_equal(weft__driver_new(&fx.drv, &ck.head, ck_iface.flags, 0,
	                                  err, sizeof(err)),
	                 0);
	fx.d = weft__driver_public(fx.drv);
	return 0;
}


/* Arms a timer at deadline whose waker counts in c. */
static uint64_t
arm(struct counter *c, uint64_t deadline)
{
	struct weft_context cx = context_of(c, fx.d);
	uint64_t id = 0;

	assert_int_equal(weft__driver_timer_arm(fx.d, deadline, &id, &cx.waker),
	                 0);
	return id;
}


static bool
timers_ok(void)
{
	bool ok;

	pthread_mutex_lock(&fx.drv->lock);
	ok = weft__timer_check(&fx.drv->timers);
	pthread_mutex_unlock(&fx.drv->lock);
	return ok;
}

/* ---- the clock ------------------------------------------------------ */

#define N_TIMERS 400

/*
 * Deadlines on and next to tick and level boundaries, equal ones, past
 * ones and scattered ones up to a day and a half ahead: each fires at a
 * park that jumps exactly to it, none early, none late, and every park
 * fires something, so no park is spent on a tick's rounding.
 */
static void
test_virtual_deadlines_exact(void **state)
{
	static struct counter c[N_TIMERS];
	static uint64_t deadline[N_TIMERS], id[N_TIMERS];
	uint64_t x = 88172645463325252ull, now, distinct = 0;
	uint32_t fired = 0, parks = 0, i, j;

	(void)state;
	for (i = 0; i < N_TIMERS; i++) {
		unsigned shift = 17 + 6 * (i % 6);
		uint64_t off;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		switch (i % 5) {
		case 0: /* a boundary of some level, or next to it */
			off = ((uint64_t)(1 + i % 3) << shift) + (i % 3) - 1;
			break;
		case 1: /* within a few ticks */
			off = x % (64ull << 17);
			break;
		case 2: /* the same as the one before */
			off = deadline[i - 1] - START;
			break;
		case 3: /* anywhere in the next 36 hours, or past the wheel */
			off = x % (36ull * 3600 * SEC);
			if (i % 7 == 0)
				off += 200ull * 24 * 3600 * SEC;
			break;
		default: /* already past, or now */
			off = 0;
			break;
		}
		deadline[i] = i % 5 == 4 ? START - (i % 2) : START + off;
		id[i] = arm(&c[i], deadline[i]);
	}
	for (i = 0; i < N_TIMERS; i++) {
		for (j = 0; j < i && deadline[j] != deadline[i]; j++)
			;
		distinct += j == i && deadline[i] > START;
	}
	while (fired < N_TIMERS) {
		uint32_t now_fired = 0;

		assert_true(weft_driver_park(fx.d, INT64_MAX / 2) >= 0);
		parks++;
		now = weft_driver_now(fx.d);
		assert_true(timers_ok());
		for (i = 0; i < N_TIMERS; i++) {
			if (deadline[i] == 0)
				continue;
			if (atomic_load(&c[i].wakes) == 0) {
				/* Not late: a due timer fired in this park. */
				assert_true(deadline[i] > now);
				continue;
			}
			/* Not early, and exactly at its deadline. */
			assert_true(deadline[i] <= now);
			assert_true(deadline[i] == now || deadline[i] <= START);
			weft_driver_timer_del(fx.d, id[i]);
			deadline[i] = 0;
			fired++;
			now_fired++;
		}
		assert_true(now_fired > 0);
		assert_true(parks <= distinct + 1);
	}
	/* One park for the past ones, one per distinct deadline ahead. */
	assert_int_equal(parks, distinct + 1);
}


/* An hour of sleeps, one after the other: an hour of virtual time. */
static void
test_hour_of_sleeps(void **state)
{
	uint64_t start = weft_driver_now(fx.d), id;
	struct counter c = {0};
	int parks = 0, i;

	(void)state;
	for (i = 0; i < 3600; i++) {
		id = arm(&c, weft_driver_now(fx.d) + SEC);
		while (atomic_load(&c.wakes) == i) {
			assert_true(weft_driver_park(fx.d, -1) >= 0);
			parks++;
		}
		/* Each park waited exactly the rest of the sleep. */
		assert_int_equal(ck.last_timeout, SEC);
		weft_driver_timer_del(fx.d, id);
	}
	assert_int_equal(weft_driver_now(fx.d) - start, 3600ull * SEC);
	assert_int_equal(parks, 3600);
	assert_int_equal(atomic_load(&c.refs), 0);
}


/* now() is the reactor's, wherever its clock stands. */
static void
test_now_is_the_reactors(void **state)
{
	(void)state;
	assert_int_equal(weft_driver_now(fx.d), START);
	atomic_store(&ck.now, START + 77);
	assert_int_equal(weft_driver_now(fx.d), START + 77);
}


static void
test_clock_advance(void **state)
{
	struct counter c[3] = {{0}};
	uint64_t id[3];
	int i;

	(void)state;
	id[0] = arm(&c[0], START + 5 * MS);
	id[1] = arm(&c[1], START + 10 * MS);
	id[2] = arm(&c[2], START + 20 * MS);
	assert_int_equal(weft_driver_clock_advance(fx.d, 10 * MS), 0);
	assert_int_equal(weft_driver_now(fx.d), START + 10 * MS);
	assert_int_equal(atomic_load(&c[0].wakes), 1);
	assert_int_equal(atomic_load(&c[1].wakes), 1);
	assert_int_equal(atomic_load(&c[2].wakes), 0);
	assert_int_equal(weft_driver_clock_advance(fx.d, 10 * MS - 1), 0);
	assert_int_equal(atomic_load(&c[2].wakes), 0);
	assert_int_equal(weft_driver_clock_advance(fx.d, 1), 0);
	assert_int_equal(atomic_load(&c[2].wakes), 1);
	for (i = 0; i < 3; i++) {
		struct weft_context cx = context_of(&c[i], fx.d);

		assert_int_equal(weft_driver_timer_poll(fx.d, id[i], &cx), 1);
		weft_driver_timer_del(fx.d, id[i]);
	}
	assert_true(timers_ok());
}


static void
test_clock_advance_real_reactor(void **state)
{
	(void)state;
	assert_int_equal(weft_driver_clock_advance(fx.d, 1), WEFT_ENOTSUP);
	assert_int_equal(weft_driver_clock_advance(fx.d, 0), WEFT_ENOTSUP);
}

/* ---- faults --------------------------------------------------------- */

static unsigned
count_faults(int n, uint32_t site, unsigned char *seq)
{
	unsigned hits = 0;
	int i, f;

	for (i = 0; i < n; i++) {
		f = weft_driver_fault(fx.d, site);
		assert_true(f == 0 || f == 1);
		if (seq)
			seq[i] = (unsigned char)f;
		hits += (unsigned)f;
	}
	return hits;
}


static void
test_faults_off(void **state)
{
	(void)state;
	/* The default, and p = 0 set explicitly: no fault, no draw. */
	assert_int_equal(count_faults(1000, WEFT_FAULT_SHORT_IO, NULL), 0);
	weft__driver_set_faults(fx.drv, 42, 0.0);
	assert_int_equal(count_faults(1000, WEFT_FAULT_RESET, NULL), 0);
	assert_int_equal(atomic_load(&fx.drv->rng), 42);
}


static void
test_faults_always(void **state)
{
	(void)state;
	weft__driver_set_faults(fx.drv, 42, 1.0);
	assert_int_equal(count_faults(1000, WEFT_FAULT_SHORT_IO, NULL), 1000);
	assert_int_equal(count_faults(1000, WEFT_FAULT_SPURIOUS, NULL), 1000);
	assert_int_equal(count_faults(1000, WEFT_FAULT_RESET, NULL), 1000);
	/* A kind nobody knows is never injected. */
	assert_int_equal(count_faults(100, 0, NULL), 0);
	assert_int_equal(count_faults(100, 99, NULL), 0);
}


#define DRAWS 10000

static void
test_faults_half_replay(void **state)
{
	static unsigned char a[DRAWS], b[DRAWS], other[DRAWS];
	unsigned hits;

	(void)state;
	weft__driver_set_faults(fx.drv, 12345, 0.5);
	hits = count_faults(DRAWS, WEFT_FAULT_SHORT_IO, a);
	/* 5000 expected, sigma 50: 5 sigma either way. */
	assert_in_range(hits, 4750, 5250);
	weft__driver_set_faults(fx.drv, 12345, 0.5);
	assert_int_equal(count_faults(DRAWS, WEFT_FAULT_SHORT_IO, b), hits);
	assert_memory_equal(a, b, DRAWS);
	weft__driver_set_faults(fx.drv, 12346, 0.5);
	count_faults(DRAWS, WEFT_FAULT_SHORT_IO, other);
	assert_memory_not_equal(a, other, DRAWS);
	/* 1 %: 100 expected, sigma about 10. */
	weft__driver_set_faults(fx.drv, 7, 0.01);
	assert_in_range(count_faults(DRAWS, WEFT_FAULT_RESET, NULL), 50, 150);
}


/*
 * With faults on, some timers fire later, by at most 10 ms, never
 * earlier; with p = 1 every one does, and with p = 0 none.
 */
static void
test_delayed_timers(void **state)
{
	static struct counter c[50];
	static uint64_t at[50];
	uint64_t deadline, id[50], now, p;
	int i, left, late = 0;

	(void)state;
	for (p = 0; p <= 1; p++) {
		weft__driver_set_faults(fx.drv, 99, (double)p);
		deadline = weft_driver_now(fx.d) + SEC;
		for (i = 0; i < 50; i++) {
			c[i] = (struct counter){0};
			at[i] = 0;
			id[i] = arm(&c[i], deadline + (uint64_t)i * MS);
		}
		for (left = 50; left > 0;) {
			assert_true(weft_driver_park(fx.d, -1) >= 0);
			now = weft_driver_now(fx.d);
			for (i = 0; i < 50; i++) {
				if (at[i] || !atomic_load(&c[i].wakes))
					continue;
				at[i] = now;
				left--;
				weft_driver_timer_del(fx.d, id[i]);
			}
		}
		for (i = 0; i < 50; i++) {
			uint64_t due = deadline + (uint64_t)i * MS;

			if (p == 0) {
				assert_int_equal(at[i], due);
			} else {
				assert_true(at[i] > due);
				assert_true(at[i] <= due + 10 * MS);
				late++;
			}
		}
	}
	assert_int_equal(late, 50);
}

/* ---- blocking under a deterministic executor ------------------------ */

#define JOBS 8

static struct {
	/* JOBS at park, then two more at shutdown. */
	pthread_t thread[JOBS + 2];
	int order[JOBS + 2];
	int ran;
} jobs;

static struct counter done[JOBS];
static int job_index[JOBS];

static void
job(void *arg)
{
	int i = *(int *)arg;

	jobs.thread[i] = pthread_self();
	jobs.order[jobs.ran++] = i;
}


static void
submit(int i)
{
	struct weft_waker w = counter_clone(&done[i]);

	job_index[i] = i;
	assert_int_equal(weft_driver_blocking(fx.d, job, &job_index[i], &w), 0);
	assert_null(w.vtable);
}


static void *
submitter(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < JOBS; i++)
		submit(i);
	return NULL;
}


/*
 * Jobs submitted from another thread run at the next park, on the
 * parking thread, in submission order, and that park does not block
 * (an infinite wait would hang the test).
 */
static void
test_blocking_at_park(void **state)
{
	pthread_t t;
	int i, woken;

	(void)state;
	jobs.ran = 0;
	weft__driver_set_deterministic(fx.drv, true);
	assert_int_equal(pthread_create(&t, NULL, submitter, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	/* No thread was started for them: nothing ran yet. */
	assert_int_equal(jobs.ran, 0);
	woken = weft_driver_park(fx.d, -1);
	assert_true(woken >= JOBS);
	assert_int_equal(jobs.ran, JOBS);
	for (i = 0; i < JOBS; i++) {
		assert_int_equal(jobs.order[i], i);
		assert_true(pthread_equal(jobs.thread[i], pthread_self()));
		assert_int_equal(atomic_load(&done[i].wakes), 1);
		assert_int_equal(atomic_load(&done[i].refs), 0);
	}
	/* Jobs left at shutdown run there; later ones are refused. */
	submit(0);
	submit(1);
	weft__driver_shutdown(fx.drv);
	assert_int_equal(jobs.ran, JOBS + 2);
	assert_int_equal(jobs.order[JOBS - 1], JOBS - 1);
	assert_int_equal(atomic_load(&done[0].wakes), 2);
	{
		struct weft_waker w = counter_clone(&done[2]);

		assert_int_equal(
		    weft_driver_blocking(fx.d, job, &job_index[2], &w),
		    WEFT_ECLOSED);
		assert_non_null(w.vtable);
		weft_waker_drop(&w);
	}
}


static void *
park_once(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)weft_driver_park(fx.d, -1);
}


/* A park already waiting in the reactor returns when a job is queued. */
static void
test_blocking_wakes_park(void **state)
{
	pthread_t t;
	bool waiting = false;
	void *r;

	(void)state;
	jobs.ran = 0;
	done[0] = (struct counter){0};
	weft__driver_set_deterministic(fx.drv, true);
	assert_int_equal(pthread_create(&t, NULL, park_once, NULL), 0);
	while (!waiting) {
		pthread_mutex_lock(&fx.drv->lock);
		waiting = fx.drv->in_wait;
		pthread_mutex_unlock(&fx.drv->lock);
		if (!waiting)
			sched_yield();
	}
	submit(0);
	assert_int_equal(pthread_join(t, &r), 0);
	assert_true((intptr_t)r >= 0);
	/* This park runs it, on this thread. */
	assert_true(weft_driver_park(fx.d, -1) >= 1);
	assert_int_equal(jobs.ran, 1);
	assert_true(pthread_equal(jobs.thread[0], pthread_self()));
	assert_int_equal(atomic_load(&done[0].wakes), 1);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_virtual_deadlines_exact,
	                                    open_clock, close_driver),
	    cmocka_unit_test_setup_teardown(test_hour_of_sleeps, open_clock,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(test_now_is_the_reactors,
	                                    open_clock, close_driver),
	    cmocka_unit_test_setup_teardown(test_clock_advance, open_clock,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(test_clock_advance_real_reactor,
	                                    open_edge, close_driver),
	    cmocka_unit_test_setup_teardown(test_faults_off, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(test_faults_always, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(test_faults_half_replay, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(test_delayed_timers, open_clock,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(test_blocking_at_park, open_edge,
	                                    close_driver),
	    cmocka_unit_test_setup_teardown(test_blocking_wakes_park, open_edge,
	                                    close_driver),
	};

	return cmocka_run_group_tests(tests, load_reactor, unload_reactor);
}
