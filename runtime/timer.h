/* SPDX-License-Identifier: MIT */
/*
 * The driver's timers: a hierarchical timing wheel in the design of
 * tokio's and the Linux kernel's, over two slabs.
 *
 * A handle (8 bytes) is what an id names: its generation and the node of
 * a pending timer, or "fired".  A node (32 bytes, wheel.h) is a pending
 * timer: its deadline, its waker, its handle and its position.  A timer
 * that fires gives its node back at once and keeps only its handle until
 * weft__timer_del, so a late poll still learns that it fired, and a
 * million fired timers whose tasks have not run yet cost their handles'
 * 8 MB alone.
 *
 * Time is cut into ticks of 2^17 ns (131 us).  The wheel has six levels
 * of 64 slots; a slot of level L spans 64^L ticks, so level 0 holds the
 * next 64 ticks (8.4 ms) one per slot, level 1 the next 537 ms in slots of
 * 8.4 ms, and level 5 reaches 2^36 ticks (about 104 days) ahead.  A slot
 * holds node numbers in 64-byte chunks (each node knows its position, so
 * a cancel moves the slot's last one in), and a 64-bit mask per level says
 * which slots hold any, so arming and cancelling are O(1) and the next
 * slot is a count-trailing-zeros away.  Chunks rather than a linked list
 * of nodes, because a slot is walked when it comes up, and a chunk's nodes
 * can be fetched from memory together where a list's come one by one.
 * When the wheel's time reaches a slot, its nodes move down a level (a
 * cascade), or fire at once if the whole slot is already past.  Deadlines
 * beyond level 5 wait in an overflow slot, filed again each time level 5
 * turns over.  Arming reserves the chunks any cascade could need, so
 * nothing allocates while timers fire.
 *
 * Ticks only sort: firing compares exact deadlines.  The nodes of the tick
 * under way (and deadlines already past when armed) go to a binary heap
 * ordered by deadline, so a timer never fires early and the heap holds
 * about a tick's worth of timers, not all of them.  A tick much longer
 * would make that heap big; much shorter, the cascades many.
 *
 * An id is (generation << 32) | (handle + 1): never 0, and not reused
 * while the timer lives because a handle's generation changes each time
 * it is freed (odd while in use).
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

/* A tick is 2^WEFT__TIMER_TICK_SHIFT ns. */
#define WEFT__TIMER_TICK_SHIFT 17
#define WEFT__TIMER_LEVELS     6
#define WEFT__TIMER_SLOT_BITS  6
#define WEFT__TIMER_SLOTS      (1u << WEFT__TIMER_SLOT_BITS)

struct weft__timer_handle;
struct weft__timer_node;

/* A heap entry: the deadline is copied so that sifting reads no node. */
struct weft__timer_heap_entry {
	uint64_t deadline;
	uint32_t node;
};

/* 64 bytes of a slot: up to 15 node numbers and the next chunk. */
#define WEFT__TIMER_CHUNK 15
struct weft__timer_chunk {
	uint32_t node[WEFT__TIMER_CHUNK];
	uint32_t next;
};

/*
 * A slot of the wheel: its nodes, in no order, in a list of chunks of
 * which only the first may be partly filled.
 */
struct weft__timer_slot {
	uint32_t head;   /* the first chunk, if len > 0 */
	uint32_t head_n; /* nodes in it */
	uint32_t len;    /* nodes in the slot */
};

struct weft__timers {
	struct weft__timer_handle *handles;  /* by id: live timers */
	struct weft__timer_node *nodes;      /* pending timers */
	struct weft__timer_heap_entry *heap; /* ticks up to `elapsed` */
	struct weft__timer_chunk *chunks;    /* what slots are made of */
	uint32_t handles_len; /* handles ever used: the high-water mark */
	uint32_t handles_cap;
	uint32_t handles_free; /* first free handle, or UINT32_MAX */
	uint32_t nodes_len;
	uint32_t nodes_cap;
	uint32_t nodes_free;
	uint32_t heap_len;
	uint32_t heap_cap;
	uint32_t chunks_len; /* chunks ever used */
	uint32_t chunks_cap;
	uint32_t chunks_free; /* first free chunk, or UINT32_MAX */
	uint32_t gen_seed;    /* first generation of every new handle */
	uint32_t live;        /* timers added and not yet deleted */
	uint32_t pending;     /* ... and not fired either: nodes in use */
	/*
	 * The wheel's time in ticks: every node in a slot or the overflow
	 * is due after it, every node in the heap at or before it.
	 */
	uint64_t elapsed;
	uint64_t occupied[WEFT__TIMER_LEVELS]; /* bit s: slot s not empty */
	struct weft__timer_slot slots[WEFT__TIMER_LEVELS][WEFT__TIMER_SLOTS];
	struct weft__timer_slot overflow; /* beyond level 5 */
	/* The runtime's allocator (NULL: libc); kept across fini. */
	const struct weft_allocator *alloc;
};

/*
 * Prepares an empty set whose clock starts at 0.  gen_seed spreads the ids
 * of different drivers apart, so an id from another driver is unlikely to
 * name a live timer here.  Allocates nothing.
 */
WEFT__HIDDEN void weft__timer_init(struct weft__timers *t, uint32_t gen_seed);

/*
 * Starts the wheel's clock at now, so that the first timers need not
 * cascade down from far away.  Does nothing once a timer is pending.
 */
