/* SPDX-License-Identifier: MIT */
/*
 * Soak with accounting, on the executor and reactor named on the command
 * line, bounded in time.  Two phases:
 *
 * Wakes: four tasks each park on a slot that a thread outside the runtime
 * wakes, ping-pong, until WEFT_SOAK_WAKES wakes in all (default 200,000)
 * or half the time is up.  A wake-up the runtime lost leaves its thread
 * waiting for a slot that never fills again, which is reported.
 *
 * Chaos: rounds of a fresh runtime with sleeping tasks of random length,
 * a third of them aborted, a timeout that fires and one that does not, a
 * select whose loser is dropped, two producers and a consumer on a bounded
 * channel — and a shutdown in the middle of it all.  After each round:
 * every future made was dropped exactly once, and every message a send
 * reported as sent was received exactly once, by the consumer or from the
 * channel after the shutdown (undelivered, but not lost).
 *
 * WEFT_SOAK_SECONDS bounds the run (default 10; 0: until the wakes are
 * done, for the long target).  Under Valgrind it is skipped: the other
 * tests cover that setup and this one would only run slowly.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/channel.h>
#include <weft/combinator.h>
#include <weft/weft.h>

#define SLOTS        4
#define SLEEPERS     48
#define MSGS         60000
#define LOST_WAKE_NS (5 * WEFT_SEC)

static atomic_long made, dropped;
static long fails;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * WEFT_SEC + (uint64_t)ts.tv_nsec;
}

static void
fail(const char *what, long a, long b)
{
	fprintf(stderr, "soak: %s (%ld vs %ld)\n", what, a, b);
	fails++;
}

/* ---- wakes ---------------------------------------------------------- */

struct slot {
	pthread_mutex_t lock;
	struct weft_waker waker; /* stored by the task, taken by the thread */
	int signalled;
	int stop;
	long polls, target, wakes;
	uint64_t deadline;
	int lost;
};

struct waiter {
	struct weft_future base;
	struct slot *s;
};

static weft_poll
waiter_poll(struct weft_future *f, struct weft_context *cx)
{
	struct slot *s = ((struct waiter *)f)->s;
	weft_poll r = WEFT_PENDING;

	pthread_mutex_lock(&s->lock);
	if (s->signalled) {
		s->signalled = 0;
		s->polls++;
	}
	if (s->stop || s->polls >= s->target)
		r = WEFT_READY;
	else
		weft_waker_store(&s->waker, &cx->waker);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void
counted_drop_only(struct weft_future *f)
{
	(void)f;
	atomic_fetch_add(&dropped, 1);
}

static const struct weft_future_vtable waiter_vt = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct waiter),
    .poll = waiter_poll,
    .drop = counted_drop_only,
};

