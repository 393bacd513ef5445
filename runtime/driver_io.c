/* SPDX-License-Identifier: MIT */
/*
 * The driver's fd registrations: io_add, io_poll, io_clear, io_del, and the
 * dispatch of the events a park takes from the reactor.  The reactor's
 * one-thread rule is described in driver.c.
 *
 * The hot path takes no lock.  io_poll and io_clear (on an edge-triggered
 * reactor) only read and compare-and-swap a registration's word, and store
 * a waker through its slot's state; the mutex is taken by io_add, io_del,
 * the dispatch of a park's events and, on a level-triggered reactor, by a
 * clear that must arm the reactor again.
 *
 * The word: bits 0-3 the readiness not yet cleared (WEFT_READABLE ...
 * WEFT_ERROR), 4-11 the HUP and ERROR bits each direction has cleared, 12
 * and 13 "an event came for this direction since io_poll last reported
 * it", 14-15 the interest, 16 "in use", and 32-63 the generation an id
 * carries.  An operation whose id's generation differs, or that finds the
 * slot free, fails with -ENOENT, and since a compare-and-swap compares the
 * generation too, a change made through a stale id can never land on the
 * registration that reused the slot.
 *
 * Lifetime: slots are never freed or moved while the driver lives (pages,
 * driver.h), so a thread holding a slot found from an id that io_del frees
 * meanwhile still reads valid memory, and learns from the generation that
 * the id is stale.
 *
 * Lost edges.  With an edge-triggered reactor, readiness is reported once.
 * A caller that saw EAGAIN calls io_clear, but an edge that arrived between
 * its failed read and io_clear must not be forgotten.  As tokio's
 * ScheduledIo does with its tick, every event marks its direction as new,
 * io_poll unmarks what it reports, and io_clear forgets a direction only if
 * it is not marked: an event came since the poll, so the caller simply
 * tries once more.
 *
 * HUP and ERROR stay set once reported (the reactor will not repeat them),
 * but a direction whose caller cleared after seeing them stops being woken
 * by them until they are reported again.  EAGAIN proves that direction is
 * still open, so the HUP concerned the other one: a writer to a peer that
 * shut down only its sending side would otherwise spin while the peer does
 * not read.
 *
 * Waker slots (one per direction), in the manner of an atomic waker.  Only
 * the thread that moved the state from IDLE to REGISTERING (io_poll), or
 * whose fetch-or of WAKING found it IDLE (a park's dispatch, io_del),
 * touches w.  A taker that finds REGISTERING takes nothing: the registrant
 * sees WAKING when it finishes and wakes what the slot holds itself.  So a
 * dispatch never waits, and a waker stored just as readiness arrives is
 * always woken: the registrant reads the word after taking the slot, the
 * dispatch writes the word before taking it.  Two registrants of one
 * direction at once (the ABI allows it, io objects never do it) spin.
 */
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "driver.h"

/* The word's fields (see the top). */
#define W_RACK_SHIFT 4 /* STICKY bits the reader cleared, shifted */
#define W_WACK_SHIFT 8 /* ... the writer */
#define W_RNEW       (1u << 12)
#define W_WNEW       (1u << 13)
#define W_INT_SHIFT  14 /* the interest, shifted */
#define W_USED       (1u << 16)
#define W_GEN_SHIFT  32

/* The waker slots' states. */
#define IO_IDLE        0u
#define IO_REGISTERING 1u
#define IO_WAKING      2u

/* io_poll's "try again": readiness arrived, or a slot was busy. */
#define IO_AGAIN 2


static inline bool
live(uint64_t word, uint64_t id)
{
	return (word & W_USED) &&
	       (uint32_t)(word >> W_GEN_SHIFT) == (uint32_t)(id >> 32);
}


static inline uint32_t
word_interest(uint64_t word)
{
	return (uint32_t)(word >> W_INT_SHIFT) & DIRECTIONS;
}


/* What io_poll reports for interest from a live word: 0 when nothing. */
static uint32_t
ready_for(uint64_t word, uint32_t interest)
{
	uint32_t ready = (uint32_t)word & ALL_READY;
	uint32_t got = ready & interest & DIRECTIONS;

	if (interest & WEFT_READABLE)
		got |= ready & STICKY & ~(uint32_t)(word >> W_RACK_SHIFT);
	if (interest & WEFT_WRITABLE)
		got |= ready & STICKY & ~(uint32_t)(word >> W_WACK_SHIFT);
	return got;
}


