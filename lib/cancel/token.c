/* SPDX-License-Identifier: MIT */
/*
 * Cancellation tokens.  All tokens of one tree share one lock and one
 * queue of waiting futures: a cancel marks its subtree under that lock,
 * then wakes the queued futures whose token is now cancelled.  One lock
 * per tree keeps parent and child consistent without a lock order, and
 * trees are small and rarely contended (a cancel happens once).
 *
 * A node counts its handles and its children; it is freed when both are
 * gone, and then drops its reference on its parent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include <weft/cancel.h>
#include <weft/coro.h>
#include <weft/weft.h>

#include "../sync/waitq.h"

struct tree {
	pthread_mutex_t lock;
	size_t nodes;
	struct weft__waitq q; /* tag: the token waited on */
};

struct weft_cancel_token {
	struct tree *tree;
	struct weft_cancel_token *parent;
	struct weft_cancel_token *child; /* first child */
	struct weft_cancel_token *prev;  /* siblings */
	struct weft_cancel_token *next;
	size_t refs; /* handles + children */
	bool cancelled;
};


WEFT_EXPORT int
weft_cancel_token_new(struct weft_cancel_token **out)
{
	struct weft_cancel_token *t = weft_calloc(1, sizeof(*t));
	struct tree *tr = weft_calloc(1, sizeof(*tr));

	if (!t || !tr || pthread_mutex_init(&tr->lock, NULL)) {
		weft_free(t);
		weft_free(tr);
		return -ENOMEM;
	}
	tr->nodes = 1;
	t->tree = tr;
	t->refs = 1;
	*out = t;
	return 0;
}


WEFT_EXPORT int
weft_cancel_token_child(struct weft_cancel_token *parent,
                        struct weft_cancel_token **out)
{
	struct weft_cancel_token *t = weft_calloc(1, sizeof(*t));
	struct tree *tr = parent->tree;

	if (!t)
		return -ENOMEM;
	t->tree = tr;
	t->refs = 1;
	pthread_mutex_lock(&tr->lock);
	t->parent = parent;
	t->cancelled = parent->cancelled;
	t->next = parent->child;
	if (t->next)
		t->next->prev = t;
	parent->child = t;
	parent->refs++;
	tr->nodes++;
	pthread_mutex_unlock(&tr->lock);
	*out = t;
	return 0;
}


WEFT_EXPORT struct weft_cancel_token *
weft_cancel_token_clone(struct weft_cancel_token *t)
{
	pthread_mutex_lock(&t->tree->lock);
	t->refs++;
	pthread_mutex_unlock(&t->tree->lock);
	return t;
}


WEFT_EXPORT void
weft_cancel_token_free(struct weft_cancel_token *t)
{
	struct tree *tr;
	struct weft_cancel_token *p;
	bool last;

	if (!t)
		return;
	tr = t->tree;
	pthread_mutex_lock(&tr->lock);
	/* Freeing a node releases its parent's reference: walk up. */
	while (t && --t->refs == 0) {
		p = t->parent;
		if (t->prev)
			t->prev->next = t->next;
		else if (p)
			p->child = t->next;
		if (t->next)
			t->next->prev = t->prev;
		weft_free(t);
		tr->nodes--;
		t = p;
	}
	last = tr->nodes == 0;
	pthread_mutex_unlock(&tr->lock);
	if (last) {
		pthread_mutex_destroy(&tr->lock);
		weft_free(tr);
	}
}


/* Under the lock: marks t and everything below it, depth first. */
static void
mark_subtree(struct weft_cancel_token *t)
{
	struct weft_cancel_token *n = t;

	for (;;) {
		n->cancelled = true;
		if (n->child) {
			n = n->child;
			continue;
		}
		while (n != t && !n->next)
			n = n->parent;
		if (n == t)
			return;
		n = n->next;
	}
}


WEFT_EXPORT void
weft_cancel_token_cancel(struct weft_cancel_token *t)
{
	struct tree *tr = t->tree;
	struct weft__wakeups b = {0};
	struct weft__wait *w, *next;
	struct weft_cancel_token *of;

	pthread_mutex_lock(&tr->lock);
	if (!t->cancelled)
		mark_subtree(t);
again:
	for (w = tr->q.head; w; w = next) {
		next = w->next;
		of = (struct weft_cancel_token *)(uintptr_t)w->tag;
		if (!of->cancelled)
			continue;
		weft__waitq_remove(&tr->q, w);
		w->state = WEFT__WAIT_DONE;
		if (weft__wakeups_add(&b, w)) {
			/* The queue may change while unlocked: rescan it. */
			weft__wakeups_flush(&b, &tr->lock);
			goto again;
		}
	}
	pthread_mutex_unlock(&tr->lock);
	weft__wakeups_run(&b);
}


WEFT_EXPORT bool
weft_cancel_token_is_cancelled(struct weft_cancel_token *t)
{
	bool c;

	pthread_mutex_lock(&t->tree->lock);
	c = t->cancelled;
	pthread_mutex_unlock(&t->tree->lock);
	return c;
}


static weft_poll
cancelled_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_cancelled *c = (struct weft_cancelled *)f;
	struct tree *tr = c->token->tree;
	struct weft_waker old = {0, 0};
	bool done;

	pthread_mutex_lock(&tr->lock);
	done = c->token->cancelled;
	if (done) {
		if (c->wait.state == WEFT__WAIT_QUEUED)
			weft__waitq_remove(&tr->q, &c->wait);
		c->wait.state = WEFT__WAIT_FINISHED;
		old = weft__wait_take_waker(&c->wait);
	} else {
		if (c->wait.state != WEFT__WAIT_QUEUED) {
			c->wait.tag = (uint64_t)(uintptr_t)c->token;
			weft__waitq_push(&tr->q, &c->wait);
		}
		old = weft__wait_set_waker(&c->wait, cx);
	}
	pthread_mutex_unlock(&tr->lock);
	weft_waker_drop(&old);
	if (!done)
		return WEFT_PENDING;
	c->status = 0;
	return WEFT_READY;
}


static void
cancelled_drop(struct weft_future *f)
{
	struct weft_cancelled *c = (struct weft_cancelled *)f;
	struct tree *tr = c->token->tree;
	struct weft_waker k;

	pthread_mutex_lock(&tr->lock);
	if (c->wait.state == WEFT__WAIT_QUEUED)
		weft__waitq_remove(&tr->q, &c->wait);
	c->wait.state = WEFT__WAIT_FINISHED;
	k = weft__wait_take_waker(&c->wait);
	pthread_mutex_unlock(&tr->lock);
	weft_waker_drop(&k);
}

WEFT_FUTURE_VTABLE(cancelled_vtable, struct weft_cancelled, status,
                   cancelled_poll, cancelled_drop);


WEFT_EXPORT void
weft_cancelled_init(struct weft_cancelled *f, struct weft_cancel_token *t)
{
	*f = (struct weft_cancelled){.base.vtable = &cancelled_vtable,
	                             .token = t};
}
