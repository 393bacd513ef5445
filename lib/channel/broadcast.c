/* SPDX-License-Identifier: MIT */
/*
 * broadcast: a ring of `capacity` slots and a sequence number per message.
 * Message s lives in slot s % capacity until message s + capacity
 * overwrites it; each receiver keeps the sequence number it reads next.
 * A receiver whose next message has been overwritten has lagged: it is
 * told by how much and moved to the oldest message still in the ring.
 * Messages are copied out, so a slot needs no count of who has read it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <weft/channel.h>
#include <weft/coro.h>
#include <weft/weft.h>

#include "../sync/waitq.h"

struct bcast {
	pthread_mutex_t lock;
	size_t refs;
	size_t senders;
	size_t receivers;
	uint64_t tail; /* sequence number of the next message */
	struct weft__waitq q;
	size_t elem_size;
	size_t cap;
	unsigned char ring[];
};

struct weft_broadcast_rx {
	struct bcast *b;
	uint64_t next;
	struct weft__wait wait;
};

#define BCAST(h) ((struct bcast *)(void *)(h))


static void
bcast_unref_unlock(struct bcast *b)
{
	bool last = --b->refs == 0;

	pthread_mutex_unlock(&b->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&b->lock);
	weft_free(b);
}


static struct weft_broadcast_rx *
bcast_rx_new_locked(struct bcast *b)
{
	struct weft_broadcast_rx *rx = weft_calloc(1, sizeof(*rx));

	if (!rx)
		return NULL;
	rx->b = b;
	rx->next = b->tail;
	b->refs++;
	b->receivers++;
	return rx;
}


WEFT_EXPORT int
weft_broadcast_new(size_t elem_size, size_t capacity,
                   struct weft_broadcast_tx **tx, struct weft_broadcast_rx **rx)
{
	struct bcast *b;

	if (!elem_size || !capacity)
		return -EINVAL;
	if (capacity > (SIZE_MAX - sizeof(*b)) / elem_size)
		return -ENOMEM;
	b = weft_calloc(1, sizeof(*b) + capacity * elem_size);
	if (!b)
		return -ENOMEM;
	if (pthread_mutex_init(&b->lock, NULL)) {
		weft_free(b);
		return -ENOMEM;
	}
	b->elem_size = elem_size;
	b->cap = capacity;
	b->refs = 1;
	b->senders = 1;
	*rx = bcast_rx_new_locked(b);
	if (!*rx) {
		pthread_mutex_destroy(&b->lock);
		weft_free(b);
		return -ENOMEM;
	}
	*tx = (struct weft_broadcast_tx *)(void *)b;
	return 0;
}


WEFT_EXPORT struct weft_broadcast_tx *
weft_broadcast_tx_clone(struct weft_broadcast_tx *tx)
{
	struct bcast *b = BCAST(tx);

	pthread_mutex_lock(&b->lock);
	b->senders++;
	b->refs++;
	pthread_mutex_unlock(&b->lock);
	return tx;
}


/* Under the lock: wakes receivers that waited for a message before v. */
static void
bcast_wake_locked(struct bcast *b, uint64_t v, struct weft__wakeups *k)
{
	struct weft__wait *n;

	/* Receivers that queue during a flush wait for a later message. */
	while ((n = b->q.head) && n->tag < v) {
		weft__waitq_remove(&b->q, n);
		n->state = WEFT__WAIT_DONE;
		if (weft__wakeups_add(k, n))
			weft__wakeups_flush(k, &b->lock);
	}
}


WEFT_EXPORT void
weft_broadcast_tx_free(struct weft_broadcast_tx *tx)
{
	struct bcast *b = BCAST(tx);
	struct weft__wakeups k = {0};

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	if (--b->senders == 0)
		bcast_wake_locked(b, UINT64_MAX, &k); /* the end, for all */
	bcast_unref_unlock(b);
	weft__wakeups_run(&k);
}


WEFT_EXPORT int
weft_broadcast_send(struct weft_broadcast_tx *tx, const void *msg)
{
	struct bcast *b = BCAST(tx);
	struct weft__wakeups k = {0};
	int n;

	pthread_mutex_lock(&b->lock);
	n = b->receivers > INT32_MAX ? INT32_MAX : (int)b->receivers;
	if (n == 0) {
		pthread_mutex_unlock(&b->lock);
		return WEFT_ECLOSED;
	}
	memcpy(b->ring + b->tail % b->cap * b->elem_size, msg, b->elem_size);
	b->tail++;
	bcast_wake_locked(b, b->tail, &k);
	pthread_mutex_unlock(&b->lock);
	weft__wakeups_run(&k);
	return n;
}


WEFT_EXPORT int
weft_broadcast_subscribe(struct weft_broadcast_tx *tx,
                         struct weft_broadcast_rx **rx)
{
	struct bcast *b = BCAST(tx);

	pthread_mutex_lock(&b->lock);
	*rx = bcast_rx_new_locked(b);
	pthread_mutex_unlock(&b->lock);
	return *rx ? 0 : -ENOMEM;
}


