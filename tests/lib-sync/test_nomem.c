/* SPDX-License-Identifier: MIT */
/*
 * The library's objects under allocation failure.  The process default
 * allocator (weft_set_default_allocator) is a counting one that can fail
 * the n-th allocation from a given point; each scenario is run once per
 * allocation it makes, failing exactly that one, and must report -ENOMEM
 * (or the documented status) and give back every byte it took.
 */
#include <weft/cancel.h>
#include <weft/channel.h>
#include <weft/combinator.h>
#include <weft/stream.h>
#include <weft/sync.h>
#include <weft/task.h>

#include "common.h"

static atomic_ulong calls;   /* allocations attempted */
static atomic_ulong fail_at; /* the one to fail (1-based), 0: none */
static atomic_long live;     /* allocations not yet freed */

static void *
fa_alloc(void *ud, size_t size)
{
	void *p;

	(void)ud;
	if (atomic_fetch_add(&calls, 1) + 1 == atomic_load(&fail_at))
		return NULL;
	p = malloc(size);
	if (p)
		atomic_fetch_add(&live, 1);
	return p;
}

static void
fa_free(void *ud, void *p)
{
	(void)ud;
	atomic_fetch_sub(&live, 1);
	free(p);
}

static const struct weft_allocator counting = {
    .version = WEFT_ALLOCATOR_VERSION,
    .alloc = fa_alloc,
    .free = fa_free,
};

/*
 * Runs scenario once per allocation it makes, failing the k-th (k = 1, 2,
 * ...) until a run makes no more than k-1 allocations and succeeds.  Each
 * failed run must return -ENOMEM, and every run must leave the balance of
 * live allocations as it found it when `balanced` (scenarios with tasks
 * leave that to the runtime's close).  Returns how many runs failed.
 */
static int
fail_each(int (*scenario)(void), bool balanced)
{
	int failures = 0;

	for (unsigned long k = 1; k < 64; k++) {
		long before = atomic_load(&live);
		int r;

		atomic_store(&fail_at, atomic_load(&calls) + k);
		r = scenario();
		atomic_store(&fail_at, 0);
		if (balanced)
			assert_int_equal(atomic_load(&live), before);
		if (r == 0)
			return failures;
		assert_int_equal(r, -ENOMEM);
		failures++;
	}
	fail_msg("scenario never succeeded");
	return failures;
}

/* ---- sync primitives ------------------------------------------------ */

static int
sync_objects(void)
{
	struct weft_mutex *m = NULL;
	struct weft_rwlock *rw = NULL;
	struct weft_semaphore *s = NULL;
	struct weft_notify *n = NULL;
	struct weft_barrier *b = NULL;
	int r;

	if ((r = weft_mutex_new(&m)) < 0)
		goto out;
	if ((r = weft_rwlock_new(&rw)) < 0)
		goto out;
	if ((r = weft_semaphore_new(2, &s)) < 0)
		goto out;
	if ((r = weft_notify_new(&n)) < 0)
		goto out;
	r = weft_barrier_new(2, &b);
	if (r == 0) {
		/* What was made works. */
		assert_int_equal(weft_mutex_try_lock(m), 0);
		assert_int_equal(weft_rwlock_try_read(rw), 0);
		assert_int_equal(weft_semaphore_available(s), 2);
		weft_mutex_unlock(m);
		weft_rwlock_read_unlock(rw);
	}
out:
	weft_barrier_free(b);
	weft_notify_free(n);
	weft_semaphore_free(s);
	weft_rwlock_free(rw);
	weft_mutex_free(m);
	return r;
}

static void
nomem_sync(void **state)
{
	(void)state;
	/* Five objects, one allocation each. */
	assert_int_equal(fail_each(sync_objects, true), 5);
}

/* ---- channels ------------------------------------------------------- */

static int
broadcast_objects(void)
{
	struct weft_broadcast_tx *tx;
	struct weft_broadcast_rx *rx, *rx2 = NULL;
	int r, v = 1;

	r = weft_broadcast_new(sizeof(int), 4, &tx, &rx);
	if (r < 0)
		return r;
	r = weft_broadcast_subscribe(tx, &rx2);
	if (r < 0) {
		assert_null(rx2);
		/* The channel is intact: rx still gets what is sent. */
		assert_int_equal(weft_broadcast_send(tx, &v), 1);
		assert_int_equal(weft_broadcast_try_recv(rx, &v, NULL), 0);
	} else {
		assert_int_equal(weft_broadcast_send(tx, &v), 2);
	}
	weft_broadcast_rx_free(rx2);
	weft_broadcast_rx_free(rx);
	weft_broadcast_tx_free(tx);
	return r;
}

