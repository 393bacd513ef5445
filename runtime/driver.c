/* SPDX-License-Identifier: MIT */
/*
 * The I/O driver: readiness of registered fds and the timers, over one
 * reactor plugin.  The contract is in <weft/abi.h> above weft_driver_ops.
 *
 * Locking.  One mutex guards the registrations' slab, the park state and
 * the reactor's use; readiness itself takes no lock (driver_io.c).  The
 * timers are sharded (driver.h): each shard has a lock of its own, taken
 * after the mutex when both are held, and the shards' earliest deadlines
 * and the end of the park's wait are atomics, so that arming a timer takes
 * only its shard's lock.  Wakers are cloned under a lock but never woken or
 * dropped under one: a waker's drop may free a task whose future's drop
 * calls back into the driver.  Whatever a method takes out of a slot is
 * woken or dropped after unlocking.
 *
 * The reactor.  Its methods other than wakeup may only be called by one
 * thread at a time, and park waits in it without the mutex.  So a thread
 * that must add, modify or delete while a park is waiting first wakes the
 * reactor and waits on `idle` until the wait has returned; the parker, in
 * turn, does not start a new wait while such threads are queued.
 *
 * The registrations (io_add and friends, and the dispatch of the events a
 * park collects) are in driver_io.c; the state both share is in driver.h.
 *
 * Simulation.  A reactor that keeps the clock (R12) gives now(), so the
 * timers, park's timeouts and every sleep run on virtual time; park then
 * waits exactly until the next deadline, which the reactor jumps to, and
 * clock_advance moves the clock by hand (D8).  Under a deterministic
 * executor (E13) blocking jobs run at park on the parking thread.  With
 * sim_faults > 0, a generator seeded from the runtime's seed decides the
 * I/O library's faults (D9) and delays some timers, never advancing one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "driver.h"
#include "observe.h"


static uint64_t
driver_now(struct weft_driver *pub)
{
	struct weft__driver *d = driver_of(pub);
	struct timespec ts;

	if (d->clock)
		return d->reactor->ops->now(d->reactor);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* ---- faults (D9) ---------------------------------------------------- */

#define GOLDEN 0x9e3779b97f4a7c15ull
/* The most a fault delays a timer: 10 ms of the runtime's clock. */
#define DELAY_MAX 10000000ull

/* splitmix64: one atomic add per draw, so no lock is needed. */
static uint64_t
draw(struct weft__driver *d)
{
	uint64_t z =
	    atomic_fetch_add_explicit(&d->rng, GOLDEN, memory_order_relaxed) +
	    GOLDEN;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}


static bool
chance(struct weft__driver *d)
{
	return d->faults && (draw(d) >> 11) < d->fault_cut;
}


static int
driver_fault(struct weft_driver *pub, uint32_t site)
{
	struct weft__driver *d = driver_of(pub);

	/* Faults off, or a kind nobody knows: no draw, so none is used up. */
	if (!d->faults || site < WEFT_FAULT_SHORT_IO || site > WEFT_FAULT_RESET)
		return 0;
	return chance(d);
}


/* The deadline a timer gets: later by up to DELAY_MAX when faulted. */
static uint64_t
delayed(struct weft__driver *d, uint64_t deadline)
{
	uint64_t by;

	if (!chance(d))
		return deadline;
	by = 1 + draw(d) % DELAY_MAX;
	return deadline > UINT64_MAX - by ? UINT64_MAX : deadline + by;
}


static const struct weft_driver_ops driver_ops, driver_ops_faults;

void
weft__driver_set_faults(struct weft__driver *d, uint64_t seed, double p)
{
	d->faults = p > 0.0;
	/* Before the executor starts: nothing reads ops concurrently yet. */
	d->pub.ops = d->faults ? &driver_ops_faults : &driver_ops;
	d->fault_cut =
	    p >= 1.0 ? 1ull << 53 : (uint64_t)(p * 9007199254740992.0);
	atomic_store(&d->rng, seed);
}


void
weft__driver_set_deterministic(struct weft__driver *d, bool on)
{
	d->deferred = on;
	/* Before the executor starts: one shard keeps timers in one order. */
	d->nshards = on || d->clock ? 1 : TIMER_SHARDS;
}


/* ---- timers --------------------------------------------------------- */


static void
wake_all(struct weft_waker *batch, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		weft_waker_wake(&batch[i]);
}


