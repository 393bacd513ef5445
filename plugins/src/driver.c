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
 * Lost edges.  With an edge-triggered reactor, readiness is reported once.
 * A caller that saw EAGAIN calls io_clear, but an edge that arrived between
 * its failed read and io_clear must not be forgotten.  As tokio's
 * ScheduledIo does, every event bumps a per-direction tick; io_poll records
 * the tick it reported, and io_clear forgets a direction only if no event
 * came since.  Otherwise the caller simply tries once more.
 *
 * HUP and ERROR stay set once reported (the reactor will not repeat them),
 * but a direction whose caller cleared after seeing them stops being woken
 * by them until they are reported again.  EAGAIN proves that direction is
 * still open, so the HUP concerned the other one: a writer to a peer that
 * shut down only its sending side would otherwise spin while the peer does
 * not read.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "internal.h"
#include "timer.h"

/* Events taken from the reactor per wait. */
#define EVENT_BATCH 256
/* Each event may wake a reader and a writer; timers fill the rest. */
#define WAKE_BATCH (2 * EVENT_BATCH + 64)
#define NO_SLOT    UINT32_MAX
#define MAX_SLOTS  (UINT32_MAX - 1)

#define DIRECTIONS (WEFT_READABLE | WEFT_WRITABLE)
#define STICKY     (WEFT_HUP | WEFT_ERROR)
#define ALL_READY  (DIRECTIONS | STICKY)

/* One registered fd. */
struct io {
	int fd;
	uint32_t gen;
	uint32_t next_free;
	bool used;
	bool detached;           /* level mode: taken out of the reactor */
	uint32_t interest;       /* what io_add asked for */
	uint32_t armed;          /* what the reactor watches now */
	uint32_t ready;          /* readiness not yet cleared */
	uint32_t rtick, wtick;   /* events seen, per direction */
	uint32_t rseen, wseen;   /* the tick io_poll last reported ready */
	uint32_t racked, wacked; /* STICKY bits a direction has cleared */
	struct weft_waker reader, writer;
};

struct weft__driver {
	struct weft_driver pub; /* must come first */
	pthread_mutex_t lock;
	pthread_cond_t idle; /* the reactor left wait, or ctl queue emptied */
	struct weft_reactor *reactor;
	bool level;
	struct weft__timers timers;
	struct io *io;
	uint32_t io_len, io_cap, io_free;
	uint32_t gen_seed;
	bool parking;         /* a thread is inside park */
	bool in_wait;         /* ... and inside the reactor's wait */
	bool wake_sent;       /* this wait has been woken already */
	uint32_t ctl_waiters; /* threads waiting to use the reactor */
	uint64_t wait_until;  /* when the current wait ends at the latest */
	struct weft__blocking *pool; /* made on first use; then constant */
	unsigned pool_max;
	bool concurrent_ctl; /* the reactor allows ctl during wait */
	bool shut;           /* runtime shut down: no more blocking jobs */
	const struct weft_allocator *alloc; /* the runtime's; NULL: libc */
	struct weft_reactor_event events[EVENT_BATCH];
};

/* The public head comes first, so the private struct is a cast away. */
#define impl_of(pub) ((struct weft__driver *)(pub))