/* Slot i's page and place in it. */
static inline uint32_t
page_of(uint32_t i, uint32_t *off)
{
	uint32_t k = 31u - (uint32_t)__builtin_clz(i / IO_PAGE0 + 1);

	*off = i - IO_PAGE0 * ((1u << k) - 1);
	return k;
}


/*
 * The slot an id names, whatever its state, or NULL when its page was
 * never made.  No lock: pages are published with release and never freed.
 */
static struct io *
io_slot(struct weft__driver *d, uint64_t id)
{
	uint32_t low = (uint32_t)id, off, k;
	struct io *page;

	if (low == 0 || low > MAX_SLOTS)
		return NULL;
	k = page_of(low - 1, &off);
	page = atomic_load_explicit(&d->io_pages[k], memory_order_acquire);
	return page ? &page[off] : NULL;
}


static uint64_t
io_id(const struct io *io, uint32_t slot)
{
	uint64_t word = atomic_load_explicit(&io->word, memory_order_relaxed);

	return (word & ~(uint64_t)UINT32_MAX) | ((uint64_t)slot + 1);
}


/* The live registration an id names, for the methods under the mutex. */
static struct io *
io_find(struct weft__driver *d, uint64_t id)
{
	struct io *io = io_slot(d, id);

	if (!io || !live(atomic_load(&io->word), id))
		return NULL;
	return io;
}


/* Under the mutex: a free slot, its number in *slot, or NULL. */
static struct io *
io_alloc(struct weft__driver *d, uint32_t *slot)
{
	struct io *page, *io;
	uint32_t off, k, gen;

	if (d->io_free != NO_SLOT) {
		*slot = d->io_free;
		k = page_of(*slot, &off);
		io = &atomic_load_explicit(&d->io_pages[k],
		                           memory_order_relaxed)[off];
		d->io_free = io->next_free;
		gen = (uint32_t)(atomic_load(&io->word) >> W_GEN_SHIFT);
	} else {
		if (d->io_len >= MAX_SLOTS)
			return NULL;
		k = page_of(d->io_len, &off);
		page =
		    atomic_load_explicit(&d->io_pages[k], memory_order_relaxed);
		if (!page) {
			page = weft__mem_calloc(d->alloc, (size_t)IO_PAGE0 << k,
			                        sizeof(*page));
			if (!page)
				return NULL;
			atomic_store_explicit(&d->io_pages[k], page,
			                      memory_order_release);
		}
		*slot = d->io_len++;
		io = &page[off];
		gen = d->gen_seed;
	}
	/* Not in use yet: nothing else changes the word of a free slot. */
	atomic_store(&io->word, (uint64_t)gen << W_GEN_SHIFT);
	io->detached = false;
	io->armed = 0;
	return io;
}


/* Under the mutex: makes every copy of the id stale, and the slot free. */
static void
io_free(struct weft__driver *d, struct io *io, uint32_t slot)
{
	uint32_t gen = (uint32_t)(atomic_load(&io->word) >> W_GEN_SHIFT);

	atomic_store(&io->word, (uint64_t)(gen + 1) << W_GEN_SHIFT);
	io->next_free = d->io_free;
	d->io_free = slot;
}


static inline void
relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}


/*
 * Takes the slot's waker into batch[*n] (when it holds one), unless a
 * registrant is storing one: that registrant then wakes it (see the top).
 */
static void
take(struct io_waker *s, struct weft_waker *batch, uint32_t *n)
{
	if (atomic_fetch_or(&s->state, IO_WAKING) != IO_IDLE)
		return;
	if (s->w.vtable) {
		batch[(*n)++] = s->w;
		s->w = (struct weft_waker){0, 0};
	}
	atomic_fetch_and(&s->state, ~IO_WAKING);
}


/*
 * io_poll's pending half for one direction: under the slot's REGISTERING
 * state, looks at the word once more and stores a clone of waker unless
 * the id went stale (-ENOENT) or readiness arrived (IO_AGAIN).  A busy
 * slot is IO_AGAIN too.  Wakes or drops what it displaces, unlocked as
 * everything here is.
 */
