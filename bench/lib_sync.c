/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of the sync primitives and channels, on whatever runtime the
 * configuration names (WEFT_EXECUTOR / WEFT_REACTOR, or the two arguments
 * EXECUTOR REACTOR), printing ns per operation:
 *
 *   mpsc          one producer task, one consumer, a bounded channel of
 *                 1024 slots: ns per message.
 *   mpsc-4        four producers, same channel: ns per message.
 *   oneshot rtt   a client sends a request carrying a fresh oneshot to a
 *                 server task over an mpsc and awaits the reply: ns per
 *                 round trip (oneshot created, sent, received, freed).
 *   mutex         eight tasks each lock, yield while holding the lock,
 *                 and unlock: every lock is a handoff to a waiter: ns per
 *                 lock/unlock.
 *
 * Usage: weft-bench-lib-sync [EXECUTOR REACTOR] [-n MESSAGES]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/channel.h>
#include <weft/sync.h>
#include <weft/weft.h>

static struct weft_runtime *rt;
static unsigned long messages = 1000000;


static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


static void
report(const char *what, uint64_t ns, unsigned long ops)
{
	printf("%-14s %10lu ops %10.1f ns/op\n", what, ops,
	       (double)ns / (double)ops);
}

/* ---- mpsc throughput ------------------------------------------------ */

struct producer {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_send send;
	struct weft_mpsc_tx *tx;
	unsigned long n, i;
	int out;
};


static weft_poll
producer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct producer *p = (struct producer *)f;

	WEFT_BEGIN(&p->co);
	for (p->i = 0; p->i < p->n; p->i++) {
		weft_mpsc_send_init(&p->send, p->tx, &p->i);
		WEFT_AWAIT(&p->co, cx, &p->send);
	}
	WEFT_END(&p->co);
}


static void
producer_drop(struct weft_future *f)
{
	struct producer *p = (struct producer *)f;

	weft_future_drop(&p->send.base);
	weft_mpsc_tx_free(p->tx);
}

WEFT_FUTURE_VTABLE(producer_vtable, struct producer, out, producer_poll,
                   producer_drop);


struct consumer {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_recv recv;
	struct weft_mpsc_rx *rx;
	unsigned long item, count;
};


static weft_poll
consumer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct consumer *c = (struct consumer *)f;

	WEFT_BEGIN(&c->co);
	for (;;) {
		weft_mpsc_recv_init(&c->recv, c->rx, &c->item);
		WEFT_AWAIT(&c->co, cx, &c->recv);
		if (c->recv.status != 0)
			break;
		c->count++;
	}
	WEFT_END(&c->co);
}


static void
consumer_drop(struct weft_future *f)
{
	weft_future_drop(&((struct consumer *)f)->recv.base);
}

WEFT_FUTURE_VTABLE(consumer_vtable, struct consumer, count, consumer_poll,
                   consumer_drop);


static int
bench_mpsc(const char *name, int producers)
{
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct consumer c = {.base.vtable = &consumer_vtable};
	uint64_t t0;

	if (weft_mpsc_new(sizeof(unsigned long), 1024, &tx, &rx) < 0)
		return 1;
	t0 = now_ns();
	for (int i = 0; i < producers; i++) {
		struct producer p = {.base.vtable = &producer_vtable,
		                     .tx = weft_mpsc_tx_clone(tx),
		                     .n = messages / (unsigned long)producers};
		if (weft_spawn(rt, &p.base, NULL) < 0)
			return 1;
	}
	weft_mpsc_tx_free(tx);
	c.rx = rx;
	if (weft_block_on(rt, &c.base) < 0)
		return 1;
	report(name, now_ns() - t0, c.count);
	weft_future_drop(&c.base);
	weft_mpsc_rx_free(rx);
	return 0;
}

/* ---- oneshot round trip --------------------------------------------- */

struct server {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_recv recv;
	struct weft_mpsc_rx *rx;
	struct weft_oneshot_tx *reply;
	int out;
};


static weft_poll
server_poll(struct weft_future *f, struct weft_context *cx)
{
	struct server *s = (struct server *)f;
	int answer = 42;

	WEFT_BEGIN(&s->co);
	for (;;) {
		weft_mpsc_recv_init(&s->recv, s->rx, &s->reply);
		WEFT_AWAIT(&s->co, cx, &s->recv);
		if (s->recv.status != 0)
			break;
		weft_oneshot_send(s->reply, &answer);
	}
	WEFT_END(&s->co);
}


static void
server_drop(struct weft_future *f)
{
	struct server *s = (struct server *)f;

	weft_future_drop(&s->recv.base);
	weft_mpsc_rx_free(s->rx);
}

WEFT_FUTURE_VTABLE(server_vtable, struct server, out, server_poll, server_drop);


struct client {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_send send;
	struct weft_oneshot_recv recv;
	struct weft_mpsc_tx *tx;
	struct weft_oneshot_tx *otx;
	struct weft_oneshot_rx *orx;
	unsigned long n, i;
	int answer;
	int out;
};


