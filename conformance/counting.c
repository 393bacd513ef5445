/* SPDX-License-Identifier: MIT */
/*
 * Counting wakers and counting futures: the harness's instruments for the
 * W, F and E rules.  See harness.h.
 */
#include <string.h>

#include "harness.h"

/* ---- counting wakers ----------------------------------------------- */

static struct weft_waker h_waker_clone(const void *data);
static void h_waker_wake(const void *data);
static void h_waker_wake_by_ref(const void *data);
static void h_waker_drop(const void *data);

static const struct weft_waker_vtable h_waker_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = h_waker_clone,
    .wake = h_waker_wake,
    .wake_by_ref = h_waker_wake_by_ref,
    .drop = h_waker_drop,
};


static void
h_waker_forward(struct h_waker *w)
{
	pthread_mutex_lock(&w->lock);
	weft_waker_wake_by_ref(&w->forward);
	pthread_mutex_unlock(&w->lock);
}


static struct weft_waker
h_waker_clone(const void *data)
{
	struct h_waker *w = (struct h_waker *)data;

	atomic_fetch_add(&w->clones, 1);
	atomic_fetch_add(&w->live, 1);
	return (struct weft_waker){&h_waker_vtable, w};
}


static void
h_waker_wake(const void *data)
{
	struct h_waker *w = (struct h_waker *)data;

	atomic_fetch_add(&w->wakes, 1);
	h_waker_forward(w);
	if (atomic_fetch_sub(&w->live, 1) <= 0)
		h_violation("W5: a counting waker was consumed more often "
		            "than it was made or cloned");
}


static void
h_waker_wake_by_ref(const void *data)
{
	struct h_waker *w = (struct h_waker *)data;

	atomic_fetch_add(&w->wakes_by_ref, 1);
	h_waker_forward(w);
}


static void
h_waker_drop(const void *data)
{
	struct h_waker *w = (struct h_waker *)data;

	atomic_fetch_add(&w->drops, 1);
	if (atomic_fetch_sub(&w->live, 1) <= 0)
		h_violation("W5: a counting waker was dropped more often "
		            "than it was made or cloned");
}


void
h_waker_init(struct h_waker *w)
{
	atomic_init(&w->live, 0);
	atomic_init(&w->clones, 0);
	atomic_init(&w->wakes, 0);
	atomic_init(&w->wakes_by_ref, 0);
	atomic_init(&w->drops, 0);
	pthread_mutex_init(&w->lock, NULL);
	w->forward = (struct weft_waker){0, 0};
}


void
h_waker_unforward(struct h_waker *w)
{
	struct weft_waker old;

	pthread_mutex_lock(&w->lock);
	old = w->forward;
	w->forward = (struct weft_waker){0, 0};
	pthread_mutex_unlock(&w->lock);
	weft_waker_drop(&old);
}


void
h_waker_fini(struct h_waker *w)
{
	h_waker_unforward(w);
	pthread_mutex_destroy(&w->lock);
}


struct weft_waker
h_waker_make(struct h_waker *w)
{
	atomic_fetch_add(&w->live, 1);
	return (struct weft_waker){&h_waker_vtable, w};
}


void
h_waker_forward_to(struct h_waker *w, const struct weft_waker *target)
{
	pthread_mutex_lock(&w->lock);
	weft_waker_store(&w->forward, target);
	pthread_mutex_unlock(&w->lock);
}


long
h_waker_woken(struct h_waker *w)
{
	return atomic_load(&w->wakes) + atomic_load(&w->wakes_by_ref);
}


/* ---- counting futures ---------------------------------------------- */

static weft_poll
h_fut_poll(struct weft_future *base, struct weft_context *cx)
{
	struct h_fut *f = (struct h_fut *)base;
	struct h_probe *p = f->probe;
	weft_poll res = WEFT_PENDING;

	if (atomic_exchange(&p->in_poll, 1))
		h_violation("E1: a task was polled on two threads at once");
	atomic_fetch_add(&p->polls, 1);
	atomic_store(&p->poll_thread, (uintptr_t)pthread_self());
	if (f->pinned && f->pinned != (void *)f)
		h_violation("F7: a future moved after its first poll "
		            "(%p -> %p)",
		            f->pinned, (void *)f);
	f->pinned = f;
	if (f->finished) {
		h_violation("F2: a future was polled again after ready");
		res = WEFT_READY;
	} else if (f->mode == H_FUT_HOLD) {
		weft_waker_store(&f->held, &cx->waker);
	} else if (f->yielded < f->yields) {
		f->yielded++;
		weft_waker_wake_by_ref(&cx->waker);
	} else {
		f->finished = true;
		res = WEFT_READY;
	}
	atomic_store(&p->in_poll, 0);
	if (res == WEFT_READY) {
		/* Counted before the notify, so the listener sees it. */
		atomic_fetch_add(&p->readies, 1);
		if (f->tally)
			atomic_fetch_add(f->tally, 1);
		if (f->on_ready)
			h_signal_notify(f->on_ready);
	}
	return res;
}


static void
h_fut_drop(struct weft_future *base)
{
	struct h_fut *f = (struct h_fut *)base;

	if (f->pinned && f->pinned != (void *)f)
		h_violation("F7: a future was dropped at another address "
		            "than it was polled at");
	if (atomic_load(&f->probe->in_poll))
		h_violation("E1: a future was dropped during its own poll");
	weft_waker_drop(&f->held);
	if (atomic_fetch_add(&f->probe->drops, 1) != 0)
		h_violation("F1: a future was dropped twice");
}


WEFT_FUTURE_VTABLE(h_fut_vtable, struct h_fut, out, h_fut_poll, h_fut_drop);


void
h_fut_init(struct h_fut *f, struct h_probe *p, enum h_fut_mode mode,
           uint32_t yields, uint64_t out)
{
	memset(f, 0, sizeof(*f));
	f->base.vtable = &h_fut_vtable;
	f->probe = p;
	f->mode = mode;
	f->yields = yields;
	f->out = out;
}