static void *
waker_thread(void *arg)
{
	struct slot *s = arg;
	struct weft_waker w;
	uint64_t since = now_ns();

	while (s->wakes < s->target) {
		pthread_mutex_lock(&s->lock);
		if (s->waker.vtable) {
			w = s->waker;
			s->waker.vtable = NULL;
			s->signalled = 1;
			if (now_ns() > s->deadline)
				s->stop = 1;
			pthread_mutex_unlock(&s->lock);
			weft_waker_wake(&w);
			s->wakes++;
			since = now_ns();
			if (s->stop)
				break;
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		if (now_ns() - since > LOST_WAKE_NS) {
			s->lost = 1;
			break;
		}
		sched_yield();
	}
	return NULL;
}

static int
phase_wakes(struct weft_runtime *rt, long target, uint64_t deadline)
{
	struct slot slots[SLOTS];
	struct weft_join_future jf[SLOTS];
	pthread_t th[SLOTS];
	long total = 0;
	int i, r;

	for (i = 0; i < SLOTS; i++) {
		struct waiter w = {.base = {&waiter_vt}, .s = &slots[i]};
		struct weft_join *j = NULL;

		memset(&slots[i], 0, sizeof(slots[i]));
		pthread_mutex_init(&slots[i].lock, NULL);
		slots[i].target = target / SLOTS;
		slots[i].deadline = deadline;
		atomic_fetch_add(&made, 1);
		r = weft_spawn(rt, &w.base, &j);
		if (r < 0)
			return r;
		weft_join_future_init(&jf[i], j, NULL, 0);
		pthread_create(&th[i], NULL, waker_thread, &slots[i]);
	}
	for (i = 0; i < SLOTS; i++) {
		r = weft_block_on(rt, &jf[i].base);
		if (r < 0 || jf[i].status < 0)
			fail("a waiter did not finish", r, jf[i].status);
		weft_future_drop(&jf[i].base);
		pthread_join(th[i], NULL);
		if (slots[i].lost)
			fail("a wake-up was lost: the task never parked again",
			     slots[i].wakes, slots[i].polls);
		total += slots[i].wakes;
		weft_waker_drop(&slots[i].waker);
		pthread_mutex_destroy(&slots[i].lock);
	}
	return (int)(total > 0 ? total / SLOTS : 0) * SLOTS;
}

/* ---- chaos ---------------------------------------------------------- */

/* Sleeps ms milliseconds; counts its drop. */
struct sleeper {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	uint64_t ms;
	int out;
};

static weft_poll
sleeper_poll(struct weft_future *f, struct weft_context *cx)
{
	struct sleeper *s = (struct sleeper *)f;

	WEFT_BEGIN(&s->co);
	weft_sleep_init(&s->sleep, s->ms * WEFT_MSEC);
	WEFT_AWAIT(&s->co, cx, &s->sleep);
	WEFT_END(&s->co);
}

static void
sleeper_drop(struct weft_future *f)
{
	weft_future_drop(&((struct sleeper *)f)->sleep.base);
	atomic_fetch_add(&dropped, 1);
}

static const struct weft_future_vtable sleeper_vt = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct sleeper),
    .output_offset = offsetof(struct sleeper, out),
    .output_size = sizeof(int),
    .poll = sleeper_poll,
    .drop = sleeper_drop,
};

static struct sleeper
sleeper_make(uint64_t ms)
{
	struct sleeper s = {.base = {&sleeper_vt}, .ms = ms};

	atomic_fetch_add(&made, 1);
	return s;
}

/* Message accounting of one round. */
struct books {
	atomic_long sent, received, dups;
	atomic_uchar seen[2][MSGS];
};

static void
book(struct books *b, int msg)
{
	int who = msg >> 16, seq = msg & 0xffff;

	if (who < 0 || who > 1 || seq >= MSGS ||
	    atomic_fetch_add(&b->seen[who][seq], 1) != 0)
		atomic_fetch_add(&b->dups, 1);
	atomic_fetch_add(&b->received, 1);
}

struct producer {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_send send;
	struct weft_mpsc_tx *tx;
	struct books *b;
	int who, seq, msg;
};

static weft_poll
producer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct producer *p = (struct producer *)f;

	WEFT_BEGIN(&p->co);
	for (p->seq = 0; p->seq < MSGS; p->seq++) {
		p->msg = p->who << 16 | p->seq;
		weft_mpsc_send_init(&p->send, p->tx, &p->msg);
		WEFT_AWAIT(&p->co, cx, &p->send);
		if (p->send.status != 0)
			break;
		atomic_fetch_add(&p->b->sent, 1);
	}
	WEFT_END(&p->co);
}

static void
producer_drop(struct weft_future *f)
{
	struct producer *p = (struct producer *)f;

	weft_future_drop(&p->send.base);
	weft_mpsc_tx_free(p->tx);
	atomic_fetch_add(&dropped, 1);
}

static const struct weft_future_vtable producer_vt = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct producer),
    .poll = producer_poll,
    .drop = producer_drop,
};

struct consumer {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_recv recv;
	struct weft_mpsc_rx *rx;
	struct books *b;
	int msg;
};

static weft_poll
consumer_poll(struct weft_future *f, struct weft_context *cx)
{
	struct consumer *c = (struct consumer *)f;

	WEFT_BEGIN(&c->co);
	for (;;) {
		weft_mpsc_recv_init(&c->recv, c->rx, &c->msg);
		WEFT_AWAIT(&c->co, cx, &c->recv);
		if (c->recv.status != 0)
			break;
		book(c->b, c->msg);
	}
	WEFT_END(&c->co);
}

static void
consumer_drop(struct weft_future *f)
{
	weft_future_drop(&((struct consumer *)f)->recv.base);
	atomic_fetch_add(&dropped, 1);
}

static const struct weft_future_vtable consumer_vt = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct consumer),
    .poll = consumer_poll,
    .drop = consumer_drop,
};

