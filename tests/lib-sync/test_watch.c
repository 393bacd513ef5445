/* SPDX-License-Identifier: MIT */
/*
 * watch and broadcast: between real tasks on the runtime under test, and
 * step by step (counting context) where the point is the exact state after
 * a send, a lag, a close or a drop.
 */
#include <weft/channel.h>

#include "common.h"

static atomic_int drops;
/* ---- watch ---------------------------------------------------------- */

struct watcher {
	struct weft_future base;
	struct weft_coro co;
	struct weft_watch_changed ch;
	struct weft_watch_rx *rx;
	int value;
	int changes;
	int out;
};

static weft_poll
watcher_poll(struct weft_future *f, struct weft_context *cx)
{
	struct watcher *w = (struct watcher *)f;

	WEFT_BEGIN(&w->co);
	for (;;) {
		weft_watch_changed_init(&w->ch, w->rx);
		WEFT_AWAIT(&w->co, cx, &w->ch);
		if (w->ch.status == WEFT_ECLOSED)
			break;
		w->changes++;
		weft_watch_borrow(w->rx, &w->value);
	}
	w->out = w->value;
	WEFT_END(&w->co);
}

static void
watcher_drop(struct weft_future *f)
{
	struct watcher *w = (struct watcher *)f;

	weft_future_drop(&w->ch.base);
	weft_watch_rx_free(w->rx);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(watcher_vtable, struct watcher, out, watcher_poll,
                   watcher_drop);

static void
watch_latest(void **state)
{
	struct weft_join *joins[3];
	struct weft_watch_tx *tx;
	struct weft_watch_rx *rx;
	int v = 0, outs[3];
	(void)state;

	drops = 0;
	assert_int_equal(weft_watch_new(sizeof(int), &v, &tx, &rx), 0);
	for (int i = 0; i < 3; i++) {
		struct watcher w = {.base.vtable = &watcher_vtable};
		if (i == 0)
			w.rx = rx;
		else
			assert_int_equal(weft_watch_subscribe(tx, &w.rx), 0);
		spawn(&w.base, &joins[i]);
	}
	for (v = 1; v <= 5; v++) {
		assert_int_equal(weft_watch_send(tx, &v), 0);
		run_for_ms(5);
	}
	weft_watch_tx_free(tx);
	for (int i = 0; i < 3; i++) {
		struct weft_join_future jf;
		weft_join_future_init(&jf, joins[i], &outs[i], sizeof(int));
		run(&jf.base);
		assert_int_equal(jf.status, 0);
		assert_int_equal(outs[i], 5); /* the latest, always */
	}
	assert_int_equal(drops, 3);
}

static void
watch_coalesces_changes(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_watch_changed ch;
	struct weft_watch_tx *tx;
	struct weft_watch_rx *rx, *rx2;
	int v = 0, got;
	(void)state;

	cw_reset();
	assert_int_equal(weft_watch_new(sizeof(int), &v, &tx, &rx), 0);
	assert_int_equal(weft_watch_has_changed(rx), 0);
	for (v = 1; v <= 3; v++)
		assert_int_equal(weft_watch_send(tx, &v), 0);
	assert_int_equal(weft_watch_has_changed(rx), 1);
	weft_watch_changed_init(&ch, rx);
	assert_int_equal(weft_future_poll(&ch.base, &cx), WEFT_READY);
	weft_future_drop(&ch.base);
	weft_watch_borrow(rx, &got);
	assert_int_equal(got, 3);
	weft_watch_changed_init(&ch, rx);
	assert_int_equal(weft_future_poll(&ch.base, &cx), WEFT_PENDING);
	/* A clone has seen what rx has seen. */
	assert_int_equal(weft_watch_rx_clone(rx, &rx2), 0);
	assert_int_equal(weft_watch_has_changed(rx2), 0);
	v = 9;
	assert_int_equal(weft_watch_send(tx, &v), 0);
	assert_int_equal(cw_wakes, 1);
	assert_int_equal(weft_future_poll(&ch.base, &cx), WEFT_READY);
	weft_future_drop(&ch.base);
	weft_watch_borrow_and_update(rx2, &got);
	assert_int_equal(got, 9);
	assert_int_equal(weft_watch_has_changed(rx2), 0);
	/* A dropped changed future leaves no waiter behind. */
	weft_watch_changed_init(&ch, rx);
	assert_int_equal(weft_future_poll(&ch.base, &cx), WEFT_PENDING);
	weft_future_drop(&ch.base);
	weft_watch_rx_free(rx2);
	weft_watch_rx_free(rx);
	/* No receiver left: the send is refused. */
	assert_int_equal(weft_watch_send(tx, &v), WEFT_ECLOSED);
	weft_watch_tx_free(tx);
	assert_int_equal(cw_outstanding(), 0);
}

/* ---- broadcast ------------------------------------------------------ */

static void
broadcast_lag(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_broadcast_recv r;
	struct weft_broadcast_tx *tx;
	struct weft_broadcast_rx *rx, *rx2;
	uint64_t missed = 0;
	int got;
	(void)state;

	cw_reset();
	assert_int_equal(weft_broadcast_new(sizeof(int), 4, &tx, &rx), 0);
	assert_int_equal(weft_broadcast_subscribe(tx, &rx2), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(weft_broadcast_send(tx, &i), 2);
	/* rx read nothing: 10 sent, 4 retained, 6 missed. */
	assert_int_equal(weft_broadcast_try_recv(rx, &got, &missed),
	                 WEFT_ELAGGED);
	assert_int_equal(missed, 6);
	for (int i = 6; i < 10; i++) {
		assert_int_equal(weft_broadcast_try_recv(rx, &got, &missed), 0);
		assert_int_equal(got, i);
	}
	assert_int_equal(weft_broadcast_try_recv(rx, &got, &missed), -EAGAIN);

	/* The lag as a future's output, then the receiver goes on. */
	weft_broadcast_recv_init(&r, rx2, &got);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_READY);
	assert_int_equal(r.status, WEFT_ELAGGED);
	assert_int_equal(r.missed, 6);
	weft_future_drop(&r.base);
	weft_broadcast_recv_init(&r, rx2, &got);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_READY);
	assert_int_equal(r.status, 0);
	assert_int_equal(got, 6);
	weft_future_drop(&r.base);

	/* A waiting receiver is woken by a send; both get every message. */
	weft_broadcast_recv_init(&r, rx, &got);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_PENDING);
	got = 100;
	assert_int_equal(weft_broadcast_send(tx, &got), 2);
	assert_int_equal(cw_wakes, 1);
	got = 0;
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_READY);
	assert_int_equal(got, 100);
	weft_future_drop(&r.base);

	/* Senders gone: each receiver drains, then sees the end. */
	weft_broadcast_tx_free(tx);
	assert_int_equal(weft_broadcast_try_recv(rx, &got, NULL), WEFT_ECLOSED);
	for (int i = 7; i < 10; i++)
		assert_int_equal(weft_broadcast_try_recv(rx2, &got, NULL), 0);
	assert_int_equal(weft_broadcast_try_recv(rx2, &got, NULL), 0);
	assert_int_equal(got, 100);
	assert_int_equal(weft_broadcast_try_recv(rx2, &got, NULL),
	                 WEFT_ECLOSED);
	weft_broadcast_rx_free(rx);
	weft_broadcast_rx_free(rx2);
	assert_int_equal(cw_outstanding(), 0);
}