/* The shard of the calling thread: a number given once per thread. */
static uint32_t
my_shard(const struct weft__driver *d)
{
	static atomic_uint serial;
	static _Thread_local unsigned mine; /* 0: none yet */

	if (d->nshards == 1)
		return 0;
	if (mine == 0)
		mine = atomic_fetch_add_explicit(&serial, 1,
		                                 memory_order_relaxed) +
		       1;
	return (mine - 1) & (d->nshards - 1);
}


/* The shard an id names (its number in *shard), or NULL. */
static struct timer_shard *
shard_of(struct weft__driver *d, uint64_t id, uint32_t *shard)
{
	*shard = (uint32_t)id >> SHARD_SHIFT;
	return *shard < d->nshards ? &d->shards[*shard] : NULL;
}


/* An id of the shard's timers as the driver's callers see it, and back. */
static uint64_t
outer_id(uint64_t id, uint32_t shard)
{
	return id | (uint64_t)shard << SHARD_SHIFT;
}


static uint64_t
inner_id(uint64_t id)
{
	return id & ~((uint64_t)(TIMER_SHARDS - 1) << SHARD_SHIFT);
}


/* With the shard's lock held: park may read the earliest deadline. */
static void
publish_next(struct timer_shard *s)
{
	atomic_store(&s->next, weft__timer_next_deadline(&s->timers));
}


/* With the shard's lock held, after a timer was armed at deadline. */
static void
lower_next(struct timer_shard *s, uint64_t deadline)
{
	if (deadline < atomic_load_explicit(&s->next, memory_order_relaxed))
		atomic_store(&s->next, deadline);
}


/*
 * After a timer was armed at deadline and its shard's next published: a
 * park already waiting (or reading the shards) would sleep past it, so
 * make it return and compute its timeout again.  No lock: park publishes
 * park_until before it reads the shards, and this reads park_until after
 * the shard was published, so one of the two sees the other (both
 * sequentially consistent).
 */
static void
timer_armed(struct weft__driver *d, uint64_t deadline)
{
	uint64_t until = atomic_load(&d->park_until);

	if (until != 0 && deadline < until &&
	    !atomic_exchange(&d->wake_sent, true))
		weft_reactor_wakeup(d->reactor);
}


/* Arms in the calling thread's shard; a clone of waker when not NULL. */
static int
arm(struct weft__driver *d, uint64_t deadline, uint64_t *id,
    const struct weft_waker *waker)
{
	uint32_t k = my_shard(d);
	struct timer_shard *s = &d->shards[k];
	uint64_t inner;
	int err;

	if (!id)
		return -EINVAL;
	deadline = delayed(d, deadline);
	pthread_mutex_lock(&s->lock);
	if (s->timers.pending == 0)
		weft__timer_start(&s->timers, driver_now(&d->pub));
	err = waker ? weft__timer_add_waker(&s->timers, deadline, &inner, waker)
	            : weft__timer_add(&s->timers, deadline, &inner);
	if (err == 0)
		lower_next(s, deadline);
	pthread_mutex_unlock(&s->lock);
	if (err < 0)
		return err;
	*id = outer_id(inner, k);
	timer_armed(d, deadline);
	return 0;
}


static int
driver_timer_add(struct weft_driver *pub, uint64_t deadline, uint64_t *id)
{
	return arm(driver_of(pub), deadline, id, NULL);
}


int
weft__driver_timer_arm(struct weft_driver *pub, uint64_t deadline, uint64_t *id,
                       const struct weft_waker *waker)
{
	return arm(driver_of(pub), deadline, id, waker);
}


int
weft__driver_timer_reset(struct weft_driver *pub, uint64_t id,
                         uint64_t deadline)
{
	struct weft__driver *d = driver_of(pub);
	struct timer_shard *s;
	uint32_t k;
	int err;

	if (!(s = shard_of(d, id, &k)))
		return -ENOENT;
	deadline = delayed(d, deadline);
	pthread_mutex_lock(&s->lock);
	err = weft__timer_reset(&s->timers, inner_id(id), deadline);
	if (err == 0)
		lower_next(s, deadline);
	pthread_mutex_unlock(&s->lock);
	if (err == 0)
		timer_armed(d, deadline);
	return err;
}


static int
driver_timer_poll(struct weft_driver *pub, uint64_t id, struct weft_context *cx)
{
	struct weft__driver *d = driver_of(pub);
	struct weft_waker old = {0, 0};
	struct timer_shard *s;
	uint64_t deadline;
	uint32_t k;
	int state;

	if (!cx)
		return -EINVAL;
	if (!(s = shard_of(d, id, &k)))
		return -ENOENT;
	pthread_mutex_lock(&s->lock);
	state = weft__timer_state(&s->timers, inner_id(id), &deadline);
	if (state == 0 && deadline <= driver_now(pub))
		state = 1;
	if (state == 0)
		weft__timer_set_waker(&s->timers, inner_id(id), &cx->waker,
		                      &old);
	pthread_mutex_unlock(&s->lock);
	weft_waker_drop(&old);
	return state;
}


