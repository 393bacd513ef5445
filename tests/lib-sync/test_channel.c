/* SPDX-License-Identifier: MIT */
/*
 * oneshot, mpsc, watch and broadcast: between real tasks on the runtime
 * under test, and step by step (counting context) where the point is the
 * exact state after a close or a drop.
 */
#include <weft/channel.h>

#include "common.h"

static atomic_int drops;

/* ---- oneshot -------------------------------------------------------- */

struct late_send {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	struct weft_oneshot_tx *tx;
	int value;
	int out;
};

static weft_poll
late_send_poll(struct weft_future *f, struct weft_context *cx)
{
	struct late_send *t = (struct late_send *)f;

	WEFT_BEGIN(&t->co);
	weft_sleep_init(&t->sleep, 10 * WEFT_MSEC);
	WEFT_AWAIT(&t->co, cx, &t->sleep);
	t->out = weft_oneshot_send(t->tx, &t->value);
	t->tx = NULL;
	WEFT_END(&t->co);
}

static void
late_send_drop(struct weft_future *f)
{
	struct late_send *t = (struct late_send *)f;

	weft_future_drop(&t->sleep.base);
	weft_oneshot_tx_free(t->tx); /* not sent: the receiver sees closed */
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(late_send_vtable, struct late_send, out, late_send_poll,
                   late_send_drop);

static void
oneshot_send_recv(void **state)
{
	struct weft_oneshot_tx *tx;
	struct weft_oneshot_rx *rx;
	struct weft_oneshot_recv r;
	struct weft_join *j;
	int got = 0;
	(void)state;

	drops = 0;
	assert_int_equal(weft_oneshot_new(sizeof(int), &tx, &rx), 0);
	struct late_send t = {
	    .base.vtable = &late_send_vtable, .tx = tx, .value = 42};
	spawn(&t.base, &j);
	weft_oneshot_recv_init(&r, rx, &got);
	assert_int_equal(weft_block_on(rt, &r.base), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(got, 42);
	weft_future_drop(&r.base);
	join_all(&j, 1);
	assert_int_equal(weft_oneshot_try_recv(rx, &got), WEFT_ECLOSED);
	weft_oneshot_rx_free(rx);
	assert_int_equal(drops, 1);
}

static void
oneshot_closed_sides(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_oneshot_tx *tx;
	struct weft_oneshot_rx *rx;
	struct weft_oneshot_recv r;
	int v = 7, got = 0;
	(void)state;

	cw_reset();
	/* The sender goes without sending: the waiting receiver is woken. */
	assert_int_equal(weft_oneshot_new(sizeof(int), &tx, &rx), 0);
	weft_oneshot_recv_init(&r, rx, &got);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_oneshot_try_recv(rx, &got), -EAGAIN);
	weft_oneshot_tx_free(tx);
	assert_int_equal(cw_wakes, 1);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_READY);
	assert_int_equal(r.status, WEFT_ECLOSED);
	weft_future_drop(&r.base);
	weft_oneshot_rx_free(rx);

	/* The receiver goes: the send fails and the value stays ours. */
	assert_int_equal(weft_oneshot_new(sizeof(int), &tx, &rx), 0);
	assert_false(weft_oneshot_tx_is_closed(tx));
	weft_oneshot_rx_free(rx);
	assert_true(weft_oneshot_tx_is_closed(tx));
	assert_int_equal(weft_oneshot_send(tx, &v), WEFT_ECLOSED);
	assert_int_equal(v, 7);
	assert_int_equal(cw_outstanding(), 0);
}

/* ---- mpsc: 4 producers x 1000 messages, each received exactly once -- */

#define PRODUCERS    4
#define PER_PRODUCER 1000

struct msg {
	uint32_t producer;
	uint32_t seq;
};

struct producer {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_send send;
	struct weft_mpsc_tx *tx;
	struct msg m;
	int out;
};

