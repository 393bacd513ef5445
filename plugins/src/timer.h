/* SPDX-License-Identifier: MIT */
/*
 * The driver's timers: a binary min-heap of deadlines over a slab of
 * entries.  Each entry knows its heap position, so adding and cancelling
 * any timer are O(log n); the earliest deadline is O(1).
 *
 * An id is (generation << 32) | (slot + 1): never 0, and not reused while
 * the timer lives because a slot's generation changes each time it is
 * freed.  A timer stays alive after it fires, until weft__timer_del, so
 * that a late poll can still learn that it fired.
 *
 * Not thread-safe: the driver calls everything here under its mutex.
 * Nothing here calls a waker except weft__timer_fini; the functions that
 * give up a waker hand it to the caller, who drops or wakes it after
 * unlocking, because a waker's drop may free a task whose future calls back
 * into the driver.
 */
#ifndef WEFT_TIMER_H
#define WEFT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* What weft__timer_next_deadline returns when no timer is pending. */
#define WEFT__TIMER_NONE UINT64_MAX

struct weft__timer_entry;

struct weft__timers {
	struct weft__timer_entry *slab;
	uint32_t slab_len; /* slots ever used: the slab's high-water mark */
	uint32_t slab_cap;
	uint32_t free_head; /* first free slot, or UINT32_MAX */
	uint32_t *heap;     /* slot numbers, ordered by deadline */
	uint32_t heap_len;
	uint32_t heap_cap;
	uint32_t gen_seed; /* first generation of every new slot */
	uint32_t live;     /* timers added and not yet deleted */
	/* The runtime's allocator (NULL: libc); kept across fini. */
	const struct weft_allocator *alloc;
};

/*
 * Prepares an empty set.  gen_seed spreads the ids of different drivers
 * apart, so an id from another driver is unlikely to name a live timer
 * here.  Allocates nothing.
 */
WEFT__HIDDEN void weft__timer_init(struct weft__timers *t, uint32_t gen_seed);

/* Frees everything; stored wakers are dropped unwoken. */
WEFT__HIDDEN void weft__timer_fini(struct weft__timers *t);

/*
 * Arms a timer at an absolute deadline (ns on the driver's clock).  0 with
 * *id set, or -ENOMEM (nothing changed), or -EOVERFLOW past 2^32 - 2
 * timers.
 */
WEFT__HIDDEN int weft__timer_add(struct weft__timers *t, uint64_t deadline,
                                 uint64_t *id);

/*
 * Cancels (if pending) and frees the timer.  Its stored waker, if any, is
 * moved to *waker (which must be empty or NULL to discard it — only pass
 * NULL when no waker can be stored).  0 or -ENOENT for an unknown id.
 */
WEFT__HIDDEN int weft__timer_del(struct weft__timers *t, uint64_t id,
                                 struct weft_waker *waker);

/* The earliest pending deadline, or WEFT__TIMER_NONE. */
WEFT__HIDDEN uint64_t weft__timer_next_deadline(const struct weft__timers *t);

/*
 * Fires the earliest timer if its deadline is <= now: it leaves the heap,
 * counts as fired, and its stored waker (possibly empty) moves to *waker.
 * Returns true when a timer fired, false when none is due.  Call in a loop.
 */
WEFT__HIDDEN bool weft__timer_pop(struct weft__timers *t, uint64_t now,
                                  struct weft_waker *waker);

/*
 * Stores a clone of *waker in the timer, unless the stored one already
 * wakes the same task.  A waker it replaces moves to *old (empty
 * otherwise), for the caller to drop after unlocking.  0, -ENOENT.
 */
WEFT__HIDDEN int weft__timer_set_waker(struct weft__timers *t, uint64_t id,
                                       const struct weft_waker *waker,
                                       struct weft_waker *old);

/*
 * 1 if the timer has fired (popped), 0 if still pending, -ENOENT.  When
 * deadline is non-NULL it receives the timer's deadline.
 */
WEFT__HIDDEN int weft__timer_state(const struct weft__timers *t, uint64_t id,
                                   uint64_t *deadline);

/*
 * Checks the heap order and every entry's back-index; for tests.  Returns
 * true when consistent.
 */
WEFT__HIDDEN bool weft__timer_check(const struct weft__timers *t);

#endif /* WEFT_TIMER_H */
