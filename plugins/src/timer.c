/* SPDX-License-Identifier: MIT */
/*
 * The driver's timers: a slab of entries indexed by id and a binary
 * min-heap of slot numbers ordered by deadline.  See timer.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "timer.h"

/* heap_index of an entry that is not in the heap (fired or free). */
#define NOT_IN_HEAP UINT32_MAX
/* free_head / next_free when the free list is empty. */
#define NO_SLOT UINT32_MAX
/* Slot numbers stop below this so that slot + 1 fits the low 32 bits. */
#define MAX_SLOTS (UINT32_MAX - 1)

struct weft__timer_entry {
	uint64_t deadline;
	struct weft_waker waker;
	uint32_t gen;
	uint32_t heap_index; /* position in the heap, or NOT_IN_HEAP */
	uint32_t next_free;  /* free-list link while the slot is free */
	bool used;
};


void
weft__timer_init(struct weft__timers *t, uint32_t gen_seed)
{
	*t = (struct weft__timers){
	    .free_head = NO_SLOT,
	    .gen_seed = gen_seed,
	};
}


void
weft__timer_fini(struct weft__timers *t)
{
	const struct weft_allocator *a = t->alloc;
	uint32_t i;

	for (i = 0; i < t->slab_len; i++)
		if (t->slab[i].used)
			weft_waker_drop(&t->slab[i].waker);
	weft__mem_free(a, t->slab);
	weft__mem_free(a, t->heap);
	weft__timer_init(t, t->gen_seed);
	t->alloc = a;
}


static struct weft__timer_entry *
find(const struct weft__timers *t, uint64_t id)
{
	uint64_t low = id & 0xffffffffu;
	struct weft__timer_entry *e;

	if (low == 0 || low > t->slab_len)
		return NULL;
	e = &t->slab[low - 1];
	if (!e->used || e->gen != (uint32_t)(id >> 32))
		return NULL;
	return e;
}


static uint64_t
id_of(const struct weft__timers *t, uint32_t slot)
{
	return ((uint64_t)t->slab[slot].gen << 32) | ((uint64_t)slot + 1);
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


static bool
earlier(const struct weft__timers *t, uint32_t a, uint32_t b)
{
	return t->slab[t->heap[a]].deadline < t->slab[t->heap[b]].deadline;
}


static void
swap(struct weft__timers *t, uint32_t a, uint32_t b)
{
	uint32_t slot = t->heap[a];

	t->heap[a] = t->heap[b];
	t->heap[b] = slot;
	t->slab[t->heap[a]].heap_index = a;
	t->slab[t->heap[b]].heap_index = b;
}


static void
sift_up(struct weft__timers *t, uint32_t i)
{
	while (i > 0 && earlier(t, i, (i - 1) / 2)) {
		swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}


static void
sift_down(struct weft__timers *t, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < t->heap_len && earlier(t, l, m))
			m = l;
		if (r < t->heap_len && earlier(t, r, m))
			m = r;
		if (m == i)
			return;
		swap(t, i, m);
		i = m;
	}
}


/*
 * Takes the entry at heap position i out of the heap: the last element
 * fills the hole and moves up or down, whichever its deadline needs.
 */
static void
heap_remove(struct weft__timers *t, uint32_t i)
{
	uint32_t last = --t->heap_len;

	t->slab[t->heap[i]].heap_index = NOT_IN_HEAP;
	if (i == last)
		return;
	t->heap[i] = t->heap[last];
	t->slab[t->heap[i]].heap_index = i;
	if (i > 0 && earlier(t, i, (i - 1) / 2))
		sift_up(t, i);
	else
		sift_down(t, i);
}


static int
slot_alloc(struct weft__timers *t, uint32_t *slot)
{
	if (t->free_head != NO_SLOT) {
		*slot = t->free_head;
		t->free_head = t->slab[*slot].next_free;
		return 0;
	}
	if (t->slab_len >= MAX_SLOTS)
		return -EOVERFLOW;
	if (grow(t->alloc, (void **)&t->slab, &t->slab_cap, t->slab_len + 1,
	         sizeof(*t->slab)) < 0)
		return -ENOMEM;
	*slot = t->slab_len++;
	t->slab[*slot].gen = t->gen_seed;
	return 0;
}


