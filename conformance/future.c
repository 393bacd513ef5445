/* SPDX-License-Identifier: MIT */
/*
 * F rules (futures as the executor treats them) and C rules (the context
 * each poll receives).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ---- F1 ------------------------------------------------------------ */

static void
F1_completed_future_dropped_once(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	struct weft_join_future jf;
	struct h_fut f;
	uint64_t out = 0;

	(void)state;
	h_fut_init(&f, &probe, H_FUT_YIELD, 2, 42);
	weft_join_future_init(&jf, h_spawn(rt, &f.base), &out, sizeof(out));
	assert_int_equal(weft_block_on(rt, &jf.base), 0);
	assert_int_equal(jf.status, 0);
	assert_int_equal(out, 42);
	weft_future_drop(&jf.base);
	/* Dropped at completion, before the join handle reported it. */
	assert_int_equal(atomic_load(&probe.drops), 1);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&probe.drops), 1);
	assert_int_equal(atomic_load(&probe.polls), 3);
	H_NO_VIOLATIONS();
}


static void
F1_ten_thousand_tasks_dropped_once(void **state)
{
	enum { N = 10000 };
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe *probes = calloc(N, sizeof(*probes));
	struct h_signal sig;
	atomic_uint tally = 0;
	struct h_tally_wait tw = {&sig, &tally, N};
	unsigned i, bad = 0;

	(void)state;
	assert_non_null(probes);
	h_signal_init(&sig);
	for (i = 0; i < N; i++) {
		struct h_fut f;

		h_fut_init(&f, &probes[i], H_FUT_YIELD, 1, i);
		f.tally = &tally;
		f.on_ready = &sig;
		/* Detached: nobody joins, the task still runs and is freed. */
		assert_int_equal(weft_spawn(rt, &f.base, NULL), 0);
	}
	assert_int_equal(h_block_on_fn(rt, h_tally_wait_step, &tw), 0);
	h_signal_fini(&sig);
	weft_runtime_close(rt);
	for (i = 0; i < N; i++) {
		if (atomic_load(&probes[i].drops) != 1 ||
		    atomic_load(&probes[i].polls) != 2) {
			if (bad++ < 5)
				print_error("task %u: %u drops, %u polls\n", i,
				            atomic_load(&probes[i].drops),
				            atomic_load(&probes[i].polls));
		}
	}
	free(probes);
	assert_int_equal(bad, 0);
	H_NO_VIOLATIONS();
}


/* ---- F2 ------------------------------------------------------------ */

/* Completes while a helper thread keeps waking it. */
struct hammered {
	struct weft_future base;
	struct weft_waker w;
	pthread_t t;
	bool started, finished;
};


static void *
hammer_main(void *arg)
{
	struct weft_waker *w = arg;
	int i;

	for (i = 0; i < 300; i++)
		weft_waker_wake_by_ref(w);
	weft_waker_drop(w);
	return NULL;
}


static weft_poll
hammered_poll(struct weft_future *base, struct weft_context *cx)
{
	struct hammered *h = (struct hammered *)base;

	if (h->finished) {
		h_violation("F2: a future was polled again after ready");
		return WEFT_READY;
	}
	if (!h->started) {
		h->w = weft_waker_clone(&cx->waker);
		if (pthread_create(&h->t, NULL, hammer_main, &h->w) != 0) {
			weft_waker_drop(&h->w);
			h_violation("harness: pthread_create failed");
			return WEFT_READY;
		}
		h->started = true;
		return WEFT_PENDING;
	}
	h->finished = true;
	return WEFT_READY;
}


