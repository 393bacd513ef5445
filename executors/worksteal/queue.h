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

/*
 * Owner only.  Pushes t at the tail.  Returns 0 when it fit.  When the
 * ring is full it returns n > 0 and fills overflow[0..n) (room for
 * WS_LOCAL_HALF + 1) with tasks that the caller must move to the injection
 * queue, oldest first: the newer half of the ring and t, or t alone while a
 * thief is still copying out.  The older half stays, so that tasks just
 * taken from the injection queue do not go straight back to it.
 */
uint32_t weft__ws_local_push(struct weft__ws_local *q, struct weft_task *t,
                             struct weft_task **overflow);

/* Owner only.  The oldest task, or NULL when empty. */
struct weft_task *weft__ws_local_pop(struct weft__ws_local *q);

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
