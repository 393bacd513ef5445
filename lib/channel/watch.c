/* SPDX-License-Identifier: MIT */
/*
 * watch: one value slot with a version number, and a queue of receivers
 * waiting for the version to move past the one they have seen.  Each
 * receiver is its own small allocation (it carries what it has seen and
 * the wait node its changed future uses); the shared state is reference
 * counted by the sender and every receiver.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <weft/channel.h>
#include <weft/coro.h>
#include <weft/weft.h>

#include "../sync/waitq.h"

struct watch {
	pthread_mutex_t lock;
	size_t refs;
	size_t receivers;
	bool tx_gone;
	uint64_t version;
	struct weft__waitq q;
	size_t elem_size;
	unsigned char value[];
};

struct weft_watch_rx {
	struct watch *w;
	uint64_t seen;
	struct weft__wait wait;
};

#define WATCH(h) ((struct watch *)(void *)(h))


/* Called with the lock held: unlocks, and frees on the last reference. */
static void
watch_unref_unlock(struct watch *w)
{
	bool last = --w->refs == 0;

	pthread_mutex_unlock(&w->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&w->lock);
	weft_free(w);
}


/* A receiver that has seen `seen`.  The caller holds the lock. */
static struct weft_watch_rx *
watch_rx_new_locked(struct watch *w, uint64_t seen)
{
	struct weft_watch_rx *rx = weft_calloc(1, sizeof(*rx));

	if (!rx)
		return NULL;
	rx->w = w;
	rx->seen = seen;
	w->refs++;
	w->receivers++;
	return rx;
}


WEFT_EXPORT int
weft_watch_new(size_t elem_size, const void *initial, struct weft_watch_tx **tx,
               struct weft_watch_rx **rx)
{
	struct watch *w;

	if (!elem_size)
		return -EINVAL;
	w = weft_calloc(1, sizeof(*w) + elem_size);
	if (!w)
		return -ENOMEM;
	if (pthread_mutex_init(&w->lock, NULL)) {
		weft_free(w);
		return -ENOMEM;
	}
	w->elem_size = elem_size;
	w->refs = 1; /* the sender */
	memcpy(w->value, initial, elem_size);
	*rx = watch_rx_new_locked(w, 0);
	if (!*rx) {
		pthread_mutex_destroy(&w->lock);
		weft_free(w);
		return -ENOMEM;
	}
	*tx = (struct weft_watch_tx *)(void *)w;
	return 0;
}


/* Under the lock: wakes the receivers waiting for a version below v. */
static void
watch_wake_locked(struct watch *w, struct weft__wakeups *b)
{
	struct weft__wait *n;

	/*
	 * Receivers that queue while a full batch is being woken have seen
	 * the current version already (tag == version): they keep waiting.
	 */
	while ((n = w->q.head) && n->tag < w->version) {
		weft__waitq_remove(&w->q, n);
		n->state = WEFT__WAIT_DONE;
		if (weft__wakeups_add(b, n))
			weft__wakeups_flush(b, &w->lock);
	}
}


WEFT_EXPORT int
weft_watch_send(struct weft_watch_tx *tx, const void *value)
{
	struct watch *w = WATCH(tx);
	struct weft__wakeups b = {0};

	pthread_mutex_lock(&w->lock);
	if (w->receivers == 0) {
		pthread_mutex_unlock(&w->lock);
		return WEFT_ECLOSED;
	}
	memcpy(w->value, value, w->elem_size);
	w->version++;
	watch_wake_locked(w, &b);
	pthread_mutex_unlock(&w->lock);
	weft__wakeups_run(&b);
	return 0;
}


WEFT_EXPORT int
weft_watch_subscribe(struct weft_watch_tx *tx, struct weft_watch_rx **rx)
{
	struct watch *w = WATCH(tx);

	pthread_mutex_lock(&w->lock);
	*rx = watch_rx_new_locked(w, w->version);
	pthread_mutex_unlock(&w->lock);
	return *rx ? 0 : -ENOMEM;
}


WEFT_EXPORT void
weft_watch_tx_free(struct weft_watch_tx *tx)
{
	struct watch *w = WATCH(tx);
	struct weft__wakeups b = {0};
	struct weft__wait *n;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->tx_gone = true;
	/* Every waiter must now learn that no change will ever come. */
	while ((n = w->q.head)) {
		weft__waitq_remove(&w->q, n);
		n->state = WEFT__WAIT_DONE;
		if (weft__wakeups_add(&b, n))
			weft__wakeups_flush(&b, &w->lock);
	}
	watch_unref_unlock(w);
	weft__wakeups_run(&b);
}


WEFT_EXPORT int
weft_watch_rx_clone(struct weft_watch_rx *rx, struct weft_watch_rx **out)
{
	struct watch *w = rx->w;

	pthread_mutex_lock(&w->lock);
	*out = watch_rx_new_locked(w, rx->seen);
	pthread_mutex_unlock(&w->lock);
	return *out ? 0 : -ENOMEM;
}