/*
 * From any thread: the timer's shard lock makes a cancel and a firing of
 * the same timer exclusive, so its waker is either woken by the park or
 * dropped here, once.
 */
static void
driver_timer_del(struct weft_driver *pub, uint64_t id)
{
	struct weft__driver *d = driver_of(pub);
	struct weft_waker old = {0, 0};
	struct timer_shard *s;
	uint32_t k;

	if (!(s = shard_of(d, id, &k)))
		return;
	pthread_mutex_lock(&s->lock);
	/* The shard's next may stay earlier: a park then wakes for nothing. */
	weft__timer_del(&s->timers, inner_id(id), &old);
	pthread_mutex_unlock(&s->lock);
	weft_waker_drop(&old);
}


/*
 * The wait for this park: the caller's timeout, shortened to the next
 * timer.  Publishes when the wait will end, for timer_armed; called with
 * the mutex held and park_until at UINT64_MAX already.
 *
 * A shard's next may be the start of the wheel slot holding its next
 * timer, earlier than its deadline: a real clock just wakes a little early
 * and waits again.  A virtual clock would jump to that instant, fire
 * nothing and come back, so there (one shard) the deadline is made exact
 * first.
 */
static int64_t
park_timeout(struct weft__driver *d, int64_t timeout_ns, uint64_t now)
{
	uint64_t next = WEFT__TIMER_NONE, n, until;
	uint64_t limit = timeout_ns < 0 ? UINT64_MAX : (uint64_t)timeout_ns;
	uint32_t k;

	for (k = 0; k < d->nshards; k++) {
		n = atomic_load(&d->shards[k].next);
		next = n < next ? n : next;
	}
	if (d->clock && next != WEFT__TIMER_NONE && next > now &&
	    next - now < limit) {
		pthread_mutex_lock(&d->shards[0].lock);
		next = weft__timer_settle(&d->shards[0].timers);
		publish_next(&d->shards[0]);
		pthread_mutex_unlock(&d->shards[0].lock);
	}
	if (next != WEFT__TIMER_NONE && (next <= now || next - now < limit))
		limit = next <= now ? 0 : next - now;
	if (limit > INT64_MAX) {
		atomic_store(&d->park_until, UINT64_MAX);
		return WEFT_TIMEOUT_INFINITE;
	}
	until = now + limit < now ? UINT64_MAX : now + limit;
	atomic_store(&d->park_until, until ? until : 1);
	return (int64_t)limit;
}


/*
 * Fires the due timers of every shard into batch[n...], waking a full
 * batch at a time with no lock held; wakes what is left at the end.
 * Returns how many wakers were woken.
 */
static uint32_t
fire_and_wake(struct weft__driver *d, struct weft_waker *batch, uint32_t n)
{
	uint64_t now = driver_now(&d->pub);
	uint32_t total = 0, k, got;

	for (k = 0; k < d->nshards; k++) {
		struct timer_shard *s = &d->shards[k];

		if (atomic_load(&s->next) > now)
			continue;
		pthread_mutex_lock(&s->lock);
		for (;;) {
			got = weft__timer_fire(&s->timers, now, batch + n,
			                       WAKE_BATCH - n);
			n += got;
			if (n < WAKE_BATCH)
				break;
			/* Full: more may be due. */
			pthread_mutex_unlock(&s->lock);
			wake_all(batch, n);
			total += n;
			n = 0;
			pthread_mutex_lock(&s->lock);
		}
		publish_next(s);
		pthread_mutex_unlock(&s->lock);
	}
	wake_all(batch, n);
	return total + n;
}