static weft_poll
producer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct producer *p = (struct producer *)f;

	WEFT_BEGIN(&p->co);
	for (p->m.seq = 0; p->m.seq < PER_PRODUCER; p->m.seq++) {
		weft_mpsc_send_init(&p->send, p->tx, &p->m);
		WEFT_AWAIT(&p->co, cx, &p->send);
		if (p->send.status != 0) {
			p->out = p->send.status;
			WEFT_RETURN(&p->co);
		}
	}
	WEFT_END(&p->co);
}

static void
producer_drop(struct weft_future *f)
{
	struct producer *p = (struct producer *)f;

	weft_future_drop(&p->send.base);
	weft_mpsc_tx_free(p->tx);
	atomic_fetch_add(&drops, 1);
}

WEFT_FUTURE_VTABLE(producer_vtable, struct producer, out, producer_poll,
                   producer_drop);

struct consumer {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_recv recv;
	struct weft_mpsc_rx *rx;
	size_t capacity;
	struct msg m;
	uint32_t next[PRODUCERS];
	int count[PRODUCERS][PER_PRODUCER];
	int over_capacity, out_of_order, total;
	int out;
};

static weft_poll
consumer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct consumer *c = (struct consumer *)f;

	WEFT_BEGIN(&c->co);
	for (;;) {
		if (c->capacity && weft_mpsc_len(c->rx) > c->capacity)
			c->over_capacity++;
		weft_mpsc_recv_init(&c->recv, c->rx, &c->m);
		WEFT_AWAIT(&c->co, cx, &c->recv);
		if (c->recv.status == WEFT_ECLOSED)
			break;
		c->count[c->m.producer][c->m.seq]++;
		if (c->m.seq != c->next[c->m.producer])
			c->out_of_order++;
		c->next[c->m.producer] = c->m.seq + 1;
		c->total++;
	}
	WEFT_END(&c->co);
}

static void
consumer_drop(struct weft_future *f)
{
	weft_future_drop(&((struct consumer *)f)->recv.base);
}

WEFT_FUTURE_VTABLE(consumer_vtable, struct consumer, out, consumer_poll,
                   consumer_drop);

static void
mpsc_many_producers(size_t capacity)
{
	struct weft_join *joins[PRODUCERS];
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct consumer *c = calloc(1, sizeof(*c));

	drops = 0;
	assert_non_null(c);
	assert_int_equal(weft_mpsc_new(sizeof(struct msg), capacity, &tx, &rx),
	                 0);
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		struct producer p = {.base.vtable = &producer_vtable,
		                     .tx = weft_mpsc_tx_clone(tx),
		                     .m.producer = i};
		spawn(&p.base, &joins[i]);
	}
	weft_mpsc_tx_free(tx); /* the producers hold the rest */
	c->base.vtable = &consumer_vtable;
	c->rx = rx;
	c->capacity = capacity;
	run(&c->base);
	join_all(joins, PRODUCERS);
	assert_int_equal(c->total, PRODUCERS * PER_PRODUCER);
	for (int p = 0; p < PRODUCERS; p++)
		for (int s = 0; s < PER_PRODUCER; s++)
			assert_int_equal(c->count[p][s], 1);
	assert_int_equal(c->out_of_order, 0);
	assert_int_equal(c->over_capacity, 0);
	assert_int_equal(drops, PRODUCERS);
	weft_mpsc_rx_free(rx);
	free(c);
}

static void
mpsc_bounded_producers(void **state)
{
	(void)state;
	mpsc_many_producers(8);
}

static void
mpsc_unbounded_producers(void **state)
{
	(void)state;
	mpsc_many_producers(WEFT_MPSC_UNBOUNDED);
}

