/* SPDX-License-Identifier: MIT */
/*
 * ready, map, then, fuse, the stream sources and adapters, the interval
 * and spawn_blocking, polled step by step with a hand-made context: the
 * paths a real runtime rarely takes (an inner future still pending, an
 * exhausted budget, an error item, an empty slot, a context without a
 * driver, a driver that drops its waker).
 */
#include <errno.h>

#include <weft/combinator.h>
#include <weft/stream.h>
#include <weft/task.h>
#include <weft/time.h>

#include "common.h"

/* ---- a waker that counts ------------------------------------------- */

static int wakes, wake_refs, drops;

static struct weft_waker cnt_clone(const void *data);

static void
cnt_wake(const void *data)
{
	(void)data;
	wakes++;
}

static void
cnt_wake_by_ref(const void *data)
{
	(void)data;
	wake_refs++;
}

static void
cnt_drop(const void *data)
{
	(void)data;
	drops++;
}

static const struct weft_waker_vtable cnt_vtable = {
    WEFT_WAKER_VTABLE_VERSION, cnt_clone, cnt_wake, cnt_wake_by_ref, cnt_drop,
};

static struct weft_waker
cnt_clone(const void *data)
{
	return (struct weft_waker){&cnt_vtable, data};
}

/* A context with a full budget and the given driver (may be NULL). */
static struct weft_context
context(struct weft_driver *d)
{
	struct weft_context cx;

	weft_context_init(&cx, (struct weft_waker){&cnt_vtable, NULL}, NULL, d);
	wakes = wake_refs = drops = 0;
	return cx;
}

/* ---- later: pending `left` times, then ready with `status` ---------- */

struct later {
	struct weft_future base;
	int left;
	int *dropped;
	int status;
};

static weft_poll
later_poll(struct weft_future *f, struct weft_context *cx)
{
	struct later *l = (struct later *)f;

	if (l->left > 0) {
		l->left--;
		weft_waker_wake_by_ref(&cx->waker);
		return WEFT_PENDING;
	}
	return WEFT_READY;
}

static void
later_drop(struct weft_future *f)
{
	struct later *l = (struct later *)f;

	if (l->dropped)
		(*l->dropped)++;
}

WEFT_FUTURE_VTABLE(later_vtable, struct later, status, later_poll, later_drop);

static struct later
later(int left, int status, int *dropped)
{
	return (struct later){.base.vtable = &later_vtable,
	                      .left = left,
	                      .status = status,
	                      .dropped = dropped};
}

/* ---- ready, map, then, fuse ------------------------------------------ */

static void
add_one(struct weft_future *inner, struct weft_result *out, void *arg)
{
	(void)arg;
	out->value.i = weft_future_status(inner) + 1;
}

static void
map_pending_inner(void **state)
{
	struct weft_context cx = context(NULL);
	int dropped = 0;
	struct later in = later(2, 41, &dropped);
	struct weft_map m;
	(void)state;

	weft_map_init(&m, &in.base, add_one, NULL);
	assert_int_equal(weft_future_poll(&m.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&m.base, &cx), WEFT_PENDING);
	assert_int_equal(wake_refs, 2);
	assert_int_equal(weft_future_poll(&m.base, &cx), WEFT_READY);
	assert_int_equal(m.out.status, 41);
	assert_int_equal(m.out.value.i, 42);
	assert_int_equal(dropped, 1);
	/* The inner future went with the result: the map's drop skips it. */
	weft_future_drop(&m.base);
	assert_int_equal(dropped, 1);

	/* No fn: the result is the inner status alone. */
	in = later(0, -EIO, &dropped);
	weft_map_init(&m, &in.base, NULL, NULL);
	assert_int_equal(weft_future_poll(&m.base, &cx), WEFT_READY);
	assert_int_equal(m.out.status, -EIO);
	assert_int_equal(weft_future_status(&m.base), -EIO);
	weft_future_drop(&m.base);
	assert_int_equal(dropped, 2);

	/* Dropped before ready: the inner future is dropped with it. */
	in = later(5, 0, &dropped);
	weft_map_init(&m, &in.base, add_one, NULL);
	assert_int_equal(weft_future_poll(&m.base, &cx), WEFT_PENDING);
	weft_future_drop(&m.base);
	assert_int_equal(dropped, 3);
}

struct chain {
	struct later second;
	int null_next;
};

