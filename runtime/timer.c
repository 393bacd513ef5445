/* SPDX-License-Identifier: MIT */
/*
 * The driver's timers: handles by id and the nodes of pending timers,
 * which the wheel (wheel.c) files.  See timer.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "wheel.h"

#define NONE WEFT__WHEEL_NONE
/* handle.ref of a timer that has fired. */
#define FIRED (UINT32_MAX - 1)
/* Handle numbers stop below this so that handle + 1 fits the low 32 bits. */
#define MAX_HANDLES (UINT32_MAX - 1)
/* Node numbers stop below FIRED. */
#define MAX_NODES (UINT32_MAX - 2)

struct weft__timer_handle {
	uint32_t gen; /* odd while in use */
	uint32_t ref; /* in use: the node, or FIRED; free: next free handle */
};


void
weft__timer_init(struct weft__timers *t, uint32_t gen_seed)
{
	*t = (struct weft__timers){
	    .handles_free = NONE,
	    .nodes_free = NONE,
	    .chunks_free = NONE,
	    .gen_seed = gen_seed,
	};
}


void
weft__timer_start(struct weft__timers *t, uint64_t now)
{
	if (t->pending == 0)
		t->elapsed = now >> WEFT__TIMER_TICK_SHIFT;
}


void
weft__timer_fini(struct weft__timers *t)
{
	const struct weft_allocator *a = t->alloc;
	uint32_t i;

	for (i = 0; i < t->handles_len; i++) {
		const struct weft__timer_handle *h = &t->handles[i];

		if ((h->gen & 1) && h->ref != FIRED)
			weft_waker_drop(&t->nodes[h->ref].waker);
	}
	weft__wheel_fini(t);
	weft__mem_free(a, t->handles);
	weft__mem_free(a, t->nodes);
	weft__mem_free(a, t->heap);
	weft__timer_init(t, t->gen_seed);
	t->alloc = a;
}


/* ---- handles and nodes ---------------------------------------------- */

static struct weft__timer_handle *
find(const struct weft__timers *t, uint64_t id)
{
	uint64_t low = id & 0xffffffffu;
	struct weft__timer_handle *h;

	if (low == 0 || low > t->handles_len)
		return NULL;
	h = &t->handles[low - 1];
	if (h->gen != (uint32_t)(id >> 32) || !(h->gen & 1))
		return NULL;
	return h;
}