int
weft__timer_add(struct weft__timers *t, uint64_t deadline, uint64_t *id)
{
	struct weft__timer_entry *e;
	uint32_t slot;
	int err;

	/* Room in the heap first, so that no failure leaves a slot taken. */
	if (grow(t->alloc, (void **)&t->heap, &t->heap_cap, t->heap_len + 1,
	         sizeof(*t->heap)) < 0)
		return -ENOMEM;
	err = slot_alloc(t, &slot);
	if (err < 0)
		return err;
	e = &t->slab[slot];
	e->deadline = deadline;
	e->waker = (struct weft_waker){0, 0};
	e->used = true;
	e->heap_index = t->heap_len;
	t->heap[t->heap_len++] = slot;
	sift_up(t, e->heap_index);
	t->live++;
	*id = id_of(t, slot);
	return 0;
}


int
weft__timer_del(struct weft__timers *t, uint64_t id, struct weft_waker *waker)
{
	struct weft__timer_entry *e = find(t, id);
	uint32_t slot;

	if (!e)
		return -ENOENT;
	slot = (uint32_t)(e - t->slab);
	if (e->heap_index != NOT_IN_HEAP)
		heap_remove(t, e->heap_index);
	if (waker)
		*waker = e->waker;
	e->waker = (struct weft_waker){0, 0};
	e->used = false;
	/* A new generation makes every copy of the old id stale. */
	e->gen++;
	e->next_free = t->free_head;
	t->free_head = slot;
	t->live--;
	return 0;
}


uint64_t
weft__timer_next_deadline(const struct weft__timers *t)
{
	if (t->heap_len == 0)
		return WEFT__TIMER_NONE;
	return t->slab[t->heap[0]].deadline;
}


bool
weft__timer_pop(struct weft__timers *t, uint64_t now, struct weft_waker *waker)
{
	struct weft__timer_entry *e;

	if (t->heap_len == 0 || t->slab[t->heap[0]].deadline > now)
		return false;
	e = &t->slab[t->heap[0]];
	heap_remove(t, 0);
	*waker = e->waker;
	e->waker = (struct weft_waker){0, 0};
	return true;
}


int
weft__timer_set_waker(struct weft__timers *t, uint64_t id,
                      const struct weft_waker *waker, struct weft_waker *old)
{
	struct weft__timer_entry *e = find(t, id);

	*old = (struct weft_waker){0, 0};
	if (!e)
		return -ENOENT;
	if (e->waker.vtable && weft_waker_will_wake(&e->waker, waker))
		return 0;
	*old = e->waker;
	/* Cloning only takes a reference; it never calls back into us. */
	e->waker = weft_waker_clone(waker);
	return 0;
}


int
weft__timer_state(const struct weft__timers *t, uint64_t id, uint64_t *deadline)
{
	const struct weft__timer_entry *e = find(t, id);

	if (!e)
		return -ENOENT;
	if (deadline)
		*deadline = e->deadline;
	return e->heap_index == NOT_IN_HEAP;
}


bool
weft__timer_check(const struct weft__timers *t)
{
	uint32_t i, in_heap = 0, used = 0;

	for (i = 0; i < t->heap_len; i++) {
		const struct weft__timer_entry *e = &t->slab[t->heap[i]];

		if (!e->used || e->heap_index != i)
			return false;
		if (i > 0 &&
		    e->deadline < t->slab[t->heap[(i - 1) / 2]].deadline)
			return false;
	}
	for (i = 0; i < t->slab_len; i++) {
		used += t->slab[i].used;
		in_heap +=
		    t->slab[i].used && t->slab[i].heap_index != NOT_IN_HEAP;
	}
	return used == t->live && in_heap == t->heap_len;
}
