/* SPDX-License-Identifier: MIT */
/*
 * The per-worker run queue of the work-stealing executor: a fixed ring of
 * WS_LOCAL_CAP task pointers.  One producer (the owning worker) pushes at
 * the tail; the owner pops and other workers steal at the head.  Lock-free,
 * with C11 atomics.
 *
 * The head word packs two indices: `real`, the next task to hand out, and
 * `steal`, the first task a thief is still copying out.  They are equal
 * when no steal is in progress.  A thief claims a run of tasks by moving
 * `real` alone, copies them, then moves `steal` up to `real`.  The owner
 * keeps popping meanwhile (by moving `real`), and never writes over the
 * slots between `steal` and the tail, which is how a slot being copied
 * stays intact.  At most one thief works on a queue at a time; others see
 * steal != real and look elsewhere.
 *
 * Indices are free-running 32-bit counters; a slot is index % capacity.
 */
#ifndef WEFT_WORKSTEAL_QUEUE_H
#define WEFT_WORKSTEAL_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <weft/abi.h>
#include <weft/assert.h>

#define WS_LOCAL_CAP  256u
#define WS_LOCAL_MASK (WS_LOCAL_CAP - 1)
#define WS_LOCAL_HALF (WS_LOCAL_CAP / 2)

struct weft__ws_local {
	_Atomic uint64_t head; /* steal << 32 | real */
	_Atomic uint32_t tail; /* written by the owner only */
	_Atomic(struct weft_task *) slot[WS_LOCAL_CAP];
};

void weft__ws_local_init(struct weft__ws_local *q);

/* Packed head word: see above. */
static inline uint32_t
weft__ws_real(uint64_t head)
{
	return (uint32_t)head;
}


static inline uint32_t
weft__ws_steal(uint64_t head)
{
	return (uint32_t)(head >> 32);
}


/*
 * Owner only.  Pushes t at the tail if the ring has room; false when it
 * is full (then weft__ws_local_push_full).  Inline, as is pop: a task goes
 * through each once per poll, and the worker's loop keeps the ring's
 * address in a register across both.
 *
 * Orderings (queue.c says them all): the slot is written, then the tail
 * stored with release, so a thief that loads the tail with acquire sees
 * the task; the head is loaded with acquire, so a thief's reads of slots
 * it has released come before our overwrite of them.
 */
static inline bool
weft__ws_local_try_push(struct weft__ws_local *q, struct weft_task *t)
{
	/* Only this thread stores the tail: relaxed reads its own value. */
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	if (__builtin_expect(tail - weft__ws_steal(head) >= WS_LOCAL_CAP, 0))
		return false;
	atomic_store_explicit(&q->slot[tail & WS_LOCAL_MASK], t,
	                      memory_order_relaxed);
	atomic_store_explicit(&q->tail, tail + 1, memory_order_release);
	return true;
}

/*
 * Owner only.  Pushes t at the tail.  Returns 0 when it fit.  When the
 * ring is full it returns n > 0 and fills overflow[0..n) (room for
 * WS_LOCAL_HALF + 1) with tasks that the caller must move to the injection
 * queue, oldest first: the newer half of the ring and t, or t alone while a
 * thief is still copying out.  The older half stays, so that tasks just
 * taken from the injection queue do not go straight back to it.
 */
uint32_t weft__ws_local_push_full(struct weft__ws_local *q, struct weft_task *t,
                                  struct weft_task **overflow);

static inline uint32_t
weft__ws_local_push(struct weft__ws_local *q, struct weft_task *t,
                    struct weft_task **overflow)
{
	if (__builtin_expect(weft__ws_local_try_push(q, t), 1))
		return 0;
	return weft__ws_local_push_full(q, t, overflow);
}


/*
 * Owner only.  The oldest task, or NULL when empty.  A CAS even for the
 * owner: thieves move the head too.
 */
static inline struct weft_task *
weft__ws_local_pop(struct weft__ws_local *q)
{
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	uint32_t real, steal;
	uint64_t next;

	do {
		real = weft__ws_real(head);
		steal = weft__ws_steal(head);
		/* The owner's view: never more queued than the ring holds. */
		WEFT_ASSERT(tail - steal <= WS_LOCAL_CAP);
		if (real == tail)
			return NULL;
		/* During a steal only `real` moves; the thief moves `steal`. */
		next = steal == real ? (uint64_t)(real + 1) << 32 | (real + 1)
		                     : (uint64_t)steal << 32 | (real + 1);
	} while (!atomic_compare_exchange_weak_explicit(
	    &q->head, &head, next, memory_order_acq_rel, memory_order_acquire));
	return atomic_load_explicit(&q->slot[real & WS_LOCAL_MASK],
	                            memory_order_relaxed);
}


/*
 * Called by the owner of dst, whose ring must be empty: moves about half of
 * src's tasks into dst and returns one of them to run now (NULL when there
 * was nothing to take, or another thief was busy on src).  *stolen gets
 * how many tasks changed hands.
 */
struct weft_task *weft__ws_local_steal(struct weft__ws_local *src,
                                       struct weft__ws_local *dst,
                                       uint32_t *stolen);

/* Any thread: a snapshot of how many tasks wait in q. */
uint32_t weft__ws_local_len(struct weft__ws_local *q);

#endif /* WEFT_WORKSTEAL_QUEUE_H */