/* Grows an array of `size`-byte items to hold at least `need` of them. */
static int
grow(const struct weft_allocator *a, void **array, uint32_t *cap, uint32_t need,
     size_t size)
{
	uint32_t ncap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap = ncap > UINT32_MAX / 2 ? UINT32_MAX : ncap * 2;
	p = weft__mem_grow(a, *array, (size_t)*cap * size, (size_t)ncap * size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = ncap;
	return 0;
}


/*
 * Makes sure a handle and a node can be taken, and that the heap could
 * hold every node in use, so that nothing after this can fail.
 */
static int
reserve(struct weft__timers *t)
{
	if (t->handles_free == NONE) {
		if (t->handles_len >= MAX_HANDLES)
			return -EOVERFLOW;
		if (t->handles_len == t->handles_cap &&
		    grow(t->alloc, (void **)&t->handles, &t->handles_cap,
		         t->handles_len + 1, sizeof(*t->handles)) < 0)
			return -ENOMEM;
	}
	if (t->nodes_free == NONE) {
		if (t->nodes_len >= MAX_NODES)
			return -EOVERFLOW;
		if ((t->nodes_len == t->nodes_cap ||
		     t->nodes_len == t->heap_cap) &&
		    (grow(t->alloc, (void **)&t->nodes, &t->nodes_cap,
		          t->nodes_len + 1, sizeof(*t->nodes)) < 0 ||
		     grow(t->alloc, (void **)&t->heap, &t->heap_cap,
		          t->nodes_len + 1, sizeof(*t->heap)) < 0))
			return -ENOMEM;
	}
	return 0;
}


/* Arms a timer holding a clone of *waker (none when waker is NULL). */
static int
add(struct weft__timers *t, uint64_t deadline, uint64_t *id,
    const struct weft_waker *waker)
{
	struct weft__timer_handle *h;
	struct weft__timer_node *n;
	uint32_t hi, ni;
	int err = reserve(t);

	if (err == 0)
		err = weft__wheel_reserve(t, t->pending + 1);
	if (err < 0)
		return err;
	if (t->handles_free != NONE) {
		hi = t->handles_free;
		h = &t->handles[hi];
		t->handles_free = h->ref;
		h->gen++;
	} else {
		hi = t->handles_len++;
		h = &t->handles[hi];
		h->gen = t->gen_seed | 1;
	}
	if (t->nodes_free != NONE) {
		ni = t->nodes_free;
		t->nodes_free = t->nodes[ni].pos;
	} else {
		ni = t->nodes_len++;
	}
	h->ref = ni;
	n = &t->nodes[ni];
	n->deadline = deadline;
	/* Cloning only takes a reference; it never calls back into us. */
	n->waker = waker ? weft_waker_clone(waker) : (struct weft_waker){0, 0};
	n->handle = hi;
	weft__wheel_insert(t, ni);
	t->live++;
	t->pending++;
	*id = ((uint64_t)h->gen << 32) | ((uint64_t)hi + 1);
	return 0;
}


int
weft__timer_add(struct weft__timers *t, uint64_t deadline, uint64_t *id)
{
	return add(t, deadline, id, NULL);
}


int
weft__timer_add_waker(struct weft__timers *t, uint64_t deadline, uint64_t *id,
                      const struct weft_waker *waker)
{
	return add(t, deadline, id, waker);
}


/* Gives node i back; returns the waker it held. */
static struct weft_waker
node_free(struct weft__timers *t, uint32_t i)
{
	struct weft__timer_node *n = &t->nodes[i];
	struct weft_waker w = n->waker;

	n->waker = (struct weft_waker){0, 0};
	n->pos = t->nodes_free;
	t->nodes_free = i;
	t->pending--;
	return w;
}


int
weft__timer_del(struct weft__timers *t, uint64_t id, struct weft_waker *waker)
{
	struct weft__timer_handle *h = find(t, id);
	struct weft_waker w = {0, 0};

	if (!h)
		return -ENOENT;
	if (h->ref != FIRED) {
		weft__wheel_remove(t, h->ref);
		w = node_free(t, h->ref);
	}
	if (waker)
		*waker = w;
	/* A new generation makes every copy of the old id stale. */
	h->gen++;
	h->ref = t->handles_free;
	t->handles_free = (uint32_t)(h - t->handles);
	t->live--;
	return 0;
}


int
weft__timer_reset(struct weft__timers *t, uint64_t id, uint64_t deadline)
{
	struct weft__timer_handle *h = find(t, id);
	struct weft__timer_node *n;
	uint32_t ni;
	int err;

	if (!h)
		return -ENOENT;
	if (h->ref != FIRED) {
		/* Pending: refiled under its new deadline, waker and all. */
		n = &t->nodes[h->ref];
		weft__wheel_remove(t, h->ref);
		n->deadline = deadline;
		weft__wheel_insert(t, h->ref);
		return 0;
	}
	/* Fired: the handle gets a node again, with no waker yet. */
	err = reserve(t);
	if (err == 0)
		err = weft__wheel_reserve(t, t->pending + 1);
	if (err < 0)
		return err;
	if (t->nodes_free != NONE) {
		ni = t->nodes_free;
		t->nodes_free = t->nodes[ni].pos;
	} else {
		ni = t->nodes_len++;
	}
	n = &t->nodes[ni];
	n->deadline = deadline;
	n->waker = (struct weft_waker){0, 0};
	n->handle = (uint32_t)(h - t->handles);
	h->ref = ni;
	weft__wheel_insert(t, ni);
	t->pending++;
	return 0;
}


uint64_t
weft__timer_next_deadline(const struct weft__timers *t)
{
	return weft__wheel_next_deadline(t);
}


uint64_t
weft__timer_settle(struct weft__timers *t)
{
	return weft__wheel_settle(t);
}


/* Node i, taken out by the wheel, fires: its handle remembers that. */
static struct weft_waker
fire_node(struct weft__timers *t, uint32_t i)
{
	t->handles[t->nodes[i].handle].ref = FIRED;
	return node_free(t, i);
}


bool
weft__timer_pop(struct weft__timers *t, uint64_t now, struct weft_waker *waker)
{
	uint32_t i = weft__wheel_next_due(t, now);

	if (i == NONE)
		return false;
	*waker = fire_node(t, i);
	return true;
}


uint32_t
weft__timer_fire(struct weft__timers *t, uint64_t now, struct weft_waker *out,
                 uint32_t max)
{
	uint32_t n = 0, i;

	while (n < max && (i = weft__wheel_next_due(t, now)) != NONE) {
		struct weft_waker w = fire_node(t, i);

		if (w.vtable)
			out[n++] = w;
	}
	return n;
}


int
weft__timer_set_waker(struct weft__timers *t, uint64_t id,
                      const struct weft_waker *waker, struct weft_waker *old)
{
	struct weft__timer_handle *h = find(t, id);
	struct weft__timer_node *n;

	*old = (struct weft_waker){0, 0};
	if (!h)
		return -ENOENT;
	if (h->ref == FIRED)
		return 0;
	n = &t->nodes[h->ref];
	if (n->waker.vtable && weft_waker_will_wake(&n->waker, waker))
		return 0;
	*old = n->waker;
	/* Cloning only takes a reference; it never calls back into us. */
	n->waker = weft_waker_clone(waker);
	return 0;
}


int
weft__timer_state(const struct weft__timers *t, uint64_t id, uint64_t *deadline)
{
	const struct weft__timer_handle *h = find(t, id);

	if (!h)
		return -ENOENT;
	if (deadline)
		*deadline = h->ref == FIRED ? 0 : t->nodes[h->ref].deadline;
	return h->ref == FIRED;
}


/* ---- the invariants, for tests -------------------------------------- */

bool
weft__timer_check(const struct weft__timers *t)
{
	uint32_t i, filed, live = 0, pending = 0, free_nodes = 0;

	if (!weft__wheel_check(t, &filed))
		return false;
	for (i = 0; i < t->handles_len; i++) {
		const struct weft__timer_handle *h = &t->handles[i];

		if (!(h->gen & 1))
			continue;
		live++;
		if (h->ref == FIRED)
			continue;
		if (h->ref >= t->nodes_len || t->nodes[h->ref].handle != i)
			return false;
		pending++;
	}
	for (i = t->nodes_free; i != NONE && free_nodes <= t->nodes_len;
	     i = t->nodes[i].pos)
		free_nodes++;
	return live == t->live && pending == t->pending && filed == pending &&
	       free_nodes + pending == t->nodes_len &&
	       t->heap_cap >= t->nodes_len;
}