static int
driver_park(struct weft_driver *pub, int64_t timeout_ns)
{
	struct weft__driver *d = driver_of(pub);
	struct weft_waker batch[WAKE_BATCH];
	uint32_t n = 0, total = 0;
	int64_t wait_ns;
	int got, i;

	WEFT__PROBE1(park, timeout_ns);
	pthread_mutex_lock(&d->lock);
	if (d->parking) {
		pthread_mutex_unlock(&d->lock);
		return WEFT_EBUSY;
	}
	d->parking = true;
	if (d->deferred && d->pool) {
		/* E13: the queued blocking jobs run here, in order. */
		pthread_mutex_unlock(&d->lock);
		total = weft__blocking_run_queued(d->pool);
		pthread_mutex_lock(&d->lock);
	}
	while (d->ctl_waiters > 0)
		pthread_cond_wait(&d->idle, &d->lock);
	/*
	 * Jobs that ran woke their tasks, and one queued since must run at the
	 * next park: either way this one only collects what is ready.  A job
	 * queued after this check wakes the wait (driver_blocking).
	 */
	if (total > 0 || (d->deferred && weft__blocking_queued(d->pool)))
		timeout_ns = 0;
	d->in_wait = true;
	atomic_store(&d->wake_sent, false);
	/* Before reading the shards: see timer_armed. */
	atomic_store(&d->park_until, UINT64_MAX);
	wait_ns = park_timeout(d, timeout_ns, driver_now(pub));
	pthread_mutex_unlock(&d->lock);

	got = weft_reactor_wait(d->reactor, d->events, EVENT_BATCH, wait_ns);

	pthread_mutex_lock(&d->lock);
	d->in_wait = false;
	atomic_store(&d->park_until, 0);
	pthread_cond_broadcast(&d->idle);
	for (i = 0; i < got; i++)
		weft__driver_dispatch(d, &d->events[i], batch, &n);
	d->parking = false;
	pthread_mutex_unlock(&d->lock);
	/* The timers, each shard under its own lock, and the wakes. */
	total += fire_and_wake(d, batch, n);
	if (got < 0)
		return got;
	return total > INT32_MAX ? INT32_MAX : (int)total;
}


static int
driver_unpark(struct weft_driver *pub)
{
	WEFT__PROBE0(unpark);
	return weft_reactor_wakeup(driver_of(pub)->reactor);
}


/*
 * The pool is made on first use, so a runtime that never blocks starts no
 * thread.  Under a deterministic executor it is a deferred one: its jobs
 * run at park, and a park already waiting is woken to run them.
 */
static int
driver_blocking(struct weft_driver *pub, void (*fn)(void *arg), void *arg,
                struct weft_waker *done)
{
	struct weft__driver *d = driver_of(pub);
	int err = 0;

	pthread_mutex_lock(&d->lock);
	if (d->shut)
		err = WEFT_ECLOSED;
	else if (!d->pool && d->deferred)
		err = weft__blocking_new_deferred(&d->pool, d->alloc);
	else if (!d->pool)
		err = weft__blocking_new_with(&d->pool, d->pool_max, d->alloc);
	pthread_mutex_unlock(&d->lock);
	if (err < 0)
		return err;
	err = weft__blocking_spawn(d->pool, fn, arg, done);
	if (err == 0 && d->deferred) {
		pthread_mutex_lock(&d->lock);
		if (d->in_wait && !atomic_exchange(&d->wake_sent, true))
			weft_reactor_wakeup(d->reactor);
		pthread_mutex_unlock(&d->lock);
	}
	return err;
}


/* D8: moves the reactor's clock, then fires what became due. */
static int
driver_clock_advance(struct weft_driver *pub, uint64_t ns)
{
	struct weft__driver *d = driver_of(pub);
	struct weft_waker batch[WAKE_BATCH];
	int err;

	if (!d->clock)
		return WEFT_ENOTSUP;
	err = d->reactor->ops->advance(d->reactor, ns);
	if (err < 0)
		return err;
	/* A park waiting for a deadline computes its wait again. */
	if (atomic_load(&d->park_until) != 0 &&
	    !atomic_exchange(&d->wake_sent, true))
		weft_reactor_wakeup(d->reactor);
	fire_and_wake(d, batch, 0);
	return 0;
}


int
weft__driver_shutdown_timeout(struct weft__driver *d, uint64_t timeout_ns)
{
	struct weft__blocking *pool;

	pthread_mutex_lock(&d->lock);
	d->shut = true;
	pool = d->pool;
	pthread_mutex_unlock(&d->lock);
	/* The pool stays allocated until the driver is freed: a racing
	 * blocking call may still hold it, and finds it closed. */
	return weft__blocking_close_timeout(pool, timeout_ns);
}


void
weft__driver_shutdown(struct weft__driver *d)
{
	weft__driver_shutdown_timeout(d, UINT64_MAX);
}


/*
 * Two tables: a driver without faults publishes no fault method at all, so
 * that the I/O library, which checks for the method once per object, pays
 * nothing on its hot paths (asking a method that answers 0 cost 7 % of an
 * echo round trip's instructions).
 */
