/* SPDX-License-Identifier: MIT */
/*
 * The task tracker: a count of live tracked tasks, a closed flag, the
 * futures waiting for "closed and empty", and a cancellation token.
 *
 * Each tracked task runs a wrapper future that owns the task's future (on
 * the heap: the wrapper has one size whatever it wraps, which spawn needs)
 * and a weft_cancelled on the tracker's token.  The count goes down in the
 * wrapper's drop, after the wrapped future's drop, so a completed wait
 * means every tracked future has released what it held.  The tracker is
 * reference-counted by its handle and by every wrapper, so a task that
 * ends after the handle was freed still finds it.
 *
 * As everywhere in the library, wakers are woken and dropped only with
 * the lock released.
 */
/* Defines a spawn call that weft.h wraps in a macro. */
#define WEFT_NO_SPAWN_LABELS 1
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <weft/coro.h>
#include <weft/task.h>
#include <weft/weft.h>

#include "../sync/waitq.h"

struct weft_tracker {
	atomic_uint refs; /* the handle, plus one per tracked task */
	pthread_mutex_t lock;
	size_t len;  /* tracked futures not yet dropped; under lock */
	bool closed; /* under lock */
	struct weft__waitq waiters;
	struct weft_cancel_token *token;
};


static void
tracker_unref(struct weft_tracker *t)
{
	if (atomic_fetch_sub(&t->refs, 1) == 1) {
		weft_cancel_token_free(t->token);
		pthread_mutex_destroy(&t->lock);
		weft_free(t);
	}
}


/*
 * Under the lock: if the tracker is closed and empty, wakes every waiter
 * (each is marked done and leaves the queue), unlocking to wake batches.
 * Returns with the lock released.
 */
