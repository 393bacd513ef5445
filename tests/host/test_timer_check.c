/* SPDX-License-Identifier: MIT */
/*
 * The invariant check that the timer tests lean on (weft__timer_check)
 * must not pass vacuously: each invariant is broken in turn on a set of
 * timers filed in the heap, in two levels of the wheel and in the
 * overflow, the check must fail, and it passes again once the field is
 * put back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "timer.h"
#include "wheel.h"

#define TICK ((uint64_t)1 << WEFT__TIMER_TICK_SHIFT)
#define NOW  ((uint64_t)1 << 30)

static struct weft__timers t;

/* The field at p is changed to v; the check fails; then it is put back. */
#define EXPECT_CAUGHT(p, v)                                                    \
	do {                                                                   \
		__typeof__(p) saved_ = (p);                                    \
		(p) = (v);                                                     \
		assert_false(weft__timer_check(&t));                           \
		(p) = saved_;                                                  \
		assert_true(weft__timer_check(&t));                            \
	} while (0)

/* The one occupied slot of a level. */
static struct weft__timer_slot *
slot_of_level(unsigned level, unsigned *s_out)
{
	unsigned s;

	for (s = 0; s < WEFT__TIMER_SLOTS; s++)
		if (t.occupied[level] & (1ull << s))
			break;
	assert_true(s < WEFT__TIMER_SLOTS);
	*s_out = s;
	return &t.slots[level][s];
}


static int
setup(void **state)
{
	uint64_t id;

	(void)state;
	weft__timer_init(&t, 3);
	weft__timer_start(&t, NOW);
	/* Two due in the tick under way: the heap. */
	assert_int_equal(weft__timer_add(&t, NOW + 5, &id), 0);
	assert_int_equal(weft__timer_add(&t, NOW + 9, &id), 0);
	/* Level 0, level 2 and far beyond the wheel. */
	assert_int_equal(weft__timer_add(&t, NOW + 10 * TICK, &id), 0);
	assert_int_equal(weft__timer_add(&t, NOW + 5000 * TICK, &id), 0);
	assert_int_equal(weft__timer_add(&t, NOW + ((uint64_t)1 << 60), &id),
	                 0);
	assert_true(weft__timer_check(&t));
	assert_int_equal(t.heap_len, 2);
	assert_true(t.occupied[0] != 0 && t.occupied[2] != 0);
	assert_int_equal(t.overflow.len, 1);
	return 0;
}


static int
teardown(void **state)
{
	(void)state;
	weft__timer_fini(&t);
	return 0;
}


static void
heap_invariants(void **state)
{
	struct weft__timer_heap_entry *h = t.heap;

	(void)state;
	EXPECT_CAUGHT(t.heap_len, t.heap_cap + 1);
	EXPECT_CAUGHT(h[0].node, t.nodes_len);
	EXPECT_CAUGHT(t.nodes[h[0].node].pos, 1);
	EXPECT_CAUGHT(h[1].deadline, h[1].deadline + 1);
	/* Out of heap order, but each entry agreeing with its node. */
	h[1].deadline = t.nodes[h[1].node].deadline = h[0].deadline - 1;
	assert_false(weft__timer_check(&t));
	h[1].deadline = t.nodes[h[1].node].deadline = NOW + 9;
	assert_true(weft__timer_check(&t));
}


static void
slot_invariants(void **state)
{
	struct weft__timer_slot *sl;
	struct weft__timer_node *n;
	unsigned s;

	(void)state;
	sl = slot_of_level(0, &s);
	n = &t.nodes[t.chunks[sl->head].node[0]];
	/* A slot marked empty that is not, and one marked full that is. */
	EXPECT_CAUGHT(t.occupied[0], t.occupied[0] & ~(1ull << s));
	EXPECT_CAUGHT(t.occupied[0], t.occupied[0] | (1ull << ((s + 1) % 64)));
	/* The first chunk's count: none, too many, more than the slot. */
	EXPECT_CAUGHT(sl->head_n, 0);
	EXPECT_CAUGHT(sl->head_n, WEFT__TIMER_CHUNK + 1);
	EXPECT_CAUGHT(sl->head_n, sl->len + 1);
	/* A slot longer than its chunks, whose second chunk is partial. */
	EXPECT_CAUGHT(sl->len, sl->len + 3);
	EXPECT_CAUGHT(sl->head, t.chunks_len);
	/* The node: its place, a deadline already passed, another slot. */
	EXPECT_CAUGHT(n->pos, n->pos ^ 1);
	EXPECT_CAUGHT(n->deadline, 0);
	EXPECT_CAUGHT(n->deadline, n->deadline + TICK);
	sl = slot_of_level(2, &s);
	n = &t.nodes[t.chunks[sl->head].node[0]];
	EXPECT_CAUGHT(n->deadline, NOW + 10 * TICK);
	/* The overflow holds only what is beyond every level. */
	n = &t.nodes[t.chunks[t.overflow.head].node[0]];
	EXPECT_CAUGHT(n->deadline, NOW + 5000 * TICK);
	EXPECT_CAUGHT(t.chunks_cap, t.chunks_len - 1);
}


static void
count_invariants(void **state)
{
	(void)state;
	EXPECT_CAUGHT(t.live, t.live + 1);
	EXPECT_CAUGHT(t.pending, t.pending - 1);
	EXPECT_CAUGHT(t.heap_cap, t.nodes_len - 1);
	EXPECT_CAUGHT(t.nodes_len, t.nodes_len + 1);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(heap_invariants),
	    cmocka_unit_test(slot_invariants),
	    cmocka_unit_test(count_invariants),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
