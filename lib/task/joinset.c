/* SPDX-License-Identifier: MIT */
/*
 * The task set: tasks joined in the order they finish.
 *
 * Each task of the set has a node, and each node is its own waker: the set
 * polls a task's join handle with a context whose waker is the node, so
 * when the task finishes the core wakes the node, which queues itself on
 * the set's "notified" list and wakes the task awaiting join_next.
 * join_next then polls only the notified nodes, in the order they were
 * woken — the order the tasks finished — instead of every handle.
 *
 * Lifetimes: a node is reference-counted (the set's entry, the notified
 * list, and every clone of its waker held by the task core); the shared
 * part of the set (lock, list, waiter) likewise (the set and every node).
 * So a wake that races with the set being freed finds valid memory and
 * simply does nothing.
 */
/* Defines a spawn call that weft.h wraps in a macro. */
#define WEFT_NO_SPAWN_LABELS 1
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <weft/coro.h>
#include <weft/task.h>
#include <weft/weft.h>

struct shared {
	atomic_uint refs;
	pthread_mutex_t lock;
	struct node *head, *tail; /* notified nodes, FIFO; each holds a ref */
	struct weft_waker waiter; /* the task awaiting join_next */
};

struct node {
	atomic_uint refs;
	struct shared *sh;
	struct node *next;      /* in the notified list; under sh->lock */
	bool notified;          /* under sh->lock */
	bool in_set;            /* under sh->lock */
	struct weft_join *join; /* set's thread only */
	uint64_t id;
	size_t index; /* position in the set's array */
};

struct weft_joinset {
	struct shared *sh;
	struct node **nodes;
	size_t len, cap;
	uint64_t next_id;
};


static void
shared_unref(struct shared *sh)
{
	if (atomic_fetch_sub(&sh->refs, 1) == 1) {
		weft_waker_drop(&sh->waiter);
		pthread_mutex_destroy(&sh->lock);
		weft_free(sh);
	}
}


static void
node_unref(struct node *n)
{
	if (atomic_fetch_sub(&n->refs, 1) == 1) {
		shared_unref(n->sh);
		weft_free(n);
	}
}


/* Queues n unless it is queued already or has left the set; under lock. */
static bool
node_notify_locked(struct node *n)
{
	struct shared *sh = n->sh;

	if (n->notified || !n->in_set)
		return false;
	n->notified = true;
	n->next = NULL;
	atomic_fetch_add(&n->refs, 1);
	if (sh->tail)
		sh->tail->next = n;
	else
		sh->head = n;
	sh->tail = n;
	return true;
}


/* ---- the node as a waker -------------------------------------------- */

static const struct weft_waker_vtable node_waker_vtable;

static struct weft_waker
node_waker_clone(const void *data)
{
	struct node *n = (struct node *)data;

	atomic_fetch_add(&n->refs, 1);
	return (struct weft_waker){&node_waker_vtable, data};
}


static void
node_waker_wake_by_ref(const void *data)
{
	struct node *n = (struct node *)data;
	struct shared *sh = n->sh;
	struct weft_waker w = {0};

	pthread_mutex_lock(&sh->lock);
	if (node_notify_locked(n))
		w = weft_waker_clone(&sh->waiter);
	pthread_mutex_unlock(&sh->lock);
	/* Woken outside the lock: a waker may take locks of its own. */
	weft_waker_wake(&w);
}


static void
node_waker_drop(const void *data)
{
	node_unref((struct node *)data);
}


static void
node_waker_wake(const void *data)
{
	node_waker_wake_by_ref(data);
	node_waker_drop(data);
}

static const struct weft_waker_vtable node_waker_vtable = {
    WEFT_WAKER_VTABLE_VERSION, node_waker_clone, node_waker_wake,
    node_waker_wake_by_ref,    node_waker_drop,
};


/* ---- the set -------------------------------------------------------- */

WEFT_EXPORT int
weft_joinset_new(struct weft_joinset **out)
{
	struct weft_joinset *set = weft_calloc(1, sizeof(*set));

	if (!set)
		return -ENOMEM;
	set->sh = weft_calloc(1, sizeof(*set->sh));
	if (!set->sh) {
		weft_free(set);
		return -ENOMEM;
	}
	atomic_init(&set->sh->refs, 1);
	pthread_mutex_init(&set->sh->lock, NULL);
	set->next_id = 1;
	*out = set;
	return 0;
}


/* Takes n out of the set: releases its handle and the set's reference. */
static void
joinset_remove(struct weft_joinset *set, struct node *n)
{
	struct node *last = set->nodes[--set->len];

	last->index = n->index;
	set->nodes[n->index] = last;
	weft_join_release(n->join);
	n->join = NULL;
	pthread_mutex_lock(&set->sh->lock);
	n->in_set = false;
	pthread_mutex_unlock(&set->sh->lock);
	node_unref(n);
}


