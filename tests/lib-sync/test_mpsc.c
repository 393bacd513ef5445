/* SPDX-License-Identifier: MIT */
/*
 * oneshot and mpsc: between real tasks on the runtime under test, and step
 * by step (counting context) where the point is the exact state after a
 * close or a drop.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <weft/channel.h>

#include "common.h"

static atomic_int drops;
static int cx_other_tag;

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

/* A second counting context: same vtable, another task as will_wake sees. */
static struct weft_context
cw_context_other(void)
{
	struct weft_context cx = cw_context();

	cx.waker.data = &cx_other_tag;
	return cx;
}

/* Each waker the channel cloned is woken or dropped exactly once. */
static void
oneshot_waker_accounting(void **state)
{
	struct weft_context a = cw_context(), b = cw_context_other();
	struct weft_oneshot_tx *tx;
	struct weft_oneshot_rx *rx;
	struct weft_oneshot_recv r;
	int v = 5, got = 0;
	(void)state;

	cw_reset();
	/* Polled again by the same task: the stored waker is kept. */
	assert_int_equal(weft_oneshot_new(sizeof(int), &tx, &rx), 0);
	weft_oneshot_recv_init(&r, rx, &got);
	assert_int_equal(weft_future_poll(&r.base, &a), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&r.base, &a), WEFT_PENDING);
	assert_int_equal(cw_clones, 1);
	/* By another task: the old waker is dropped, the new one stored. */
	assert_int_equal(weft_future_poll(&r.base, &b), WEFT_PENDING);
	assert_int_equal(cw_clones, 2);
	assert_int_equal(cw_drops, 1);
	/* The send wakes the last one, once. */
	assert_int_equal(weft_oneshot_send(tx, &v), 0);
	assert_int_equal(cw_wakes, 1);
	assert_int_equal(cw_outstanding(), 0);
	assert_int_equal(weft_future_poll(&r.base, &b), WEFT_READY);
	assert_int_equal(r.status, 0);
	assert_int_equal(got, 5);
	weft_future_drop(&r.base);
	/* Received once only. */
	assert_int_equal(weft_oneshot_try_recv(rx, &got), WEFT_ECLOSED);
	assert_int_equal(weft_oneshot_poll_recv(rx, &a, &got), WEFT_ECLOSED);
	weft_oneshot_rx_free(rx);
	assert_int_equal(cw_clones, 2);
	assert_int_equal(cw_wakes, 1);

	/* A receive future dropped while waiting gives its waker back. */
	assert_int_equal(weft_oneshot_new(sizeof(int), &tx, &rx), 0);
	weft_oneshot_recv_init(&r, rx, &got);
	assert_int_equal(weft_future_poll(&r.base, &a), WEFT_PENDING);
	weft_future_drop(&r.base);
	assert_int_equal(cw_outstanding(), 0);
	v = 6;
	assert_int_equal(weft_oneshot_send(tx, &v), 0);
	assert_int_equal(cw_wakes, 1); /* nobody was waiting */
	assert_int_equal(weft_oneshot_try_recv(rx, &got), 0);
	assert_int_equal(got, 6);
	weft_oneshot_rx_free(rx);

	/* The receiver freed while its waker is stored: dropped, not woken. */
	assert_int_equal(weft_oneshot_new(sizeof(int), &tx, &rx), 0);
	assert_int_equal(weft_oneshot_poll_recv(rx, &a, &got), 0);
	weft_oneshot_rx_free(rx);
	assert_int_equal(cw_outstanding(), 0);
	assert_true(weft_oneshot_tx_is_closed(tx));
	v = 7;
	assert_int_equal(weft_oneshot_send(tx, &v), WEFT_ECLOSED);
	assert_int_equal(v, 7);
	assert_int_equal(cw_wakes, 1);

	/* A value sent and never received goes with the receiver. */
	assert_int_equal(weft_oneshot_new(sizeof(int), &tx, &rx), 0);
	assert_int_equal(weft_oneshot_send(tx, &v), 0);
	weft_oneshot_rx_free(rx);

	/* Both halves freed without a word, in either order. */
	assert_int_equal(weft_oneshot_new(sizeof(int), &tx, &rx), 0);
	weft_oneshot_tx_free(tx);
	weft_oneshot_rx_free(rx);
	assert_int_equal(weft_oneshot_new(sizeof(int), &tx, &rx), 0);
	weft_oneshot_rx_free(rx);
	weft_oneshot_tx_free(tx);
	assert_int_equal(cw_outstanding(), 0);
	assert_int_equal(weft_oneshot_new(0, &tx, &rx), -EINVAL);
}