WEFT__HIDDEN void weft__timer_start(struct weft__timers *t, uint64_t now);

/* Frees everything; stored wakers are dropped unwoken. */
WEFT__HIDDEN void weft__timer_fini(struct weft__timers *t);

/*
 * Arms a timer at an absolute deadline (ns on the driver's clock).  0 with
 * *id set, or -ENOMEM (nothing changed), or -EOVERFLOW past 2^32 - 2
 * timers.
 */
WEFT__HIDDEN int weft__timer_add(struct weft__timers *t, uint64_t deadline,
                                 uint64_t *id);

/* weft__timer_add, storing a clone of *waker in the new timer. */
WEFT__HIDDEN int weft__timer_add_waker(struct weft__timers *t,
                                       uint64_t deadline, uint64_t *id,
                                       const struct weft_waker *waker);

/*
 * Cancels (if pending) and frees the timer.  Its stored waker, if any, is
 * moved to *waker (which must be empty or NULL to discard it — only pass
 * NULL when no waker can be stored).  0 or -ENOENT for an unknown id.
 */
WEFT__HIDDEN int weft__timer_del(struct weft__timers *t, uint64_t id,
                                 struct weft_waker *waker);

/*
 * Moves the timer to a new deadline, earlier or later, keeping its id and
 * its stored waker; a timer that has fired is pending again, with no
 * waker until one is stored.  0, -ENOENT, or (only for a fired timer)
 * -ENOMEM / -EOVERFLOW with nothing changed.
 */
WEFT__HIDDEN int weft__timer_reset(struct weft__timers *t, uint64_t id,
                                   uint64_t deadline);

/*
 * When the next timer may be due: never later than the earliest pending
 * deadline, and equal to it when that timer's tick has begun (it is then
 * in the heap).  Otherwise the start of the wheel slot that holds it, which
 * a park may wait for.  WEFT__TIMER_NONE when no timer is pending.
 */
WEFT__HIDDEN uint64_t weft__timer_next_deadline(const struct weft__timers *t);

/*
 * The earliest pending deadline, exactly (WEFT__TIMER_NONE when none):
 * cascades the wheel's first slots until that timer sits in the heap.
 * Fires nothing.  For a virtual clock, which jumps to the next deadline
 * and must neither land early (nothing would fire, and a park would
 * return with nothing done) nor late.  The wheel's time may pass the
 * clock; that only sorts.
 */
WEFT__HIDDEN uint64_t weft__timer_settle(struct weft__timers *t);

/*
 * Fires one timer whose deadline is <= now, if any: it counts as fired and
 * its stored waker (possibly empty) moves to *waker.  Returns true when a
 * timer fired, false when none is due.  Timers fire in the order of their
 * deadlines, except that those of a slot the clock had wholly passed when
 * the wheel came to it (a tick on level 0, 64^L ticks on level L) fire in
 * any order among themselves.
 */
WEFT__HIDDEN bool weft__timer_pop(struct weft__timers *t, uint64_t now,
                                  struct weft_waker *waker);

/*
 * Fires due timers as weft__timer_pop does, storing their non-empty wakers
 * in out[0..max), until none is due or max wakers are stored.  Returns how
 * many were stored: fewer than max means no due timer is left.
 */
WEFT__HIDDEN uint32_t weft__timer_fire(struct weft__timers *t, uint64_t now,
                                       struct weft_waker *out, uint32_t max);

/*
 * Stores a clone of *waker in the timer, unless the stored one already
 * wakes the same task or the timer has fired.  A waker it replaces moves
 * to *old (empty otherwise), for the caller to drop after unlocking.
 * 0, -ENOENT.
 */
WEFT__HIDDEN int weft__timer_set_waker(struct weft__timers *t, uint64_t id,
                                       const struct weft_waker *waker,
                                       struct weft_waker *old);

/*
 * 1 if the timer has fired, 0 if still pending, -ENOENT.  When deadline
 * is non-NULL it receives the deadline of a pending timer (0 once fired).
 */
WEFT__HIDDEN int weft__timer_state(const struct weft__timers *t, uint64_t id,
                                   uint64_t *deadline);

/*
 * Checks every invariant: the heap's order and back-indices, each slot's
 * chunks, levels and mask bit, the pool of chunks, the counts, and that
 * every live handle names its node.  For tests; O(n).  Returns true when
 * consistent.
 */
WEFT__HIDDEN bool weft__timer_check(const struct weft__timers *t);

/*
 * Shortcuts of driver.c for the host's own sleep future (time.c), which
 * would otherwise lock the driver twice to arm a timer.
 *
 * weft__driver_is_host: d is a driver of this library, not a stranger's.
 * weft__driver_timer_arm: timer_add and timer_poll's "store the waker" in
 * one step, for a deadline the caller has seen is still ahead: 0 with *id
 * set and a clone of *waker stored, or timer_add's error.
 */
WEFT__HIDDEN bool weft__driver_is_host(const struct weft_driver *d);
/*
 * weft__timer_reset under the driver's lock, waking a park that would
 * sleep past the new deadline.
 */
WEFT__HIDDEN int weft__driver_timer_reset(struct weft_driver *d, uint64_t id,
                                          uint64_t deadline);
WEFT__HIDDEN int weft__driver_timer_arm(struct weft_driver *d,
                                        uint64_t deadline, uint64_t *id,
                                        const struct weft_waker *waker);

#endif /* WEFT_TIMER_H */
