/* SPDX-License-Identifier: MIT */
/*
 * oneshot and mpsc: between real tasks on the runtime under test, and step
 * by step (counting context) where the point is the exact state after a
 * close or a drop.
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
	};

	return run_group(argc, argv, "lib-mpsc", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