#define DRIVER_OPS(fault_fn)                                                   \
	{                                                                      \
		.version = WEFT_DRIVER_OPS_VERSION, .now = driver_now,         \
		.timer_add = driver_timer_add,                                 \
		.timer_poll = driver_timer_poll,                               \
		.timer_del = driver_timer_del, .io_add = weft__driver_io_add,  \
		.io_poll = weft__driver_io_poll,                               \
		.io_clear = weft__driver_io_clear,                             \
		.io_del = weft__driver_io_del, .park = driver_park,            \
		.unpark = driver_unpark, .blocking = driver_blocking,          \
		.clock_advance = driver_clock_advance, .fault = fault_fn,      \
	}

static const struct weft_driver_ops driver_ops = DRIVER_OPS(NULL);
static const struct weft_driver_ops driver_ops_faults =
    DRIVER_OPS(driver_fault);


bool
weft__driver_is_host(const struct weft_driver *pub)
{
	return pub &&
	       (pub->ops == &driver_ops || pub->ops == &driver_ops_faults);
}


int
weft__driver_new(struct weft__driver **out, struct weft_reactor *reactor,
                 uint32_t reactor_flags, unsigned blocking_threads, char *err,
                 size_t errlen)
{
	return weft__driver_new_with(out, reactor, reactor_flags,
	                             blocking_threads, NULL, err, errlen);
}


int
weft__driver_new_with(struct weft__driver **out, struct weft_reactor *reactor,
                      uint32_t reactor_flags, unsigned blocking_threads,
                      const struct weft_allocator *alloc, char *err,
                      size_t errlen)
{
	/* Spreads ids of different drivers apart; see io_find. */
	static atomic_uint serial;
	struct weft__driver *d;
	uint32_t k;
	int rc;

	if (!out || !reactor)
		return weft__fail(err, errlen, -EINVAL,
		                  "driver: no reactor given");
	d = weft__mem_calloc(alloc, 1, sizeof(*d));
	if (!d)
		return weft__fail(err, errlen, -ENOMEM,
		                  "driver: out of memory");
	rc = pthread_mutex_init(&d->lock, NULL);
	if (rc != 0)
		goto fail_free;
	rc = pthread_cond_init(&d->idle, NULL);
	if (rc != 0)
		goto fail_mutex;
	d->alloc = alloc;
	d->pub.version = WEFT_DRIVER_OPS_VERSION;
	d->pub.ops = &driver_ops;
	d->reactor = reactor;
	d->level = !(reactor_flags & WEFT_REACTOR_EDGE);
	d->concurrent_ctl = reactor_flags & WEFT_REACTOR_CONCURRENT_CTL;
	d->clock = weft_reactor_has_clock(reactor);
	d->pool_max = blocking_threads;
	d->gen_seed = (atomic_fetch_add(&serial, 1) + 1) * 0x9e3779b9u;
	d->io_free = NO_SLOT;
	d->nshards = d->clock ? 1 : TIMER_SHARDS;
	for (k = 0; k < TIMER_SHARDS; k++) {
		struct timer_shard *s = &d->shards[k];

		rc = pthread_mutex_init(&s->lock, NULL);
		if (rc != 0)
			goto fail_shards;
		/* Timer ids get other seeds so they do not pass for io ids. */
		weft__timer_init(&s->timers,
		                 (d->gen_seed ^ 0x55555555u) + k * 0x10001u);
		weft__timer_start(&s->timers, driver_now(&d->pub));
		s->timers.alloc = alloc;
		atomic_init(&s->next, WEFT__TIMER_NONE);
	}
	*out = d;
	return 0;

fail_shards:
	while (k-- > 0)
		pthread_mutex_destroy(&d->shards[k].lock);
	pthread_cond_destroy(&d->idle);
fail_mutex:
	pthread_mutex_destroy(&d->lock);
fail_free:
	weft__mem_free(alloc, d);
	return weft__fail(err, errlen, -rc,
	                  "driver: cannot create its lock (error %d)", rc);
}


struct weft_driver *
weft__driver_public(struct weft__driver *d)
{
	return d ? &d->pub : NULL;
}


void
weft__driver_free(struct weft__driver *d)
{
	uint32_t k;

	if (!d)
		return;
	/* Queued jobs still run: their callers' memory is theirs to free. */
	weft__blocking_free(d->pool);
	weft__driver_io_fini(d);
	for (k = 0; k < TIMER_SHARDS; k++) {
		weft__timer_fini(&d->shards[k].timers);
		pthread_mutex_destroy(&d->shards[k].lock);
	}
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	weft__mem_free(d->alloc, d);
}
