/* SPDX-License-Identifier: MIT */
/*
 * mpsc: a ring of elem_size slots under a lock, and for a bounded channel
 * a semaphore of `capacity` permits, one per free slot (the design tokio
 * uses).  A sender takes a permit before its message goes in and the
 * receiver gives one back after taking a message out, so the ring never
 * holds more than capacity messages and a full channel makes senders wait
 * in FIFO order.  Closing the receiver closes the semaphore, which is what
 * wakes the waiting senders with WEFT_ECLOSED.
 *
 * Both handles point to the one shared struct; it is freed when the last
 * sender and the receiver are gone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <weft/channel.h>
#include <weft/coro.h>
#include <weft/weft.h>

#include "../sync/waitq.h"

struct mpsc {
	pthread_mutex_t lock;
	size_t refs;    /* senders, plus one while the receiver lives */
	size_t senders; /* sender handles */
	bool rx_closed;
	bool bounded;
	struct weft_waker rx_waker;
	size_t elem_size;
	unsigned char *ring;
	size_t cap; /* slots in ring */
	size_t head;
	size_t len;
	struct weft__sem slots; /* bounded only */
};

#define MPSC(h) ((struct mpsc *)(void *)(h))


WEFT_EXPORT int
weft_mpsc_new(size_t elem_size, size_t capacity, struct weft_mpsc_tx **tx,
              struct weft_mpsc_rx **rx)
{
	struct mpsc *c;

	if (!elem_size)
		return -EINVAL;
	c = weft_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->bounded = capacity != WEFT_MPSC_UNBOUNDED;
	c->cap = c->bounded ? capacity : 16;
	c->elem_size = elem_size;
	c->refs = 2;
	c->senders = 1;
	c->ring = weft_calloc(c->cap, elem_size);
	if (!c->ring)
		goto fail_ring;
	if (pthread_mutex_init(&c->lock, NULL))
		goto fail_lock;
	if (weft__sem_init(&c->slots, capacity) < 0)
		goto fail_sem;
	*tx = (struct weft_mpsc_tx *)(void *)c;
	*rx = (struct weft_mpsc_rx *)(void *)c;
	return 0;
fail_sem:
	pthread_mutex_destroy(&c->lock);
fail_lock:
	weft_free(c->ring);
fail_ring:
	weft_free(c);
	return -ENOMEM;
}


/* Called with the lock held: unlocks and frees on the last reference. */
static void
mpsc_unref_unlock(struct mpsc *c)
{
	bool last = --c->refs == 0;

	pthread_mutex_unlock(&c->lock);
	if (!last)
		return;
	weft_waker_drop(&c->rx_waker); /* nobody else can see it now */
	weft__sem_fini(&c->slots);
	pthread_mutex_destroy(&c->lock);
	weft_free(c->ring);
	weft_free(c);
}


WEFT_EXPORT struct weft_mpsc_tx *
weft_mpsc_tx_clone(struct weft_mpsc_tx *tx)
{
	struct mpsc *c = MPSC(tx);

	pthread_mutex_lock(&c->lock);
	c->senders++;
	c->refs++;
	pthread_mutex_unlock(&c->lock);
	return tx;
}


WEFT_EXPORT void
weft_mpsc_tx_free(struct weft_mpsc_tx *tx)
{
	struct mpsc *c = MPSC(tx);
	struct weft_waker w = {0, 0};

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (--c->senders == 0) {
		/* The receiver must learn that the channel has ended. */
		w = c->rx_waker;
		c->rx_waker = (struct weft_waker){0};
	}
	mpsc_unref_unlock(c);
	weft_waker_wake(&w);
}


WEFT_EXPORT bool
weft_mpsc_tx_is_closed(struct weft_mpsc_tx *tx)
{
	struct mpsc *c = MPSC(tx);
	bool closed;

	pthread_mutex_lock(&c->lock);
	closed = c->rx_closed;
	pthread_mutex_unlock(&c->lock);
	return closed;
}


