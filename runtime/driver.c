/* SPDX-License-Identifier: MIT */
/*
 * The I/O driver: readiness of registered fds and the timers, over one
 * reactor plugin.  The contract is in <weft/abi.h> above weft_driver_ops.
 *
 * Locking.  One mutex guards the registrations, the timers and the park
 * state.  Wakers are cloned under it but never woken or dropped under it: a
 * waker's drop may free a task whose future's drop calls back into the
 * driver.  Whatever a method takes out of a slot is woken or dropped after
 * unlocking.
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
weft__driver_set_completion(struct weft__driver *d, bool on)
{
	d->completion = on && weft_reactor_has_completion(d->reactor);
}


bool
weft__driver_completion(const struct weft__driver *d)
{
	return d && d->completion;
}


void
weft__driver_set_deterministic(struct weft__driver *d, bool on)
{
	d->deferred = on;
}


/* ---- timers --------------------------------------------------------- */


static void
wake_all(struct weft_waker *batch, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		weft_waker_wake(&batch[i]);
}


/* Called with the mutex held, after a timer was armed at deadline. */
static void
timer_armed(struct weft__driver *d, uint64_t deadline)
{
	/*
	 * A park already waiting would sleep past the new deadline: make it
	 * return and compute its timeout again.
	 */
	if (d->in_wait && deadline < d->wait_until && !d->wake_sent) {
		d->wake_sent = true;
		weft_reactor_wakeup(d->reactor);
	}
}


static int
driver_timer_add(struct weft_driver *pub, uint64_t deadline, uint64_t *id)
{
	struct weft__driver *d = driver_of(pub);
	int err;

	if (!id)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	deadline = delayed(d, deadline);
	err = weft__timer_add(&d->timers, deadline, id);
	if (err == 0)
		timer_armed(d, deadline);
	pthread_mutex_unlock(&d->lock);
	return err;
}


int
weft__driver_timer_arm(struct weft_driver *pub, uint64_t deadline, uint64_t *id,
                       const struct weft_waker *waker)
{
	struct weft__driver *d = driver_of(pub);
	int err;

	pthread_mutex_lock(&d->lock);
	deadline = delayed(d, deadline);
	err = weft__timer_add_waker(&d->timers, deadline, id, waker);
	if (err == 0)
		timer_armed(d, deadline);
	pthread_mutex_unlock(&d->lock);
	return err;
}


int
weft__driver_timer_reset(struct weft_driver *pub, uint64_t id,
                         uint64_t deadline)
{
	struct weft__driver *d = driver_of(pub);
	int err;

	pthread_mutex_lock(&d->lock);
	deadline = delayed(d, deadline);
	err = weft__timer_reset(&d->timers, id, deadline);
	if (err == 0)
		timer_armed(d, deadline);
	pthread_mutex_unlock(&d->lock);
	return err;
}


static int
driver_timer_poll(struct weft_driver *pub, uint64_t id, struct weft_context *cx)
{
	struct weft__driver *d = driver_of(pub);
	struct weft_waker old = {0, 0};
	uint64_t deadline;
	int state;

	if (!cx)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	state = weft__timer_state(&d->timers, id, &deadline);
	if (state == 0 && deadline <= driver_now(pub))
		state = 1;
	if (state == 0)
		weft__timer_set_waker(&d->timers, id, &cx->waker, &old);
	pthread_mutex_unlock(&d->lock);
	weft_waker_drop(&old);
	return state;
}


static void
driver_timer_del(struct weft_driver *pub, uint64_t id)
{
	struct weft__driver *d = driver_of(pub);
	struct weft_waker old = {0, 0};

	pthread_mutex_lock(&d->lock);
	weft__timer_del(&d->timers, id, &old);
	pthread_mutex_unlock(&d->lock);
	weft_waker_drop(&old);
}


/*
 * The wait for this park: the caller's timeout, shortened to the next
 * timer.  Also records when the wait will end, for timer_add.
 *
 * The wheel's answer may be the start of the slot holding the next timer,
 * earlier than its deadline: a real clock just wakes a little early and
 * waits again.  A virtual clock would jump to that instant, fire nothing
 * and come back, so there the deadline is made exact first.
 */