/* Backpressure, step by step, and a dropped send giving its slot back. */
static void
mpsc_backpressure_and_dropped_send(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_mpsc_send s1, s2;
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	int a = 1, b = 2, c = 3, d = 4, got;
	(void)state;

	cw_reset();
	assert_int_equal(weft_mpsc_new(sizeof(int), 2, &tx, &rx), 0);
	assert_int_equal(weft_mpsc_try_send(tx, &a), 0);
	assert_int_equal(weft_mpsc_try_send(tx, &b), 0);
	assert_int_equal(weft_mpsc_try_send(tx, &c), -EAGAIN);
	weft_mpsc_send_init(&s1, tx, &c);
	weft_mpsc_send_init(&s2, tx, &d);
	assert_int_equal(weft_future_poll(&s1.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&s2.base, &cx), WEFT_PENDING);

	/* One slot frees: it goes to s1, which is dropped: then to s2. */
	assert_int_equal(weft_mpsc_try_recv(rx, &got), 0);
	assert_int_equal(got, 1);
	weft_future_drop(&s1.base);
	assert_int_equal(weft_future_poll(&s2.base, &cx), WEFT_READY);
	assert_int_equal(s2.status, 0);
	weft_future_drop(&s2.base);

	/* s1's message was never sent; s2's was, once. */
	assert_int_equal(weft_mpsc_try_recv(rx, &got), 0);
	assert_int_equal(got, 2);
	assert_int_equal(weft_mpsc_try_recv(rx, &got), 0);
	assert_int_equal(got, 4);
	assert_int_equal(weft_mpsc_try_recv(rx, &got), -EAGAIN);

	/* A slot granted to a dropped send is not leaked. */
	assert_int_equal(weft_mpsc_try_send(tx, &a), 0);
	assert_int_equal(weft_mpsc_try_send(tx, &b), 0);
	weft_mpsc_send_init(&s1, tx, &c);
	assert_int_equal(weft_future_poll(&s1.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_mpsc_try_recv(rx, &got), 0);
	weft_future_drop(&s1.base);
	assert_int_equal(weft_mpsc_try_send(tx, &d), 0);
	assert_int_equal(weft_mpsc_len(rx), 2);

	weft_mpsc_tx_free(tx);
	weft_mpsc_rx_free(rx);
	assert_int_equal(cw_outstanding(), 0);
}

static void
mpsc_close_either_side(void **state)
{
	struct weft_context cx = cw_context();
	struct weft_mpsc_recv r;
	struct weft_mpsc_send s;
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	int a = 1, b = 2, got;
	(void)state;

	cw_reset();
	/* Senders gone: the receiver drains, then sees the end. */
	assert_int_equal(weft_mpsc_new(sizeof(int), 4, &tx, &rx), 0);
	assert_int_equal(weft_mpsc_try_send(tx, &a), 0);
	weft_mpsc_tx_free(tx);
	weft_mpsc_recv_init(&r, rx, &got);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_READY);
	assert_int_equal(r.status, 0);
	assert_int_equal(got, 1);
	weft_future_drop(&r.base);
	weft_mpsc_recv_init(&r, rx, &got);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_READY);
	assert_int_equal(r.status, WEFT_ECLOSED);
	weft_future_drop(&r.base);
	weft_mpsc_rx_free(rx);

	/* A waiting receiver is woken by the last sender leaving. */
	assert_int_equal(weft_mpsc_new(sizeof(int), 4, &tx, &rx), 0);
	weft_mpsc_recv_init(&r, rx, &got);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_PENDING);
	weft_mpsc_tx_free(tx);
	assert_int_equal(cw_wakes, 1);
	assert_int_equal(weft_future_poll(&r.base, &cx), WEFT_READY);
	assert_int_equal(r.status, WEFT_ECLOSED);
	weft_future_drop(&r.base);
	weft_mpsc_rx_free(rx);

	/* Receiver closed: a waiting send fails, its message still ours. */
	assert_int_equal(weft_mpsc_new(sizeof(int), 1, &tx, &rx), 0);
	assert_int_equal(weft_mpsc_try_send(tx, &a), 0);
	weft_mpsc_send_init(&s, tx, &b);
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_PENDING);
	weft_mpsc_rx_close(rx);
	assert_true(weft_mpsc_tx_is_closed(tx));
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
	assert_int_equal(s.status, WEFT_ECLOSED);
	assert_int_equal(b, 2);
	weft_future_drop(&s.base);
	assert_int_equal(weft_mpsc_try_send(tx, &b), WEFT_ECLOSED);
	/* What was sent before the close is still delivered. */
	assert_int_equal(weft_mpsc_try_recv(rx, &got), 0);
	assert_int_equal(got, 1);
	assert_int_equal(weft_mpsc_try_recv(rx, &got), WEFT_ECLOSED);
	weft_mpsc_rx_free(rx);
	weft_mpsc_tx_free(tx);

	/* Unbounded: the receiver freed, sends fail. */
	assert_int_equal(weft_mpsc_new(sizeof(int), 0, &tx, &rx), 0);
	weft_mpsc_rx_free(rx);
	weft_mpsc_send_init(&s, tx, &a);
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
	assert_int_equal(s.status, WEFT_ECLOSED);
	weft_future_drop(&s.base);
	weft_mpsc_tx_free(tx);
	assert_int_equal(cw_outstanding(), 0);
}

