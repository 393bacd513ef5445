/* SPDX-License-Identifier: MIT */
/*
 * Barrier: parties arrive one by one; the one that completes the count
 * releases everyone queued, becomes the leader and resets the count for
 * the next round, all under one lock so that rounds never mix.
 */
#include <errno.h>
#include <stdlib.h>

#include <weft/coro.h>
#include <weft/weft.h>

#include "waitq.h"

struct weft_barrier {
	pthread_mutex_t lock;
	size_t parties;
	size_t arrived;
	uint64_t round;
	struct weft__waitq q;
};


WEFT_EXPORT int
weft_barrier_new(size_t parties, struct weft_barrier **out)
{
	struct weft_barrier *b = weft_calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	r = pthread_mutex_init(&b->lock, NULL);
	if (r) {
		weft_free(b);
		return -r;
	}
	b->parties = parties ? parties : 1;
	*out = b;
	return 0;
}


WEFT_EXPORT void
weft_barrier_free(struct weft_barrier *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	weft_free(b);
}


static weft_poll
barrier_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_barrier_wait *bw = (struct weft_barrier_wait *)f;
	struct weft_barrier *b = bw->barrier;
	struct weft__wait *w = &bw->wait, *o;
	struct weft__wakeups batch = {0};
	struct weft_waker old = {0, 0};
	int ready = 0; /* 1: released, 2: leader */

	pthread_mutex_lock(&b->lock);
	switch (w->state) {
	case WEFT__WAIT_IDLE:
		if (b->arrived + 1 < b->parties) {
			b->arrived++;
			w->tag = b->round;
			weft__waitq_push(&b->q, w);
			old = weft__wait_set_waker(w, cx);
			break;
		}
		/*
		 * The round is complete.  Parties of the next round may queue
		 * while the lock is dropped to wake a full batch; they carry
		 * the next round's number and sit behind this round's.
		 */
		b->arrived = 0;
		b->round++;
		ready = 2;
		while ((o = b->q.head) && o->tag < b->round) {
			weft__waitq_remove(&b->q, o);
			o->state = WEFT__WAIT_DONE;
			if (weft__wakeups_add(&batch, o)) {
				pthread_mutex_unlock(&b->lock);
				weft__wakeups_run(&batch);
				pthread_mutex_lock(&b->lock);
			}
		}
		break;
	case WEFT__WAIT_QUEUED:
		old = weft__wait_set_waker(w, cx);
		break;
	default:
		ready = 1;
		break;
	}
	if (ready)
		w->state = WEFT__WAIT_FINISHED;
	pthread_mutex_unlock(&b->lock);
	weft_waker_drop(&old);
	weft__wakeups_run(&batch);
	if (!ready)
		return WEFT_PENDING;
	bw->leader = ready == 2;
	return WEFT_READY;
}


static void
barrier_drop(struct weft_future *f)
{
	struct weft_barrier_wait *bw = (struct weft_barrier_wait *)f;
	struct weft_barrier *b = bw->barrier;
	struct weft__wait *w = &bw->wait;
	struct weft_waker mine;

	pthread_mutex_lock(&b->lock);
	if (w->state == WEFT__WAIT_QUEUED) {
		weft__waitq_remove(&b->q, w);
		b->arrived--; /* withdrawn: the round needs someone else */
	}
	w->state = WEFT__WAIT_FINISHED;
	mine = weft__wait_take_waker(w);
	pthread_mutex_unlock(&b->lock);
	weft_waker_drop(&mine);
}

WEFT_FUTURE_VTABLE(barrier_vtable, struct weft_barrier_wait, leader,
                   barrier_poll, barrier_drop);


WEFT_EXPORT void
weft_barrier_wait_init(struct weft_barrier_wait *f, struct weft_barrier *b)
{
	*f = (struct weft_barrier_wait){.base.vtable = &barrier_vtable,
	                                .barrier = b};
}