static struct weft_future *
then_next(struct weft_future *first, struct weft_result *out, void *arg)
{
	struct chain *c = arg;

	if (c->null_next) {
		out->value.i = weft_future_status(first) * 2;
		return NULL;
	}
	return &c->second.base;
}

static void
then_paths(void **state)
{
	struct weft_context cx = context(NULL);
	int dropped = 0;
	struct later first = later(1, 3, &dropped);
	struct chain c = {.second = later(1, 9, &dropped)};
	struct weft_then t;
	(void)state;

	/* Both pending once; the output is the second's status. */
	weft_then_init(&t, &first.base, then_next, &c);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	assert_int_equal(dropped, 1);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.out.status, 9);
	assert_int_equal(dropped, 2);
	weft_future_drop(&t.base);
	assert_int_equal(dropped, 2);

	/* fn gives no next future: ready with what fn put in out. */
	first = later(0, 4, &dropped);
	c.null_next = 1;
	weft_then_init(&t, &first.base, then_next, &c);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.out.status, 4);
	assert_int_equal(t.out.value.i, 8);
	weft_future_drop(&t.base);
	assert_int_equal(dropped, 3);

	/* Dropped while the second runs: both are dropped once. */
	first = later(0, 1, &dropped);
	c = (struct chain){.second = later(3, 0, &dropped)};
	weft_then_init(&t, &first.base, then_next, &c);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	assert_int_equal(dropped, 4);
	weft_future_drop(&t.base);
	assert_int_equal(dropped, 5);
}

static void
empty_inner(void **state)
{
	struct weft_context cx = context(NULL);
	struct weft_future empty = {0};
	struct weft_ready r;
	struct weft_then t;
	struct weft_map m;
	(void)state;

	/* An empty inner slot completes at once with a zero result. */
	weft_map_init(&m, &empty, add_one, NULL);
	assert_int_equal(weft_future_poll(&m.base, &cx), WEFT_READY);
	assert_int_equal(m.out.status, 0);
	weft_future_drop(&m.base);
	weft_then_init(&t, &empty, then_next, NULL);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	weft_future_drop(&t.base);

	/* A dropped future has no status; nor has one with a short output. */
	weft_ready_init(&r, -EPIPE, (union weft_value){.i = 1});
	assert_int_equal(weft_future_status(&r.base), -EPIPE);
	weft_future_drop(&r.base);
	assert_int_equal(weft_future_status(&r.base), 0);
	assert_true(weft_future_is_empty(&r.base));
}

struct tiny {
	struct weft_future base;
	char out;
};

static weft_poll
tiny_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)cx;
	((struct tiny *)f)->out = 'x';
	return WEFT_READY;
}

WEFT_FUTURE_VTABLE(tiny_vtable, struct tiny, out, tiny_poll, NULL);

static void
fuse_and_status(void **state)
{
	struct weft_context cx = context(NULL);
	struct tiny tn = {.base.vtable = &tiny_vtable};
	int dropped = 0;
	struct later in = later(1, -ENOENT, &dropped);
	struct weft_fuse u;
	(void)state;

	weft_fuse_init(&u, &in.base);
	assert_false(weft_fuse_is_terminated(&u.base));
	assert_int_equal(weft_future_poll(&u.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&u.base, &cx), WEFT_READY);
	assert_int_equal(u.status, -ENOENT);
	assert_true(weft_fuse_is_terminated(&u.base));
	/* A fused future may be polled again: still ready. */
	assert_int_equal(weft_future_poll(&u.base, &cx), WEFT_READY);
	weft_future_drop(&u.base);
	assert_int_equal(dropped, 1);

	/* An output smaller than an int reads as status 0. */
	weft_fuse_init(&u, &tn.base);
	assert_int_equal(weft_future_poll(&u.base, &cx), WEFT_READY);
	assert_int_equal(u.status, 0);
	assert_int_equal(tn.out, 'x');
	assert_int_equal(weft_status_output(&tn.base, NULL), 0);
	weft_future_drop(&u.base);
}