/* The root of a round: starts everything, then lets it run a little. */
struct chaos {
	struct weft_future base;
	struct weft_coro co;
	struct weft_runtime *rt;
	unsigned seed;
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct books *b;
	struct sleeper inner_lose, inner_win, sel_a, sel_b;
	struct weft_timeout to_fire, to_pass;
	struct weft_select sel;
	struct weft_sleep pause;
	long aborted, timeouts, select_losers;
};

static void
chaos_spawn_all(struct chaos *c)
{
	struct producer p = {.base = {&producer_vt}, .b = c->b};
	struct consumer k = {.base = {&consumer_vt}, .rx = c->rx, .b = c->b};
	struct weft_join *j;
	int i;

	for (i = 0; i < SLEEPERS; i++) {
		struct sleeper s = sleeper_make(rand_r(&c->seed) % 20);

		j = NULL;
		if (weft_spawn(c->rt, &s.base, &j) < 0)
			continue;
		if (rand_r(&c->seed) % 3 == 0) {
			weft_join_abort(j);
			c->aborted++;
		}
		weft_join_release(j);
	}
	for (i = 0; i < 2; i++) {
		p.who = i;
		p.tx = weft_mpsc_tx_clone(c->tx);
		atomic_fetch_add(&made, 1);
		weft_spawn(c->rt, &p.base, NULL);
	}
	atomic_fetch_add(&made, 1);
	weft_spawn(c->rt, &k.base, NULL);
}

static weft_poll
chaos_poll(struct weft_future *f, struct weft_context *cx)
{
	struct chaos *c = (struct chaos *)f;

	WEFT_BEGIN(&c->co);
	chaos_spawn_all(c);
	/* A timeout that fires: its inner future is the loser. */
	c->inner_lose = sleeper_make(50);
	weft_timeout_init(&c->to_fire, &c->inner_lose.base, WEFT_MSEC);
	WEFT_AWAIT(&c->co, cx, &c->to_fire);
	if (c->to_fire.status == WEFT_ETIMEDOUT)
		c->timeouts++;
	/* One that does not. */
	c->inner_win = sleeper_make(0);
	weft_timeout_init(&c->to_pass, &c->inner_win.base, 50 * WEFT_MSEC);
	WEFT_AWAIT(&c->co, cx, &c->to_pass);
	/* A select: b loses and is dropped at once. */
	c->sel_a = sleeper_make(1);
	c->sel_b = sleeper_make(100);
	if (weft_select_init(&c->sel, 0, 2, &c->sel_a.base, &c->sel_b.base) ==
	    0) {
		WEFT_AWAIT(&c->co, cx, &c->sel);
		if (c->sel.winner == 0)
			c->select_losers++;
	} else {
		weft_future_drop(&c->sel_a.base);
		weft_future_drop(&c->sel_b.base);
	}
	/* Let the rest run a moment, then the shutdown cuts in. */
	weft_sleep_init(&c->pause, (rand_r(&c->seed) % 8) * WEFT_MSEC);
	WEFT_AWAIT(&c->co, cx, &c->pause);
	WEFT_END(&c->co);
}

static void
chaos_drop(struct weft_future *f)
{
	struct chaos *c = (struct chaos *)f;

	weft_future_drop(&c->to_fire.base);
	weft_future_drop(&c->to_pass.base);
	weft_future_drop(&c->sel.base);
	weft_future_drop(&c->inner_lose.base);
	weft_future_drop(&c->inner_win.base);
	weft_future_drop(&c->sel_a.base);
	weft_future_drop(&c->sel_b.base);
	weft_future_drop(&c->pause.base);
}

static const struct weft_future_vtable chaos_vt = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct chaos),
    .poll = chaos_poll,
    .drop = chaos_drop,
};

static struct weft_runtime *
open_pair(const char *ex, const char *re)
{
	struct weft_config *cfg;
	struct weft_runtime *rt = NULL;
	char err[512];

	if (weft_config_new(&cfg) < 0)
		return NULL;
	weft_config_set(cfg, "executor", ex, NULL, 0);
	weft_config_set(cfg, "reactor", re, NULL, 0);
	if (weft_runtime_open(&rt, cfg, err, sizeof(err)) < 0)
		fprintf(stderr, "soak: %s\n", err);
	weft_config_free(cfg);
	return rt;
}

struct totals {
	long rounds, spawned, aborted, timeouts, losers, sent, received,
	    undelivered;
};

