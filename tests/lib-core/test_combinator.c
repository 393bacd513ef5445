/* SPDX-License-Identifier: MIT */
/*
 * Combinators on a real runtime: join, try_join, select (winner, losers
 * dropped once, biased order, fairness, else), fuse, map and then.
 */
#include <errno.h>

#include <weft/combinator.h>

#include "common.h"

static void
test_join_all(void **state)
{
	atomic_int drops = 0, done = 0;
	struct probe p[3];
	struct weft_join_all j;
	uint64_t t0;

	(void)state;
	probe_init(&p[0], 30, 0, &drops, &done);
	probe_init(&p[1], 10, 0, &drops, &done);
	probe_init(&p[2], 20, 0, &drops, &done);
	assert_int_equal(
	    weft_join_init(&j, 3, &p[0].base, &p[1].base, &p[2].base), 0);
	t0 = now_ns();
	run(&j.base);
	assert_true(now_ns() - t0 >= 30 * WEFT_MSEC);
	assert_int_equal(j.status, 0);
	assert_int_equal(atomic_load(&done), 3);
	assert_int_equal(atomic_load(&drops), 3);
	weft_future_drop(&j.base);
	assert_int_equal(atomic_load(&drops), 3);
}


static void
test_join_all_array(void **state)
{
	atomic_int drops = 0, done = 0;
	struct probe p[10];
	struct weft_future *kids[10];
	struct weft_join_all j;
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		probe_init(&p[i], (uint64_t)(i % 4) * 5, i, &drops, &done);
		kids[i] = &p[i].base;
	}
	weft_join_all_init(&j, kids, 10);
	run(&j.base);
	weft_future_drop(&j.base);
	assert_int_equal(atomic_load(&done), 10);
	assert_int_equal(atomic_load(&drops), 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(p[i].status, i);
	assert_int_equal(weft_join_init(&j, 9, NULL), -E2BIG);
}


static void
test_try_join_first_error(void **state)
{
	atomic_int drops = 0, done = 0;
	struct probe p[4];
	struct weft_join_all j;

	(void)state;
	probe_init(&p[0], 10, 0, &drops, &done);
	probe_init(&p[1], 40, -5, &drops, &done);
	probe_init(&p[2], 2000, 0, &drops, &done);
	probe_init(&p[3], 90, -7, &drops, &done);
	weft_try_join_init(&j, weft_status_output, NULL, 4, &p[0].base,
	                   &p[1].base, &p[2].base, &p[3].base);
	run(&j.base);
	assert_int_equal(j.status, -5);
	assert_int_equal(j.failed, 1);
	/* The failing child and the one before it finished; the rest were
	 * cancelled, and every child was dropped exactly once. */
	assert_int_equal(atomic_load(&done), 2);
	assert_int_equal(atomic_load(&drops), 4);
	weft_future_drop(&j.base);
	assert_int_equal(atomic_load(&drops), 4);
}


static void
test_try_join_ok(void **state)
{
	atomic_int drops = 0;
	struct probe a, b;
	struct weft_join_all j;

	(void)state;
	probe_init(&a, 5, 0, &drops, NULL);
	probe_init(&b, 8, 3, &drops, NULL);
	weft_try_join_init(&j, weft_status_output, NULL, 2, &a.base, &b.base);
	run(&j.base);
	weft_future_drop(&j.base);
	assert_int_equal(j.status, 0);
	assert_int_equal(j.failed, -1);
	assert_int_equal(b.status, 3);
	assert_int_equal(atomic_load(&drops), 2);
}


static void
test_select_winner(void **state)
{
	atomic_int drops = 0, done = 0;
	struct probe p[3];
	struct weft_select s;
	uint64_t t0;

	(void)state;
	probe_init(&p[0], 1000, 0, &drops, &done);
	probe_init(&p[1], 20, 0, &drops, &done);
	probe_init(&p[2], 2000, 0, &drops, &done);
	weft_select_init(&s, 0, 3, &p[0].base, &p[1].base, &p[2].base);
	t0 = now_ns();
	run(&s.base);
	assert_true(now_ns() - t0 >= 20 * WEFT_MSEC);
	assert_int_equal(s.winner, 1);
	assert_int_equal(atomic_load(&done), 1);
	assert_int_equal(atomic_load(&drops), 3);
	weft_future_drop(&s.base);
	assert_int_equal(atomic_load(&drops), 3);
}


