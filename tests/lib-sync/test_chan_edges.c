/* SPDX-License-Identifier: MIT */
/*
 * broadcast and watch at their edges, step by step with the counting
 * context: bad arguments, an exhausted budget, a send nobody can receive,
 * more waiters than one wake batch holds, a sender clone that keeps the
 * channel open, the receivers as streams, and a drop while queued.
 */
#include <weft/channel.h>
#include <weft/stream.h>

#include "common.h"

/* More than one wake batch (32): the wake loop must unlock and go on. */
#define MANY 40

/* One poll with a fresh budget: many polls would exhaust a shared one. */
static weft_poll
poll_once(struct weft_future *f)
{
	struct weft_context cx = cw_context();

	return weft_future_poll(f, &cx);
}

/* ---- broadcast ------------------------------------------------------ */

static void
broadcast_bad_arguments(void **state)
{
	struct weft_broadcast_tx *tx = NULL;
	struct weft_broadcast_rx *rx = NULL;
	(void)state;

	assert_int_equal(weft_broadcast_new(0, 4, &tx, &rx), -EINVAL);
	assert_int_equal(weft_broadcast_new(4, 0, &tx, &rx), -EINVAL);
	/* The ring's size does not fit in a size_t. */
	assert_int_equal(weft_broadcast_new(SIZE_MAX / 2, 4, &tx, &rx),
	                 -ENOMEM);
	assert_null(tx);
	assert_null(rx);
	weft_broadcast_tx_free(NULL);
	weft_broadcast_rx_free(NULL);
}

static void
broadcast_no_receiver(void **state)
{
	struct weft_broadcast_tx *tx;
	struct weft_broadcast_rx *rx;
	int v = 1;
	(void)state;

	assert_int_equal(weft_broadcast_new(sizeof(int), 4, &tx, &rx), 0);
	weft_broadcast_rx_free(rx);
	assert_int_equal(weft_broadcast_send(tx, &v), WEFT_ECLOSED);
	/* A late subscriber gets what is sent from then on. */
	assert_int_equal(weft_broadcast_subscribe(tx, &rx), 0);
	assert_int_equal(weft_broadcast_try_recv(rx, &v, NULL), -EAGAIN);
	v = 9;
	assert_int_equal(weft_broadcast_send(tx, &v), 1);
	v = 0;
	assert_int_equal(weft_broadcast_try_recv(rx, &v, NULL), 0);
	assert_int_equal(v, 9);
	/* The lag without a counter to fill in. */
	for (int i = 0; i < 6; i++)
		assert_int_equal(weft_broadcast_send(tx, &i), 1);
	assert_int_equal(weft_broadcast_try_recv(rx, &v, NULL), WEFT_ELAGGED);
	assert_int_equal(weft_broadcast_try_recv(rx, &v, NULL), 0);
	assert_int_equal(v, 2);
	weft_broadcast_rx_free(rx);
	weft_broadcast_tx_free(tx);
}

static void
broadcast_budget(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_broadcast_tx *tx;
	struct weft_broadcast_rx *rx;
	int v = 5;
	(void)state;

	cw_reset();
	assert_int_equal(weft_broadcast_new(sizeof(int), 4, &tx, &rx), 0);
	assert_int_equal(weft_broadcast_send(tx, &v), 1);
	/* No budget: pending with the task woken, the message kept. */
	cx.budget = 0;
	v = 0;
	assert_int_equal(weft_broadcast_poll_recv(rx, &cx, &v, NULL), 0);
	assert_int_equal(cw_wake_refs, 1);
	assert_int_equal(v, 0);
	cx.budget = 4;
	assert_int_equal(weft_broadcast_poll_recv(rx, &cx, &v, NULL), 1);
	assert_int_equal(v, 5);
	weft_broadcast_rx_free(rx);
	weft_broadcast_tx_free(tx);
	assert_int_equal(cw_outstanding(), 0);
}