struct listener {
	struct weft_future base;
	struct weft_coro co;
	struct weft_broadcast_recv r;
	struct weft_broadcast_rx *rx;
	int got;
	int sum;
};

static weft_poll
listener_poll(struct weft_future *f, struct weft_context *cx)
{
	struct listener *l = (struct listener *)f;

	WEFT_BEGIN(&l->co);
	for (;;) {
		weft_broadcast_recv_init(&l->r, l->rx, &l->got);
		WEFT_AWAIT(&l->co, cx, &l->r);
		if (l->r.status != 0)
			break;
		l->sum += l->got;
	}
	WEFT_END(&l->co);
}

static void
listener_drop(struct weft_future *f)
{
	struct listener *l = (struct listener *)f;

	weft_future_drop(&l->r.base);
	weft_broadcast_rx_free(l->rx);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(listener_vtable, struct listener, sum, listener_poll,
                   listener_drop);

static void
broadcast_between_tasks(void **state)
{
	struct weft_join *joins[3];
	struct weft_broadcast_tx *tx;
	struct weft_broadcast_rx *rx;
	int sums[3];
	(void)state;

	drops = 0;
	assert_int_equal(weft_broadcast_new(sizeof(int), 64, &tx, &rx), 0);
	for (int i = 0; i < 3; i++) {
		struct listener l = {.base.vtable = &listener_vtable};
		if (i == 0)
			l.rx = rx;
		else
			assert_int_equal(weft_broadcast_subscribe(tx, &l.rx),
			                 0);
		spawn(&l.base, &joins[i]);
	}
	/* At most 64 in flight: no receiver can lag. */
	for (int i = 1; i <= 60; i++)
		assert_true(weft_broadcast_send(tx, &i) > 0);
	weft_broadcast_tx_free(tx);
	for (int i = 0; i < 3; i++) {
		struct weft_join_future jf;
		weft_join_future_init(&jf, joins[i], &sums[i], sizeof(int));
		run(&jf.base);
		assert_int_equal(sums[i], 60 * 61 / 2);
	}
	assert_int_equal(drops, 3);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(watch_latest),
	    cmocka_unit_test(watch_coalesces_changes),
	    cmocka_unit_test(broadcast_lag),
	    cmocka_unit_test(broadcast_between_tasks),
	};

	return run_group(argc, argv, "lib-watch", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