static void
test_select_biased(void **state)
{
	struct weft_ready r[3];
	struct weft_select s;
	int i, wins[3] = {0};

	(void)state;
	for (i = 0; i < 50; i++) {
		weft_ready_init(&r[0], 0, (union weft_value){.i = 0});
		weft_ready_init(&r[1], 0, (union weft_value){.i = 1});
		weft_ready_init(&r[2], 0, (union weft_value){.i = 2});
		weft_select_init(&s, WEFT_SELECT_BIASED, 3, NULL, &r[1].base,
		                 &r[2].base);
		run(&s.base);
		assert_int_equal(s.winner, 1);
		weft_future_drop(&s.base);
		assert_true(weft_future_is_empty(&r[2].base));
	}
	/* Unbiased: over many rounds every ready branch wins sometimes. */
	for (i = 0; i < 300; i++) {
		weft_ready_init(&r[0], 0, (union weft_value){.i = 0});
		weft_ready_init(&r[1], 0, (union weft_value){.i = 1});
		weft_ready_init(&r[2], 0, (union weft_value){.i = 2});
		weft_select_init(&s, 0, 3, &r[0].base, &r[1].base, &r[2].base);
		run(&s.base);
		wins[s.winner]++;
		weft_future_drop(&s.base);
	}
	assert_true(wins[0] > 0 && wins[1] > 0 && wins[2] > 0);
}


static void
test_select_else(void **state)
{
	struct weft_select s;
	struct probe empty = {0};
	struct weft_fuse fu;
	struct weft_ready r;

	(void)state;
	weft_select_init(&s, 0, 2, NULL, &empty.base);
	run(&s.base);
	assert_int_equal(s.winner, WEFT_SELECT_ELSE);
	weft_future_drop(&s.base);

	/* A finished fuse is a disabled branch too. */
	weft_ready_init(&r, 0, (union weft_value){.i = 7});
	weft_fuse_init(&fu, &r.base);
	run(&fu.base);
	weft_select_init(&s, WEFT_SELECT_BORROW, 2, &fu.base, NULL);
	run(&s.base);
	assert_int_equal(s.winner, WEFT_SELECT_ELSE);
	weft_future_drop(&s.base);
	weft_future_drop(&fu.base);
}


static void
test_fuse_loop(void **state)
{
	atomic_int drops = 0;
	struct probe a, b;
	struct weft_fuse fa, fb;
	struct weft_select s;
	int order[3], n = 0;

	(void)state;
	probe_init(&a, 10, 0, &drops, NULL);
	probe_init(&b, 40, 0, &drops, NULL);
	weft_fuse_init(&fa, &a.base);
	weft_fuse_init(&fb, &b.base);
	while (n < 3) {
		weft_select_init(&s, WEFT_SELECT_BORROW, 2, &fa.base, &fb.base);
		run(&s.base);
		weft_future_drop(&s.base);
		order[n++] = s.winner;
		if (s.winner == WEFT_SELECT_ELSE)
			break;
	}
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], WEFT_SELECT_ELSE);
	assert_true(weft_fuse_is_terminated(&fa.base));
	/* A finished fuse polls as finished, again and again. */
	run(&fa.base);
	assert_int_equal(atomic_load(&drops), 2);
	weft_future_drop(&fa.base);
	weft_future_drop(&fb.base);
	assert_int_equal(atomic_load(&drops), 2);
}


static void
double_it(struct weft_future *inner, struct weft_result *out, void *arg)
{
	(void)arg;
	out->value.i = ((struct weft_ready *)inner)->out.value.i * 2;
}


struct plus5 {
	struct weft_ready first;
	struct probe wait;
	int64_t x;
};

static struct weft_future *
start_plus5(struct weft_future *first, struct weft_result *out, void *arg)
{
	struct plus5 *p = arg;

	(void)out;
	p->x = ((struct weft_ready *)first)->out.value.i;
	probe_init(&p->wait, 10, (int)(p->x + 5), NULL, NULL);
	return &p->wait.base;
}


static void
test_map_then(void **state)
{
	struct weft_ready r;
	struct weft_map m;
	struct weft_then t;
	struct plus5 p;

	(void)state;
	weft_ready_init(&r, 0, (union weft_value){.i = 42});
	weft_map_init(&m, &r.base, double_it, NULL);
	run(&m.base);
	weft_future_drop(&m.base);
	assert_int_equal(m.out.value.i, 84);

	weft_ready_init(&p.first, 0, (union weft_value){.i = 10});
	weft_then_init(&t, &p.first.base, start_plus5, &p);
	run(&t.base);
	weft_future_drop(&t.base);
	assert_int_equal(t.out.status, 15);
	assert_true(weft_future_is_empty(&p.wait.base));
}


int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_join_all),
	    cmocka_unit_test(test_join_all_array),
	    cmocka_unit_test(test_try_join_first_error),
	    cmocka_unit_test(test_try_join_ok),
	    cmocka_unit_test(test_select_winner),
	    cmocka_unit_test(test_select_biased),
	    cmocka_unit_test(test_select_else),
	    cmocka_unit_test(test_fuse_loop),
	    cmocka_unit_test(test_map_then),
	};

	return run_group(argc, argv, "combinators", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
