/* SPDX-License-Identifier: MIT */
/*
 * Notify: a queue of waiters, one stored permit, and an epoch counter that
 * notify_waiters advances.  A waiter remembers the epoch it was created
 * in; it is done as soon as the epoch has moved on, so notify_waiters
 * reaches waiters that were created but not yet polled, as tokio's does.
 */
#include <errno.h>
#include <stdlib.h>

#include <weft/coro.h>
#include <weft/weft.h>

#include "waitq.h"

/* How a waiter was served, in its status field. */
#define BY_ONE 1
#define BY_ALL 2

struct weft_notify {
	pthread_mutex_t lock;
	bool permit;
	uint64_t epoch;
	struct weft__waitq q;
};


WEFT_EXPORT int
weft_notify_new(struct weft_notify **out)
{
	struct weft_notify *n = weft_calloc(1, sizeof(*n));
	int r;

	if (!n)
		return -ENOMEM;
	r = pthread_mutex_init(&n->lock, NULL);
	if (r) {
		weft_free(n);
		return -r;
	}
	*out = n;
	return 0;
}


WEFT_EXPORT void
weft_notify_free(struct weft_notify *n)
{
	if (!n)
		return;
	pthread_mutex_destroy(&n->lock);
	weft_free(n);
}


/* Under the lock: gives one notification to the head, or stores it. */
static struct weft_waker
notify_one_locked(struct weft_notify *n)
{
	struct weft__wait *w = n->q.head;
	struct weft_waker none = {0, 0};

	if (!w) {
		n->permit = true;
		return none;
	}
	weft__waitq_remove(&n->q, w);
	w->state = WEFT__WAIT_DONE;
	w->status = BY_ONE;
	return weft__wait_take_waker(w);
}


WEFT_EXPORT void
weft_notify_one(struct weft_notify *n)
{
	struct weft_waker k;

	pthread_mutex_lock(&n->lock);
	k = notify_one_locked(n);
	pthread_mutex_unlock(&n->lock);
	weft_waker_wake(&k);
}


WEFT_EXPORT void
weft_notify_waiters(struct weft_notify *n)
{
	struct weft__wakeups b = {0};
	struct weft__wait *w;
	uint64_t epoch;

	pthread_mutex_lock(&n->lock);
	epoch = ++n->epoch;
	/*
	 * Waiters queued while the lock is dropped to wake a batch belong to
	 * the new epoch (they sit at the tail): they are left waiting.
	 */
	while ((w = n->q.head) && w->tag < epoch) {
		weft__waitq_remove(&n->q, w);
		w->state = WEFT__WAIT_DONE;
		w->status = BY_ALL;
		if (weft__wakeups_add(&b, w))
			weft__wakeups_flush(&b, &n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	weft__wakeups_run(&b);
}


static weft_poll
notified_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_notified *d = (struct weft_notified *)f;
	struct weft_notify *n = d->notify;
	struct weft__wait *w = &d->wait;
	struct weft_waker old = {0, 0};
	bool ready = false;

	pthread_mutex_lock(&n->lock);
	switch (w->state) {
	case WEFT__WAIT_IDLE:
		if (n->epoch != d->epoch) {
			ready = true;
		} else if (n->permit) {
			n->permit = false;
			ready = true;
		} else {
			w->tag = d->epoch;
			weft__waitq_push(&n->q, w);
			old = weft__wait_set_waker(w, cx);
		}
		break;
	case WEFT__WAIT_QUEUED:
		old = weft__wait_set_waker(w, cx);
		break;
	default:
		ready = true;
		break;
	}
	if (ready)
		w->state = WEFT__WAIT_FINISHED;
	pthread_mutex_unlock(&n->lock);
	weft_waker_drop(&old);
	if (!ready)
		return WEFT_PENDING;
	d->status = 0;
	return WEFT_READY;
}


static void
notified_drop(struct weft_future *f)
{
	struct weft_notified *d = (struct weft_notified *)f;
	struct weft_notify *n = d->notify;
	struct weft__wait *w = &d->wait;
	struct weft_waker mine, next = {0, 0};

	pthread_mutex_lock(&n->lock);
	if (w->state == WEFT__WAIT_QUEUED)
		weft__waitq_remove(&n->q, w);
	else if (w->state == WEFT__WAIT_DONE && w->status == BY_ONE)
		next = notify_one_locked(n); /* not ours to swallow */
	w->state = WEFT__WAIT_FINISHED;
	mine = weft__wait_take_waker(w);
	pthread_mutex_unlock(&n->lock);
	weft_waker_drop(&mine);
	weft_waker_wake(&next);
}

WEFT_FUTURE_VTABLE(notified_vtable, struct weft_notified, status, notified_poll,
                   notified_drop);


WEFT_EXPORT void
weft_notified_init(struct weft_notified *f, struct weft_notify *n)
{
	*f = (struct weft_notified){.base.vtable = &notified_vtable,
	                            .notify = n};
	pthread_mutex_lock(&n->lock);
	f->epoch = n->epoch;
	pthread_mutex_unlock(&n->lock);
}