static void
select_limits(void **state)
{
	struct weft_context cx = context(NULL);
	struct weft_future *many[65] = {0};
	int dropped = 0;
	struct later a = later(1, 5, &dropped);
	struct weft_future *one[1] = {&a.base};
	struct weft_select_loop l;
	struct weft_select s;
	(void)state;

	/* More branches than the inline form holds, or than a loop takes:
	 * -E2BIG and an empty (droppable) future. */
	assert_int_equal(weft_select_init(&s, 0, WEFT_COMBINATOR_INLINE + 1,
	                                  NULL, NULL, NULL, NULL, NULL, NULL,
	                                  NULL, NULL, NULL),
	                 -E2BIG);
	assert_true(weft_future_is_empty(&s.base));
	weft_future_drop(&s.base);
	assert_int_equal(weft_select_loop_all_init(&l, 0, many, 65), -E2BIG);
	assert_true(weft_future_is_empty(&l.base));

	/* An unbiased loop over an array of one: that one wins. */
	assert_int_equal(weft_select_loop_all_init(&l, 0, one, 1), 0);
	assert_int_equal(weft_future_poll(weft_select_loop_next(&l), &cx),
	                 WEFT_PENDING);
	assert_int_equal(weft_future_poll(weft_select_loop_next(&l), &cx),
	                 WEFT_READY);
	assert_int_equal(l.index, 0);
	assert_true(weft_select_loop_won(&l, &a));
	assert_int_equal(a.status, 5);
	/* A round once over stays over until it is dropped. */
	assert_int_equal(weft_future_poll(&l.base, &cx), WEFT_READY);
	weft_future_drop(&l.base);
	/* The branch is disarmed now: the next round is the else round. */
	assert_int_equal(weft_future_poll(weft_select_loop_next(&l), &cx),
	                 WEFT_READY);
	assert_int_equal(l.index, WEFT_SELECT_ELSE);
	assert_false(weft_select_loop_won(&l, &a));
	weft_future_drop(&l.base);
	weft_select_loop_drop(&l);
	assert_int_equal(dropped, 1);
}

/* ---- streams -------------------------------------------------------- */

static int
fail_third(void *state, void *item)
{
	int *n = state;

	if (++*n == 3)
		return -EIO;
	if (*n > 4)
		return 0;
	*(int *)item = *n;
	return 1;
}

static bool
is_big(const void *item, void *arg)
{
	return *(const int64_t *)item >= *(const int64_t *)arg;
}

static void
times_ten(const void *in, void *out, void *arg)
{
	(void)arg;
	*(int64_t *)out = *(const int64_t *)in * 10;
}

static void
stream_sources(void **state)
{
	struct weft_context cx = context(NULL);
	struct weft_stream_range rg;
	struct weft_stream_iter it;
	int64_t v;
	int n = 0, item = 0;
	(void)state;

	/* An error item, then items again, then the end for good. */
	weft_stream_iter_init(&it, sizeof(int), fail_third, &n);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item), -EIO);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(item, 4);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_END);
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_STREAM_END);
	assert_int_equal(n, 5); /* next is not called after the end */

	/* No budget: pending and woken, nothing taken. */
	n = 0;
	weft_stream_iter_init(&it, sizeof(int), fail_third, &n);
	cx.budget = 0;
	assert_int_equal(weft_stream_poll_next(&it.base, &cx, &item),
	                 WEFT_PENDING);
	assert_int_equal(n, 0);
	weft_stream_range_init(&rg, 5, 7);
	assert_int_equal(weft_stream_poll_next(&rg.base, &cx, &v),
	                 WEFT_PENDING);
	assert_int_equal(wake_refs, 2);
	cx.budget = 8;
	assert_int_equal(weft_stream_poll_next(&rg.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 5);
	weft_stream_drop(&rg.base);
	weft_stream_drop(&it.base);
}