static int
watch_objects(void)
{
	struct weft_watch_tx *tx;
	struct weft_watch_rx *rx, *sub = NULL, *clone = NULL;
	int r, v = 1;

	r = weft_watch_new(sizeof(int), &v, &tx, &rx);
	if (r < 0)
		return r;
	r = weft_watch_subscribe(tx, &sub);
	if (r == 0)
		r = weft_watch_rx_clone(rx, &clone);
	if (r < 0)
		assert_null(clone);
	v = 2;
	assert_int_equal(weft_watch_send(tx, &v), 0);
	assert_int_equal(weft_watch_has_changed(rx), 1);
	weft_watch_rx_free(clone);
	weft_watch_rx_free(sub);
	weft_watch_rx_free(rx);
	weft_watch_tx_free(tx);
	return r;
}

static int
queue_objects(void)
{
	struct weft_mpsc_tx *tx, *utx;
	struct weft_mpsc_rx *rx, *urx;
	struct weft_oneshot_tx *otx;
	struct weft_oneshot_rx *orx;
	int r, v;

	r = weft_mpsc_new(sizeof(int), 4, &tx, &rx);
	if (r < 0)
		return r;
	weft_mpsc_tx_free(tx);
	weft_mpsc_rx_free(rx);
	r = weft_oneshot_new(sizeof(int), &otx, &orx);
	if (r < 0)
		return r;
	weft_oneshot_tx_free(otx);
	weft_oneshot_rx_free(orx);
	r = weft_mpsc_new(sizeof(int), WEFT_MPSC_UNBOUNDED, &utx, &urx);
	if (r < 0)
		return r;
	/* Past its first 16 slots the unbounded ring grows, or says why. */
	for (v = 0; v < 40; v++)
		if ((r = weft_mpsc_try_send(utx, &v)) < 0)
			break;
	if (r < 0) {
		int got, i = 0;

		/* The message that could not be stored was not. */
		while (weft_mpsc_try_recv(urx, &got) == 0)
			assert_int_equal(got, i++);
		assert_int_equal(i, v);
	}
	weft_mpsc_tx_free(utx);
	weft_mpsc_rx_free(urx);
	return r;
}

static void
nomem_channels(void **state)
{
	(void)state;
	/* The shared part and the first receiver, then a subscriber. */
	assert_int_equal(fail_each(broadcast_objects, true), 3);
	assert_int_equal(fail_each(watch_objects, true), 4);
	/* mpsc: node, ring; oneshot: one; unbounded: node, ring, 2 grows. */
	assert_int_equal(fail_each(queue_objects, true), 7);
}

/* ---- cancellation tokens and trackers ------------------------------- */

static int
token_objects(void)
{
	struct weft_cancel_token *t, *child;
	int r;

	r = weft_cancel_token_new(&t);
	if (r < 0)
		return r;
	r = weft_cancel_token_child(t, &child);
	if (r == 0) {
		weft_cancel_token_cancel(t);
		weft_cancel_token_free(child);
	}
	weft_cancel_token_free(t);
	return r;
}

static int
tracker_objects(void)
{
	struct weft_cancel_token *parent;
	struct weft_tracker *t = NULL, *sub = NULL;
	int r;

	r = weft_cancel_token_new(&parent);
	if (r < 0)
		return r;
	if ((r = weft_tracker_new(&t, NULL)) < 0)
		goto out;
	r = weft_tracker_new(&sub, parent);
	if (r == 0) {
		/* The sub-tracker's token hangs below parent. */
		weft_cancel_token_cancel(parent);
		assert_true(
		    weft_cancel_token_is_cancelled(weft_tracker_token(sub)));
		assert_false(
		    weft_cancel_token_is_cancelled(weft_tracker_token(t)));
	}
out:
	weft_tracker_free(sub);
	weft_tracker_free(t);
	weft_cancel_token_free(parent);
	return r;
}

static void
nomem_tokens(void **state)
{
	(void)state;
	/* A token is a node and its tree; a child is one node. */
	assert_int_equal(fail_each(token_objects, true), 3);
	/* parent (2); tracker and its token (3); sub-tracker and child (2). */
	assert_int_equal(fail_each(tracker_objects, true), 7);
}

/* ---- tasks ---------------------------------------------------------- */

static int
joinset_spawns(void)
{
	struct weft_executor *ex = weft_runtime_executor(rt);
	struct weft_joinset *set;
	struct weft_joinset_next jn;
	struct weft_result out;
	int r = 0, joined = 0;

	if ((r = weft_joinset_new(&set)) < 0)
		return r;
	/* Nine tasks: the set's array grows past its first eight. */
	for (int i = 0; i < 9 && r == 0; i++) {
		struct weft_ready f;

		weft_ready_init(&f, 0, (union weft_value){.i = i});
		r = weft_joinset_spawn(set, ex, &f.base, NULL);
	}
	atomic_store(&fail_at, 0);
	/* What was spawned is joined whole. */
	for (;;) {
		weft_joinset_next_init(&jn, set, &out, sizeof(out));
		run(&jn.base);
		if (jn.status == 0)
			break;
		assert_int_equal(jn.task_status, 0);
		assert_int_equal(out.value.i, (int)jn.id - 1);
		joined++;
	}
	assert_int_equal(weft_joinset_len(set), 0);
	weft_joinset_free(set);
	if (r == 0)
		assert_int_equal(joined, 9);
	return r;
}