/* Doubles an unbounded ring, keeping the messages in order. */
static int
mpsc_grow(struct mpsc *c)
{
	size_t es = c->elem_size, first;
	unsigned char *ring;

	if (c->cap > SIZE_MAX / 2 / es)
		return -ENOMEM;
	ring = weft_alloc(c->cap * 2 * es);
	if (!ring)
		return -ENOMEM;
	first = c->cap - c->head < c->len ? c->cap - c->head : c->len;
	memcpy(ring, c->ring + c->head * es, first * es);
	memcpy(ring + first * es, c->ring, (c->len - first) * es);
	weft_free(c->ring);
	c->ring = ring;
	c->cap *= 2;
	c->head = 0;
	return 0;
}


/*
 * Puts one message in (for a bounded channel the caller holds a permit
 * for it) and wakes the receiver: 0, WEFT_ECLOSED or -ENOMEM.
 */
static int
mpsc_push(struct mpsc *c, const void *msg)
{
	struct weft_waker w = {0, 0};
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->rx_closed)
		r = WEFT_ECLOSED;
	else if (c->len == c->cap)
		r = mpsc_grow(c); /* never for bounded: the permit saw to it */
	if (r == 0) {
		memcpy(c->ring + (c->head + c->len) % c->cap * c->elem_size,
		       msg, c->elem_size);
		c->len++;
		w = c->rx_waker;
		c->rx_waker = (struct weft_waker){0};
	}
	pthread_mutex_unlock(&c->lock);
	weft_waker_wake(&w);
	return r;
}


/* For a bounded channel: pushes with a permit held, or gives it back. */
static int
mpsc_push_permit(struct mpsc *c, const void *msg)
{
	int r = mpsc_push(c, msg);

	if (r < 0 && c->bounded)
		weft__sem_release(&c->slots, 1);
	return r;
}


WEFT_EXPORT int
weft_mpsc_try_send(struct weft_mpsc_tx *tx, const void *msg)
{
	struct mpsc *c = MPSC(tx);
	int r;

	if (c->bounded) {
		r = weft__sem_try(&c->slots, 1);
		if (r < 0)
			return r;
	}
	return mpsc_push_permit(c, msg);
}


static weft_poll
send_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_mpsc_send *s = (struct weft_mpsc_send *)f;
	struct mpsc *c = MPSC(s->tx);
	int r;

	if (c->bounded) {
		r = weft__sem_poll(&c->slots, &s->wait, 1, cx);
		if (r == 0)
			return WEFT_PENDING;
		s->status = r < 0 ? r : mpsc_push_permit(c, s->msg);
		return WEFT_READY;
	}
	if (!weft_budget_spend(cx))
		return WEFT_PENDING;
	s->status = mpsc_push(c, s->msg);
	return WEFT_READY;
}


static void
send_drop(struct weft_future *f)
{
	struct weft_mpsc_send *s = (struct weft_mpsc_send *)f;
	struct mpsc *c = MPSC(s->tx);

	/* A slot granted but not yet filled goes back to the next sender. */
	if (c->bounded)
		weft__sem_cancel(&c->slots, &s->wait);
}

WEFT_FUTURE_VTABLE(send_vtable, struct weft_mpsc_send, status, send_poll,
                   send_drop);


WEFT_EXPORT void
weft_mpsc_send_init(struct weft_mpsc_send *f, struct weft_mpsc_tx *tx,
                    const void *msg)
{
	*f = (struct weft_mpsc_send){
	    .base.vtable = &send_vtable, .tx = tx, .msg = msg};
}


/* 1, 0 (pending; waker stored when cx is given), WEFT_ECLOSED. */
static int
mpsc_pop(struct mpsc *c, struct weft_context *cx, void *out)
{
	struct weft_waker old = {0, 0};
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->len) {
		memcpy(out, c->ring + c->head * c->elem_size, c->elem_size);
		c->head = (c->head + 1) % c->cap;
		c->len--;
		r = 1;
	} else if (c->senders == 0 || c->rx_closed) {
		r = WEFT_ECLOSED;
	} else if (cx && !(c->rx_waker.vtable &&
	                   weft_waker_will_wake(&c->rx_waker, &cx->waker))) {
		old = c->rx_waker;
		c->rx_waker = weft_waker_clone(&cx->waker);
	}
	pthread_mutex_unlock(&c->lock);
	weft_waker_drop(&old);
	/* The slot is free: hand it to the first waiting sender. */
	if (r == 1 && c->bounded)
		weft__sem_release(&c->slots, 1);
	return r;
}


