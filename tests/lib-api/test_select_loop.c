/* SPDX-License-Identifier: MIT */
/*
 * The select loop: branches that stay in place across rounds, the winner
 * tested with if/else (with awaits in the handling code), a losing sleep
 * moved with weft_sleep_reset, branches switched off and on, the else
 * round, and the drop of what is still armed.
 */
#include <errno.h>

#include <weft/combinator.h>
#include <weft/coro.h>

#include "common.h"

#define TICKS 5

struct counts {
	int ticks;
	int deadline_wins;
	int kept; /* rounds after which the losing deadline was intact */
	int elses;
};

struct looper {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep deadline; /* an hour away until reset */
	struct weft_sleep tick;     /* re-armed after each win */
	struct weft_yield pause;    /* awaited inside the handling code */
	struct weft_select_loop sel;
	struct counts *out; /* the future is moved into its task: not here */
	int status;
};

static weft_poll
looper_poll(struct weft_future *f, struct weft_context *cx)
{
	struct looper *l = (struct looper *)f;

	WEFT_BEGIN(&l->co);
	weft_sleep_init(&l->deadline, 3600 * WEFT_SEC);
	weft_sleep_init(&l->tick, WEFT_MSEC);
	weft_select_loop_init(&l->sel, 0, 2, &l->deadline.base, &l->tick.base);
	for (;;) {
		WEFT_AWAIT(&l->co, cx, weft_select_loop_next(&l->sel));
		if (weft_select_loop_won(&l->sel, &l->tick)) {
			/* The winner is disarmed; the loser kept, not re-made.
			 */
			assert_true(weft_future_is_empty(&l->tick.base));
			if (!weft_future_is_empty(&l->deadline.base))
				l->out->kept++;
			assert_int_equal(l->sel.index, 1);
			/* An await in the middle of the handling code. */
			weft_yield_init(&l->pause);
			WEFT_AWAIT(&l->co, cx, &l->pause);
			if (++l->out->ticks < TICKS)
				weft_sleep_init(&l->tick, WEFT_MSEC);
			else
				/* Left disarmed; the deadline comes now. */
				weft_sleep_reset(&l->deadline,
				                 weft_driver_now(cx->driver));
		} else if (weft_select_loop_won(&l->sel, &l->deadline)) {
			assert_ptr_equal(l->sel.winner, &l->deadline.base);
			l->out->deadline_wins++;
		} else {
			/* Nothing armed: the else round. */
			assert_null(l->sel.winner);
			assert_int_equal(l->sel.index, WEFT_SELECT_ELSE);
			l->out->elses++;
			break;
		}
	}
	weft_select_loop_drop(&l->sel);
	WEFT_END(&l->co);
}

static void
looper_drop(struct weft_future *f)
{
	struct looper *l = (struct looper *)f;

	weft_coro_drop(&l->co);
	weft_select_loop_drop(&l->sel);
}

WEFT_FUTURE_VTABLE(looper_vtable, struct looper, status, looper_poll,
                   looper_drop);

static void
losers_stay_winner_rearms(void **state)
{
	struct counts c = {0};
	struct looper l = {.base.vtable = &looper_vtable, .out = &c};
	(void)state;

	run(&l.base);
	weft_future_drop(&l.base);
	assert_int_equal(c.ticks, TICKS);
	assert_int_equal(c.kept, TICKS);
	/* The reset moved the kept sleep from an hour to now. */
	assert_int_equal(c.deadline_wins, 1);
	assert_int_equal(c.elses, 1);
}

/* ---- enable, disable, drop ------------------------------------------- */

static void
enable_disable_drop(void **state)
{
	struct weft_select_loop sel;
	struct weft_sleep soon;
	struct probe p;
	atomic_int drops = 0;
	struct weft_future *many[9] = {0};
	(void)state;

	assert_int_equal(weft_select_loop_init(&sel, 0, 9, NULL, NULL, NULL,
	                                       NULL, NULL, NULL, NULL, NULL,
	                                       NULL),
	                 -E2BIG);
	assert_int_equal(weft_select_loop_all_init(&sel, 0, many, 9), 0);
	weft_select_loop_drop(&sel);

	probe_init(&p, 3600 * 1000, 0, &drops, NULL);
	weft_sleep_init(&soon, WEFT_MSEC);
	assert_int_equal(weft_select_loop_init(&sel, WEFT_SELECT_BIASED, 2,
	                                       &p.base, &soon.base),
	                 0);
	assert_int_equal(weft_select_loop_enable(&sel, &drops, false), -ENOENT);

	/* Both switched off: an else round, and nothing is dropped. */
	assert_int_equal(weft_select_loop_enable(&sel, &p, false), 0);
	assert_int_equal(weft_select_loop_enable(&sel, &soon, false), 0);
	run(weft_select_loop_next(&sel));
	assert_null(sel.winner);
	assert_false(weft_future_is_empty(&soon.base));
	/* Until the round is dropped, next gives the same, finished one. */
	run(weft_select_loop_next(&sel));
	assert_null(sel.winner);
	weft_future_drop(&sel.base);

	/* The sleep on again: it wins, and a second round needs no
	 * re-init of the select, only of the winner. */
	assert_int_equal(weft_select_loop_enable(&sel, &soon, true), 0);
	run(weft_select_loop_next(&sel));
	assert_true(weft_select_loop_won(&sel, &soon));
	assert_false(weft_select_loop_won(&sel, &p));
	assert_true(weft_future_is_empty(&soon.base));
	weft_future_drop(&sel.base);
	weft_sleep_init(&soon, WEFT_MSEC);
	run(weft_select_loop_next(&sel));
	assert_true(weft_select_loop_won(&sel, &soon.base));
	assert_int_equal(atomic_load(&drops), 0);

	/* The probe, switched off all along, is still armed: the loop's
	 * drop drops it, once. */
	weft_select_loop_drop(&sel);
	assert_int_equal(atomic_load(&drops), 1);
	weft_select_loop_drop(&sel);
	assert_int_equal(atomic_load(&drops), 1);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(losers_stay_winner_rearms),
	    cmocka_unit_test(enable_disable_drop),
	};

	return run_group(argc, argv, "select loop", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