/* Under the lock: takes rx's node out of the queue, returns its waker. */
static struct weft_waker
watch_unqueue_locked(struct weft_watch_rx *rx)
{
	if (rx->wait.state == WEFT__WAIT_QUEUED)
		weft__waitq_remove(&rx->w->q, &rx->wait);
	rx->wait.state = WEFT__WAIT_IDLE;
	return weft__wait_take_waker(&rx->wait);
}


WEFT_EXPORT void
weft_watch_rx_free(struct weft_watch_rx *rx)
{
	struct weft_waker k;
	struct watch *w;

	if (!rx)
		return;
	w = rx->w;
	pthread_mutex_lock(&w->lock);
	k = watch_unqueue_locked(rx);
	w->receivers--;
	watch_unref_unlock(w);
	weft_waker_drop(&k);
	weft_free(rx);
}


static void
watch_copy(struct weft_watch_rx *rx, void *out, bool update)
{
	struct watch *w = rx->w;

	pthread_mutex_lock(&w->lock);
	memcpy(out, w->value, w->elem_size);
	if (update)
		rx->seen = w->version;
	pthread_mutex_unlock(&w->lock);
}


WEFT_EXPORT void
weft_watch_borrow(struct weft_watch_rx *rx, void *out)
{
	watch_copy(rx, out, false);
}


WEFT_EXPORT void
weft_watch_borrow_and_update(struct weft_watch_rx *rx, void *out)
{
	watch_copy(rx, out, true);
}


/* 1 (changed; marked seen if mark), 0, WEFT_ECLOSED.  Lock held. */
static int
watch_check_locked(struct weft_watch_rx *rx, bool mark)
{
	struct watch *w = rx->w;

	if (w->version != rx->seen) {
		if (mark)
			rx->seen = w->version;
		return 1;
	}
	return w->tx_gone ? WEFT_ECLOSED : 0;
}


WEFT_EXPORT int
weft_watch_has_changed(struct weft_watch_rx *rx)
{
	int r;

	pthread_mutex_lock(&rx->w->lock);
	r = watch_check_locked(rx, false);
	pthread_mutex_unlock(&rx->w->lock);
	return r;
}


WEFT_EXPORT int
weft_watch_poll_changed(struct weft_watch_rx *rx, struct weft_context *cx)
{
	struct watch *w = rx->w;
	struct weft_waker old = {0, 0};
	int r;

	if (!weft_budget_spend(cx))
		return 0;
	pthread_mutex_lock(&w->lock);
	r = watch_check_locked(rx, true);
	if (r != 0) {
		old = watch_unqueue_locked(rx);
	} else {
		if (rx->wait.state != WEFT__WAIT_QUEUED) {
			rx->wait.tag = rx->seen;
			weft__waitq_push(&w->q, &rx->wait);
		}
		old = weft__wait_set_waker(&rx->wait, cx);
	}
	pthread_mutex_unlock(&w->lock);
	weft_waker_drop(&old);
	return r;
}


static weft_poll
changed_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_watch_changed *c = (struct weft_watch_changed *)f;
	int r = weft_watch_poll_changed(c->rx, cx);

	if (r == 0)
		return WEFT_PENDING;
	c->status = r < 0 ? r : 0;
	return WEFT_READY;
}


static void
changed_drop(struct weft_future *f)
{
	struct weft_watch_rx *rx = ((struct weft_watch_changed *)f)->rx;
	struct weft_waker k;

	pthread_mutex_lock(&rx->w->lock);
	k = watch_unqueue_locked(rx);
	pthread_mutex_unlock(&rx->w->lock);
	weft_waker_drop(&k);
}

WEFT_FUTURE_VTABLE(changed_vtable, struct weft_watch_changed, status,
                   changed_poll, changed_drop);


WEFT_EXPORT void
weft_watch_changed_init(struct weft_watch_changed *f, struct weft_watch_rx *rx)
{
	*f = (struct weft_watch_changed){.base.vtable = &changed_vtable,
	                                 .rx = rx};
}


static int
stream_poll_next(struct weft_stream *s, struct weft_context *cx, void *item)
{
	struct weft_watch_rx *rx = ((struct weft_watch_stream *)s)->rx;
	int r = weft_watch_poll_changed(rx, cx);

	if (r == 1) {
		weft_watch_borrow(rx, item);
		return WEFT_STREAM_ITEM;
	}
	return r == WEFT_ECLOSED ? WEFT_STREAM_END : r;
}


static void
stream_drop(struct weft_stream *s)
{
	struct weft_watch_stream *ws = (struct weft_watch_stream *)s;

	weft_watch_rx_free(ws->rx);
	ws->rx = NULL;
}

static const struct weft_stream_vtable stream_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
    .poll_next = stream_poll_next,
    .drop = stream_drop,
};


WEFT_EXPORT void
weft_watch_stream_init(struct weft_watch_stream *s, struct weft_watch_rx *rx)
{
	s->base.vtable = &stream_vtable;
	s->base.item_size = rx->w->elem_size;
	s->rx = rx;
}
