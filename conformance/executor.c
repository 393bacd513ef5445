/* SPDX-License-Identifier: MIT */
/*
 * E rules: spawn, block_on, shutdown, abort, fairness, waker identity,
 * statistics and threading, through a real runtime.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* ---- E1: never two polls at once ------------------------------------ */

struct e1_shared {
	pthread_mutex_t lock;
	struct weft_waker slots[32];
	int nslots;
	atomic_bool stop;
	atomic_uint tally;
	struct h_signal sig;
};

struct e1_fut {
	struct weft_future base;
	struct e1_shared *sh;
	struct h_probe *probe;
	unsigned polls;
};


static weft_poll
e1_poll(struct weft_future *base, struct weft_context *cx)
{
	struct e1_fut *f = (struct e1_fut *)base;
	struct e1_shared *sh = f->sh;

	if (atomic_exchange(&f->probe->in_poll, 1))
		h_violation("E1: a task was polled on two threads at once");
	if (f->polls++ == 0) {
		pthread_mutex_lock(&sh->lock);
		sh->slots[sh->nslots++] = weft_waker_clone(&cx->waker);
		pthread_mutex_unlock(&sh->lock);
	}
	/* Widen the window in which a second poll would overlap. */
	for (volatile int spin = 0; spin < 2000; spin++)
		;
	if (f->polls % 2)
		weft_waker_wake_by_ref(&cx->waker);
	atomic_store(&f->probe->in_poll, 0);
	if (f->polls < 200)
		return WEFT_PENDING;
	atomic_fetch_add(&sh->tally, 1);
	h_signal_notify(&sh->sig);
	return WEFT_READY;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(e1_vtable, struct e1_fut, e1_poll, NULL);


static void *
e1_helper(void *arg)
{
	struct e1_shared *sh = arg;
	/*
	 * Foreign wakes of tasks drawn from the seed, at moments the
	 * scheduler picks; stale ones hit finished tasks.
	 */
	while (!atomic_load(&sh->stop)) {
		pthread_mutex_lock(&sh->lock);
		if (sh->nslots)
			weft_waker_wake_by_ref(
			    &sh->slots[h_rand() % (unsigned)sh->nslots]);
		pthread_mutex_unlock(&sh->lock);
		if (h_rand() % 4 == 0)
			sched_yield();
	}
	return NULL;
}


static void
E1_never_polled_on_two_threads_at_once(void **state)
{
	enum { N = 32, HELPERS = 3 };
	struct weft_runtime *rt = h_rt_open(NULL);
	struct e1_shared sh = {.nslots = 0};
	struct h_probe probes[N];
	struct h_tally_wait tw = {&sh.sig, &sh.tally, N};
	pthread_t t[HELPERS];
	int i;

	(void)state;
	memset(probes, 0, sizeof(probes));
	pthread_mutex_init(&sh.lock, NULL);
	h_signal_init(&sh.sig);
	for (i = 0; i < HELPERS; i++)
		t[i] = h_thread(e1_helper, &sh);
	for (i = 0; i < N; i++) {
		struct e1_fut f = {{&e1_vtable}, &sh, &probes[i], 0};

		assert_int_equal(weft_spawn(rt, &f.base, NULL), 0);
	}
	assert_int_equal(h_block_on_fn(rt, h_tally_wait_step, &tw), 0);
	atomic_store(&sh.stop, true);
	for (i = 0; i < HELPERS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < sh.nslots; i++)
		weft_waker_drop(&sh.slots[i]);
	h_signal_fini(&sh.sig);
	weft_runtime_close(rt);
	pthread_mutex_destroy(&sh.lock);
	H_NO_VIOLATIONS();
}


/* ---- E2: spawn consumes ------------------------------------------- */

static void
E2_spawn_after_shutdown_drops_future(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct weft_join *join = NULL;
	struct h_probe probe[2];
	struct h_fut f;
	int r;

	(void)state;
	memset(probe, 0, sizeof(probe));
	weft_runtime_shutdown(rt);
	h_fut_init(&f, &probe[0], H_FUT_YIELD, 0, 0);
	r = weft_spawn(rt, &f.base, &join);
	assert_true(r < 0);
	assert_null(join);
	h_fut_init(&f, &probe[1], H_FUT_YIELD, 0, 0);
	r = weft_spawn(rt, &f.base, NULL);
	assert_true(r < 0);
	/* Refused, and still consumed: dropped once each, never polled. */
	assert_int_equal(atomic_load(&probe[0].drops), 1);
	assert_int_equal(atomic_load(&probe[1].drops), 1);
	assert_int_equal(atomic_load(&probe[0].polls), 0);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- E3: spawn from inside a task and from any thread --------------- */

struct spawner {
	struct weft_future base;
	int depth;
	atomic_uint *tally;
	struct h_signal *sig;
};


static weft_poll
spawner_poll(struct weft_future *base, struct weft_context *cx)
{
	struct spawner *s = (struct spawner *)base;
	int r;

	if (s->depth > 0) {
		struct spawner child = *s;

		child.depth--;
		r = weft_executor_spawn(cx->executor, &child.base, NULL);
		if (r < 0)
			h_violation("E3: spawn from inside a poll failed: %s",
			            weft_strerror(r));
	}
	atomic_fetch_add(s->tally, 1);
	h_signal_notify(s->sig);
	return WEFT_READY;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(spawner_vtable, struct spawner, spawner_poll,
                             NULL);

struct spawn_root {
	struct h_signal sig;
	atomic_uint tally;
	bool spawned;
	struct h_tally_wait tw;
};


static weft_poll
spawn_root_step(void *arg, struct weft_context *cx)
{
	struct spawn_root *sr = arg;
	int i, r;

	if (!sr->spawned) {
		sr->spawned = true;
		for (i = 0; i < 10; i++) {
			struct spawner s = {
			    {&spawner_vtable}, 2, &sr->tally, &sr->sig};

			r = weft_executor_spawn(cx->executor, &s.base, NULL);
			if (r < 0)
				h_violation("E3: spawn from the root failed");
		}
	}
	return h_tally_wait_step(&sr->tw, cx);
}


static void
E3_spawn_from_inside_a_task(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct spawn_root sr = {.spawned = false};

	(void)state;
	h_signal_init(&sr.sig);
	sr.tw = (struct h_tally_wait){&sr.sig, &sr.tally, 30};
	assert_int_equal(h_block_on_fn(rt, spawn_root_step, &sr), 0);
	h_signal_fini(&sr.sig);
	weft_runtime_close(rt);
	assert_int_equal(atomic_load(&sr.tally), 30);
	H_NO_VIOLATIONS();
}


struct foreign_spawn {
	struct weft_runtime *rt;
	struct spawn_root *sr;
};


static void *
foreign_spawn_main(void *arg)
{
	struct foreign_spawn *fs = arg;
	int i;

	for (i = 0; i < 100; i++) {
		struct spawner s = {
		    {&spawner_vtable}, 0, &fs->sr->tally, &fs->sr->sig};

		if (weft_spawn(fs->rt, &s.base, NULL) < 0)
			h_violation("E3: spawn from a foreign thread failed");
		if (i % 10 == 0)
			h_sleep_ns(WEFT_MSEC);
	}
	return NULL;
}


static void
E3_spawn_from_a_foreign_thread(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct spawn_root sr = {.spawned = true};
	struct foreign_spawn fs = {rt, &sr};
	pthread_t t;

	(void)state;
	h_signal_init(&sr.sig);
	sr.tw = (struct h_tally_wait){&sr.sig, &sr.tally, 100};
	t = h_thread(foreign_spawn_main, &fs);
	/* block_on is parked most of the time: spawns must unpark it. */
	assert_int_equal(h_block_on_fn(rt, h_tally_wait_step, &sr.tw), 0);
	pthread_join(t, NULL);
	h_signal_fini(&sr.sig);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


/* ---- E4: block_on -------------------------------------------------- */

static void
E4_block_on_runs_root_and_tasks(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe[5], root_probe = {0};
	struct h_signal sig;
	atomic_uint tally = 0;
	struct h_tally_wait tw = {&sig, &tally, 5};
	struct h_fut root;
	int i;

	(void)state;
	memset(probe, 0, sizeof(probe));
	h_signal_init(&sig);
	for (i = 0; i < 5; i++) {
		struct h_fut f;

		h_fut_init(&f, &probe[i], H_FUT_YIELD, 2, 0);
		f.tally = &tally;
		f.on_ready = &sig;
		weft_join_release(h_spawn(rt, &f.base));
	}
	assert_int_equal(h_block_on_fn(rt, h_tally_wait_step, &tw), 0);
	/* The root is the caller's: block_on polls it but never drops it. */
	h_fut_init(&root, &root_probe, H_FUT_YIELD, 3, 5);
	assert_int_equal(weft_block_on(rt, &root.base), 0);
	assert_int_equal(atomic_load(&root_probe.drops), 0);
	assert_int_equal(root.out, 5);
	weft_future_drop(&root.base);
	assert_int_equal(atomic_load(&root_probe.drops), 1);
	h_signal_fini(&sig);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


struct nested {
	struct weft_runtime *rt;
	int result;
};


static weft_poll
nested_step(void *arg, struct weft_context *cx)
{
	struct nested *n = arg;
	struct h_probe probe = {0};
	struct h_fut inner;

	(void)cx;
	h_fut_init(&inner, &probe, H_FUT_YIELD, 0, 0);
	n->result = weft_block_on(n->rt, &inner.base);
	weft_future_drop(&inner.base);
	if (atomic_load(&probe.polls) != 0)
		h_violation("E4: a refused nested block_on polled its future");
	return WEFT_READY;
}


static void
E4_nested_block_on_is_ebusy(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct nested n = {rt, 0};

	(void)state;
	assert_int_equal(h_block_on_fn(rt, nested_step, &n), 0);
	assert_int_equal(n.result, WEFT_EBUSY);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


static void
E4_block_on_after_shutdown_is_eclosed(void **state)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct h_probe probe = {0};
	struct h_fut f;

	(void)state;
	weft_runtime_shutdown(rt);
	h_fut_init(&f, &probe, H_FUT_YIELD, 0, 0);
	assert_int_equal(weft_block_on(rt, &f.base), WEFT_ECLOSED);
	assert_int_equal(atomic_load(&probe.polls), 0);
	weft_future_drop(&f.base);
	weft_runtime_close(rt);
	H_NO_VIOLATIONS();
}


static const struct CMUnitTest tests[] = {
    H_TEST(E1_never_polled_on_two_threads_at_once),
    H_TEST(E2_spawn_after_shutdown_drops_future),
    H_TEST(E3_spawn_from_inside_a_task),
    H_TEST(E3_spawn_from_a_foreign_thread),
    H_TEST(E4_block_on_runs_root_and_tasks),
    H_TEST(E4_nested_block_on_is_ebusy),
    H_TEST(E4_block_on_after_shutdown_is_eclosed),
};

H_GROUP(h_group_executor, "executor", tests);
