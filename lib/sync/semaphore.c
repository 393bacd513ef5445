/* SPDX-License-Identifier: MIT */
/*
 * The semaphore core (shared with the mutex, the rwlock and bounded
 * channels) and the public Semaphore built on it.
 */
#include <errno.h>
#include <stdlib.h>

#include <weft/coro.h>
#include <weft/weft.h>

#include "waitq.h"

int
weft__sem_init(struct weft__sem *s, size_t permits)
{
	*s = (struct weft__sem){.permits = permits};
	return -pthread_mutex_init(&s->lock, NULL);
}


void
weft__sem_fini(struct weft__sem *s)
{
	pthread_mutex_destroy(&s->lock);
}


/*
 * Under the lock: serves the queue in order while the head's request fits.
 * May drop and retake the lock to wake a full batch; the queue is
 * consistent at every such point.
 */
static void
sem_serve(struct weft__sem *s, struct weft__wakeups *b)
{
	struct weft__wait *w;

	while ((w = s->q.head) && w->tag <= s->permits) {
		s->permits -= w->tag;
		weft__waitq_remove(&s->q, w);
		w->state = WEFT__WAIT_DONE;
		w->status = 1;
		if (weft__wakeups_add(b, w))
			weft__wakeups_flush(b, &s->lock);
	}
}


int
weft__sem_poll(struct weft__sem *s, struct weft__wait *w, size_t n,
               struct weft_context *cx)
{
	struct weft_waker old = {0, 0};
	int r = 0;

	/*
	 * A lock taken in a tight loop must still let other tasks run.  The
	 * budget is spent before locking: an exhausted budget wakes cx's
	 * waker, which must not happen under the lock.
	 */
	if (!weft_budget_spend(cx))
		return 0;
	pthread_mutex_lock(&s->lock);
	switch (w->state) {
	case WEFT__WAIT_IDLE:
		if (s->closed) {
			r = WEFT_ECLOSED;
		} else if (!s->q.head && s->permits >= n) {
			s->permits -= n;
			r = 1;
		} else {
			w->tag = n;
			weft__waitq_push(&s->q, w);
			old = weft__wait_set_waker(w, cx);
		}
		break;
	case WEFT__WAIT_QUEUED:
		old = weft__wait_set_waker(w, cx);
		break;
	case WEFT__WAIT_DONE:
		r = w->status;
		break;
	default:
		r = w->status ? w->status : 1;
		break;
	}
	if (r != 0) {
		w->state = WEFT__WAIT_FINISHED;
		w->status = r;
	}
	pthread_mutex_unlock(&s->lock);
	weft_waker_drop(&old);
	return r;
}


void
weft__sem_cancel(struct weft__sem *s, struct weft__wait *w)
{
	struct weft__wakeups b = {0};
	struct weft_waker mine;

	/*
	 * The state is read under the lock even to find out that there is
	 * nothing to do: a releasing thread may be writing it right now.
	 */
	pthread_mutex_lock(&s->lock);
	if (w->state == WEFT__WAIT_QUEUED) {
		/* Leaving may let a smaller request behind us through. */
		weft__waitq_remove(&s->q, w);
		sem_serve(s, &b);
	} else if (w->state == WEFT__WAIT_DONE && w->status == 1) {
		/* Granted but never reported: the permits go back. */
		s->permits += w->tag;
		sem_serve(s, &b);
	}
	w->state = WEFT__WAIT_FINISHED;
	mine = weft__wait_take_waker(w);
	pthread_mutex_unlock(&s->lock);
	weft_waker_drop(&mine);
	weft__wakeups_run(&b);
}


int
weft__sem_try(struct weft__sem *s, size_t n)
{
	int r = -EAGAIN;

	pthread_mutex_lock(&s->lock);
	if (s->closed) {
		r = WEFT_ECLOSED;
	} else if (!s->q.head && s->permits >= n) {
		s->permits -= n;
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}


void
weft__sem_release(struct weft__sem *s, size_t n)
{
	struct weft__wakeups b = {0};

	pthread_mutex_lock(&s->lock);
	s->permits += n;
	sem_serve(s, &b);
	pthread_mutex_unlock(&s->lock);
	weft__wakeups_run(&b);
}


void
weft__sem_close(struct weft__sem *s)
{
	struct weft__wakeups b = {0};
	struct weft__wait *w;

	pthread_mutex_lock(&s->lock);
	s->closed = true;
	while ((w = s->q.head)) {
		weft__waitq_remove(&s->q, w);
		w->state = WEFT__WAIT_DONE;
		w->status = WEFT_ECLOSED;
		if (weft__wakeups_add(&b, w))
			weft__wakeups_flush(&b, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	weft__wakeups_run(&b);
}


size_t
weft__sem_available(struct weft__sem *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->permits;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- the public semaphore ------------------------------------------- */

struct weft_semaphore {
	struct weft__sem core;
};


WEFT_EXPORT int
weft_semaphore_new(size_t permits, struct weft_semaphore **out)
{
	struct weft_semaphore *s = weft_alloc(sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	r = weft__sem_init(&s->core, permits);
	if (r < 0) {
		weft_free(s);
		return r;
	}
	*out = s;
	return 0;
}


WEFT_EXPORT void
weft_semaphore_free(struct weft_semaphore *s)
{
	if (!s)
		return;
	weft__sem_fini(&s->core);
	weft_free(s);
}


static weft_poll
acquire_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_semaphore_acquire *a = (struct weft_semaphore_acquire *)f;
	int r = weft__sem_poll(&a->sem->core, &a->wait, a->n, cx);

	if (r == 0)
		return WEFT_PENDING;
	a->status = r < 0 ? r : 0;
	return WEFT_READY;
}


static void
acquire_drop(struct weft_future *f)
{
	struct weft_semaphore_acquire *a = (struct weft_semaphore_acquire *)f;

	weft__sem_cancel(&a->sem->core, &a->wait);
}

WEFT_FUTURE_VTABLE(acquire_vtable, struct weft_semaphore_acquire, status,
                   acquire_poll, acquire_drop);


WEFT_EXPORT void
weft_semaphore_acquire_init(struct weft_semaphore_acquire *f,
                            struct weft_semaphore *s, size_t n)
{
	*f = (struct weft_semaphore_acquire){
	    .base.vtable = &acquire_vtable, .sem = s, .n = n};
}


WEFT_EXPORT int
weft_semaphore_try_acquire(struct weft_semaphore *s, size_t n)
{
	return weft__sem_try(&s->core, n);
}


WEFT_EXPORT void
weft_semaphore_release(struct weft_semaphore *s, size_t n)
{
	weft__sem_release(&s->core, n);
}


WEFT_EXPORT void
weft_semaphore_close(struct weft_semaphore *s)
{
	weft__sem_close(&s->core);
}


WEFT_EXPORT size_t
weft_semaphore_available(struct weft_semaphore *s)
{
	return weft__sem_available(&s->core);
}
