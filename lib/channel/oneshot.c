/* SPDX-License-Identifier: MIT */
/*
 * oneshot: one allocation shared by both halves (which are the same
 * pointer, typed differently), the value stored inline, the receiver's
 * waker, and one atomic state word — no lock (the design of tokio's
 * oneshot).
 *
 * The state word:
 *
 *   COMPLETE   the sender is finished: it sent, or was freed without
 *              sending.  Set once, by the sender, in one compare-exchange
 *              that is the sender's last touch of the channel.
 *   VALUE      set with COMPLETE when a value is in the slot.
 *   CLOSED     the receiver is freed.  Set once, by the receiver.
 *   RX_WAKER   the waker slot holds the receiver's waker and the channel
 *              owns it.  Only the receiver sets it, and only the receiver
 *              writes the slot, while the bit is clear.
 *   generation (the bits above) counts the receiver's registrations.
 *
 * The sender's last step reads the slot while RX_WAKER is set and, in the
 * same compare-exchange that sets COMPLETE, clears RX_WAKER: from then on
 * the waker it read is its own, and it wakes it after the exchange without
 * touching the channel again.  Its read is a guess that the exchange
 * validates: the receiver rewrites the slot only after clearing RX_WAKER,
 * and sets it again with a new generation, so a slot that changed under
 * the sender makes its exchange fail, and it reads again.
 *
 * Whoever sets the second of COMPLETE and CLOSED frees the allocation; a
 * receiver that has seen COMPLETE knows that the sender is gone for good
 * and frees without another atomic operation.
 *
 * The allocation is a task block (runtime/task_block.h) while the default
 * allocator is libc's: a request-reply exchange makes and frees a channel
 * per message, and a block from the thread's pages costs a fraction of a
 * malloc and free, whichever thread frees it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <weft/channel.h>
#include <weft/coro.h>
#include <weft/weft.h>

#include "../../runtime/alloc.h"
#include "../../runtime/task_block.h"


enum {
	ONESHOT_COMPLETE = 1u << 0,
	ONESHOT_VALUE = 1u << 1,
	ONESHOT_CLOSED = 1u << 2,
	ONESHOT_RX_WAKER = 1u << 3,
	ONESHOT_GEN_ONE = 1u << 4,
};

struct oneshot {
	_Atomic uint32_t state;
	bool received; /* the receiver's own: the value was taken */
	bool block;    /* a task block, not the default allocator's */
	/* The receiver's waker, as two atomics: the sender reads it racily. */
	_Atomic(const struct weft_waker_vtable *) waker_vtable;
	_Atomic(const void *) waker_data;
	size_t elem_size;
	unsigned char value[];
};

#define ONESHOT(h) ((struct oneshot *)(void *)(h))


/*
 * memcpy for the value: the common small sizes (a byte, a status, a
 * pointer or two) as fixed-size moves instead of a call.
 */
static inline void
oneshot_copy(void *dst, const void *src, size_t n)
{
	switch (n) {
	case 1:
		memcpy(dst, src, 1);
		break;
	case 4:
		memcpy(dst, src, 4);
		break;
	case 8:
		memcpy(dst, src, 8);
		break;
	case 16:
		memcpy(dst, src, 16);
		break;
	default:
		memcpy(dst, src, n);
		break;
	}
}


static struct weft_waker
oneshot_slot_read(struct oneshot *o)
{
	struct weft_waker w;

	w.vtable = atomic_load_explicit(&o->waker_vtable, memory_order_relaxed);
	w.data = atomic_load_explicit(&o->waker_data, memory_order_relaxed);
	return w;
}


/*
 * A task block unless the process has a default allocator of its own,
 * which then sees every channel.  The value is only ever copied with
 * memcpy, so 8-byte alignment serves any type.
 */
static struct oneshot *
oneshot_alloc(size_t n)
{
	bool block = weft__mem_default() == NULL;
	struct oneshot *o;

	o = block ? weft__task_block_alloc(n, false) : weft_alloc(n);
	if (o)
		o->block = block;
	return o;
}


static void
oneshot_free(struct oneshot *o)
{
	if (o->block)
		weft__task_block_free(o);
	else
		weft_free(o);
}