static int
arm(struct io *io, struct io_waker *s, uint64_t id, uint32_t interest,
    const struct weft_waker *waker)
{
	struct weft_waker old = {0, 0};
	uint32_t st = IO_IDLE;
	uint64_t word;
	int rc;

	if (!atomic_compare_exchange_strong(&s->state, &st, IO_REGISTERING)) {
		relax();
		return IO_AGAIN;
	}
	word = atomic_load(&io->word);
	if (!live(word, id)) {
		rc = -ENOENT;
	} else if (ready_for(word, interest)) {
		rc = IO_AGAIN;
	} else {
		rc = WEFT_PENDING;
		if (!s->w.vtable || !weft_waker_will_wake(&s->w, waker)) {
			old = s->w;
			s->w = weft_waker_clone(waker);
		}
	}
	st = IO_REGISTERING;
	if (!atomic_compare_exchange_strong(&s->state, &st, IO_IDLE)) {
		/* A take came meanwhile and left the waking to us. */
		struct weft_waker w = s->w;

		s->w = (struct weft_waker){0, 0};
		atomic_store(&s->state, IO_IDLE);
		weft_waker_wake(&w);
	}
	weft_waker_drop(&old);
	return rc;
}


/*
 * Called with the mutex held, before add, modify or delete: if a park is
 * waiting in the reactor, wakes it and waits until it has returned.  The
 * mutex is released meanwhile, so a registration must be looked up again
 * afterwards.
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
 * Level mode, under the mutex: a level-triggered reactor would report the
 * same readiness on every wait, so the reactor watches only the interest
 * not yet reported, until io_clear re-arms it (oneshot emulation).  HUP
 * and ERROR cannot be masked that way — poll and level epoll always report
 * them — and they stay set, so a registration showing one leaves the
 * reactor for good.  Reads the word as it is now, so the last sync of a
 * series leaves the reactor matching it.
 */
static void
level_sync(struct weft__driver *d, struct io *io, uint64_t id)
{
	uint64_t word = atomic_load(&io->word);
	uint32_t ready = (uint32_t)word & ALL_READY;
	uint32_t want = word_interest(word) & ~ready;

	if (io->detached)
		return;
	if (ready & STICKY) {
		if (weft_reactor_del(d->reactor, io->fd) == 0)
			io->detached = true;
	} else if (want != io->armed &&
	           weft_reactor_modify(d->reactor, io->fd, want, id) == 0) {
		io->armed = want;
	}
}


int
weft__driver_io_add(struct weft_driver *pub, int fd, uint32_t interest,
                    uint64_t *id)
{
	struct weft__driver *d = driver_of(pub);
	struct io *io;
	uint32_t slot;
	int err;

	if (fd < 0)
		return -EBADF;
	if (!id || !(interest & DIRECTIONS) || (interest & ~DIRECTIONS))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	reactor_acquire(d);
	io = io_alloc(d, &slot);
	err = io ? 0 : -ENOMEM;
	if (io) {
		io->fd = fd;
		io->armed = interest;
		atomic_store(&io->word, atomic_load(&io->word) | W_USED |
		                            (uint64_t)interest << W_INT_SHIFT);
		err =
		    weft_reactor_add(d->reactor, fd, interest, io_id(io, slot));
		if (err < 0)
			io_free(d, io, slot);
		else
			*id = io_id(io, slot);
	}
	pthread_mutex_unlock(&d->lock);
	return err < 0 ? err : 0;
}


int
weft__driver_io_poll(struct weft_driver *pub, uint64_t id, uint32_t interest,
                     struct weft_context *cx, uint32_t *ready)
{
	struct weft__driver *d = driver_of(pub);
	struct io *io;
	uint64_t word, seen;
	uint32_t got;
	int rc;

