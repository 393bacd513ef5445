/* SPDX-License-Identifier: MIT */
/*
 * The timing wheel: six levels of 64 slots, an overflow beyond them, and
 * the heap of the tick under way.  See timer.h for the design and wheel.h
 * for the contract.
 */
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"
#include "wheel.h"

#define SHIFT  WEFT__TIMER_TICK_SHIFT
#define LEVELS WEFT__TIMER_LEVELS
#define BITS   WEFT__TIMER_SLOT_BITS
#define SLOTS  WEFT__TIMER_SLOTS
#define NONE   WEFT__WHEEL_NONE

_Static_assert(sizeof(void *) != 8 || sizeof(struct weft__timer_node) == 32,
               "a pending timer's node is 32 bytes");
_Static_assert(sizeof(struct weft__timer_chunk) == 64, "a chunk is 64 bytes");


/* ---- the wheel's arithmetic ----------------------------------------- */

/*
 * The level of a node due at `tick` seen from `elapsed` (< tick): that of
 * the highest 6-bit digit in which they differ, so that the node's slot is
 * ahead of elapsed's on that level.  LEVELS or more: beyond the wheel.
 */
static unsigned
level_for(uint64_t elapsed, uint64_t tick)
{
	uint64_t masked = (elapsed ^ tick) | (SLOTS - 1);

	return (unsigned)(63 - __builtin_clzll(masked)) / BITS;
}


static unsigned
slot_of(uint64_t tick, unsigned level)
{
	return (unsigned)(tick >> (level * BITS)) & (SLOTS - 1);
}


/* The first tick of slot s of `level` in the turn that elapsed is in. */
static uint64_t
slot_start(uint64_t elapsed, unsigned level, unsigned s)
{
	unsigned above = (level + 1) * BITS;

	return (elapsed >> above << above) | ((uint64_t)s << (level * BITS));
}


/* When the overflow is filed again: level 5's next turn. */
static uint64_t
next_turn(uint64_t elapsed)
{
	return ((elapsed >> (LEVELS * BITS)) + 1) << (LEVELS * BITS);
}


/*
 * The earliest occupied slot: that of the lowest occupied level, because
 * a level's slots all lie within the current slot of the level above.
 */
static bool
next_slot(const struct weft__timers *t, unsigned *level, unsigned *s)
{
	unsigned l;

	for (l = 0; l < LEVELS; l++) {
		if (t->occupied[l]) {
			*level = l;
			*s = (unsigned)__builtin_ctzll(t->occupied[l]);
			return true;
		}
	}
	return false;
}


/* ---- the heap of the tick under way --------------------------------- */

/* Puts entry e at heap position pos, recording pos in its node. */
static void
heap_set(struct weft__timers *t, uint32_t pos, struct weft__timer_heap_entry e)
{
	t->heap[pos] = e;
	t->nodes[e.node].pos = pos;
}


static void
sift_up(struct weft__timers *t, uint32_t pos, struct weft__timer_heap_entry e)
{
	while (pos > 0) {
		uint32_t up = (pos - 1) / 2;

		if (t->heap[up].deadline <= e.deadline)
			break;
		heap_set(t, pos, t->heap[up]);
		pos = up;
	}
	heap_set(t, pos, e);
}


static void
sift_down(struct weft__timers *t, uint32_t pos, struct weft__timer_heap_entry e)
{
	const struct weft__timer_heap_entry *h = t->heap;
	uint32_t len = t->heap_len;

	for (;;) {
		uint32_t c = 2 * pos + 1;

		if (c >= len)
			break;
		if (c + 1 < len && h[c + 1].deadline < h[c].deadline)
			c++;
		if (e.deadline <= h[c].deadline)
			break;
		heap_set(t, pos, h[c]);
		pos = c;
	}
	heap_set(t, pos, e);
}


/* The caller reserved room: heap_cap is at least the nodes in use. */
static void
heap_push(struct weft__timers *t, uint32_t i)
{
	struct weft__timer_heap_entry e = {t->nodes[i].deadline, i};

	sift_up(t, t->heap_len++, e);
}


/* The last entry fills the hole and moves up or down, as it needs. */
static void
heap_remove(struct weft__timers *t, uint32_t pos)
{
	struct weft__timer_heap_entry last = t->heap[--t->heap_len];

	if (pos == t->heap_len)
		return;
	if (pos > 0 && last.deadline < t->heap[(pos - 1) / 2].deadline)
		sift_up(t, pos, last);
	else
		sift_down(t, pos, last);
}


