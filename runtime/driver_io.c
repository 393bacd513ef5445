/* SPDX-License-Identifier: MIT */
/*
 * The driver's fd registrations: io_add, io_poll, io_clear, io_del, and the
 * dispatch of the events a park takes from the reactor.  Locking and the
 * reactor's one-thread rule are described in driver.c.
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
#include <stdlib.h>

#include "alloc.h"
#include "driver.h"


static uint64_t
io_id(const struct weft__driver *d, const struct io *io)
{
	return ((uint64_t)io->gen << 32) | ((uint64_t)(io - d->io) + 1);
}


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


int
weft__driver_io_add(struct weft_driver *pub, int fd, uint32_t interest,
                    uint64_t *id)
{
	struct weft__driver *d = driver_of(pub);
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


int
weft__driver_io_poll(struct weft_driver *pub, uint64_t id, uint32_t interest,
                     struct weft_context *cx, uint32_t *ready)
{
	struct weft__driver *d = driver_of(pub);
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
void
weft__driver_io_clear(struct weft_driver *pub, uint64_t id, uint32_t bits)
{
	struct weft__driver *d = driver_of(pub);
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


int
weft__driver_io_del(struct weft_driver *pub, uint64_t id)
{
	struct weft__driver *d = driver_of(pub);
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


void
weft__driver_dispatch(struct weft__driver *d,
                      const struct weft_reactor_event *ev,
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


void
weft__driver_io_fini(struct weft__driver *d)
{
	uint32_t i;

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
}