static struct weft_waker
bcast_unqueue_locked(struct weft_broadcast_rx *rx)
{
	if (rx->wait.state == WEFT__WAIT_QUEUED)
		weft__waitq_remove(&rx->b->q, &rx->wait);
	rx->wait.state = WEFT__WAIT_IDLE;
	return weft__wait_take_waker(&rx->wait);
}


WEFT_EXPORT void
weft_broadcast_rx_free(struct weft_broadcast_rx *rx)
{
	struct weft_waker k;
	struct bcast *b;

	if (!rx)
		return;
	b = rx->b;
	pthread_mutex_lock(&b->lock);
	k = bcast_unqueue_locked(rx);
	b->receivers--;
	bcast_unref_unlock(b);
	weft_waker_drop(&k);
	weft_free(rx);
}


/* 1, 0 (pending; queued when cx is given), WEFT_ELAGGED, WEFT_ECLOSED. */
static int
bcast_take(struct weft_broadcast_rx *rx, struct weft_context *cx, void *out,
           uint64_t *missed)
{
	struct bcast *b = rx->b;
	struct weft_waker old = {0, 0};
	uint64_t oldest;
	int r = 0;

	pthread_mutex_lock(&b->lock);
	oldest = b->tail > b->cap ? b->tail - b->cap : 0;
	if (rx->next < oldest) {
		if (missed)
			*missed = oldest - rx->next;
		rx->next = oldest;
		r = WEFT_ELAGGED;
	} else if (rx->next < b->tail) {
		memcpy(out, b->ring + rx->next % b->cap * b->elem_size,
		       b->elem_size);
		rx->next++;
		r = 1;
	} else if (b->senders == 0) {
		r = WEFT_ECLOSED;
	}
	if (r != 0 || !cx) {
		old = bcast_unqueue_locked(rx);
	} else {
		if (rx->wait.state != WEFT__WAIT_QUEUED) {
			rx->wait.tag = rx->next;
			weft__waitq_push(&b->q, &rx->wait);
		}
		old = weft__wait_set_waker(&rx->wait, cx);
	}
	pthread_mutex_unlock(&b->lock);
	weft_waker_drop(&old);
	return r;
}


WEFT_EXPORT int
weft_broadcast_poll_recv(struct weft_broadcast_rx *rx, struct weft_context *cx,
                         void *out, uint64_t *missed)
{
	if (!weft_budget_spend(cx))
		return 0;
	return bcast_take(rx, cx, out, missed);
}


WEFT_EXPORT int
weft_broadcast_try_recv(struct weft_broadcast_rx *rx, void *out,
                        uint64_t *missed)
{
	int r = bcast_take(rx, NULL, out, missed);

	return r == 1 ? 0 : r == 0 ? -EAGAIN : r;
}


static weft_poll
recv_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_broadcast_recv *r = (struct weft_broadcast_recv *)f;
	int n = weft_broadcast_poll_recv(r->rx, cx, r->out, &r->missed);

	if (n == 0)
		return WEFT_PENDING;
	r->status = n < 0 ? n : 0;
	return WEFT_READY;
}


static void
recv_drop(struct weft_future *f)
{
	struct weft_broadcast_rx *rx = ((struct weft_broadcast_recv *)f)->rx;
	struct weft_waker k;

	pthread_mutex_lock(&rx->b->lock);
	k = bcast_unqueue_locked(rx);
	pthread_mutex_unlock(&rx->b->lock);
	weft_waker_drop(&k);
}

WEFT_FUTURE_VTABLE(recv_vtable, struct weft_broadcast_recv, status, recv_poll,
                   recv_drop);


WEFT_EXPORT void
weft_broadcast_recv_init(struct weft_broadcast_recv *f,
                         struct weft_broadcast_rx *rx, void *out)
{
	*f = (struct weft_broadcast_recv){
	    .base.vtable = &recv_vtable, .rx = rx, .out = out};
}


static int
stream_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	struct weft_broadcast_rx *rx = ((struct weft_broadcast_stream *)s)->rx;
	int r = weft_broadcast_poll_recv(rx, cx, item, NULL);

	if (r == 1)
		return WEFT_STREAM_ITEM;
	return r == WEFT_ECLOSED ? WEFT_STREAM_END : r;
}


static void
stream_drop(struct weft_stream *s)
{
	struct weft_broadcast_stream *bs = (struct weft_broadcast_stream *)s;

	weft_broadcast_rx_free(bs->rx);
	bs->rx = NULL;
}

static const struct weft_stream_vtable stream_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = stream_poll_next,
    .drop = stream_drop,
};


WEFT_EXPORT void
weft_broadcast_stream_init(struct weft_broadcast_stream *s,
                           struct weft_broadcast_rx *rx)
{
	s->base.vtable = &stream_vtable;
	s->base.item_size = rx->b->elem_size;
	s->rx = rx;
}