WEFT_EXPORT int
weft_mpsc_poll_recv(struct weft_mpsc_rx *rx, struct weft_context *cx, void *out)
{
	if (!weft_budget_spend(cx))
		return 0;
	return mpsc_pop(MPSC(rx), cx, out);
}


WEFT_EXPORT int
weft_mpsc_try_recv(struct weft_mpsc_rx *rx, void *out)
{
	int r = mpsc_pop(MPSC(rx), NULL, out);

	return r == 1 ? 0 : r == 0 ? -EAGAIN : r;
}


WEFT_EXPORT size_t
weft_mpsc_len(struct weft_mpsc_rx *rx)
{
	struct mpsc *c = MPSC(rx);
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->len;
	pthread_mutex_unlock(&c->lock);
	return n;
}


WEFT_EXPORT void
weft_mpsc_rx_close(struct weft_mpsc_rx *rx)
{
	struct mpsc *c = MPSC(rx);

	pthread_mutex_lock(&c->lock);
	c->rx_closed = true;
	pthread_mutex_unlock(&c->lock);
	weft__sem_close(&c->slots);
}


WEFT_EXPORT void
weft_mpsc_rx_free(struct weft_mpsc_rx *rx)
{
	struct mpsc *c = MPSC(rx);
	struct weft_waker w;

	if (!c)
		return;
	weft_mpsc_rx_close(rx);
	pthread_mutex_lock(&c->lock);
	c->len = 0; /* undelivered messages are discarded */
	w = c->rx_waker;
	c->rx_waker = (struct weft_waker){0};
	mpsc_unref_unlock(c);
	weft_waker_drop(&w);
}


static weft_poll
recv_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_mpsc_recv *r = (struct weft_mpsc_recv *)f;
	int n = weft_mpsc_poll_recv(r->rx, cx, r->out);

	if (n == 0)
		return WEFT_PENDING;
	r->status = n < 0 ? n : 0;
	return WEFT_READY;
}


static void
recv_drop(struct weft_future *f)
{
	struct mpsc *c = MPSC(((struct weft_mpsc_recv *)f)->rx);
	struct weft_waker w;

	pthread_mutex_lock(&c->lock);
	w = c->rx_waker;
	c->rx_waker = (struct weft_waker){0};
	pthread_mutex_unlock(&c->lock);
	weft_waker_drop(&w);
}

WEFT_FUTURE_VTABLE(recv_vtable, struct weft_mpsc_recv, status, recv_poll,
                   recv_drop);


WEFT_EXPORT void
weft_mpsc_recv_init(struct weft_mpsc_recv *f, struct weft_mpsc_rx *rx,
                    void *out)
{
	*f = (struct weft_mpsc_recv){
	    .base.vtable = &recv_vtable, .rx = rx, .out = out};
}


static int
stream_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	int r =
	    weft_mpsc_poll_recv(((struct weft_mpsc_stream *)s)->rx, cx, item);

	if (r == 1)
		return WEFT_STREAM_ITEM;
	return r == WEFT_ECLOSED ? WEFT_STREAM_END : r;
}


static void
stream_drop(struct weft_stream *s)
{
	struct weft_mpsc_stream *m = (struct weft_mpsc_stream *)s;

	weft_mpsc_rx_free(m->rx);
	m->rx = NULL;
}

static const struct weft_stream_vtable stream_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = stream_poll_next,
    .drop = stream_drop,
};


WEFT_EXPORT void
weft_mpsc_stream_init(struct weft_mpsc_stream *s, struct weft_mpsc_rx *rx)
{
	s->base.vtable = &stream_vtable;
	s->base.item_size = MPSC(rx)->elem_size;
	s->rx = rx;
}