/* One round on a fresh runtime; adds to *t. */
static void
chaos_round(const char *ex, const char *re, unsigned seed, struct totals *t)
{
	struct books *b = calloc(1, sizeof(*b));
	struct chaos c;
	long made0 = atomic_load(&made), dropped0 = atomic_load(&dropped);
	long in_rx = 0;
	int msg, r;

	memset(&c, 0, sizeof(c));
	c.base.vtable = &chaos_vt;
	c.seed = seed;
	c.b = b;
	c.rt = open_pair(ex, re);
	if (!b || !c.rt || weft_mpsc_new(sizeof(int), 8, &c.tx, &c.rx) < 0) {
		fail("cannot start a round", 0, 0);
		free(b);
		if (c.rt)
			weft_runtime_close(c.rt);
		return;
	}
	r = weft_block_on(c.rt, &c.base);
	if (r < 0)
		fail("block_on failed", r, 0);
	weft_future_drop(&c.base);
	/* The shutdown in the middle: producers and sleepers still live. */
	weft_runtime_shutdown(c.rt);
	weft_runtime_close(c.rt);
	weft_mpsc_tx_free(c.tx);
	/* What was sent and not received is still in the channel. */
	while (weft_mpsc_try_recv(c.rx, &msg) == 0) {
		book(b, msg);
		in_rx++;
	}
	weft_mpsc_rx_free(c.rx);
	if (atomic_load(&made) - made0 != atomic_load(&dropped) - dropped0)
		fail("futures made and dropped differ",
		     atomic_load(&made) - made0,
		     atomic_load(&dropped) - dropped0);
	if (atomic_load(&b->sent) != atomic_load(&b->received))
		fail("messages sent and received differ", atomic_load(&b->sent),
		     atomic_load(&b->received));
	if (atomic_load(&b->dups))
		fail("messages received twice", atomic_load(&b->dups), 0);
	t->rounds++;
	t->spawned += atomic_load(&made) - made0;
	t->aborted += c.aborted;
	t->timeouts += c.timeouts;
	t->losers += c.select_losers;
	t->sent += atomic_load(&b->sent);
	t->received += atomic_load(&b->received) - in_rx;
	t->undelivered += in_rx;
	free(b);
}

static long
env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 10) : def;
}

int
main(int argc, char **argv)
{
	struct weft_runtime *rt;
	struct totals t = {0};
	long wakes_wanted = env_long("WEFT_SOAK_WAKES", 200000);
	long seconds = env_long("WEFT_SOAK_SECONDS", 10);
	uint64_t start = now_ns(), end;
	unsigned seed = (unsigned)start;
	int wakes;

	if (argc != 3) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR\n", argv[0]);
		return 2;
	}
	if (getenv("WEFT_UNDER_VALGRIND")) {
		printf("soak: skipped under Valgrind\n");
		return 77;
	}
	/* 0 seconds: no time bound (the long target). */
	end = seconds > 0 ? start + (uint64_t)seconds * WEFT_SEC : UINT64_MAX;
	rt = open_pair(argv[1], argv[2]);
	if (!rt)
		return 1;
	wakes =
	    phase_wakes(rt, wakes_wanted,
	                seconds > 0 ? start + (end - start) / 2 : UINT64_MAX);
	weft_runtime_close(rt);
	if (atomic_load(&made) != atomic_load(&dropped))
		fail("waiters made and dropped differ", atomic_load(&made),
		     atomic_load(&dropped));
	do
		chaos_round(argv[1], argv[2], seed + (unsigned)t.rounds, &t);
	while (now_ns() < end && t.rounds < (seconds > 0 ? 1000000 : 20));
	printf("soak %s x %s (seed %u, %.1f s): %d cross-thread wakes of "
	       "%ld wanted; %ld rounds, %ld futures made and %ld dropped, "
	       "%ld aborted, %ld timeouts fired, %ld select losers; %ld "
	       "messages sent, %ld received, %ld undelivered at shutdown "
	       "and drained; %ld failures\n",
	       argv[1], argv[2], seed, (double)(now_ns() - start) / 1e9, wakes,
	       wakes_wanted, t.rounds, atomic_load(&made),
	       atomic_load(&dropped), t.aborted, t.timeouts, t.losers, t.sent,
	       t.received, t.undelivered, fails);
	return fails ? 1 : 0;
}