static int64_t
park_timeout(struct weft__driver *d, int64_t timeout_ns, uint64_t now)
{
	uint64_t next = weft__timer_next_deadline(&d->timers);
	uint64_t limit = timeout_ns < 0 ? UINT64_MAX : (uint64_t)timeout_ns;

	if (d->clock && next != WEFT__TIMER_NONE && next > now &&
	    next - now < limit)
		next = weft__timer_settle(&d->timers);
	if (next != WEFT__TIMER_NONE && (next <= now || next - now < limit))
		limit = next <= now ? 0 : next - now;
	if (limit > INT64_MAX) {
		d->wait_until = UINT64_MAX;
		return WEFT_TIMEOUT_INFINITE;
	}
	d->wait_until = now + limit < now ? UINT64_MAX : now + limit;
	return (int64_t)limit;
}


/* Applies one reported event; collects the wakers it releases. */


/*
 * Fires due timers into the batch until it is full.  Returns true when
 * more may be due, so that the caller wakes this batch and comes back.
 */
static bool
pop_timers(struct weft__driver *d, struct weft_waker *batch, uint32_t *n)
{
	uint32_t room = WAKE_BATCH - *n;
	uint32_t got;

	/* Even with no timer pending, this keeps the wheel's clock current. */
	got =
	    weft__timer_fire(&d->timers, driver_now(&d->pub), batch + *n, room);
	*n += got;
	return got == room;
}


/*
 * With the lock held and batch[0..n) filled: adds the due timers, unlocks
 * and wakes the batch, as many rounds as the timers need.  end_park: the
 * park ends under the last round's lock.  Returns unlocked, with how many
 * wakers were woken.
 */
static uint32_t
fire_unlock(struct weft__driver *d, struct weft_waker *batch, uint32_t n,
            bool end_park)
{
	uint32_t total = 0;
	bool more;

	do {
		more = pop_timers(d, batch, &n);
		if (!more && end_park)
			d->parking = false;
		pthread_mutex_unlock(&d->lock);
		wake_all(batch, n);
		total += n;
		n = 0;
		if (more)
			pthread_mutex_lock(&d->lock);
	} while (more);
	return total;
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
	/* One batch of submissions and cancels per park (D10, R14). */
	if (d->sq_len > 0 || d->cq_len > 0)
		weft__driver_op_flush(d, batch, &n);
	/*
	 * Jobs that ran woke their tasks, and one queued since must run at the
	 * next park: either way this one only collects what is ready.  A job
	 * queued after this check wakes the wait (driver_blocking).
	 */
	if (total > 0 || n > 0 ||
	    (d->deferred && weft__blocking_queued(d->pool)))
		timeout_ns = 0;
	wait_ns = park_timeout(d, timeout_ns, driver_now(pub));
	d->in_wait = true;
	d->wake_sent = false;
	pthread_mutex_unlock(&d->lock);

	got = weft_reactor_wait(d->reactor, d->events, EVENT_BATCH, wait_ns);

	pthread_mutex_lock(&d->lock);
	d->in_wait = false;
	pthread_cond_broadcast(&d->idle);
	for (i = 0; i < got; i++) {
		if (d->events[i].ready & WEFT_COMPLETE)
			weft__driver_op_dispatch(d, &d->events[i], batch, &n);
		else
			weft__driver_dispatch(d, &d->events[i], batch, &n);
	}
	total += fire_unlock(d, batch, n, true);
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
		if (d->in_wait && !d->wake_sent) {
			d->wake_sent = true;
			weft_reactor_wakeup(d->reactor);
		}
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
	pthread_mutex_lock(&d->lock);
	/* A park waiting for a deadline computes its wait again. */
	if (d->in_wait && !d->wake_sent) {
		d->wake_sent = true;
		weft_reactor_wakeup(d->reactor);
	}
	fire_unlock(d, batch, 0, false);
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
		.op_submit = weft__driver_op_submit,                           \
		.op_poll = weft__driver_op_poll,                               \
		.op_del = weft__driver_op_del,                                 \
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
	d->ops_free = NO_SLOT;
	/* Completion I/O where the reactor runs it (D10); a setting may
	 * turn it off before the driver is shared. */
	d->completion = weft_reactor_has_completion(reactor);
	/* Timer ids get another seed so they do not pass for io ids. */
	weft__timer_init(&d->timers, d->gen_seed ^ 0x55555555u);
	weft__timer_start(&d->timers, driver_now(&d->pub));
	d->timers.alloc = alloc;
	*out = d;
	return 0;

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
	if (!d)
		return;
	/* Queued jobs still run: their callers' memory is theirs to free. */
	weft__blocking_free(d->pool);
	/* Before the registrations: its waits may report their events. */
	weft__driver_op_fini(d);
	weft__driver_io_fini(d);
	weft__timer_fini(&d->timers);
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	weft__mem_free(d->alloc, d);
}