static void
mpsc_unbounded_grows_in_order(void **state)
{
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	int got, expect = 0;
	(void)state;

	assert_int_equal(weft_mpsc_new(sizeof(int), 0, &tx, &rx), 0);
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(weft_mpsc_try_send(tx, &i), 0);
		if (i % 3 == 0) { /* the ring wraps around while it grows */
			assert_int_equal(weft_mpsc_try_recv(rx, &got), 0);
			assert_int_equal(got, expect++);
		}
	}
	weft_mpsc_tx_free(tx);
	while (weft_mpsc_try_recv(rx, &got) == 0)
		assert_int_equal(got, expect++);
	assert_int_equal(expect, 5000);
	assert_int_equal(weft_mpsc_try_recv(rx, &got), WEFT_ECLOSED);
	weft_mpsc_rx_free(rx);
}


/* The receiver as a stream: collect what is sent until the end. */
static void
mpsc_as_stream(void **state)
{
	struct weft_stream_collect all;
	struct weft_mpsc_stream s;
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	(void)state;

	assert_int_equal(weft_mpsc_new(sizeof(int64_t), 8, &tx, &rx), 0);
	for (int64_t i = 0; i < 5; i++)
		assert_int_equal(weft_mpsc_try_send(tx, &i), 0);
	weft_mpsc_tx_free(tx);
	weft_mpsc_stream_init(&s, rx);
	weft_stream_collect_init(&all, &s.base);
	assert_int_equal(weft_block_on(rt, &all.base), 0);
	assert_int_equal(all.out.status, 0);
	assert_int_equal(all.out.vec.len, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(*(int64_t *)weft_vec_at(&all.out.vec, i), i);
	weft_vec_free(&all.out.vec);
	weft_future_drop(&all.base);
	weft_stream_drop(&s.base); /* a no-op if collect dropped it */
}

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
	    cmocka_unit_test(oneshot_send_recv),
	    cmocka_unit_test(oneshot_closed_sides),
	    cmocka_unit_test(mpsc_bounded_producers),
	    cmocka_unit_test(mpsc_unbounded_producers),
	    cmocka_unit_test(mpsc_backpressure_and_dropped_send),
	    cmocka_unit_test(mpsc_close_either_side),
	    cmocka_unit_test(mpsc_unbounded_grows_in_order),
	    cmocka_unit_test(mpsc_as_stream),
	    cmocka_unit_test(watch_latest),
	    cmocka_unit_test(watch_coalesces_changes),
	    cmocka_unit_test(broadcast_lag),
	    cmocka_unit_test(broadcast_between_tasks),
	};

	return run_group(argc, argv, "lib-channel", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