static void
stream_adapters(void **state)
{
	struct weft_context cx = context(NULL);
	struct weft_stream_range rg;
	struct weft_stream_filter fl;
	struct weft_stream_map mp;
	struct weft_stream_take tk;
	struct weft_stream_iter it;
	int64_t min = 50, v;
	int n = 0, item;
	(void)state;

	/* A filter that rejects a long run gives the thread back. */
	weft_stream_range_init(&rg, 0, 100);
	weft_stream_filter_init(&fl, &rg.base, is_big, &min);
	cx.budget = 10;
	assert_int_equal(weft_stream_poll_next(&fl.base, &cx, &v),
	                 WEFT_PENDING);
	assert_int_equal(wake_refs, 1);
	for (int i = 0; i < 10; i++) {
		cx.budget = 64;
		if (weft_stream_poll_next(&fl.base, &cx, &v) ==
		    WEFT_STREAM_ITEM)
			break;
	}
	assert_int_equal(v, 50);

	/* take stops at n, passes errors through, ends with its inner. */
	weft_stream_take_init(&tk, &fl.base, 2);
	cx.budget = 64;
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 51);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &v),
	                 WEFT_STREAM_END);
	weft_stream_drop(&tk.base);
	assert_true(weft_stream_is_empty(&fl.base));
	assert_true(weft_stream_is_empty(&rg.base));

	weft_stream_iter_init(&it, sizeof(int), fail_third, &n);
	weft_stream_take_init(&tk, &it.base, 10);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item), -EIO);
	assert_int_equal(tk.left, 8); /* an error is not an item */
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_END);
	assert_int_equal(tk.left, 0);
	assert_int_equal(weft_stream_poll_next(&tk.base, &cx, &item),
	                 WEFT_STREAM_END);
	weft_stream_drop(&tk.base);

	/* map: pending and end pass through without calling fn. */
	weft_stream_range_init(&rg, 1, 2);
	weft_stream_map_init(&mp, &rg.base, sizeof(int64_t), times_ten, NULL);
	cx.budget = 0;
	assert_int_equal(weft_stream_poll_next(&mp.base, &cx, &v),
	                 WEFT_PENDING);
	cx.budget = 8;
	assert_int_equal(weft_stream_poll_next(&mp.base, &cx, &v),
	                 WEFT_STREAM_ITEM);
	assert_int_equal(v, 10);
	assert_int_equal(weft_stream_poll_next(&mp.base, &cx, &v),
	                 WEFT_STREAM_END);
	weft_stream_drop(&mp.base);
}

static const struct weft_stream_vtable no_poll_vtable = {
    .version = WEFT_STREAM_VTABLE_VERSION,
};

static void
stream_empty_slots(void **state)
{
	struct weft_context cx = context(NULL);
	struct weft_stream empty = {0}, no_poll = {&no_poll_vtable, 1};
	struct weft_stream_next nx;
	struct weft_vec vec = {.item_size = 0};
	char c;
	(void)state;

	assert_int_equal(weft_stream_poll_next(NULL, &cx, &c), WEFT_ENOTSUP);
	assert_int_equal(weft_stream_poll_next(&empty, &cx, &c), WEFT_ENOTSUP);
	assert_int_equal(weft_stream_poll_next(&no_poll, &cx, &c),
	                 WEFT_ENOTSUP);
	/* next reports the error item as its status. */
	weft_stream_next_init(&nx, &no_poll, &c);
	assert_int_equal(weft_future_poll(&nx.base, &cx), WEFT_READY);
	assert_int_equal(nx.status, WEFT_ENOTSUP);
	weft_future_drop(&nx.base);
	/* Dropping a NULL, empty or vtable-only stream does nothing. */
	weft_stream_drop(NULL);
	weft_stream_drop(&empty);
	weft_stream_drop(&no_poll);
	assert_true(weft_stream_is_empty(NULL));
	assert_true(weft_stream_is_empty(&no_poll));

	/* Zero-sized items count, one byte of room each. */
	for (int i = 0; i < 9; i++)
		assert_int_equal(weft_vec_push(&vec, NULL), 0);
	assert_int_equal(vec.len, 9);
	weft_vec_free(&vec);
	/* A vector whose next room does not fit in a size_t. */
	vec = (struct weft_vec){.item_size = SIZE_MAX / 4};
	assert_int_equal(weft_vec_push(&vec, &c), -ENOMEM);
	assert_int_equal(vec.len, 0);
	assert_null(vec.data);
}

static void
collect_paths(void **state)
{
	struct weft_context cx = context(NULL);
	struct weft_stream_collect col;
	struct weft_stream_range rg;
	struct weft_stream_iter it;
	int n = 0;
	(void)state;

	/* Stops at the first error item, keeping what came before. */
	weft_stream_iter_init(&it, sizeof(int), fail_third, &n);
	weft_stream_collect_init(&col, &it.base);
	assert_int_equal(weft_future_poll(&col.base, &cx), WEFT_READY);
	assert_int_equal(col.out.status, -EIO);
	assert_int_equal(col.out.vec.len, 2);
	assert_int_equal(*(int *)weft_vec_at(&col.out.vec, 1), 2);
	weft_future_drop(&col.base);
	weft_vec_free(&col.out.vec);

	/* Dropped while pending: the items so far go with it. */
	weft_stream_range_init(&rg, 0, 1000);
	weft_stream_collect_init(&col, &rg.base);
	cx.budget = 20;
	assert_int_equal(weft_future_poll(&col.base, &cx), WEFT_PENDING);
	assert_int_equal(col.out.vec.len, 20);
	weft_future_drop(&col.base);
	assert_null(col.out.vec.data);
	assert_int_equal(col.out.vec.len, 0);
}