static bool
in_heap(const struct weft__timers *t, uint32_t i)
{
	uint32_t pos = t->nodes[i].pos;

	return pos < t->heap_len && t->heap[pos].node == i;
}


/* ---- slots, in chunks ---------------------------------------------- */

/* Where a node sits in a slot: its chunk and its place there. */
#define POS(c, k)      ((c) << 4 | (k))
#define POS_CHUNK(pos) ((pos) >> 4)
#define POS_ITEM(pos)  ((pos)&15)
/* Chunk numbers must leave room for POS. */
#define MAX_CHUNKS (UINT32_MAX >> 4)
/* Slots that may be partly filled at once: every slot and the overflow. */
#define ALL_SLOTS (LEVELS * SLOTS + 1)


int
weft__wheel_reserve(struct weft__timers *t, uint32_t pending)
{
	/*
	 * Every chunk but a slot's first is full, and a cascade holds at most
	 * two chunks of the slot it empties, so this many always suffice.
	 */
	uint64_t need = pending / WEFT__TIMER_CHUNK + ALL_SLOTS + 2;
	uint32_t ncap = t->chunks_cap ? t->chunks_cap : 64 + ALL_SLOTS;
	void *p;

	if (need <= t->chunks_cap)
		return 0;
	if (need > MAX_CHUNKS)
		return -EOVERFLOW;
	while (ncap < need)
		ncap = ncap > MAX_CHUNKS / 2 ? MAX_CHUNKS : ncap * 2;
	p = weft__mem_grow(t->alloc, t->chunks,
	                   (size_t)t->chunks_cap * sizeof(*t->chunks),
	                   (size_t)ncap * sizeof(*t->chunks));
	if (!p)
		return -ENOMEM;
	t->chunks = p;
	t->chunks_cap = ncap;
	return 0;
}


/* A chunk from the pool: weft__wheel_reserve made sure there is one. */
static uint32_t
chunk_take(struct weft__timers *t)
{
	uint32_t c = t->chunks_free;

	if (c != NONE) {
		t->chunks_free = t->chunks[c].next;
		return c;
	}
	return t->chunks_len < t->chunks_cap ? t->chunks_len++ : NONE;
}


static void
chunk_give(struct weft__timers *t, uint32_t c)
{
	t->chunks[c].next = t->chunks_free;
	t->chunks_free = c;
}


static bool
slot_push(struct weft__timers *t, struct weft__timer_slot *sl, uint32_t i)
{
	if (sl->len == 0 || sl->head_n == WEFT__TIMER_CHUNK) {
		uint32_t c = chunk_take(t);

		if (c == NONE)
			return false;
		t->chunks[c].next = sl->len ? sl->head : NONE;
		sl->head = c;
		sl->head_n = 0;
	}
	t->chunks[sl->head].node[sl->head_n] = i;
	t->nodes[i].pos = POS(sl->head, sl->head_n);
	sl->head_n++;
	sl->len++;
	return true;
}


/* Takes the slot's last node out; returns it. */
static uint32_t
slot_pop(struct weft__timers *t, struct weft__timer_slot *sl)
{
	struct weft__timer_chunk *c = &t->chunks[sl->head];
	uint32_t i = c->node[--sl->head_n];

	sl->len--;
	if (sl->head_n == 0) {
		uint32_t next = c->next;

		chunk_give(t, sl->head);
		sl->head = next;
		sl->head_n = sl->len ? WEFT__TIMER_CHUNK : 0;
	}
	return i;
}


/*
 * The slot (or the overflow, level LEVELS) for a node due at `tick`, seen
 * from the wheel's time; NULL when the node belongs in the heap.
 */
static struct weft__timer_slot *
slot_for(struct weft__timers *t, uint64_t tick, unsigned *level, unsigned *s)
{
	if (tick <= t->elapsed)
		return NULL;
	*level = level_for(t->elapsed, tick);
	if (*level >= LEVELS) {
		*level = LEVELS;
		return &t->overflow;
	}
	*s = slot_of(tick, *level);
	return &t->slots[*level][*s];
}


void
weft__wheel_fini(struct weft__timers *t)
{
	weft__mem_free(t->alloc, t->chunks);
}


