/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the timing wheel under the driver's timers
 * (runtime/timer.c and wheel.c): cascades through every level, the
 * overflow beyond them, cancelling wherever a timer is filed, re-arming,
 * deadlines in the past, batches, running out of memory, and a long random
 * run.  Throughout: a timer never fires before its deadline, and once the
 * due timers are popped at `now`, none with a deadline <= now is left.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "timer.h"

#define TICK ((uint64_t)1 << WEFT__TIMER_TICK_SHIFT)
/* The span of one slot of level l, in ns. */
#define SPAN(l) (TICK << (WEFT__TIMER_SLOT_BITS * (l)))
/* How far level 5 reaches. */
#define REACH SPAN(WEFT__TIMER_LEVELS)
/* A start that is on no boundary of any level. */
#define T0 ((uint64_t)5000000000000 + 12345)

/* ---- wakers that say which timer they belong to --------------------- */

static int wakers_alive;

static struct weft_waker tag_clone(const void *data);

static void
tag_drop(const void *data)
{
	(void)data;
	wakers_alive--;
}


/* Only clone, wake and drop are called here. */
static const struct weft_waker_vtable tag_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = tag_clone,
    .wake = tag_drop,
    .drop = tag_drop,
};

static struct weft_waker
tag_clone(const void *data)
{
	wakers_alive++;
	return (struct weft_waker){&tag_vtable, data};
}


/* A borrowed waker naming model entry n. */
static struct weft_waker
tag(uint32_t n)
{
	return (struct weft_waker){&tag_vtable, (const void *)(uintptr_t)n};
}