static void
hammered_drop(struct weft_future *base)
{
	struct hammered *h = (struct hammered *)base;

	if (h->started)
		pthread_join(h->t, NULL);
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(hammered_vtable, struct hammered, hammered_poll,
                             hammered_drop);


static void
F2_never_polled_after_ready(void **state)
{
	enum { N = 50 };
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_join_future jf[N];
	struct hammered root = {.base = {&hammered_vtable}};
	unsigned i;

	(void)state;
	for (i = 0; i < N; i++) {
		struct hammered h = {.base = {&hammered_vtable}};

		weft_join_future_init(&jf[i], h_spawn(rt, &h.base), NULL, 0);
	}
	assert_int_equal(weft_block_on(rt, &root.base), 0);
	weft_future_drop(&root.base);
	for (i = 0; i < N; i++) {
		assert_int_equal(weft_block_on(rt, &jf[i].base), 0);
		assert_int_equal(jf[i].status, 0);
		weft_future_drop(&jf[i].base);
	}
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- F3 ------------------------------------------------------------ */

/*
 * A task that completes only once the gate is open, and a root-side
 * wrapper that opens it when the join future has returned pending: the
 * join future then must arrange the wake of its completion (F3), however
 * late the root gets to its first poll.
 */
struct f3_gate {
	pthread_mutex_t lock;
	bool open;
	struct weft_waker task; /* the task's waker while it waits */
};

struct f3_gated {
	struct weft_future base;
	struct f3_gate *g;
};

struct f3_join_first {
	struct weft_future base;
	struct weft_join_future *jf;
	struct f3_gate *g;
};


static weft_poll
f3_gated_poll(struct weft_future *base, struct weft_context *cx)
{
	struct f3_gate *g = ((struct f3_gated *)base)->g;
	bool open;

	pthread_mutex_lock(&g->lock);
	open = g->open;
	if (!open)
		weft_waker_store(&g->task, &cx->waker);
	pthread_mutex_unlock(&g->lock);
	return open ? WEFT_READY : WEFT_PENDING;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(f3_gated_vtable, struct f3_gated, f3_gated_poll,
                             NULL);


static weft_poll
f3_join_first_poll(struct weft_future *base, struct weft_context *cx)
{
	struct f3_join_first *w = (struct f3_join_first *)base;
	struct weft_waker task;

	if (weft_future_poll(&w->jf->base, cx) == WEFT_READY)
		return WEFT_READY;
	pthread_mutex_lock(&w->g->lock);
	w->g->open = true;
	task = w->g->task;
	w->g->task = (struct weft_waker){0, 0};
	pthread_mutex_unlock(&w->g->lock);
	weft_waker_wake(&task);
	return WEFT_PENDING;
}


static void
f3_join_first_drop(struct weft_future *base)
{
	weft_future_drop(&((struct f3_join_first *)base)->jf->base);
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(f3_join_first_vtable, struct f3_join_first,
                             f3_join_first_poll, f3_join_first_drop);


static void
F3_runtime_futures_arrange_wakes(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_sleep sleep, inner;
	struct weft_yield yield;
	struct weft_timeout timeout;
	struct weft_join_future jf;
	struct f3_gate gate = {.open = false};
	struct f3_gated task = {{&f3_gated_vtable}, &gate};
	struct f3_join_first first = {{&f3_join_first_vtable}, &jf, &gate};
	struct h_waker hw;

	(void)state;
	/*
	 * Each completes only if it wakes the counted waker it was given.
	 * The durations outlast the way to the first poll, which is long
	 * under the memory checker; a sleep already over at its first poll
	 * would need no wake and spoil the count.
	 */
	h_waker_init(&hw);
	weft_sleep_init(&sleep, (h_opt.slow ? 200 : 5) * WEFT_MSEC);
	assert_int_equal(h_block_on_counted(rt, &sleep.base, &hw), 0);
	weft_yield_init(&yield);
	assert_int_equal(h_block_on_counted(rt, &yield.base, &hw), 0);
	weft_sleep_init(&inner, 10 * WEFT_SEC);
	weft_timeout_init(&timeout, &inner.base, 10 * WEFT_MSEC);
	assert_int_equal(h_block_on_counted(rt, &timeout.base, &hw), 0);
	assert_int_equal(timeout.status, WEFT_ETIMEDOUT);
	/*
	 * The task ends only after the join future has returned pending:
	 * a task that merely took a while (a 10 ms sleep) could end before
	 * a preempted root first polled its join, which then needed no
	 * wake and failed the count on a correct executor.
	 */
	pthread_mutex_init(&gate.lock, NULL);
	weft_join_future_init(&jf, h_spawn(rt, &task.base), NULL, 0);
	assert_int_equal(h_block_on_counted(rt, &first.base, &hw), 0);
	assert_int_equal(jf.status, 0);
	assert_true(h_waker_woken(&hw) >= 4);
	h_waker_fini(&hw);
	weft_runtime_close(rt);
	weft_waker_drop(&gate.task);
	pthread_mutex_destroy(&gate.lock);
	H_NO_VIOLATIONS();
}


/* ---- F4, F6: output ------------------------------------------------- */

struct scribbler {
	struct weft_future base;
	struct h_probe *probe;
	uint64_t before[4];
	unsigned char out[40];
	uint64_t after[4];
};


static weft_poll
scribbler_poll(struct weft_future *base, struct weft_context *cx)
{
	struct scribbler *s = (struct scribbler *)base;
	unsigned i;

	(void)cx;
	atomic_fetch_add(&s->probe->polls, 1);
	for (i = 0; i < sizeof(s->out); i++)
		s->out[i] = (unsigned char)(0xA0 + i);
	return WEFT_READY;
}


/* Scribbles over everything but the output, as a drop may. */
static void
scribbler_drop(struct weft_future *base)
{
	struct scribbler *s = (struct scribbler *)base;
	struct h_probe *p = s->probe;

	memset(s->before, 0xEE, sizeof(s->before));
	memset(s->after, 0xEE, sizeof(s->after));
	s->probe = NULL;
	atomic_fetch_add(&p->drops, 1);
}


WEFT_FUTURE_VTABLE(scribbler_vtable, struct scribbler, out, scribbler_poll,
                   scribbler_drop);


static bool
pattern_ok(const unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (out[i] != (unsigned char)(0xA0 + i))
			return false;
	return true;
}


static void
F4_output_survives_drop(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	struct scribbler s = {{&scribbler_vtable}, &probe, {0}, {0}, {0}};
	struct weft_join_future jf;
	unsigned char out[40] = {0};

	(void)state;
	weft_join_future_init(&jf, h_spawn(rt, &s.base), out, sizeof(out));
	assert_int_equal(weft_block_on(rt, &jf.base), 0);
	assert_int_equal(jf.status, 0);
	weft_future_drop(&jf.base);
	assert_true(pattern_ok(out, sizeof(out)));
	assert_int_equal(atomic_load(&probe.drops), 1);

	/* block_on leaves the drop to its caller, who reads first. */
	s = (struct scribbler){{&scribbler_vtable}, &probe, {0}, {0}, {0}};
	assert_int_equal(weft_block_on(rt, &s.base), 0);
	assert_int_equal(atomic_load(&probe.drops), 1);
	weft_future_drop(&s.base);
	assert_true(pattern_ok(s.out, sizeof(s.out)));
	assert_int_equal(atomic_load(&probe.drops), 2);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


static void
F6_output_copied_from_its_offset(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	struct scribbler s = {{&scribbler_vtable}, &probe, {0}, {0}, {0}};
	struct weft_yield y;
	struct weft_join_future jf;
	unsigned char out[48];

	(void)state;
	/* Exactly output_size bytes land in out: the rest stays. */
	memset(out, 0x11, sizeof(out));
	weft_join_future_init(&jf, h_spawn(rt, &s.base), out, sizeof(out));
	assert_int_equal(weft_block_on(rt, &jf.base), 0);
	assert_int_equal(jf.status, 0);
	weft_future_drop(&jf.base);
	assert_true(pattern_ok(out, 40));
	assert_int_equal(out[40], 0x11);
	assert_int_equal(out[47], 0x11);

	/* No output (output_size 0): joined with no buffer. */
	weft_yield_init(&y);
	weft_join_future_init(&jf, h_spawn(rt, &y.base), NULL, 0);
	assert_int_equal(weft_block_on(rt, &jf.base), 0);
	assert_int_equal(jf.status, 0);
	weft_future_drop(&jf.base);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- F5 ------------------------------------------------------------ */

struct big {
	struct weft_future base;
	const void *origin; /* where the spawner built it */
	unsigned char payload[3001];
	int ok;
};


static weft_poll
big_poll(struct weft_future *base, struct weft_context *cx)
{
	struct big *b = (struct big *)base;
	size_t i;

	(void)cx;
	b->ok = b->origin != (const void *)b;
	for (i = 0; i < sizeof(b->payload); i++)
		if (b->payload[i] != (unsigned char)(i * 7 + 3))
			b->ok = 0;
	return WEFT_READY;
}


WEFT_FUTURE_VTABLE(big_vtable, struct big, ok, big_poll, NULL);


static void
F5_spawn_copies_size_bytes(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct big *b = malloc(sizeof(*b));
	struct weft_join_future jf;
	struct weft_join *join;
	int ok = -1;
	size_t i;

	(void)state;
	assert_non_null(b);
	b->base.vtable = &big_vtable;
	b->origin = b;
	for (i = 0; i < sizeof(b->payload); i++)
		b->payload[i] = (unsigned char)(i * 7 + 3);
	b->ok = -1;
	join = h_spawn(rt, &b->base);
	/* The spawner's copy is dead now; the task must not need it. */
	memset(b, 0, sizeof(*b));
	free(b);
	weft_join_future_init(&jf, join, &ok, sizeof(ok));
	assert_int_equal(weft_block_on(rt, &jf.base), 0);
	assert_int_equal(jf.status, 0);
	weft_future_drop(&jf.base);
	assert_int_equal(ok, 1);
	weft_runtime_close(rt);
}


/* ---- F7 ------------------------------------------------------------ */

static void
F7_pinned_from_first_poll(void **state)
{
	enum { N = 20 };
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probes[N + 1];
	struct h_fut root;
	struct weft_join_future jf[N];
	unsigned i;

	(void)state;
	memset(probes, 0, sizeof(probes));
	for (i = 0; i < N; i++) {
		struct h_fut f;

		h_fut_init(&f, &probes[i], H_FUT_YIELD, 50, i);
		weft_join_future_init(&jf[i], h_spawn(rt, &f.base), NULL, 0);
	}
	h_fut_init(&root, &probes[N], H_FUT_YIELD, 50, 0);
	assert_int_equal(weft_block_on(rt, &root.base), 0);
	weft_future_drop(&root.base);
	for (i = 0; i < N; i++) {
		assert_int_equal(weft_block_on(rt, &jf[i].base), 0);
		weft_future_drop(&jf[i].base);
	}
	weft_runtime_close(rt);
	for (i = 0; i <= N; i++)
		assert_int_equal(atomic_load(&probes[i].polls), 51);
	H_NO_VIOLATIONS();
}


/* ---- C rules ------------------------------------------------------- */

struct cx_check {
	struct weft_future base;
	struct weft_runtime *rt;
	int polls;
	bool budget_spent;
};


static void
check_context(struct cx_check *c, struct weft_context *cx)
{
	const struct weft_waker_vtable *vt;

	if (!cx) {
		h_violation("C1: poll got a NULL context");
		return;
	}
	if (cx->size < sizeof(struct weft_context) ||
	    !WEFT_CONTEXT_HAS(cx, driver))
		h_violation("C3: context size %u is smaller than ABI 1.0's %zu",
		            cx->size, sizeof(struct weft_context));
	vt = cx->waker.vtable;
	if (!vt || vt->version < 1 || !vt->clone || !vt->wake ||
	    !vt->wake_by_ref || !vt->drop)
		h_violation("C1: the context's waker is empty or incomplete");
	if (cx->executor != weft_runtime_executor(c->rt))
		h_violation("C2: cx->executor is not this runtime's executor");
	if (cx->driver != weft_runtime_driver(c->rt))
		h_violation("C2: cx->driver is not this runtime's driver");
}


static weft_poll
cx_check_poll(struct weft_future *base, struct weft_context *cx)
{
	struct cx_check *c = (struct cx_check *)base;

	check_context(c, cx);
	if (cx && ++c->polls < 4) {
		weft_waker_wake_by_ref(&cx->waker);
		return WEFT_PENDING;
	}
	return WEFT_READY;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(cx_check_vtable, struct cx_check, cx_check_poll,
                             NULL);


static void
run_cx_check(struct weft_runtime *rt)
{
	struct cx_check root = {{&cx_check_vtable}, rt, 0, false};
	struct cx_check task = root;
	struct weft_join_future jf;

	assert_int_equal(weft_block_on(rt, &root.base), 0);
	weft_future_drop(&root.base);
	weft_join_future_init(&jf, h_spawn(rt, &task.base), NULL, 0);
	assert_int_equal(weft_block_on(rt, &jf.base), 0);
	weft_future_drop(&jf.base);
}


static void
C1_context_valid_during_poll(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);

	(void)state;
	run_cx_check(rt);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


static void *
cx_thread(void *arg)
{
	struct weft_runtime *rt = arg;
	struct cx_check root = {{&cx_check_vtable}, rt, 0, false};
	struct weft_sleep s;

	/* Runs concurrently with the other runtime's block_on. */
	if (weft_block_on(rt, &root.base) != 0)
		h_violation("C2: block_on failed with two runtimes");
	weft_future_drop(&root.base);
	weft_sleep_init(&s, 20 * WEFT_MSEC);
	if (weft_block_on(rt, &s.base) != 0 || s.status != 0)
		h_violation("C2: a sleep failed with two runtimes");
	weft_future_drop(&s.base);
	return NULL;
}


static void
C2_two_runtimes_in_one_process(void **state)
{
	struct weft_runtime *a = h_rt_open(NULL);
	struct weft_runtime *b = h_rt_open(NULL);
	pthread_t ta, tb;

	(void)state;
	assert_ptr_not_equal(weft_runtime_executor(a),
	                     weft_runtime_executor(b));
	ta = h_thread(cx_thread, a);
	tb = h_thread(cx_thread, b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	run_cx_check(a);
	run_cx_check(b);
	weft_runtime_close(a);
	weft_runtime_close(b);
	H_NO_VIOLATIONS();
}


static void
C3_context_size_covers_abi_1_0(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);

	(void)state;
	/* check_context reports C3 separately from the C1 checks. */
	run_cx_check(rt);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


static weft_poll
budget_poll(struct weft_future *base, struct weft_context *cx)
{
	struct cx_check *c = (struct cx_check *)base;
	unsigned spent = 0;

	if (cx->budget != WEFT_BUDGET_DEFAULT)
		h_violation("C4: poll %d started with budget %u, not %u",
		            c->polls + 1, cx->budget, WEFT_BUDGET_DEFAULT);
	if (c->polls++ > 0)
		return WEFT_READY;
	/* Bounded: a budget that never runs out is itself a violation. */
	while (spent <= 100000 && weft_budget_spend(cx))
		spent++;
	if (spent != WEFT_BUDGET_DEFAULT)
		h_violation("C4: spent %u units in one poll, not %u", spent,
		            WEFT_BUDGET_DEFAULT);
	/* The failed spend woke us: pending now means one more poll. */
	return WEFT_PENDING;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(budget_vtable, struct cx_check, budget_poll, NULL);


static void
C4_budget_is_128_per_poll(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct cx_check root = {{&budget_vtable}, rt, 0, false};
	struct cx_check task = root;
	struct weft_join_future jf;

	(void)state;
	assert_int_equal(weft_block_on(rt, &root.base), 0);
	weft_future_drop(&root.base);
	assert_int_equal(root.polls, 2);
	weft_join_future_init(&jf, h_spawn(rt, &task.base), NULL, 0);
	assert_int_equal(weft_block_on(rt, &jf.base), 0);
	weft_future_drop(&jf.base);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


static const struct CMUnitTest tests[] = {
    H_TEST(F1_completed_future_dropped_once),
    H_TEST(F1_ten_thousand_tasks_dropped_once),
    H_TEST(F2_never_polled_after_ready),
    H_TEST(F3_runtime_futures_arrange_wakes),
    H_TEST(F4_output_survives_drop),
    H_TEST(F5_spawn_copies_size_bytes),
    H_TEST(F6_output_copied_from_its_offset),
    H_TEST(F7_pinned_from_first_poll),
    H_TEST(C1_context_valid_during_poll),
    H_TEST(C2_two_runtimes_in_one_process),
    H_TEST(C3_context_size_covers_abi_1_0),
    H_TEST(C4_budget_is_128_per_poll),
};

H_GROUP(h_group_future, "future", tests);