/* Receiver only, while RX_WAKER is clear. */
static void
oneshot_slot_write(struct oneshot *o, struct weft_waker w)
{
	atomic_store_explicit(&o->waker_vtable, w.vtable, memory_order_relaxed);
	atomic_store_explicit(&o->waker_data, w.data, memory_order_relaxed);
}


WEFT_EXPORT int
weft_oneshot_new(size_t elem_size, struct weft_oneshot_tx **tx,
                 struct weft_oneshot_rx **rx)
{
	struct oneshot *o;

	if (!elem_size)
		return -EINVAL;
	if (elem_size > SIZE_MAX - sizeof(*o))
		return -ENOMEM;
	o = oneshot_alloc(sizeof(*o) + elem_size);
	if (!o)
		return -ENOMEM;
	atomic_init(&o->state, 0);
	o->received = false;
	atomic_init(&o->waker_vtable, NULL);
	atomic_init(&o->waker_data, NULL);
	o->elem_size = elem_size;
	*tx = (struct weft_oneshot_tx *)(void *)o;
	*rx = (struct weft_oneshot_rx *)(void *)o;
	return 0;
}


/*
 * The sender's end: stores the value (msg, or none), marks the sender
 * finished and wakes the receiver.  One compare-exchange, after which the
 * channel is the receiver's, or freed here if the receiver is gone.
 */