static uint64_t
rng(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* ---- a model of what should be pending ------------------------------ */

enum { PENDING, FIRED, GONE };

struct model {
	struct weft__timers t;
	uint64_t *id, *deadline;
	int *state;
	uint32_t *live;  /* the entries not GONE */
	uint32_t *where; /* an entry's index in live */
	uint32_t n, nlive, cap;
	uint64_t now;
};

static void
model_init(struct model *m, uint32_t cap, uint64_t now)
{
	wakers_alive = 0;
	weft__timer_init(&m->t, 99);
	weft__timer_start(&m->t, now);
	m->id = calloc(cap, sizeof(*m->id));
	m->deadline = calloc(cap, sizeof(*m->deadline));
	m->state = calloc(cap, sizeof(*m->state));
	m->live = calloc(cap, sizeof(*m->live));
	m->where = calloc(cap, sizeof(*m->where));
	assert_true(m->id && m->deadline && m->state && m->live && m->where);
	m->n = 0;
	m->nlive = 0;
	m->cap = cap;
	m->now = now;
}


static void
model_fini(struct model *m)
{
	weft__timer_fini(&m->t);
	assert_int_equal(wakers_alive, 0);
	free(m->id);
	free(m->deadline);
	free(m->state);
	free(m->live);
	free(m->where);
}


/* Arms a timer whose waker names its model entry: 0 or the error. */
static int
try_arm(struct model *m, uint64_t deadline)
{
	uint32_t k = m->n;
	struct weft_waker w = tag(k);
	int r;

	assert_true(k < m->cap);
	r = weft__timer_add_waker(&m->t, deadline, &m->id[k], &w);
	if (r < 0)
		return r;
	m->n++;
	m->deadline[k] = deadline;
	m->state[k] = PENDING;
	m->where[k] = m->nlive;
	m->live[m->nlive++] = k;
	return 0;
}


/* Arms a timer that must arm; returns its model entry. */
static uint32_t
arm(struct model *m, uint64_t deadline)
{
	assert_int_equal(try_arm(m, deadline), 0);
	return m->n - 1;
}


static void
cancel(struct model *m, uint32_t k)
{
	struct weft_waker w = {0, 0};

	assert_int_equal(weft__timer_del(&m->t, m->id[k], &w), 0);
	if (m->state[k] == PENDING) {
		assert_ptr_equal(w.vtable, &tag_vtable);
		assert_int_equal((uintptr_t)w.data, k);
		weft_waker_drop(&w);
	} else {
		assert_null(w.vtable);
	}
	m->state[k] = GONE;
	m->live[m->where[k]] = m->live[--m->nlive];
	m->where[m->live[m->where[k]]] = m->where[k];
	assert_int_equal(weft__timer_state(&m->t, m->id[k], NULL), -ENOENT);
}


/*
 * Moves the clock to now and pops what is due: each popped timer must be
 * pending and due; afterwards nothing due may be left, and the next
 * deadline must lie after now and no later than the earliest pending one.
 */
static uint32_t
advance(struct model *m, uint64_t now)
{
	struct weft_waker w;
	uint64_t first = WEFT__TIMER_NONE, next;
	uint32_t i, k, popped = 0;

	assert_true(now >= m->now);
	m->now = now;
	while (weft__timer_pop(&m->t, now, &w)) {
		assert_ptr_equal(w.vtable, &tag_vtable);
		k = (uint32_t)(uintptr_t)w.data;
		assert_true(k < m->n);
		assert_int_equal(m->state[k], PENDING);
		/* Never early. */
		assert_true(m->deadline[k] <= now);
		m->state[k] = FIRED;
		assert_int_equal(weft__timer_state(&m->t, m->id[k], NULL), 1);
		weft_waker_wake(&w);
		popped++;
	}
	for (i = 0; i < m->nlive; i++) {
		k = m->live[i];
		if (m->state[k] != PENDING)
			continue;
		/* Not late: everything due has fired. */
		assert_true(m->deadline[k] > now);
		if (m->deadline[k] < first)
			first = m->deadline[k];
	}
	next = weft__timer_next_deadline(&m->t);
	assert_true(next <= first);
	if (first != WEFT__TIMER_NONE)
		/* A park would not spin. */
		assert_true(next > now);
	return popped;
}


/* Steps the clock to just before, then onto, every pending deadline. */
static void
walk_every_deadline(struct model *m)
{
	for (;;) {
		uint64_t first = UINT64_MAX;
		bool any = false;
		uint32_t i, k;

		for (i = 0; i < m->nlive; i++) {
			k = m->live[i];
			if (m->state[k] == PENDING && m->deadline[k] <= first) {
				first = m->deadline[k];
				any = true;
			}
		}
		if (!any)
			return;
		if (first > m->now + 1)
			assert_int_equal(advance(m, first - 1), 0);
		assert_true(advance(m, first > m->now ? first : m->now) >= 1);
		assert_true(weft__timer_check(&m->t));
	}
}

/* ---- the tests ------------------------------------------------------ */

static void
cascades_down_every_level(void **state)
{
	struct model m;
	uint64_t seed = 7;
	unsigned l;
	int k;

	(void)state;
	model_init(&m, 1024, T0);
	for (l = 0; l < WEFT__TIMER_LEVELS; l++) {
		/* On slot boundaries, a nanosecond either side, and between. */
		for (k = 1; k <= 3; k++) {
			uint64_t at = (T0 / SPAN(l) + (uint64_t)k) * SPAN(l);

			arm(&m, at - 1);
			arm(&m, at);
			arm(&m, at + 1);
			arm(&m, T0 + rng(&seed) % (SPAN(l) * 64));
		}
	}
	assert_true(weft__timer_check(&m.t));
	/* Each level holds some, so every level cascades on the way. */
	for (l = 1; l < WEFT__TIMER_LEVELS; l++)
		assert_int_not_equal(m.t.occupied[l], 0);
	walk_every_deadline(&m);
	assert_int_equal(m.t.pending, 0);
	model_fini(&m);
}


static void
fires_whole_past_slots_after_a_jump(void **state)
{
	struct model m;
	uint64_t seed = 11;
	uint32_t k;

	(void)state;
	model_init(&m, 4096, T0);
	for (k = 0; k < 4000; k++)
		arm(&m, T0 + rng(&seed) % (3600 * (uint64_t)1000000000));
	assert_true(weft__timer_check(&m.t));
	/* Half an hour at once, then the rest. */
	assert_true(advance(&m, T0 + 1800 * (uint64_t)1000000000) > 0);
	assert_true(weft__timer_check(&m.t));
	advance(&m, T0 + 7200 * (uint64_t)1000000000);
	assert_int_equal(m.t.pending, 0);
	assert_true(weft__timer_check(&m.t));
	while (m.nlive > 0)
		cancel(&m, m.live[0]);
	assert_int_equal(m.t.live, 0);
	model_fini(&m);
}


static void
cancels_wherever_filed(void **state)
{
	struct model m;
	uint32_t k, first;
	unsigned l;

	(void)state;
	model_init(&m, 256, T0);
	/* Past (the heap), every level, beyond the wheel (the overflow). */
	first = arm(&m, T0 - 5);
	arm(&m, T0);
	for (l = 0; l < WEFT__TIMER_LEVELS; l++)
		for (k = 0; k < 4; k++)
			arm(&m, T0 + SPAN(l) * (k + 2) + k);
	arm(&m, T0 + REACH * 2);
	arm(&m, UINT64_MAX);
	assert_true(m.t.heap_len >= 2);
	assert_true(m.t.overflow.len >= 2);
	assert_true(weft__timer_check(&m.t));
	/* Every other one, from each place, in an order that moves others. */
	for (k = first; k < m.n; k += 2) {
		cancel(&m, k);
		assert_true(weft__timer_check(&m.t));
	}
	assert_int_equal(weft__timer_del(&m.t, m.id[first], NULL), -ENOENT);
	walk_every_deadline(&m);
	while (m.nlive > 0)
		cancel(&m, m.live[0]);
	assert_true(weft__timer_check(&m.t));
	assert_int_equal(m.t.live, 0);
	model_fini(&m);
}


static void
rearms_like_an_interval(void **state)
{
	static const uint64_t periods[] = {1000, 1000000, 7000000, 300000000,
	                                   1000000000};
	struct model m;
	uint64_t deadline = T0, last_id = 0;
	uint32_t k;
	int i;

	(void)state;
	model_init(&m, 20001, T0);
	for (i = 0; i < 20000; i++) {
		deadline += periods[i % 5] + (uint64_t)i;
		k = arm(&m, deadline);
		assert_int_not_equal(m.id[k], last_id);
		last_id = m.id[k];
		assert_int_equal(advance(&m, deadline - 1), 0);
		assert_int_equal(advance(&m, deadline), 1);
		cancel(&m, k);
	}
	/* One handle and one node, used over and over. */
	assert_int_equal(m.t.handles_len, 1);
	assert_int_equal(m.t.nodes_len, 1);
	assert_true(weft__timer_check(&m.t));
	model_fini(&m);
}


static void
far_deadlines_wait_beyond_the_wheel(void **state)
{
	struct model m;
	uint64_t turn = REACH;
	uint32_t k;

	(void)state;
	/* Just before level 5 turns over: the next turn is ticks away. */
	model_init(&m, 64, (T0 / turn + 1) * turn - 3 * TICK);
	arm(&m, m.now + 5 * TICK);     /* just across the turn */
	arm(&m, m.now + turn + 7);     /* beyond the wheel */
	arm(&m, m.now + 3 * turn + 1); /* three turns on */
	arm(&m, (uint64_t)1 << 62);    /* centuries */
	arm(&m, UINT64_MAX - 1);
	arm(&m, UINT64_MAX);
	assert_true(m.t.overflow.len >= 5);
	assert_true(weft__timer_check(&m.t));
	walk_every_deadline(&m);
	assert_int_equal(m.now, UINT64_MAX);
	for (k = 0; k < m.n; k++)
		assert_int_equal(m.state[k], FIRED);
	model_fini(&m);
}


static void
past_deadlines_fire_at_once_in_order(void **state)
{
	static const uint64_t past[] = {T0, 1, T0 - 1, 0, T0 / 2, T0 - TICK};
	struct weft_waker w;
	struct model m;
	uint64_t last = 0;
	unsigned i;

	(void)state;
	model_init(&m, 16, T0);
	for (i = 0; i < 6; i++)
		arm(&m, past[i]);
	assert_int_equal(m.t.heap_len, 6);
	assert_int_equal(weft__timer_next_deadline(&m.t), 0);
	for (i = 0; i < 6; i++) {
		assert_true(weft__timer_pop(&m.t, T0, &w));
		assert_true(m.deadline[(uintptr_t)w.data] >= last);
		last = m.deadline[(uintptr_t)w.data];
		m.state[(uintptr_t)w.data] = FIRED;
		weft_waker_drop(&w);
	}
	assert_false(weft__timer_pop(&m.t, T0, &w));
	assert_int_equal(weft__timer_next_deadline(&m.t), WEFT__TIMER_NONE);
	model_fini(&m);
}


static void
fire_fills_a_batch(void **state)
{
	struct weft_waker out[32];
	struct model m;
	uint64_t id;
	uint32_t k, got, total = 0;

	(void)state;
	model_init(&m, 128, T0);
	for (k = 0; k < 100; k++)
		arm(&m, T0 + k * 1000);
	/* Timers nobody waits on fire too, but fill no room. */
	for (k = 0; k < 50; k++)
		assert_int_equal(weft__timer_add(&m.t, T0 + k * 999, &id), 0);
	do {
		got = weft__timer_fire(&m.t, T0 + 100000, out, 32);
		for (k = 0; k < got; k++) {
			assert_ptr_equal(out[k].vtable, &tag_vtable);
			weft_waker_wake(&out[k]);
		}
		total += got;
	} while (got == 32);
	assert_int_equal(total, 100);
	assert_int_equal(m.t.pending, 0);
	assert_int_equal(m.t.live, 150);
	model_fini(&m);
}


/* An allocator that fails while `tight` is set, and counts the calls. */
static bool tight;
static unsigned long asked;

static void *
tight_alloc(void *ud, size_t size)
{
	(void)ud;
	asked++;
	return tight ? NULL : malloc(size);
}


static void
tight_free(void *ud, void *p)
{
	(void)ud;
	free(p);
}


static void
arming_alone_needs_memory(void **state)
{
	static const struct weft_allocator counting = {
	    .version = 1, .alloc = tight_alloc, .free = tight_free};
	struct model m;
	uint64_t seed = 3;
	unsigned long before;
	uint32_t live;
	int r;

	(void)state;
	model_init(&m, 4096, T0);
	m.t.alloc = &counting;
	tight = false;
	while (m.t.live < 2000)
		arm(&m, T0 + rng(&seed) % SPAN(3));
	/* Arming fails cleanly once the memory it needs is refused. */
	tight = true;
	do {
		live = m.t.live;
		r = try_arm(&m, T0 + rng(&seed) % SPAN(3));
	} while (r == 0);
	assert_int_equal(r, -ENOMEM);
	assert_int_equal(m.t.live, live);
	assert_true(weft__timer_check(&m.t));
	/* Cascading and firing through every level ask for nothing. */
	before = asked;
	walk_every_deadline(&m);
	assert_int_equal(asked, before);
	assert_int_equal(m.t.pending, 0);
	tight = false;
	model_fini(&m);
}


static void
random_arm_cancel_never_early(void **state)
{
	enum { OPS = 100000, CAP = OPS };
	struct model m;
	uint64_t seed = 0x9e3779b97f4a7c15u;
	int op;

	(void)state;
	model_init(&m, CAP + 1, T0);
	for (op = 0; op < OPS; op++) {
		uint64_t r = rng(&seed), deadline;
		unsigned bits;

		if (r % 100 < 45) {
			/* Mostly soon, some far, some past. */
			bits = (unsigned)(rng(&seed) % 58);
			deadline =
			    m.now + (rng(&seed) & (((uint64_t)1 << bits) - 1));
			if (r % 100 < 3)
				deadline = m.now - rng(&seed) % (m.now + 1);
			arm(&m, deadline);
		} else if (r % 100 < 70 && m.nlive > 0) {
			cancel(&m, m.live[rng(&seed) % m.nlive]);
		} else if (r % 1000 < 995) {
			advance(&m, m.now + rng(&seed) % (3 * TICK));
		} else {
			advance(&m, m.now + (rng(&seed) >> 24));
		}
		if (op % 1000 == 0)
			assert_true(weft__timer_check(&m.t));
	}
	assert_true(weft__timer_check(&m.t));
	advance(&m, UINT64_MAX);
	assert_int_equal(m.t.pending, 0);
	while (m.nlive > 0)
		cancel(&m, m.live[0]);
	assert_int_equal(m.t.live, 0);
	assert_true(weft__timer_check(&m.t));
	model_fini(&m);
}


static void
slots_give_chunks_back(void **state)
{
	struct weft__timer_slot *sl;
	struct model m;
	uint64_t at = (T0 / TICK + 5) * TICK;
	uint32_t k, chunks;

	(void)state;
	model_init(&m, 16384, T0);
	/* One tick a few ahead: all in one slot of level 0. */
	for (k = 0; k < 8000; k++)
		arm(&m, at + k);
	sl = &m.t.slots[0][(at / TICK) % WEFT__TIMER_SLOTS];
	assert_int_equal(sl->len, 8000);
	chunks = m.t.chunks_len;
	/* From the middle, so that the last ones move into the holes. */
	while (m.nlive > 0) {
		cancel(&m, m.live[m.nlive / 2]);
		if (m.nlive % 1000 == 0)
			assert_true(weft__timer_check(&m.t));
	}
	assert_int_equal(sl->len, 0);
	assert_int_equal(m.t.occupied[0], 0);
	/* All back in the pool, and enough for the same again. */
	for (k = 0; k < 8000; k++)
		arm(&m, at + k);
	assert_int_equal(m.t.chunks_len, chunks);
	assert_true(weft__timer_check(&m.t));
	walk_every_deadline(&m);
	model_fini(&m);
}


static void
start_moves_only_an_empty_wheel(void **state)
{
	struct weft__timers t;
	uint64_t id;

	(void)state;
	weft__timer_init(&t, 0);
	weft__timer_start(&t, T0);
	assert_int_equal(t.elapsed, T0 >> WEFT__TIMER_TICK_SHIFT);
	assert_int_equal(weft__timer_add(&t, T0 + SPAN(2), &id), 0);
	weft__timer_start(&t, T0 * 2);
	assert_int_equal(t.elapsed, T0 >> WEFT__TIMER_TICK_SHIFT);
	assert_true(weft__timer_check(&t));
	weft__timer_fini(&t);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cascades_down_every_level),
	    cmocka_unit_test(fires_whole_past_slots_after_a_jump),
	    cmocka_unit_test(cancels_wherever_filed),
	    cmocka_unit_test(rearms_like_an_interval),
	    cmocka_unit_test(far_deadlines_wait_beyond_the_wheel),
	    cmocka_unit_test(past_deadlines_fire_at_once_in_order),
	    cmocka_unit_test(fire_fills_a_batch),
	    cmocka_unit_test(arming_alone_needs_memory),
	    cmocka_unit_test(random_arm_cancel_never_early),
	    cmocka_unit_test(slots_give_chunks_back),
	    cmocka_unit_test(start_moves_only_an_empty_wheel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