/* ---- the interval without a driver ---------------------------------- */

static void
interval_no_driver(void **state)
{
	struct weft_context cx = context(NULL);
	struct weft_interval_tick t;
	struct weft_interval iv;
	uint64_t at;
	(void)state;

	/* Without a driver the clock reads 0: a tick due at 0 is taken at
	 * once, if there is budget for it. */
	weft_interval_init(&iv, WEFT_MSEC, WEFT_MISSED_TICK_BURST);
	cx.budget = 0;
	assert_int_equal(weft_stream_poll_next(&iv.base, &cx, &at),
	                 WEFT_PENDING);
	assert_int_equal(wake_refs, 1);
	cx.budget = 8;
	weft_interval_tick_init(&t, &iv);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.status, 0);
	assert_int_equal(t.deadline, 0);
	/* The next is in the future, and there is no timer to wait on. */
	weft_interval_tick_init(&t, &iv);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.status, WEFT_ENOTSUP);
	weft_stream_drop(&iv.base);
}

/* ---- spawn_blocking on drivers that fail in their own ways ---------- */

static int ran;

static void
job(void *data)
{
	(*(int *)data)++;
	ran++;
}

/* Runs fn at once and wakes done: a pool that is always free. */
static int
inline_blocking(struct weft_driver *d, void (*fn)(void *), void *arg,
                struct weft_waker *done)
{
	(void)d;
	fn(arg);
	weft_waker_wake(done);
	*done = (struct weft_waker){0};
	return 0;
}

/* Takes the job, then loses it: drops the waker without running fn. */
static int
losing_blocking(struct weft_driver *d, void (*fn)(void *), void *arg,
                struct weft_waker *done)
{
	(void)d;
	(void)fn;
	(void)arg;
	weft_waker_drop(done);
	*done = (struct weft_waker){0};
	return 0;
}

static void
blocking_drivers(void **state)
{
	const struct weft_driver_ops inline_ops = {
	    .version = WEFT_DRIVER_OPS_VERSION, .blocking = inline_blocking};
	const struct weft_driver_ops losing_ops = {
	    .version = WEFT_DRIVER_OPS_VERSION, .blocking = losing_blocking};
	struct weft_driver inl = {1, &inline_ops}, losing = {1, &losing_ops};
	struct weft_context cx = context(NULL);
	struct weft_blocking b;
	int v = 1;
	(void)state;

	ran = 0;
	/* No driver, no pool: WEFT_ENOTSUP, and fn never ran. */
	weft_blocking_init(&b, job, &v, sizeof(v), &v);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	assert_int_equal(b.status, WEFT_ENOTSUP);
	weft_future_drop(&b.base);
	assert_int_equal(ran, 0);

	/* Done before the first poll returns; no out: nothing copied. */
	cx = context(&inl);
	weft_blocking_init(&b, job, &v, sizeof(v), NULL);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	assert_int_equal(ran, 1);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	assert_int_equal(b.status, 0);
	assert_int_equal(v, 1);
	weft_future_drop(&b.base);

	/* The pool dropped the job unrun: reported cancelled, not hung. */
	cx = context(&losing);
	weft_blocking_init(&b, job, &v, sizeof(v), &v);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	assert_int_equal(b.status, WEFT_ECANCELED);
	assert_int_equal(ran, 1);
	assert_int_equal(wakes, 1); /* the task, by the job's end */
	weft_future_drop(&b.base);
	assert_int_equal(drops, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(map_pending_inner),
	    cmocka_unit_test(then_paths),
	    cmocka_unit_test(empty_inner),
	    cmocka_unit_test(fuse_and_status),
	    cmocka_unit_test(select_limits),
	    cmocka_unit_test(stream_sources),
	    cmocka_unit_test(stream_adapters),
	    cmocka_unit_test(stream_empty_slots),
	    cmocka_unit_test(collect_paths),
	    cmocka_unit_test(interval_no_driver),
	    cmocka_unit_test(blocking_drivers),
	};

	return run_group(argc, argv, "adapters", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