static int
oneshot_finish_tx(struct oneshot *o, const void *msg)
{
	uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
	uint32_t next;
	struct weft_waker w;

	/* The receiver never reads the slot before VALUE is published. */
	if (msg && !(s & ONESHOT_CLOSED))
		oneshot_copy(o->value, msg, o->elem_size);
	for (;;) {
		w = (struct weft_waker){0, 0};
		next = s | ONESHOT_COMPLETE;
		if (!(s & ONESHOT_CLOSED)) {
			if (msg)
				next |= ONESHOT_VALUE;
			if (s & ONESHOT_RX_WAKER) {
				w = oneshot_slot_read(o);
				next &= ~(uint32_t)ONESHOT_RX_WAKER;
			}
		}
		if (atomic_compare_exchange_weak_explicit(&o->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	if (s & ONESHOT_CLOSED) {
		/* The receiver is gone and left the channel to us. */
		oneshot_free(o);
		return WEFT_ECLOSED;
	}
	weft_waker_wake(&w);
	return 0;
}


WEFT_EXPORT int
weft_oneshot_send(struct weft_oneshot_tx *tx, const void *msg)
{
	return oneshot_finish_tx(ONESHOT(tx), msg);
}


WEFT_EXPORT void
weft_oneshot_tx_free(struct weft_oneshot_tx *tx)
{
	if (tx)
		oneshot_finish_tx(ONESHOT(tx), NULL);
}


WEFT_EXPORT bool
weft_oneshot_tx_is_closed(struct weft_oneshot_tx *tx)
{
	return atomic_load_explicit(&ONESHOT(tx)->state, memory_order_acquire) &
	       ONESHOT_CLOSED;
}


/* s has COMPLETE, read with acquire: 1 or WEFT_ECLOSED. */
static int
oneshot_take_value(struct oneshot *o, uint32_t s, void *out)
{
	if (!(s & ONESHOT_VALUE) || o->received)
		return WEFT_ECLOSED;
	oneshot_copy(out, o->value, o->elem_size);
	o->received = true;
	return 1;
}


/* 1, 0 (pending, waker registered if cx), WEFT_ECLOSED.  Receiver only. */
static int
oneshot_take(struct oneshot *o, struct weft_context *cx, void *out)
{
	uint32_t s = atomic_load_explicit(&o->state, memory_order_acquire);
	struct weft_waker cur;

	if (s & ONESHOT_COMPLETE)
		return oneshot_take_value(o, s, out);
	if (!cx)
		return 0;
	if (s & ONESHOT_RX_WAKER) {
		cur = oneshot_slot_read(o);
		if (weft_waker_will_wake(&cur, &cx->waker))
			return 0;
		/* Another task polls now: take the old waker back. */
		s = atomic_fetch_and_explicit(&o->state,
		                              ~(uint32_t)ONESHOT_RX_WAKER,
		                              memory_order_acq_rel);
		if (!(s & ONESHOT_RX_WAKER)) /* the sender took it: complete */
			return oneshot_take_value(o, s, out);
		weft_waker_drop(&cur);
	}
	/*
	 * RX_WAKER is clear: the slot is ours to write.  Setting the bit
	 * bumps the generation, which tells a sender that read the slot
	 * before this registration that its read is stale.
	 */
	cur = weft_waker_clone(&cx->waker);
	oneshot_slot_write(o, cur);
	s = atomic_fetch_add_explicit(&o->state,
	                              ONESHOT_RX_WAKER + ONESHOT_GEN_ONE,
	                              memory_order_acq_rel);
	if (!(s & ONESHOT_COMPLETE))
		return 0;
	/* The sender finished before the waker was in: it never saw it. */
	s = atomic_fetch_and_explicit(&o->state, ~(uint32_t)ONESHOT_RX_WAKER,
	                              memory_order_acquire);
	weft_waker_drop(&cur);
	return oneshot_take_value(o, s, out);
}


WEFT_EXPORT int
weft_oneshot_poll_recv(struct weft_oneshot_rx *rx, struct weft_context *cx,
                       void *out)
{
	return oneshot_take(ONESHOT(rx), cx, out);
}


WEFT_EXPORT int
weft_oneshot_try_recv(struct weft_oneshot_rx *rx, void *out)
{
	int r = oneshot_take(ONESHOT(rx), NULL, out);

	return r == 1 ? 0 : r == 0 ? -EAGAIN : r;
}


WEFT_EXPORT void
weft_oneshot_rx_free(struct weft_oneshot_rx *rx)
{
	struct oneshot *o = ONESHOT(rx);
	struct weft_waker w = {0, 0};
	uint32_t s;

	if (!o)
		return;
	s = atomic_load_explicit(&o->state, memory_order_acquire);
	if (s & ONESHOT_COMPLETE) {
		/* The sender is gone for good: nobody else looks any more. */
		if (s & ONESHOT_RX_WAKER)
			w = oneshot_slot_read(o);
		oneshot_free(o);
		weft_waker_drop(&w);
		return;
	}
	/* Read before CLOSED: once it is set, the sender may free o. */
	w = oneshot_slot_read(o);
	s = atomic_fetch_or_explicit(&o->state, ONESHOT_CLOSED,
	                             memory_order_acq_rel);
	if (!(s & ONESHOT_RX_WAKER))
		w = (struct weft_waker){0, 0}; /* none, or the sender's */
	if (s & ONESHOT_COMPLETE)
		oneshot_free(o);
	weft_waker_drop(&w);
}


static weft_poll
recv_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_oneshot_recv *r = (struct weft_oneshot_recv *)f;
	int n = weft_oneshot_poll_recv(r->rx, cx, r->out);

	if (n == 0)
		return WEFT_PENDING;
	r->status = n < 0 ? n : 0;
	return WEFT_READY;
}


static void
recv_drop(struct weft_future *f)
{
	struct oneshot *o = ONESHOT(((struct weft_oneshot_recv *)f)->rx);
	struct weft_waker w;
	uint32_t s;

	/* The stored waker would only cause a spurious wake: release it. */
	if (!o || !(atomic_load_explicit(&o->state, memory_order_relaxed) &
	            ONESHOT_RX_WAKER))
		return;
	s = atomic_fetch_and_explicit(&o->state, ~(uint32_t)ONESHOT_RX_WAKER,
	                              memory_order_acq_rel);
	if (!(s & ONESHOT_RX_WAKER))
		return; /* the sender took it */
	w = oneshot_slot_read(o);
	weft_waker_drop(&w);
}

WEFT_FUTURE_VTABLE(recv_vtable, struct weft_oneshot_recv, status, recv_poll,
                   recv_drop);


WEFT_EXPORT void
weft_oneshot_recv_init(struct weft_oneshot_recv *f, struct weft_oneshot_rx *rx,
                       void *out)
{
	*f = (struct weft_oneshot_recv){
	    .base.vtable = &recv_vtable, .rx = rx, .out = out};
}