void
weft__wheel_insert(struct weft__timers *t, uint32_t i)
{
	unsigned level, s = 0;
	struct weft__timer_slot *sl =
	    slot_for(t, t->nodes[i].deadline >> SHIFT, &level, &s);

	/* The heap always has room (and is exact, were the pool ever dry). */
	if (!sl || !slot_push(t, sl, i)) {
		heap_push(t, i);
		return;
	}
	if (level < LEVELS)
		t->occupied[level] |= 1ull << s;
}


void
weft__wheel_remove(struct weft__timers *t, uint32_t i)
{
	uint32_t pos = t->nodes[i].pos, last;
	struct weft__timer_slot *sl;
	unsigned level, s = 0;

	if (in_heap(t, i)) {
		heap_remove(t, pos);
		return;
	}
	sl = slot_for(t, t->nodes[i].deadline >> SHIFT, &level, &s);
	/* The slot's last node takes the hole. */
	last = slot_pop(t, sl);
	if (last != i) {
		t->chunks[POS_CHUNK(pos)].node[POS_ITEM(pos)] = last;
		t->nodes[last].pos = pos;
	}
	if (sl->len == 0 && level < LEVELS)
		t->occupied[level] &= ~(1ull << s);
}


/* Asks memory for the first n nodes of chunk c, which are needed soon. */
static void
prefetch_nodes(const struct weft__timers *t, uint32_t c, uint32_t n)
{
	uint32_t k;

	for (k = 0; k < n; k++)
		__builtin_prefetch(&t->nodes[t->chunks[c].node[k]]);
}


/*
 * Moves the wheel's time to `start` and files every node of *sl again,
 * seen from there: a slot of level L moves down a level or more, level 0
 * to the heap, the overflow into the wheel (or back).  Each chunk goes
 * back to the pool once walked.  Memory is asked ahead for the nodes of
 * the next chunk and for the chunk after it, so that their misses overlap
 * the filing of this one.
 */
static void
cascade(struct weft__timers *t, struct weft__timer_slot *sl, uint64_t start)
{
	uint32_t c = sl->head, n = sl->head_n, left = sl->len;

	t->elapsed = start;
	*sl = (struct weft__timer_slot){0, 0, 0};
	if (left > 0)
		prefetch_nodes(t, c, n);
	while (left > 0) {
		uint32_t k, next = t->chunks[c].next;

		left -= n;
		if (left > 0) {
			prefetch_nodes(t, next, WEFT__TIMER_CHUNK);
			if (left > WEFT__TIMER_CHUNK)
				__builtin_prefetch(
				    &t->chunks[t->chunks[next].next]);
		}
		for (k = 0; k < n; k++)
			weft__wheel_insert(t, t->chunks[c].node[k]);
		chunk_give(t, c);
		c = next;
		n = WEFT__TIMER_CHUNK;
	}
}


uint32_t
weft__wheel_next_due(struct weft__timers *t, uint64_t now)
{
	uint64_t now_tick = now >> SHIFT;

	for (;;) {
		struct weft__timer_slot *sl;
		uint64_t start;
		unsigned level, s;
		uint32_t i;

		if (t->heap_len > 0 && t->heap[0].deadline <= now) {
			uint32_t top = t->heap[0].node;

			heap_remove(t, 0);
			return top;
		}
		if (next_slot(t, &level, &s)) {
			start = slot_start(t->elapsed, level, s);
			if (start > now_tick)
				break;
			sl = &t->slots[level][s];
			if (start + (1ull << (level * BITS)) <= now_tick) {
				/* Wholly past: it fires as it is. */
				i = slot_pop(t, sl);
				if (sl->len == 0)
					t->occupied[level] &= ~(1ull << s);
				else if (sl->head_n == WEFT__TIMER_CHUNK)
					prefetch_nodes(t, sl->head,
					               WEFT__TIMER_CHUNK);
				return i;
			}
			t->occupied[level] &= ~(1ull << s);
			cascade(t, sl, start);
			continue;
		}
		if (t->overflow.len == 0 || next_turn(t->elapsed) > now_tick)
			break;
		/* Level 5 turns over: what is now in reach moves in. */
		cascade(t, &t->overflow, next_turn(t->elapsed));
	}
	/*
	 * Nothing is due before now_tick, nor is the overflow: the wheel
	 * catches up, and the levels of the nodes filed stay what they are.
	 */
	if (now_tick > t->elapsed)
		t->elapsed = now_tick;
	return NONE;
}