/* Values of every size arrive whole, small and large. */
static void
oneshot_value_sizes(void **state)
{
	static const size_t sizes[] = {1, 2, 3, 4, 7, 8, 12, 16, 17, 24, 100};
	unsigned char in[100], out[100];
	struct weft_oneshot_tx *tx;
	struct weft_oneshot_rx *rx;
	(void)state;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		for (size_t k = 0; k < n; k++)
			in[k] = (unsigned char)(i * 31 + k + 1);
		memset(out, 0xee, sizeof(out));
		assert_int_equal(weft_oneshot_new(n, &tx, &rx), 0);
		assert_int_equal(weft_oneshot_try_recv(rx, out), -EAGAIN);
		assert_int_equal(weft_oneshot_send(tx, in), 0);
		assert_int_equal(weft_oneshot_try_recv(rx, out), 0);
		assert_memory_equal(in, out, n);
		for (size_t k = n; k < sizeof(out); k++)
			assert_int_equal(out[k], 0xee); /* nothing beyond */
		weft_oneshot_rx_free(rx);
	}
}

/*
 * Real threads: a sender thread against a receiver that polls from two
 * tasks in turn (so that the waker is replaced while the send races it),
 * or frees the receiver in the middle of the send.  Bounded by a count
 * and by a deadline, so that it stays short under Valgrind.
 */
#define RACE_ROUNDS 20000
#define RACE_MS     1000

struct race {
	struct weft_oneshot_tx **tx;
	atomic_long ready; /* channels handed to the sender */
	atomic_bool stop;
	atomic_int sent, refused;
};

static void
race_pause(unsigned *spins)
{
	if (++*spins % 16 == 0)
		sched_yield();
}

static uint64_t
race_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *
race_sender(void *arg)
{
	struct race *r = arg;
	unsigned spins = 0;

	for (long i = 0;; i++) {
		int v = (int)i, rc;

		while (atomic_load(&r->ready) <= i) {
			if (atomic_load(&r->stop) &&
			    atomic_load(&r->ready) <= i)
				return NULL;
			race_pause(&spins);
		}
		if (i % 4 == 3) {
			weft_oneshot_tx_free(r->tx[i]);
			continue;
		}
		rc = weft_oneshot_send(r->tx[i], &v);
		if (rc == 0)
			atomic_fetch_add(&r->sent, 1);
		else if (rc == WEFT_ECLOSED)
			atomic_fetch_add(&r->refused, 1);
	}
}

static void
oneshot_threads_race(void **state)
{
	struct weft_context a = cw_context(), b = cw_context_other();
	struct race r = {.tx = calloc(RACE_ROUNDS, sizeof(*r.tx))};
	uint64_t deadline = race_now_ms() + RACE_MS;
	int received = 0, closed = 0, bad = 0, early_free = 0;
	pthread_t sender;
	long i;
	(void)state;

	assert_non_null(r.tx);
	cw_reset();
	assert_int_equal(pthread_create(&sender, NULL, race_sender, &r), 0);
	for (i = 0; i < RACE_ROUNDS && race_now_ms() < deadline; i++) {
		struct weft_oneshot_rx *rx;
		unsigned spins = 0;
		int got = -1, n, k = 0;

		assert_int_equal(weft_oneshot_new(sizeof(int), &r.tx[i], &rx),
		                 0);
		atomic_store(&r.ready, i + 1); /* the race starts now */
		if (i % 4 == 2) {
			/* Free the receiver while the send may be under way,
			 * after a varying number of polls. */
			for (k = 0; k <= (i / 4) % 64; k++) {
				n = weft_oneshot_poll_recv(rx, &a, &got);
				if (n == 1 && got != (int)i)
					bad++;
				if (n != 0)
					break;
				race_pause(&spins);
			}
			early_free++;
			weft_oneshot_rx_free(rx);
			continue;
		}
		/* Rounds 0 and 3 alternate tasks: the waker keeps changing. */
		while ((n = weft_oneshot_poll_recv(
		            rx, (i % 4 != 1 && k++ % 2) ? &b : &a, &got)) == 0)
			race_pause(&spins);
		if (n == 1 && got == (int)i && i % 4 != 3)
			received++;
		else if (n == WEFT_ECLOSED && i % 4 == 3)
			closed++;
		else
			bad++;
		weft_oneshot_rx_free(rx);
	}
	atomic_store(&r.stop, true);
	assert_int_equal(pthread_join(sender, NULL), 0);
	free(r.tx);

	assert_int_equal(bad, 0);
	assert_true(i > 0);
	assert_int_equal(received + closed + early_free, i);
	/* Every send either delivered or was refused (receiver gone first). */
	assert_int_equal(atomic_load(&r.sent) + atomic_load(&r.refused),
	                 received + early_free);
	assert_true(atomic_load(&r.sent) >= received);
	assert_int_equal(cw_outstanding(), 0);
}

