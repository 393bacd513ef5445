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
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "driver.h"


static uint64_t
driver_now(struct weft_driver *pub)
{
	struct timespec ts;

	(void)pub;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* The live registration named by id, or NULL if id is stale or foreign. */


/* Moves a stored waker into the batch to be woken after unlocking. */


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
 */
static int64_t
park_timeout(struct weft__driver *d, int64_t timeout_ns, uint64_t now)
{
	uint64_t next = weft__timer_next_deadline(&d->timers);
	uint64_t limit = timeout_ns < 0 ? UINT64_MAX : (uint64_t)timeout_ns;

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
	got = weft__timer_fire(&d->timers, driver_now(&d->pub), batch + *n, room);
	*n += got;
	return got == room;
}


static int
driver_park(struct weft_driver *pub, int64_t timeout_ns)
{
	struct weft__driver *d = driver_of(pub);
	struct weft_waker batch[WAKE_BATCH];
	uint32_t n = 0, total = 0;
	int64_t wait_ns;
	bool more;
	int got, i;

	pthread_mutex_lock(&d->lock);
	if (d->parking) {
		pthread_mutex_unlock(&d->lock);
		return WEFT_EBUSY;
	}
	d->parking = true;
	while (d->ctl_waiters > 0)
		pthread_cond_wait(&d->idle, &d->lock);
	wait_ns = park_timeout(d, timeout_ns, driver_now(pub));
	d->in_wait = true;
	d->wake_sent = false;
	pthread_mutex_unlock(&d->lock);

	got = weft_reactor_wait(d->reactor, d->events, EVENT_BATCH, wait_ns);

	pthread_mutex_lock(&d->lock);
	d->in_wait = false;
	pthread_cond_broadcast(&d->idle);
	for (i = 0; i < got; i++)
		weft__driver_dispatch(d, &d->events[i], batch, &n);
	do {
		more = pop_timers(d, batch, &n);
		if (!more)
			d->parking = false;
		pthread_mutex_unlock(&d->lock);
		wake_all(batch, n);
		total += n;
		n = 0;
		if (more)
			pthread_mutex_lock(&d->lock);
	} while (more);
	if (got < 0)
		return got;
	return total > INT32_MAX ? INT32_MAX : (int)total;
}


static int
driver_unpark(struct weft_driver *pub)
{
	return weft_reactor_wakeup(driver_of(pub)->reactor);
}


/*
 * The pool is made on first use, so a runtime that never blocks starts no
 * thread.  Its size is the default: nothing passes a configured one here.
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
	else if (!d->pool)
		err = weft__blocking_new_with(&d->pool, d->pool_max, d->alloc);
	pthread_mutex_unlock(&d->lock);
	return err < 0 ? err : weft__blocking_spawn(d->pool, fn, arg, done);
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


static const struct weft_driver_ops driver_ops = {
    .version = WEFT_DRIVER_OPS_VERSION,
    .now = driver_now,
    .timer_add = driver_timer_add,
    .timer_poll = driver_timer_poll,
    .timer_del = driver_timer_del,
    .io_add = weft__driver_io_add,
    .io_poll = weft__driver_io_poll,
    .io_clear = weft__driver_io_clear,
    .io_del = weft__driver_io_del,
    .park = driver_park,
    .unpark = driver_unpark,
    .blocking = driver_blocking,
};


bool
weft__driver_is_host(const struct weft_driver *pub)
{
	return pub && pub->ops == &driver_ops;
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
	d->pool_max = blocking_threads;
	d->gen_seed = (atomic_fetch_add(&serial, 1) + 1) * 0x9e3779b9u;
	d->io_free = NO_SLOT;
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
	weft__driver_io_fini(d);
	weft__timer_fini(&d->timers);
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	weft__mem_free(d->alloc, d);
}