uint64_t
weft__wheel_next_deadline(const struct weft__timers *t)
{
	uint64_t first = WEFT__TIMER_NONE, tick;
	unsigned level, s;

	if (t->heap_len > 0)
		first = t->heap[0].deadline;
	if (next_slot(t, &level, &s))
		tick = slot_start(t->elapsed, level, s);
	else if (t->overflow.len > 0)
		tick = next_turn(t->elapsed);
	else
		return first;
	/* A tick past the clock's range is as good as never. */
	if (tick >> (64 - SHIFT))
		return first < WEFT__TIMER_NONE - 1 ? first
		                                    : WEFT__TIMER_NONE - 1;
	return first < tick << SHIFT ? first : tick << SHIFT;
}


uint64_t
weft__wheel_settle(struct weft__timers *t)
{
	for (;;) {
		uint64_t first =
		    t->heap_len > 0 ? t->heap[0].deadline : WEFT__TIMER_NONE;
		struct weft__timer_slot *sl;
		unsigned level, s;
		uint64_t start;

		if (next_slot(t, &level, &s)) {
			start = slot_start(t->elapsed, level, s);
			sl = &t->slots[level][s];
		} else if (t->overflow.len > 0) {
			start = next_turn(t->elapsed);
			sl = &t->overflow;
			level = LEVELS;
			s = 0;
		} else {
			return first;
		}
		/*
		 * Every node of that slot is due at or after its start, and it
		 * holds the earliest of the wheel's (see next_slot): when the
		 * heap's first is no later, it is the earliest of all.
		 */
		if (first <= start << SHIFT)
			return first;
		if (level < LEVELS)
			t->occupied[level] &= ~(1ull << s);
		/*
		 * The wheel's time moves to the slot's start, which may be past
		 * the clock: that only sorts, since firing compares deadlines,
		 * and what is armed before it goes to the exact heap.
		 */
		cascade(t, sl, start);
	}
}


/* ---- the invariants, for tests -------------------------------------- */

static bool
check_slot(const struct weft__timers *t, const struct weft__timer_slot *sl,
           unsigned level, unsigned s, uint32_t *count, uint32_t *chunks)
{
	uint32_t c = sl->head, n = sl->head_n, left = sl->len, k;

	if (left > 0 && (n == 0 || n > WEFT__TIMER_CHUNK || n > left))
		return false;
	while (left > 0) {
		if (c >= t->chunks_len || ++*chunks > t->chunks_len)
			return false;
		for (k = 0; k < n; k++) {
			uint32_t i = t->chunks[c].node[k];
			uint64_t tick;
			unsigned l;

			if (i >= t->nodes_len || t->nodes[i].pos != POS(c, k))
				return false;
			tick = t->nodes[i].deadline >> SHIFT;
			if (tick <= t->elapsed)
				return false;
			l = level_for(t->elapsed, tick);
			if (level == LEVELS
			        ? l < LEVELS
			        : l != level || slot_of(tick, l) != s)
				return false;
			if (++*count > t->nodes_len)
				return false;
		}
		left -= n;
		n = left < WEFT__TIMER_CHUNK ? 0 : WEFT__TIMER_CHUNK;
		if (left > 0 && n == 0)
			return false; /* only the first chunk may be partial */
		c = t->chunks[c].next;
	}
	return true;
}


bool
weft__wheel_check(const struct weft__timers *t, uint32_t *count)
{
	uint32_t i, chunks = 0, free_chunks = 0;
	unsigned l, s;

	*count = 0;
	if (t->heap_len > t->heap_cap)
		return false;
	for (i = 0; i < t->heap_len; i++) {
		const struct weft__timer_heap_entry *e = &t->heap[i];

		if (e->node >= t->nodes_len || t->nodes[e->node].pos != i ||
		    t->nodes[e->node].deadline != e->deadline)
			return false;
		if (i > 0 && e->deadline < t->heap[(i - 1) / 2].deadline)
			return false;
	}
	*count = t->heap_len;
	for (l = 0; l < LEVELS; l++) {
		for (s = 0; s < SLOTS; s++) {
			const struct weft__timer_slot *sl = &t->slots[l][s];

			if ((sl->len > 0) != !!(t->occupied[l] & (1ull << s)))
				return false;
			if (!check_slot(t, sl, l, s, count, &chunks))
				return false;
		}
	}
	if (!check_slot(t, &t->overflow, LEVELS, 0, count, &chunks))
		return false;
	for (i = t->chunks_free; i != NONE && free_chunks <= t->chunks_len;
	     i = t->chunks[i].next)
		free_chunks++;
	return chunks + free_chunks == t->chunks_len &&
	       t->chunks_len <= t->chunks_cap;
}