WEFT_EXPORT int
weft_joinset_spawn(struct weft_joinset *set, struct weft_executor *ex,
                   struct weft_future *fut, uint64_t *id)
{
	struct node *n;
	int r;

	if (set->len == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 8;
		struct node **nodes =
		    weft_realloc(set->nodes, set->cap * sizeof(*nodes),
		                   cap * sizeof(*nodes));

		if (!nodes) {
			weft_future_drop(fut);
			return -ENOMEM;
		}
		set->nodes = nodes;
		set->cap = cap;
	}
	n = weft_calloc(1, sizeof(*n));
	if (!n) {
		weft_future_drop(fut);
		return -ENOMEM;
	}
	r = weft_executor_spawn(ex, fut, &n->join);
	if (r < 0) {
		weft_free(n);
		return r;
	}
	atomic_init(&n->refs, 1);
	atomic_fetch_add(&set->sh->refs, 1);
	n->sh = set->sh;
	n->id = set->next_id++;
	n->index = set->len;
	set->nodes[set->len++] = n;
	/* A new task is polled once by join_next to register its waker. */
	pthread_mutex_lock(&set->sh->lock);
	n->in_set = true;
	node_notify_locked(n);
	pthread_mutex_unlock(&set->sh->lock);
	if (id)
		*id = n->id;
	return 0;
}


WEFT_EXPORT size_t
weft_joinset_len(const struct weft_joinset *set)
{
	return set->len;
}


WEFT_EXPORT void
weft_joinset_abort_all(struct weft_joinset *set)
{
	size_t i;

	for (i = 0; i < set->len; i++)
		weft_join_abort(set->nodes[i]->join);
}


WEFT_EXPORT void
weft_joinset_free(struct weft_joinset *set)
{
	struct shared *sh;
	struct node *n;

	if (!set)
		return;
	sh = set->sh;
	weft_joinset_abort_all(set);
	while (set->len)
		joinset_remove(set, set->nodes[set->len - 1]);
	pthread_mutex_lock(&sh->lock);
	n = sh->head;
	sh->head = sh->tail = NULL;
	pthread_mutex_unlock(&sh->lock);
	while (n) {
		struct node *next = n->next;

		node_unref(n);
		n = next;
	}
	weft_free(set->nodes);
	weft_free(set);
	shared_unref(sh);
}


/* ---- join_next ------------------------------------------------------ */

static struct node *
joinset_pop_notified(struct shared *sh)
{
	struct node *n;

	pthread_mutex_lock(&sh->lock);
	n = sh->head;
	if (n) {
		sh->head = n->next;
		if (!sh->head)
			sh->tail = NULL;
		n->notified = false;
	}
	pthread_mutex_unlock(&sh->lock);
	return n;
}


static weft_poll
next_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_joinset_next *jn = (struct weft_joinset_next *)f;
	struct weft_joinset *set = jn->set;
	struct weft_context ncx;
	struct node *n;
	int r;

	/* Stored first: a node woken from now on wakes this task. */
	pthread_mutex_lock(&set->sh->lock);
	weft_waker_store(&set->sh->waiter, &cx->waker);
	pthread_mutex_unlock(&set->sh->lock);

	while ((n = joinset_pop_notified(set->sh))) {
		if (!n->join) {
			node_unref(n); /* it left the set meanwhile */
			continue;
		}
		ncx = *cx;
		ncx.waker = (struct weft_waker){&node_waker_vtable, n};
		r = weft_join_poll(n->join, &ncx, jn->out, jn->out_size);
		cx->budget = ncx.budget;
		if (r == WEFT_PENDING) {
			node_unref(n);
			continue;
		}
		jn->status = 1;
		jn->task_status = r < 0 ? r : 0;
		jn->id = n->id;
		joinset_remove(set, n);
		node_unref(n);
		return WEFT_READY;
	}
	if (set->len == 0) {
		jn->status = 0;
		return WEFT_READY;
	}
	return WEFT_PENDING;
}

WEFT_FUTURE_VTABLE(next_vtable, struct weft_joinset_next, status, next_poll,
                   NULL);


WEFT_EXPORT void
weft_joinset_next_init(struct weft_joinset_next *f, struct weft_joinset *set,
                       void *out, size_t out_size)
{
	*f = (struct weft_joinset_next){
	    .base.vtable = &next_vtable,
	    .set = set,
	    .out = out,
	    .out_size = out_size,
	};
}
