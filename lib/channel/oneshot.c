/* SPDX-License-Identifier: MIT */
/*
 * oneshot: one allocation shared by both halves (which are the same
 * pointer, typed differently), a value slot, and the receiver's waker.
 * The last half to go frees it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <weft/channel.h>
#include <weft/coro.h>

#include "../sync/waitq.h"
#include "../../plugins/src/alloc.h"

struct oneshot {
	pthread_mutex_t lock;
	int refs;
	bool sent;     /* a value is in the slot */
	bool received; /* the value was taken */
	bool tx_gone;
	bool rx_gone;
	struct weft_waker rx_waker;
	size_t elem_size;
	unsigned char value[];
};

#define ONESHOT(h) ((struct oneshot *)(void *)(h))


WEFT_EXPORT int
weft_oneshot_new(size_t elem_size, struct weft_oneshot_tx **tx,
                 struct weft_oneshot_rx **rx)
{
	struct oneshot *o;

	if (!elem_size)
		return -EINVAL;
	o = weft__lib_calloc(1, sizeof(*o) + elem_size);
	if (!o)
		return -ENOMEM;
	if (pthread_mutex_init(&o->lock, NULL)) {
		weft__lib_free(o);
		return -ENOMEM;
	}
	o->refs = 2;
	o->elem_size = elem_size;
	*tx = (struct weft_oneshot_tx *)(void *)o;
	*rx = (struct weft_oneshot_rx *)(void *)o;
	return 0;
}


/*
 * Called with the lock held; unlocks, and frees on the last reference.
 * Both callers have taken the receiver's waker out already.
 */
static void
oneshot_unref_unlock(struct oneshot *o)
{
	bool last = --o->refs == 0;

	pthread_mutex_unlock(&o->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&o->lock);
	weft__lib_free(o);
}


/* The sender's end: stores the value (or not) and wakes the receiver. */
static int
oneshot_finish_tx(struct oneshot *o, const void *msg)
{
	struct weft_waker w;
	int r = 0;

	pthread_mutex_lock(&o->lock);
	if (o->rx_gone) {
		r = WEFT_ECLOSED;
	} else if (msg) {
		memcpy(o->value, msg, o->elem_size);
		o->sent = true;
	}
	o->tx_gone = true;
	w = o->rx_waker;
	o->rx_waker = (struct weft_waker){0};
	oneshot_unref_unlock(o);
	weft_waker_wake(&w);
	return r;
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
	struct oneshot *o = ONESHOT(tx);
	bool closed;

	pthread_mutex_lock(&o->lock);
	closed = o->rx_gone;
	pthread_mutex_unlock(&o->lock);
	return closed;
}


/* 1, 0 (pending, waker stored if cx), WEFT_ECLOSED. */
static int
oneshot_take(struct oneshot *o, struct weft_context *cx, void *out)
{
	struct weft_waker old = {0, 0};
	int r = 0;

	pthread_mutex_lock(&o->lock);
	if (o->sent && !o->received) {
		memcpy(out, o->value, o->elem_size);
		o->received = true;
		r = 1;
	} else if (o->tx_gone || o->received) {
		r = WEFT_ECLOSED;
	} else if (cx && !(o->rx_waker.vtable &&
	                   weft_waker_will_wake(&o->rx_waker, &cx->waker))) {
		old = o->rx_waker;
		o->rx_waker = weft_waker_clone(&cx->waker);
	}
	pthread_mutex_unlock(&o->lock);
	weft_waker_drop(&old);
	return r;
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
	struct weft_waker w;

	if (!o)
		return;
	pthread_mutex_lock(&o->lock);
	o->rx_gone = true;
	w = o->rx_waker;
	o->rx_waker = (struct weft_waker){0};
	oneshot_unref_unlock(o);
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

	/* The stored waker would only cause a spurious wake: release it. */
	pthread_mutex_lock(&o->lock);
	w = o->rx_waker;
	o->rx_waker = (struct weft_waker){0};
	pthread_mutex_unlock(&o->lock);
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