static int
tracker_spawns(void)
{
	struct weft_executor *ex = weft_runtime_executor(rt);
	struct weft_tracker_wait w;
	struct weft_tracker *t;
	int r = 0, spawned = 0;

	if ((r = weft_tracker_new(&t, NULL)) < 0)
		return r;
	for (int i = 0; i < 3 && r == 0; i++) {
		struct weft_ready f;

		weft_ready_init(&f, 0, (union weft_value){.i = i});
		r = weft_tracker_spawn(t, ex, &f.base, NULL);
		if (r == 0)
			spawned++;
	}
	atomic_store(&fail_at, 0);
	/* A failed spawn is not counted: the wait still completes. */
	weft_tracker_close(t);
	weft_tracker_wait_init(&w, t);
	run(&w.base);
	assert_int_equal(weft_tracker_len(t), 0);
	weft_tracker_free(t);
	return r;
}

static int
blocking_job(void)
{
	struct weft_blocking b;
	int v = 1, out = 0;

	weft_blocking_init(&b, NULL, &v, sizeof(v), &out);
	if (b.job) {
		weft_future_drop(&b.base);
		return 0;
	}
	/* Nothing to run: ready at once with the error, fn never called. */
	assert_int_equal(weft_block_on(rt, &b.base), 0);
	weft_future_drop(&b.base);
	return b.status;
}

static void
nomem_tasks(void **state)
{
	(void)state;
	/* Spawns allocate tasks too: only the status is checked here. */
	assert_true(fail_each(joinset_spawns, false) >= 4);
	assert_true(fail_each(tracker_spawns, false) >= 3);
	assert_int_equal(fail_each(blocking_job, true), 1);
}

/* ---- streams -------------------------------------------------------- */

static int
vec_pushes(void)
{
	struct weft_vec v = {.item_size = sizeof(int)};
	int r = 0, i;

	for (i = 0; i < 20; i++)
		if ((r = weft_vec_push(&v, &i)) < 0)
			break;
	/* A failed push leaves what was pushed. */
	assert_int_equal(v.len, (size_t)i);
	for (size_t k = 0; k < v.len; k++)
		assert_int_equal(*(int *)weft_vec_at(&v, k), (int)k);
	weft_vec_free(&v);
	return r;
}

struct big {
	unsigned char bytes[WEFT_STREAM_MAP_INLINE + 8];
};

static int
big_next(void *state, void *item)
{
	int *left = state;

	if (*left == 0)
		return 0;
	memset(item, --*left, sizeof(struct big));
	return 1;
}

static void
big_first(const void *in, void *out, void *arg)
{
	(void)arg;
	*(int *)out = ((const struct big *)in)->bytes[0];
}

/* Collects a stream of 3 items too big for the map's inline buffer. */
static int
collect_big(void)
{
	struct weft_stream_iter it;
	struct weft_stream_map m;
	struct weft_stream_collect c;
	int left = 3, r;

	weft_stream_iter_init(&it, sizeof(struct big), big_next, &left);
	weft_stream_map_init(&m, &it.base, sizeof(int), big_first, NULL);
	weft_stream_collect_init(&c, &m.base);
	assert_int_equal(weft_block_on(rt, &c.base), 0);
	r = c.out.status;
	if (r == 0) {
		assert_int_equal(c.out.vec.len, 3);
		assert_int_equal(*(int *)weft_vec_at(&c.out.vec, 2), 0);
	} else {
		/* Nothing could be read without the map's buffer. */
		assert_int_equal(c.out.vec.len, 0);
	}
	weft_future_drop(&c.base);
	weft_vec_free(&c.out.vec);
	return r;
}

static void
nomem_streams(void **state)
{
	(void)state;
	/* 8, 16, 32 slots. */
	assert_int_equal(fail_each(vec_pushes, true), 3);
	/* The vector's first slots, then the map's heap buffer. */
	assert_true(fail_each(collect_big, false) >= 2);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(nomem_sync),    cmocka_unit_test(nomem_channels),
	    cmocka_unit_test(nomem_tokens),  cmocka_unit_test(nomem_tasks),
	    cmocka_unit_test(nomem_streams),
	};
	int r;

	/* Before any weft object exists, as the allocator's contract asks. */
	if (weft_set_default_allocator(&counting) < 0)
		return 1;
	r = run_group(argc, argv, "nomem", tests,
	              sizeof(tests) / sizeof(tests[0]));
	/* The runtime is closed: everything it and the tests took is back. */
	if (atomic_load(&live) != 0) {
		fprintf(stderr, "%ld allocations never freed\n",
		        (long)atomic_load(&live));
		return 1;
	}
	return r;
}