	if (!cx || !ready || !(interest & DIRECTIONS))
		return -EINVAL;
	io = io_slot(d, id);
	if (!io)
		return -ENOENT;
	seen = (interest & WEFT_READABLE ? W_RNEW : 0) |
	       (interest & WEFT_WRITABLE ? W_WNEW : 0);
	word = atomic_load(&io->word);
	for (;;) {
		if (!live(word, id))
			return -ENOENT;
		/* A direction never registered would never be woken. */
		if (interest & DIRECTIONS & ~word_interest(word))
			return -EINVAL;
		got = ready_for(word, interest);
		if (got) {
			/* Reported: what came so far is seen (see the top). */
			if ((word & seen) &&
			    !atomic_compare_exchange_weak(&io->word, &word,
			                                  word & ~seen))
				continue;
			*ready = got;
			return WEFT_READY;
		}
		rc = WEFT_PENDING;
		if (interest & WEFT_READABLE)
			rc = arm(io, &io->reader, id, interest, &cx->waker);
		if (rc == WEFT_PENDING && (interest & WEFT_WRITABLE))
			rc = arm(io, &io->writer, id, interest, &cx->waker);
		if (rc != IO_AGAIN)
			return rc;
		word = atomic_load(&io->word);
	}
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
	uint64_t word, next;
	struct io *io = io_slot(d, id);

	if (!io)
		return;
	word = atomic_load(&io->word);
	do {
		if (!live(word, id))
			return;
		next = word;
		if ((dirs & WEFT_READABLE) && !(word & W_RNEW)) {
			next &= ~(uint64_t)(bits & WEFT_READABLE);
			next |= (next & STICKY) << W_RACK_SHIFT;
		}
		if ((dirs & WEFT_WRITABLE) && !(word & W_WNEW)) {
			next &= ~(uint64_t)(bits & WEFT_WRITABLE);
			next |= (next & STICKY) << W_WACK_SHIFT;
		}
		if (next == word)
			return;
	} while (!atomic_compare_exchange_weak(&io->word, &word, next));
	/* Level mode: the reactor watches that direction again. */
	if (!d->level || ((word ^ next) & ALL_READY) == 0)
		return;
	pthread_mutex_lock(&d->lock);
	reactor_acquire(d);
	io = io_find(d, id);
	if (io)
		level_sync(d, io, id);
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
	/*
	 * Freed even if the reactor refused, say because the fd was closed;
	 * stale from here on, so a registrant racing this stores nothing or
	 * finds WAKING below and disposes of its waker itself.
	 */
	io_free(d, io, (uint32_t)id - 1);
	take(&io->reader, drop, &n);
	take(&io->writer, drop, &n);
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
	uint32_t bits = ev->ready & ALL_READY;
	uint64_t word, next, acked;
	struct io *io;

	/* A stale token: io_del ran since the reactor saw the event (D4). */
	io = bits ? io_slot(d, ev->token) : NULL;
	if (!io)
		return;
	/* A repeated HUP or ERROR is news again to both directions. */
	acked = (uint64_t)(bits & STICKY) << W_RACK_SHIFT |
	        (uint64_t)(bits & STICKY) << W_WACK_SHIFT;
	word = atomic_load(&io->word);
	do {
		if (!live(word, ev->token))
			return;
		next = (word | bits) & ~acked;
		if (bits & (WEFT_READABLE | STICKY))
			next |= W_RNEW;
		if (bits & (WEFT_WRITABLE | STICKY))
			next |= W_WNEW;
	} while (next != word &&
	         !atomic_compare_exchange_weak(&io->word, &word, next));
	/* The word first, then the slots: see the top. */
	if (bits & (WEFT_READABLE | STICKY))
		take(&io->reader, batch, n);
	if (bits & (WEFT_WRITABLE | STICKY))
		take(&io->writer, batch, n);
	if (d->level)
		level_sync(d, io, ev->token);
}


void
weft__driver_io_fini(struct weft__driver *d)
{
	uint32_t i, off, k;

	for (i = 0; i < d->io_len; i++) {
		struct io *io;

		k = page_of(i, &off);
		io = &d->io_pages[k][off];
		if (!(atomic_load(&io->word) & W_USED))
			continue;
		if (!io->detached)
			weft_reactor_del(d->reactor, io->fd);
		weft_waker_drop(&io->reader.w);
		weft_waker_drop(&io->writer.w);
	}
	for (k = 0; k < IO_PAGES; k++)
		weft__mem_free(d->alloc, d->io_pages[k]);
}