static void
broadcast_many_waiters(void **state)
{
	struct weft_broadcast_recv r[MANY];
	struct weft_broadcast_rx *rx[MANY];
	struct weft_broadcast_tx *tx, *tx2;
	int got[MANY], v = 77;
	(void)state;

	cw_reset();
	assert_int_equal(weft_broadcast_new(sizeof(int), 2, &tx, &rx[0]), 0);
	for (int i = 1; i < MANY; i++)
		assert_int_equal(weft_broadcast_subscribe(tx, &rx[i]), 0);
	for (int i = 0; i < MANY; i++) {
		weft_broadcast_recv_init(&r[i], rx[i], &got[i]);
		assert_int_equal(poll_once(&r[i].base), WEFT_PENDING);
		/* A second poll while queued keeps one place and one waker. */
		assert_int_equal(poll_once(&r[i].base), WEFT_PENDING);
	}
	assert_int_equal(cw_clones, MANY);
	assert_int_equal(weft_broadcast_send(tx, &v), MANY);
	assert_int_equal(cw_wakes, MANY);
	for (int i = 0; i < MANY; i++) {
		got[i] = 0;
		assert_int_equal(poll_once(&r[i].base), WEFT_READY);
		assert_int_equal(r[i].status, 0);
		assert_int_equal(got[i], 77);
		weft_future_drop(&r[i].base);
	}

	/* All wait again; freeing one of two senders ends nothing. */
	tx2 = weft_broadcast_tx_clone(tx);
	for (int i = 0; i < MANY; i++) {
		weft_broadcast_recv_init(&r[i], rx[i], &got[i]);
		assert_int_equal(poll_once(&r[i].base), WEFT_PENDING);
	}
	weft_broadcast_tx_free(tx2);
	assert_int_equal(cw_wakes, MANY);
	/* The last sender's free wakes every waiter with the end. */
	weft_broadcast_tx_free(tx);
	assert_int_equal(cw_wakes, 2 * MANY);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(poll_once(&r[i].base), WEFT_READY);
		assert_int_equal(r[i].status, WEFT_ECLOSED);
		weft_future_drop(&r[i].base);
		weft_broadcast_rx_free(rx[i]);
	}
	assert_int_equal(cw_outstanding(), 0);
}

static void
broadcast_drop_queued(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_broadcast_recv r;
	struct weft_broadcast_tx *tx;
	struct weft_broadcast_rx *rx, *rx2;
	int got = 0, v = 3;
	(void)state;

	cw_reset();
	assert_int_equal(weft_broadcast_new(sizeof(int), 2, &tx, &rx), 0);
	assert_int_equal(weft_broadcast_subscribe(tx, &rx2), 0);
	weft_broadcast_recv_init(&r, rx, &got);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_PENDING);
	/* Dropped while queued: its waker goes back, nobody is woken. */
	weft_future_drop(&r.base);
	assert_int_equal(cw_drops, 1);
	assert_int_equal(weft_broadcast_send(tx, &v), 2);
	assert_int_equal(cw_wakes, 0);
	/* The message is still rx's to read. */
	assert_int_equal(weft_broadcast_try_recv(rx, &got, NULL), 0);
	assert_int_equal(got, 3);

	/* A receiver freed while its poll_recv left it queued. */
	assert_int_equal(weft_broadcast_poll_recv(rx2, &cx, &got, NULL), 1);
	assert_int_equal(weft_broadcast_poll_recv(rx2, &cx, &got, NULL), 0);
	weft_broadcast_rx_free(rx2);
	assert_int_equal(cw_drops, 2);
	assert_int_equal(weft_broadcast_send(tx, &v), 1);
	assert_int_equal(cw_wakes, 0);
	weft_broadcast_rx_free(rx);
	weft_broadcast_tx_free(tx);
	assert_int_equal(cw_outstanding(), 0);
}