static void
tracker_settle_unlock(struct weft_tracker *t)
{
	struct weft__wakeups batch = {0};
	struct weft__wait *w;

	while (t->closed && t->len == 0 && (w = t->waiters.head)) {
		weft__waitq_remove(&t->waiters, w);
		w->state = WEFT__WAIT_DONE;
		if (weft__wakeups_add(&batch, w))
			weft__wakeups_flush(&batch, &t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	weft__wakeups_run(&batch);
}


WEFT_EXPORT int
weft_tracker_new(struct weft_tracker **out, struct weft_cancel_token *parent)
{
	struct weft_tracker *t = weft_calloc(1, sizeof(*t));
	int r;

	if (!t)
		return -ENOMEM;
	r = parent ? weft_cancel_token_child(parent, &t->token)
	           : weft_cancel_token_new(&t->token);
	if (r < 0) {
		weft_free(t);
		return r;
	}
	atomic_init(&t->refs, 1);
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}


WEFT_EXPORT void
weft_tracker_free(struct weft_tracker *t)
{
	if (t)
		tracker_unref(t);
}


WEFT_EXPORT void
weft_tracker_close(struct weft_tracker *t)
{
	pthread_mutex_lock(&t->lock);
	t->closed = true;
	tracker_settle_unlock(t);
}


WEFT_EXPORT void
weft_tracker_reopen(struct weft_tracker *t)
{
	pthread_mutex_lock(&t->lock);
	t->closed = false;
	pthread_mutex_unlock(&t->lock);
}


WEFT_EXPORT bool
weft_tracker_is_closed(struct weft_tracker *t)
{
	bool closed;

	pthread_mutex_lock(&t->lock);
	closed = t->closed;
	pthread_mutex_unlock(&t->lock);
	return closed;
}


WEFT_EXPORT size_t
weft_tracker_len(struct weft_tracker *t)
{
	size_t len;

	pthread_mutex_lock(&t->lock);
	len = t->len;
	pthread_mutex_unlock(&t->lock);
	return len;
}


WEFT_EXPORT void
weft_tracker_cancel(struct weft_tracker *t)
{
	weft_cancel_token_cancel(t->token);
}


WEFT_EXPORT struct weft_cancel_token *
weft_tracker_token(struct weft_tracker *t)
{
	return t->token;
}


/* ---- the tracked task ----------------------------------------------- */

struct tracked {
	struct weft_future base;
	struct weft_tracker *tracker; /* a reference */
	struct weft_future *inner;    /* on the heap, owned */
	struct weft_cancelled cancelled;
	int status; /* 0 ran to the end, WEFT_ECANCELED stopped */
};


static weft_poll
tracked_poll(struct weft_future *f, struct weft_context *cx)
{
	struct tracked *k = (struct tracked *)f;

	/* Cancelled first: a cancelled task is not polled again. */
	if (weft_future_poll(&k->cancelled.base, cx) == WEFT_READY) {
		weft_future_drop(k->inner);
		k->status = WEFT_ECANCELED;
		return WEFT_READY;
	}
	if (weft_future_poll(k->inner, cx) == WEFT_PENDING)
		return WEFT_PENDING;
	weft_future_drop(k->inner);
	k->status = 0;
	return WEFT_READY;
}


static void
tracked_drop(struct weft_future *f)
{
	struct tracked *k = (struct tracked *)f;
	struct weft_tracker *t = k->tracker;

	weft_future_drop(k->inner);
	weft_free(k->inner);
	k->inner = NULL;
	weft_future_drop(&k->cancelled.base);
	pthread_mutex_lock(&t->lock);
	t->len--;
	tracker_settle_unlock(t);
	tracker_unref(t);
}

WEFT_FUTURE_VTABLE(tracked_vtable, struct tracked, status, tracked_poll,
                   tracked_drop);


WEFT_EXPORT int
weft_tracker_spawn(struct weft_tracker *t, struct weft_executor *ex,
                   struct weft_future *fut, struct weft_join **join)
{
	struct tracked k = {.base.vtable = &tracked_vtable, .tracker = t};
	size_t size = fut->vtable->size;

	/* Not yet polled, so it may move (F7). */
	k.inner = weft_alloc(size ? size : sizeof(*fut));
	if (!k.inner) {
		weft_future_drop(fut);
		return -ENOMEM;
	}
	memcpy(k.inner, fut, size ? size : sizeof(*fut));
	weft_cancelled_init(&k.cancelled, t->token);
	atomic_fetch_add(&t->refs, 1);
	pthread_mutex_lock(&t->lock);
	t->len++;
	pthread_mutex_unlock(&t->lock);
	/* On failure spawn drops k, whose drop undoes the count. */
	return weft_executor_spawn(ex, &k.base, join);
}


/* ---- wait ----------------------------------------------------------- */

static weft_poll
wait_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_tracker_wait *w = (struct weft_tracker_wait *)f;
	struct weft_tracker *t = w->tracker;
	struct weft_waker old = {0, 0};
	bool ready;

	pthread_mutex_lock(&t->lock);
	ready = t->closed && t->len == 0;
	if (ready) {
		if (w->wait.state == WEFT__WAIT_QUEUED)
			weft__waitq_remove(&t->waiters, &w->wait);
		old = weft__wait_take_waker(&w->wait);
		w->wait.state = WEFT__WAIT_FINISHED;
	} else {
		old = weft__wait_set_waker(&w->wait, cx);
		/* Woken by a settle that a reopen then undid: queue again. */
		if (w->wait.state != WEFT__WAIT_QUEUED)
			weft__waitq_push(&t->waiters, &w->wait);
	}
	pthread_mutex_unlock(&t->lock);
	weft_waker_drop(&old);
	if (!ready)
		return WEFT_PENDING;
	w->status = 0;
	return WEFT_READY;
}


static void
wait_drop(struct weft_future *f)
{
	struct weft_tracker_wait *w = (struct weft_tracker_wait *)f;
	struct weft_tracker *t = w->tracker;
	struct weft_waker old;

	pthread_mutex_lock(&t->lock);
	if (w->wait.state == WEFT__WAIT_QUEUED)
		weft__waitq_remove(&t->waiters, &w->wait);
	w->wait.state = WEFT__WAIT_FINISHED;
	old = weft__wait_take_waker(&w->wait);
	pthread_mutex_unlock(&t->lock);
	weft_waker_drop(&old);
}

WEFT_FUTURE_VTABLE(wait_vtable, struct weft_tracker_wait, status, wait_poll,
                   wait_drop);


WEFT_EXPORT void
weft_tracker_wait_init(struct weft_tracker_wait *f, struct weft_tracker *t)
{
	*f = (struct weft_tracker_wait){.base.vtable = &wait_vtable,
	                                .tracker = t};
}