static weft_poll
client_poll(struct weft_future *f, struct weft_context *cx)
{
	struct client *c = (struct client *)f;

	WEFT_BEGIN(&c->co);
	for (c->i = 0; c->i < c->n; c->i++) {
		if (weft_oneshot_new(sizeof(int), &c->otx, &c->orx) < 0) {
			c->out = -1;
			WEFT_RETURN(&c->co);
		}
		weft_mpsc_send_init(&c->send, c->tx, &c->otx);
		WEFT_AWAIT(&c->co, cx, &c->send);
		weft_oneshot_recv_init(&c->recv, c->orx, &c->answer);
		WEFT_AWAIT(&c->co, cx, &c->recv);
		weft_oneshot_rx_free(c->orx);
		c->orx = NULL;
	}
	WEFT_END(&c->co);
}


static void
client_drop(struct weft_future *f)
{
	struct client *c = (struct client *)f;

	weft_future_drop(&c->send.base);
	weft_future_drop(&c->recv.base);
	weft_oneshot_rx_free(c->orx);
	weft_mpsc_tx_free(c->tx);
}

WEFT_FUTURE_VTABLE(client_vtable, struct client, out, client_poll, client_drop);


static int
bench_oneshot(void)
{
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct client c = {.base.vtable = &client_vtable, .n = messages / 10};
	uint64_t t0;

	if (weft_mpsc_new(sizeof(struct weft_oneshot_tx *), 16, &tx, &rx) < 0)
		return 1;
	struct server s = {.base.vtable = &server_vtable, .rx = rx};
	if (weft_spawn(rt, &s.base, NULL) < 0)
		return 1;
	c.tx = tx;
	t0 = now_ns();
	if (weft_block_on(rt, &c.base) < 0 || c.out < 0)
		return 1;
	report("oneshot rtt", now_ns() - t0, c.n);
	weft_future_drop(&c.base); /* frees tx: the server ends */
	return 0;
}

/* ---- mutex under contention ----------------------------------------- */

struct contender {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mutex_lock lock;
	struct weft_yield yield;
	struct weft_mutex *m;
	unsigned long *counter;
	unsigned long n, i;
};


static weft_poll
contender_poll(struct weft_future *f, struct weft_context *cx)
{
	struct contender *t = (struct contender *)f;

	WEFT_BEGIN(&t->co);
	for (t->i = 0; t->i < t->n; t->i++) {
		weft_mutex_lock_init(&t->lock, t->m);
		WEFT_AWAIT(&t->co, cx, &t->lock);
		(*t->counter)++;
		/* Holding the lock across a yield makes the others queue. */
		weft_yield_init(&t->yield);
		WEFT_AWAIT(&t->co, cx, &t->yield);
		weft_mutex_unlock(t->m);
	}
	WEFT_END(&t->co);
}


static void
contender_drop(struct weft_future *f)
{
	struct contender *t = (struct contender *)f;

	weft_future_drop(&t->lock.base);
	weft_future_drop(&t->yield.base);
}

WEFT_FUTURE_VTABLE(contender_vtable, struct contender, n, contender_poll,
                   contender_drop);


static int
bench_mutex(void)
{
	struct weft_join *joins[8];
	struct weft_mutex *m;
	unsigned long counter = 0, per = messages / 40;
	uint64_t t0;

	if (weft_mutex_new(&m) < 0)
		return 1;
	t0 = now_ns();
	for (int i = 0; i < 8; i++) {
		struct contender t = {.base.vtable = &contender_vtable,
		                      .m = m,
		                      .counter = &counter,
		                      .n = per};
		if (weft_spawn(rt, &t.base, &joins[i]) < 0)
			return 1;
	}
	for (int i = 0; i < 8; i++) {
		struct weft_join_future jf;
		weft_join_future_init(&jf, joins[i], NULL, 0);
		if (weft_block_on(rt, &jf.base) < 0)
			return 1;
		weft_future_drop(&jf.base);
	}
	report("mutex", now_ns() - t0, counter);
	weft_mutex_free(m);
	return counter == 8 * per ? 0 : 1;
}


int
main(int argc, char **argv)
{
	struct weft_config *cfg;
	char err[256] = "";
	int r = 0, pos = 0;
	const char *names[2] = {NULL, NULL};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			messages = strtoul(argv[++i], NULL, 10);
		else if (pos < 2)
			names[pos++] = argv[i];
	}
	if (messages < 40)
		messages = 40;
	if (weft_config_new(&cfg) < 0)
		return 1;
	if (names[0])
		weft_config_set(cfg, "executor", names[0], NULL, 0);
	if (names[1])
		weft_config_set(cfg, "reactor", names[1], NULL, 0);
	if (weft_runtime_open(&rt, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "weft-bench-lib-sync: %s\n", err);
		weft_config_free(cfg);
		return 1;
	}
	weft_config_free(cfg);
	printf("executor %s, reactor %s\n",
	       weft_runtime_plugin(rt, WEFT_PLUGIN_EXECUTOR)->name,
	       weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR)->name);
	r |= bench_mpsc("mpsc", 1);
	r |= bench_mpsc("mpsc-4", 4);
	r |= bench_oneshot();
	r |= bench_mutex();
	weft_runtime_close(rt);
	if (r)
		fprintf(stderr, "weft-bench-lib-sync: a benchmark failed\n");
	return r;
}
