/* SPDX-License-Identifier: MIT */
/*
 * Cancellation tokens: the tree (down, never up), the cancelled() future
 * on its own and as a select branch, and drops of waiting futures.
 */
#include <weft/cancel.h>
#include <weft/combinator.h>

#include "common.h"

static atomic_int drops;

static void
tree_down_not_up(void **state)
{
	struct weft_cancel_token *root, *child, *grand, *other, *late, *c2;
	(void)state;

	assert_int_equal(weft_cancel_token_new(&root), 0);
	assert_int_equal(weft_cancel_token_child(root, &child), 0);
	assert_int_equal(weft_cancel_token_child(child, &grand), 0);
	assert_int_equal(weft_cancel_token_child(root, &other), 0);

	/* A child's cancel stays below it. */
	weft_cancel_token_cancel(child);
	assert_true(weft_cancel_token_is_cancelled(child));
	assert_true(weft_cancel_token_is_cancelled(grand));
	assert_false(weft_cancel_token_is_cancelled(root));
	assert_false(weft_cancel_token_is_cancelled(other));

	/* A child of a cancelled token is born cancelled. */
	assert_int_equal(weft_cancel_token_child(grand, &late), 0);
	assert_true(weft_cancel_token_is_cancelled(late));

	/* The parent's handle freed: its child still hears a cancel through
	 * a clone of it. */
	c2 = weft_cancel_token_clone(root);
	weft_cancel_token_free(root);
	weft_cancel_token_cancel(c2);
	assert_true(weft_cancel_token_is_cancelled(other));
	weft_cancel_token_cancel(c2); /* idempotent */

	weft_cancel_token_free(late);
	weft_cancel_token_free(grand);
	weft_cancel_token_free(child);
	weft_cancel_token_free(c2);
	weft_cancel_token_free(other);
}

static void
cancelled_future_steps(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_cancel_token *root, *child;
	struct weft_cancelled a, b, c;
	(void)state;

	cw_reset();
	assert_int_equal(weft_cancel_token_new(&root), 0);
	assert_int_equal(weft_cancel_token_child(root, &child), 0);
	weft_cancelled_init(&a, child);
	weft_cancelled_init(&b, child);
	weft_cancelled_init(&c, root);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&c.base, &cx), WEFT_PENDING);
	weft_future_drop(&b.base); /* leaves the queue */
	weft_cancel_token_cancel(child);
	assert_int_equal(cw_wakes, 1); /* a only: root is not cancelled */
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_READY);
	assert_int_equal(weft_future_poll(&c.base, &cx), WEFT_PENDING);
	weft_cancel_token_cancel(root);
	assert_int_equal(cw_wakes, 2);
	assert_int_equal(weft_future_poll(&c.base, &cx), WEFT_READY);
	weft_future_drop(&a.base);
	weft_future_drop(&c.base);
	/* Already cancelled: ready on the first poll. */
	weft_cancelled_init(&a, child);
	assert_int_equal(weft_future_poll(&a.base, &cx), WEFT_READY);
	weft_future_drop(&a.base);
	weft_cancel_token_free(child);
	weft_cancel_token_free(root);
	assert_int_equal(cw_outstanding(), 0);
}

/* A worker: select(cancelled, sleep 5 ms) in a loop, as in the chapter. */
struct worker {
	struct weft_future base;
	struct weft_coro co;
	struct weft_cancelled cancelled;
	struct weft_sleep sleep;
	struct weft_select sel;
	struct weft_cancel_token *token;
	atomic_int *ticks;
	int rounds;
	int out;
};

static weft_poll
worker_poll(struct weft_future *f, struct weft_context *cx)
{
	struct worker *w = (struct worker *)f;

	WEFT_BEGIN(&w->co);
	for (;;) {
		weft_cancelled_init(&w->cancelled, w->token);
		weft_sleep_init(&w->sleep, 5 * WEFT_MSEC);
		weft_select_init(&w->sel, 0, 2, &w->cancelled.base,
		                 &w->sleep.base);
		WEFT_AWAIT(&w->co, cx, &w->sel);
		if (w->sel.winner == 0)
			break;
		w->rounds++;
		atomic_fetch_add(w->ticks, 1);
	}
	w->out = w->rounds;
	WEFT_END(&w->co);
}

static void
worker_drop(struct weft_future *f)
{
	struct worker *w = (struct worker *)f;

	weft_future_drop(&w->sel.base);
	weft_future_drop(&w->cancelled.base);
	weft_future_drop(&w->sleep.base);
	weft_cancel_token_free(w->token);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(worker_vtable, struct worker, out, worker_poll, worker_drop);

static void
cancel_stops_workers(void **state)
{
	struct weft_cancel_token *root;
	struct weft_join *joins[4];
	atomic_int ticks = 0;
	int rounds;
	(void)state;

	drops = 0;
	assert_int_equal(weft_cancel_token_new(&root), 0);
	for (int i = 0; i < 4; i++) {
		struct worker w = {.base.vtable = &worker_vtable,
		                   .ticks = &ticks};
		assert_int_equal(weft_cancel_token_child(root, &w.token), 0);
		spawn(&w.base, &joins[i]);
	}
	/* Until every worker has done some work (bounded: 2 s). */
	for (int i = 0; i < 400 && ticks < 8; i++)
		run_for_ms(5);
	assert_true(ticks >= 8);
	weft_cancel_token_cancel(root);
	for (int i = 0; i < 4; i++) {
		struct weft_join_future jf;
		weft_join_future_init(&jf, joins[i], &rounds, sizeof(int));
		run(&jf.base);
		assert_int_equal(jf.status, 0);
	}
	assert_int_equal(drops, 4);
	weft_cancel_token_free(root);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tree_down_not_up),
	    cmocka_unit_test(cancelled_future_steps),
	    cmocka_unit_test(cancel_stops_workers),
	};

	return run_group(argc, argv, "lib-cancel", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