/*
 * Tasks on the runtime under test (threaded executors poll them on their
 * workers) wait on channels that a foreign thread sends on or drops.
 */
#define WAITERS       256
#define WAITER_ROUNDS 20

struct waiter {
	struct weft_future base;
	struct weft_oneshot_rx *rx;
	atomic_int *ok;
	int expect; /* -1: the sender is dropped */
	int out;
};

static weft_poll
waiter_poll(struct weft_future *f, struct weft_context *cx)
{
	struct waiter *w = (struct waiter *)f;
	int got = -2;
	int n = weft_oneshot_poll_recv(w->rx, cx, &got);

	if (n == 0)
		return WEFT_PENDING;
	if ((n == 1 && got == w->expect) ||
	    (n == WEFT_ECLOSED && w->expect == -1))
		atomic_fetch_add(w->ok, 1);
	weft_oneshot_rx_free(w->rx);
	w->rx = NULL;
	return WEFT_READY;
}

static void
waiter_drop(struct weft_future *f)
{
	weft_oneshot_rx_free(((struct waiter *)f)->rx);
}

WEFT_FUTURE_VTABLE(waiter_vtable, struct waiter, out, waiter_poll, waiter_drop);

struct feeder {
	struct weft_oneshot_tx **tx;
};

static void *
feeder_run(void *arg)
{
	struct feeder *fd = arg;

	for (int i = 0; i < WAITERS; i++) {
		if (i % 2)
			weft_oneshot_tx_free(fd->tx[i]);
		else
			weft_oneshot_send(fd->tx[i], &i);
		if (i % 16 == 0)
			sched_yield();
	}
	return NULL;
}

static void
oneshot_tasks_and_threads(void **state)
{
	struct weft_oneshot_tx *tx[WAITERS];
	struct weft_join *joins[WAITERS];
	struct feeder fd = {.tx = tx};
	uint64_t deadline = race_now_ms() + RACE_MS;
	atomic_int ok;
	pthread_t t;
	(void)state;

	for (int round = 0;
	     round < WAITER_ROUNDS && (round == 0 || race_now_ms() < deadline);
	     round++) {
		atomic_store(&ok, 0);
		for (int i = 0; i < WAITERS; i++) {
			struct waiter w = {.base.vtable = &waiter_vtable,
			                   .ok = &ok,
			                   .expect = i % 2 ? -1 : i};

			assert_int_equal(
			    weft_oneshot_new(sizeof(int), &tx[i], &w.rx), 0);
			spawn(&w.base, &joins[i]);
		}
		assert_int_equal(pthread_create(&t, NULL, feeder_run, &fd), 0);
		join_all(joins, WAITERS);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(atomic_load(&ok), WAITERS);
	}
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
	    cmocka_unit_test(oneshot_waker_accounting),
	    cmocka_unit_test(oneshot_value_sizes),
	    cmocka_unit_test(oneshot_threads_race),
	    cmocka_unit_test(oneshot_tasks_and_threads),
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