static void
broadcast_stream(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_broadcast_stream s;
	struct weft_broadcast_tx *tx;
	struct weft_broadcast_rx *rx;
	int v = 0;
	(void)state;

	cw_reset();
	assert_int_equal(weft_broadcast_new(sizeof(int), 2, &tx, &rx), 0);
	weft_broadcast_stream_init(&s, rx);
	assert_int_equal(s.base.item_size, sizeof(int));
	assert_int_equal(weft_stream_poll_next(&s.base, &cx, &v), WEFT_PENDING);
	v = 11;
	assert_int_equal(weft_broadcast_send(tx, &v), 1);
	assert_int_equal(cw_wakes, 1);
	v = 0;
	assert_int_equal(weft_stream_poll_next(&s.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 11);
	/* A lag is an error item, after which the stream goes on. */
	for (int i = 20; i < 25; i++)
		assert_int_equal(weft_broadcast_send(tx, &i), 1);
	assert_int_equal(weft_stream_poll_next(&s.base, &cx, &v), WEFT_ELAGGED);
	assert_int_equal(weft_stream_poll_next(&s.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 23);
	assert_int_equal(weft_stream_poll_next(&s.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 24);
	weft_broadcast_tx_free(tx);
	assert_int_equal(weft_stream_poll_next(&s.base, &cx, &v),
	                 WEFT_STREAM_END);
	/* The stream owns the receiver: its drop frees it. */
	weft_stream_drop(&s.base);
	assert_null(s.rx);
	assert_true(weft_stream_is_empty(&s.base));
	weft_stream_drop(&s.base);
	assert_int_equal(cw_outstanding(), 0);
}

/* ---- mpsc and oneshot ----------------------------------------------- */

static void
queue_bad_arguments(void **state)
{
	struct weft_mpsc_tx *tx = NULL;
	struct weft_mpsc_rx *rx = NULL;
	struct weft_oneshot_tx *otx = NULL;
	struct weft_oneshot_rx *orx = NULL;
	(void)state;

	assert_int_equal(weft_mpsc_new(0, 4, &tx, &rx), -EINVAL);
	assert_int_equal(weft_oneshot_new(0, &otx, &orx), -EINVAL);
	/* The header and the message do not fit in a size_t. */
	assert_int_equal(weft_oneshot_new(SIZE_MAX, &otx, &orx), -ENOMEM);
	assert_null(tx);
	assert_null(rx);
	assert_null(otx);
	assert_null(orx);
	weft_mpsc_tx_free(NULL);
	weft_mpsc_rx_free(NULL);
	weft_oneshot_tx_free(NULL);
	weft_oneshot_rx_free(NULL);
}

/* ---- watch ---------------------------------------------------------- */

static void
watch_bad_arguments(void **state)
{
	struct weft_watch_tx *tx = NULL;
	struct weft_watch_rx *rx = NULL;
	int v = 0;
	(void)state;

	assert_int_equal(weft_watch_new(0, &v, &tx, &rx), -EINVAL);
	assert_null(tx);
	assert_null(rx);
	weft_watch_tx_free(NULL);
	weft_watch_rx_free(NULL);
}

static void
watch_many_waiters(void **state)
{
	struct weft_watch_changed c[MANY];
	struct weft_watch_rx *rx[MANY];
	struct weft_watch_tx *tx;
	int v = 0;
	(void)state;

	cw_reset();
	assert_int_equal(weft_watch_new(sizeof(int), &v, &tx, &rx[0]), 0);
	for (int i = 1; i < MANY; i++)
		assert_int_equal(weft_watch_rx_clone(rx[0], &rx[i]), 0);
	for (int i = 0; i < MANY; i++) {
		weft_watch_changed_init(&c[i], rx[i]);
		assert_int_equal(poll_once(&c[i].base), WEFT_PENDING);
	}
	v = 1;
	assert_int_equal(weft_watch_send(tx, &v), 0);
	assert_int_equal(cw_wakes, MANY);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(poll_once(&c[i].base), WEFT_READY);
		assert_int_equal(c[i].status, 0);
		weft_future_drop(&c[i].base);
		/* Wait again, for a change that will never come. */
		weft_watch_changed_init(&c[i], rx[i]);
		assert_int_equal(poll_once(&c[i].base), WEFT_PENDING);
	}
	weft_watch_tx_free(tx);
	assert_int_equal(cw_wakes, 2 * MANY);
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(poll_once(&c[i].base), WEFT_READY);
		assert_int_equal(c[i].status, WEFT_ECLOSED);
		weft_future_drop(&c[i].base);
		assert_int_equal(weft_watch_has_changed(rx[i]), WEFT_ECLOSED);
		weft_watch_rx_free(rx[i]);
	}
	assert_int_equal(cw_outstanding(), 0);
}

static void
watch_budget_and_close(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_watch_tx *tx;
	struct weft_watch_rx *rx;
	int v = 4;
	(void)state;

	cw_reset();
	assert_int_equal(weft_watch_new(sizeof(int), &v, &tx, &rx), 0);
	v = 5;
	assert_int_equal(weft_watch_send(tx, &v), 0);
	cx.budget = 0;
	assert_int_equal(weft_watch_poll_changed(rx, &cx), 0);
	assert_int_equal(cw_wake_refs, 1);
	/* The change was not consumed by the poll that had no budget. */
	assert_int_equal(weft_watch_has_changed(rx), 1);
	cx.budget = 4;
	assert_int_equal(weft_watch_poll_changed(rx, &cx), 1);
	assert_int_equal(weft_watch_has_changed(rx), 0);
	/* A value sent before the sender left is still a change. */
	v = 6;
	assert_int_equal(weft_watch_send(tx, &v), 0);
	weft_watch_tx_free(tx);
	assert_int_equal(weft_watch_has_changed(rx), 1);
	assert_int_equal(weft_watch_poll_changed(rx, &cx), 1);
	assert_int_equal(weft_watch_poll_changed(rx, &cx), WEFT_ECLOSED);
	weft_watch_borrow(rx, &v);
	assert_int_equal(v, 6);
	weft_watch_rx_free(rx);
	assert_int_equal(cw_outstanding(), 0);
}

static void
watch_stream(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_watch_stream s;
	struct weft_watch_tx *tx;
	struct weft_watch_rx *rx, *late;
	int v = 1;
	(void)state;

	cw_reset();
	assert_int_equal(weft_watch_new(sizeof(int), &v, &tx, &rx), 0);
	weft_watch_stream_init(&s, rx);
	assert_int_equal(s.base.item_size, sizeof(int));
	/* The initial value counts as seen. */
	assert_int_equal(weft_stream_poll_next(&s.base, &cx, &v), WEFT_PENDING);
	v = 2;
	assert_int_equal(weft_watch_send(tx, &v), 0);
	v = 3;
	assert_int_equal(weft_watch_send(tx, &v), 0);
	assert_int_equal(cw_wakes, 1);
	/* Two sends, one change: the latest value. */
	v = 0;
	assert_int_equal(weft_stream_poll_next(&s.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 3);
	/* A subscriber made now has seen 3. */
	assert_int_equal(weft_watch_subscribe(tx, &late), 0);
	assert_int_equal(weft_watch_has_changed(late), 0);
	weft_watch_borrow_and_update(late, &v);
	assert_int_equal(v, 3);
	weft_watch_rx_free(late);
	weft_watch_tx_free(tx);
	assert_int_equal(weft_stream_poll_next(&s.base, &cx, &v),
	                 WEFT_STREAM_END);
	weft_stream_drop(&s.base);
	assert_null(s.rx);
	assert_int_equal(cw_outstanding(), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(broadcast_bad_arguments),
	    cmocka_unit_test(broadcast_no_receiver),
	    cmocka_unit_test(broadcast_budget),
	    cmocka_unit_test(broadcast_many_waiters),
	    cmocka_unit_test(broadcast_drop_queued),
	    cmocka_unit_test(broadcast_stream),
	    cmocka_unit_test(queue_bad_arguments),
	    cmocka_unit_test(watch_bad_arguments),
	    cmocka_unit_test(watch_many_waiters),
	    cmocka_unit_test(watch_budget_and_close),
	    cmocka_unit_test(watch_stream),
	};

	return run_group(argc, argv, "chan_edges", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