static uint64_t
impl_now(struct weft_driver *pub)
{
	struct timespec ts;

	(void)pub;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


static uint64_t
io_id(const struct weft__driver *d, const struct io *io)
{
	return ((uint64_t)io->gen << 32) | ((uint64_t)(io - d->io) + 1);
}


/* The live registration named by id, or NULL if id is stale or foreign. */
static struct io *
io_find(struct weft__driver *d, uint64_t id)
{
	uint64_t low = id & 0xffffffffu;
	struct io *io;

	if (low == 0 || low > d->io_len)
		return NULL;
	io = &d->io[low - 1];
	if (!io->used || io->gen != (uint32_t)(id >> 32))
		return NULL;
	return io;
}


static struct io *
io_alloc(struct weft__driver *d)
{
	struct io *io;
	uint32_t slot, cap;

	if (d->io_free != NO_SLOT) {
		slot = d->io_free;
		d->io_free = d->io[slot].next_free;
	} else {
		if (d->io_len >= MAX_SLOTS)
			return NULL;
		if (d->io_len == d->io_cap) {
			cap = d->io_cap ? d->io_cap * 2 : 16;
			io = weft__mem_grow(d->alloc, d->io,
			                    (size_t)d->io_cap * sizeof(*io),
			                    (size_t)cap * sizeof(*io));
			if (!io)
				return NULL;
			d->io = io;
			d->io_cap = cap;
		}
		slot = d->io_len++;
		d->io[slot].gen = d->gen_seed;
	}
	io = &d->io[slot];
	*io = (struct io){.gen = io->gen, .used = true};
	return io;
}


static void
io_free(struct weft__driver *d, struct io *io)
{
	io->used = false;
	/* A new generation makes every copy of the old id stale. */
	io->gen++;
	io->next_free = d->io_free;
	d->io_free = (uint32_t)(io - d->io);
}


/* Moves a stored waker into the batch to be woken after unlocking. */
static void
take(struct weft_waker *slot, struct weft_waker *batch, uint32_t *n)
{
	if (slot->vtable) {
		batch[(*n)++] = *slot;
		*slot = (struct weft_waker){0, 0};
	}
}


/*
 * Stores a clone of w in slot; a waker it replaces goes to *old so that
 * the caller drops it after unlocking.
 */
static void
store(struct weft_waker *slot, const struct weft_waker *w,
      struct weft_waker *old)
{
	if (slot->vtable && weft_waker_will_wake(slot, w))
		return;
	*old = *slot;
	*slot = weft_waker_clone(w);
}


static void
wake_all(struct weft_waker *batch, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		weft_waker_wake(&batch[i]);
}


/*
 * Called with the mutex held, before add, modify or delete: if a park is
 * waiting in the reactor, wakes it and waits until it has returned.  The
 * mutex is released meanwhile, so pointers into the slab must be looked up
 * again afterwards.
 */
static void
reactor_acquire(struct weft__driver *d)
{
	if (!d->in_wait || d->concurrent_ctl)
		return;
	d->ctl_waiters++;
	while (d->in_wait) {
		if (!d->wake_sent) {
			d->wake_sent = true;
			weft_reactor_wakeup(d->reactor);
		}
		pthread_cond_wait(&d->idle, &d->lock);
	}
	if (--d->ctl_waiters == 0)
		pthread_cond_broadcast(&d->idle);
}


/*
 * Level mode: a level-triggered reactor would report the same readiness on
 * every wait, so the reactor watches only the interest not yet reported,
 * until io_clear re-arms it (oneshot emulation).  HUP and ERROR cannot be
 * masked that way — poll and level epoll always report them — and they
 * stay set, so a registration showing one leaves the reactor for good.
 */
static void
level_sync(struct weft__driver *d, struct io *io)
{
	uint32_t want = io->interest & ~io->ready;

	if (io->detached)
		return;
	if (io->ready & STICKY) {
		if (weft_reactor_del(d->reactor, io->fd) == 0)
			io->detached = true;
	} else if (want != io->armed &&
	           weft_reactor_modify(d->reactor, io->fd, want,
	                               io_id(d, io)) == 0) {
		io->armed = want;
	}
}


static int
impl_io_add(struct weft_driver *pub, int fd, uint32_t interest, uint64_t *id)
{
	struct weft__driver *d = impl_of(pub);
	struct io *io;
	int err;

	if (fd < 0)
		return -EBADF;
	if (!id || !(interest & DIRECTIONS) || (interest & ~DIRECTIONS))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	reactor_acquire(d);
	io = io_alloc(d);
	err = io ? 0 : -ENOMEM;
	if (io) {
		io->fd = fd;
		io->interest = io->armed = interest;
		err = weft_reactor_add(d->reactor, fd, interest, io_id(d, io));
		if (err < 0)
			io_free(d, io);
		else
			*id = io_id(d, io);
	}
	pthread_mutex_unlock(&d->lock);
	return err < 0 ? err : 0;
}


static int
impl_io_poll(struct weft_driver *pub, uint64_t id, uint32_t interest,
             struct weft_context *cx, uint32_t *ready)
{
	struct weft__driver *d = impl_of(pub);
	struct weft_waker old_r = {0, 0}, old_w = {0, 0};
	struct io *io;
	uint32_t got;

	if (!cx || !ready || !(interest & DIRECTIONS))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	io = io_find(d, id);
	/* A direction never registered would never be woken: refuse it. */
	if (!io || (interest & DIRECTIONS & ~io->interest)) {
		pthread_mutex_unlock(&d->lock);
		return io ? -EINVAL : -ENOENT;
	}
	got = io->ready & interest & DIRECTIONS;
	if (interest & WEFT_READABLE)
		got |= io->ready & STICKY & ~io->racked;
	if (interest & WEFT_WRITABLE)
		got |= io->ready & STICKY & ~io->wacked;
	if (got) {
		if (interest & WEFT_READABLE)
			io->rseen = io->rtick;
		if (interest & WEFT_WRITABLE)
			io->wseen = io->wtick;
		*ready = got;
	} else {
		if (interest & WEFT_READABLE)
			store(&io->reader, &cx->waker, &old_r);
		if (interest & WEFT_WRITABLE)
			store(&io->writer, &cx->waker, &old_w);
	}
	pthread_mutex_unlock(&d->lock);
	weft_waker_drop(&old_r);
	weft_waker_drop(&old_w);
	return got ? WEFT_READY : WEFT_PENDING;
}


/*
 * Forgets, for each direction named in bits (both when bits name only HUP
 * or ERROR), the readiness its caller saw — unless an event came for that
 * direction since io_poll last reported it (see the top).
 */
static void
impl_io_clear(struct weft_driver *pub, uint64_t id, uint32_t bits)
{
	struct weft__driver *d = impl_of(pub);
	uint32_t dirs = bits & DIRECTIONS ? bits & DIRECTIONS : DIRECTIONS;
	uint32_t before;
	struct io *io;

	pthread_mutex_lock(&d->lock);
	if (d->level)
		reactor_acquire(d);
	io = io_find(d, id);
	if (!io)
		goto out;
	before = io->ready;
	if ((dirs & WEFT_READABLE) && io->rtick == io->rseen) {
		io->ready &= ~(bits & WEFT_READABLE);
		io->racked |= io->ready & STICKY;
	}
	if ((dirs & WEFT_WRITABLE) && io->wtick == io->wseen) {
		io->ready &= ~(bits & WEFT_WRITABLE);
		io->wacked |= io->ready & STICKY;
	}
	if (d->level && io->ready != before)
		level_sync(d, io);
out:
	pthread_mutex_unlock(&d->lock);
}


static int
impl_io_del(struct weft_driver *pub, uint64_t id)
{
	struct weft__driver *d = impl_of(pub);
	struct weft_waker drop[2];
	uint32_t n = 0;
	struct io *io;
	int err = 0;

	pthread_mutex_lock(&d->lock);
	reactor_acquire(d);
	io = io_find(d, id);
	if (!io) {
		pthread_mutex_unlock(&d->lock);
		return -ENOENT;
	}
	if (!io->detached)
		err = weft_reactor_del(d->reactor, io->fd);
	take(&io->reader, drop, &n);
	take(&io->writer, drop, &n);
	/* Freed even if the reactor refused, say because the fd was closed. */
	io_free(d, io);
	pthread_mutex_unlock(&d->lock);
	while (n > 0)
		weft_waker_drop(&drop[--n]);
	return err;
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
impl_timer_add(struct weft_driver *pub, uint64_t deadline, uint64_t *id)
{
	struct weft__driver *d = impl_of(pub);
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
	struct weft__driver *d = impl_of(pub);
	int err;

	pthread_mutex_lock(&d->lock);
	err = weft__timer_add_waker(&d->timers, deadline, id, waker);
	if (err == 0)
		timer_armed(d, deadline);
	pthread_mutex_unlock(&d->lock);
	return err;
}


static int
impl_timer_poll(struct weft_driver *pub, uint64_t id, struct weft_context *cx)
{
	struct weft__driver *d = impl_of(pub);
	struct weft_waker old = {0, 0};
	uint64_t deadline;
	int state;

	if (!cx)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	state = weft__timer_state(&d->timers, id, &deadline);
	if (state == 0 && deadline <= impl_now(pub))
		state = 1;
	if (state == 0)
		weft__timer_set_waker(&d->timers, id, &cx->waker, &old);
	pthread_mutex_unlock(&d->lock);
	weft_waker_drop(&old);
	return state;
}


static void
impl_timer_del(struct weft_driver *pub, uint64_t id)
{
	struct weft__driver *d = impl_of(pub);
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
static void
dispatch(struct weft__driver *d, const struct weft_reactor_event *ev,
         struct weft_waker *batch, uint32_t *n)
{
	/* A stale token: io_del ran since the reactor saw the event (D4). */
	struct io *io = io_find(d, ev->token);
	uint32_t bits = ev->ready & ALL_READY;

	if (!io || !bits)
		return;
	io->ready |= bits;
	/* A repeated HUP or ERROR is news again to both directions. */
	io->racked &= ~bits;
	io->wacked &= ~bits;
	if (bits & (WEFT_READABLE | STICKY)) {
		io->rtick++;
		take(&io->reader, batch, n);
	}
	if (bits & (WEFT_WRITABLE | STICKY)) {
		io->wtick++;
		take(&io->writer, batch, n);
	}
	if (d->level)
		level_sync(d, io);
}


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
	got = weft__timer_fire(&d->timers, impl_now(&d->pub), batch + *n, room);
	*n += got;
	return got == room;
}


static int
impl_park(struct weft_driver *pub, int64_t timeout_ns)
{
	struct weft__driver *d = impl_of(pub);
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
	wait_ns = park_timeout(d, timeout_ns, impl_now(pub));
	d->in_wait = true;
	d->wake_sent = false;
	pthread_mutex_unlock(&d->lock);

	got = weft_reactor_wait(d->reactor, d->events, EVENT_BATCH, wait_ns);

	pthread_mutex_lock(&d->lock);
	d->in_wait = false;
	pthread_cond_broadcast(&d->idle);
	for (i = 0; i < got; i++)
		dispatch(d, &d->events[i], batch, &n);
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
impl_unpark(struct weft_driver *pub)
{
	return weft_reactor_wakeup(impl_of(pub)->reactor);
}


/*
 * The pool is made on first use, so a runtime that never blocks starts no
 * thread.  Its size is the default: nothing passes a configured one here.
 */
static int
impl_blocking(struct weft_driver *pub, void (*fn)(void *arg), void *arg,
              struct weft_waker *done)
{
	struct weft__driver *d = impl_of(pub);
	int err = 0;

	pthread_mutex_lock(&d->lock);
	if (d->shut)
		err = WEFT_ECLOSED;
	else if (!d->pool)
		err = weft__blocking_new_with(&d->pool, d->pool_max, d->alloc);
	pthread_mutex_unlock(&d->lock);
	return err < 0 ? err : weft__blocking_spawn(d->pool, fn, arg, done);
}


void
weft__driver_shutdown(struct weft__driver *d)
{
	struct weft__blocking *pool;

	pthread_mutex_lock(&d->lock);
	d->shut = true;
	pool = d->pool;
	pthread_mutex_unlock(&d->lock);
	/* The pool stays allocated until the driver is freed: a racing
	 * blocking call may still hold it, and finds it closed. */
	weft__blocking_close(pool);
}


static const struct weft_driver_ops impl_ops = {
    .version = WEFT_DRIVER_OPS_VERSION,
    .now = impl_now,
    .timer_add = impl_timer_add,
    .timer_poll = impl_timer_poll,
    .timer_del = impl_timer_del,
    .io_add = impl_io_add,
    .io_poll = impl_io_poll,
    .io_clear = impl_io_clear,
    .io_del = impl_io_del,
    .park = impl_park,
    .unpark = impl_unpark,
    .blocking = impl_blocking,
};


bool
weft__driver_is_host(const struct weft_driver *pub)
{
	return pub && pub->ops == &impl_ops;
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
	d->pub.ops = &impl_ops;
	d->reactor = reactor;
	d->level = !(reactor_flags & WEFT_REACTOR_EDGE);
	d->concurrent_ctl = reactor_flags & WEFT_REACTOR_CONCURRENT_CTL;
	d->pool_max = blocking_threads;
	d->gen_seed = (atomic_fetch_add(&serial, 1) + 1) * 0x9e3779b9u;
	d->io_free = NO_SLOT;
	/* Timer ids get another seed so they do not pass for io ids. */
	weft__timer_init(&d->timers, d->gen_seed ^ 0x55555555u);
	weft__timer_start(&d->timers, impl_now(&d->pub));
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
	uint32_t i;

	if (!d)
		return;
	/* Queued jobs still run: their callers' memory is theirs to free. */
	weft__blocking_free(d->pool);
	for (i = 0; i < d->io_len; i++) {
		struct io *io = &d->io[i];

		if (!io->used)
			continue;
		if (!io->detached)
			weft_reactor_del(d->reactor, io->fd);
		weft_waker_drop(&io->reader);
		weft_waker_drop(&io->writer);
	}
	weft__mem_free(d->alloc, d->io);
	weft__timer_fini(&d->timers);
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
	weft__mem_free(d->alloc, d);
}
