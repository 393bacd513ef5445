/* SPDX-License-Identifier: MIT */
/*
 * The per-worker ring: see queue.h for the layout and the protocol.
 *
 * Orderings, in one place:
 * - The owner writes a slot, then stores the tail with release; a thief
 *   loads the tail with acquire before it reads slots, so it sees the
 *   task pointer (and everything the scheduling thread wrote before it).
 * - A thief reads the slots it claimed, then publishes `steal = real` with
 *   a release CAS; the owner loads the head with acquire before it reuses
 *   a slot, so the thief's read happens before the owner's overwrite.
 * - Slots are atomics accessed relaxed: the two rules above give the
 *   ordering, the atomic type makes the concurrent accesses well defined.
 */
#include "queue.h"


static uint64_t
ws_pack(uint32_t steal, uint32_t real)
{
	return (uint64_t)steal << 32 | real;
}


void
weft__ws_local_init(struct weft__ws_local *q)
{
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	for (uint32_t i = 0; i < WS_LOCAL_CAP; i++)
		atomic_init(&q->slot[i], NULL);
}


/*
 * The ring was full at the inline push's look (queue.h): a thief may have
 * made room since, or the newer half spills.
 */
uint32_t
weft__ws_local_push_full(struct weft__ws_local *q, struct weft_task *t,
                         struct weft_task **overflow)
{
	/* Only this thread stores the tail: relaxed reads its own value. */
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	uint32_t keep, i;

	for (;;) {
		if (tail - weft__ws_steal(head) < WS_LOCAL_CAP) {
			atomic_store_explicit(&q->slot[tail & WS_LOCAL_MASK], t,
			                      memory_order_relaxed);
			atomic_store_explicit(&q->tail, tail + 1,
			                      memory_order_release);
			return 0;
		}
		if (weft__ws_steal(head) != weft__ws_real(head)) {
			/* A thief will free room soon; do not wait for it. */
			overflow[0] = t;
			return 1;
		}
		/*
		 * Full: the newer half goes, with t, to the injection queue,
		 * and the older half stays.  The older tasks include those
		 * just taken from the injection queue (ws_inject_take): the
		 * newer half are the ones this worker made itself, which are
		 * sent back only once.
		 *
		 * The tail comes down, and only the head says whether a
		 * thief may still claim above it.  A thief reads the head,
		 * then the tail, then moves the head by CAS; with all of
		 * these sequentially consistent, one that read the old tail
		 * either read the head unchanged since our snapshot, so it
		 * claims at most the older half, or read it after another
		 * thief moved it, so our load below sees the move.  Then the
		 * tail goes back up (the slots are intact: nobody writes
		 * them but us) and we look again.
		 */
		keep = tail - WS_LOCAL_HALF;
		atomic_store_explicit(&q->tail, keep, memory_order_seq_cst);
		if (atomic_load_explicit(&q->head, memory_order_seq_cst) ==
		    head)
			break;
		atomic_store_explicit(&q->tail, tail, memory_order_release);
		head = atomic_load_explicit(&q->head, memory_order_acquire);
	}
	/* These slots were written by this thread: no ordering needed. */
	for (i = 0; i < WS_LOCAL_HALF; i++)
		overflow[i] = atomic_load_explicit(
		    &q->slot[(keep + i) & WS_LOCAL_MASK], memory_order_relaxed);
	overflow[i] = t;
	return WS_LOCAL_HALF + 1;
}


/* Claims up to half of src's tasks; returns how many, 0 for none. */
static uint32_t
ws_claim(struct weft__ws_local *src, uint32_t *first)
{
	uint64_t head = atomic_load_explicit(&src->head, memory_order_seq_cst);
	uint32_t real, tail, n;

	/*
	 * Sequentially consistent, with the CAS below: the owner's spill
	 * of its newer half relies on it (weft__ws_local_push).
	 */
	for (;;) {
		real = weft__ws_real(head);
		if (weft__ws_steal(head) != real)
			return 0; /* another thief is copying */
		tail = atomic_load_explicit(&src->tail, memory_order_seq_cst);
		n = tail - real;
		/*
		 * The tail was read after the head, and the tail only grows,
		 * so n cannot go negative; the bound guards a torn snapshot
		 * after the owner lapped us between the two loads.
		 */
		if (n == 0 || n > WS_LOCAL_CAP)
			return 0;
		n -= n / 2;
		if (n > WS_LOCAL_HALF)
			n = WS_LOCAL_HALF;
		if (atomic_compare_exchange_weak_explicit(
		        &src->head, &head, ws_pack(real, real + n),
		        memory_order_seq_cst, memory_order_seq_cst))
			break;
	}
	*first = real;
	return n;
}


struct weft_task *
weft__ws_local_steal(struct weft__ws_local *src, struct weft__ws_local *dst,
                     uint32_t *stolen)
{
	uint32_t dtail = atomic_load_explicit(&dst->tail, memory_order_relaxed);
	uint64_t dhead = atomic_load_explicit(&dst->head, memory_order_acquire);
	uint32_t first, n, i;
	uint64_t head, next;
	struct weft_task *t;

	*stolen = 0;
	/* A thief of our own ring may still hold slots below our tail. */
	if (dtail - weft__ws_steal(dhead) > WS_LOCAL_CAP - WS_LOCAL_HALF)
		return NULL;
	n = ws_claim(src, &first);
	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++) {
		t = atomic_load_explicit(
		    &src->slot[(first + i) & WS_LOCAL_MASK],
		    memory_order_relaxed);
		atomic_store_explicit(&dst->slot[(dtail + i) & WS_LOCAL_MASK],
		                      t, memory_order_relaxed);
	}
	/*
	 * Done copying: let the owner reuse the slots.  The owner may have
	 * popped past our run meanwhile, so `steal` catches up with the
	 * current `real`, whatever it is.  Release orders our reads above
	 * before the owner's next writes to these slots.
	 */
	head = atomic_load_explicit(&src->head, memory_order_acquire);
	do {
		next = ws_pack(weft__ws_real(head), weft__ws_real(head));
	} while (!atomic_compare_exchange_weak_explicit(&src->head, &head, next,
	                                                memory_order_acq_rel,
	                                                memory_order_acquire));

	*stolen = n;
	/* The newest stolen task runs now; the others become visible. */
	n--;
	t = atomic_load_explicit(&dst->slot[(dtail + n) & WS_LOCAL_MASK],
	                         memory_order_relaxed);
	if (n)
		atomic_store_explicit(&dst->tail, dtail + n,
		                      memory_order_release);
	return t;
}


uint32_t
weft__ws_local_len(struct weft__ws_local *q)
{
	uint64_t head = atomic_load_explicit(&q->head, memory_order_acquire);
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	uint32_t n = tail - weft__ws_real(head);

	return n > WS_LOCAL_CAP ? 0 : n;
}
