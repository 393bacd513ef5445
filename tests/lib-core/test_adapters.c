/* SPDX-License-Identifier: MIT */
/*
 * ready, map, then, fuse, select's limits and spawn_blocking, polled step
 * by step with a hand-made context: the paths a real runtime rarely takes
 * (an inner future still pending, an output smaller than a status, an
 * empty slot, a context without a driver, a driver that drops its waker).
 */
#include <errno.h>

#include <weft/combinator.h>
#include <weft/task.h>

#include "common.h"

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
	struct weft_context cx = step_context(NULL);
	int dropped = 0;
	struct later in = later(2, 41, &dropped);
	struct weft_map m;
	(void)state;

	weft_map_init(&m, &in.base, add_one, NULL);
	assert_int_equal(weft_future_poll(&m.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&m.base, &cx), WEFT_PENDING);
	assert_int_equal(step_wake_refs, 2);
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
	struct weft_context cx = step_context(NULL);
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
	struct weft_context cx = step_context(NULL);
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
	struct weft_context cx = step_context(NULL);
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

static struct weft_future *
to_empty(struct weft_future *first, struct weft_result *out, void *arg)
{
	(void)first;
	(void)out;
	return arg;
}

static void
small_outputs(void **state)
{
	struct weft_context cx = step_context(NULL);
	struct tiny tn = {.base.vtable = &tiny_vtable};
	struct tiny t2 = {.base.vtable = &tiny_vtable};
	struct weft_future empty = {0};
	struct weft_then t;
	struct weft_map m;
	(void)state;

	/* map and then read a short output as status 0, not past its end. */
	weft_map_init(&m, &tn.base, NULL, NULL);
	assert_int_equal(weft_future_poll(&m.base, &cx), WEFT_READY);
	assert_int_equal(m.out.status, 0);
	assert_int_equal(tn.out, 'x');
	weft_future_drop(&m.base);

	tn = (struct tiny){.base.vtable = &tiny_vtable};
	weft_then_init(&t, &tn.base, to_empty, &t2.base);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.out.status, 0);
	assert_int_equal(t2.out, 'x');
	weft_future_drop(&t.base);

	/* fn hands back an empty slot: nothing more to wait for. */
	tn = (struct tiny){.base.vtable = &tiny_vtable};
	weft_then_init(&t, &tn.base, to_empty, &empty);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.out.status, 0);
	weft_future_drop(&t.base);
}

static void
select_limits(void **state)
{
	struct weft_context cx = step_context(NULL);
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
	struct weft_context cx = step_context(NULL);
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
	cx = step_context(&inl);
	weft_blocking_init(&b, job, &v, sizeof(v), NULL);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	assert_int_equal(ran, 1);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	assert_int_equal(b.status, 0);
	assert_int_equal(v, 1);
	weft_future_drop(&b.base);

	/* The pool dropped the job unrun: reported cancelled, not hung. */
	cx = step_context(&losing);
	weft_blocking_init(&b, job, &v, sizeof(v), &v);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&b.base, &cx), WEFT_READY);
	assert_int_equal(b.status, WEFT_ECANCELED);
	assert_int_equal(ran, 1);
	assert_int_equal(step_wakes, 1); /* the task, by the job's end */
	weft_future_drop(&b.base);
	assert_int_equal(step_drops, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(map_pending_inner),
	    cmocka_unit_test(then_paths),
	    cmocka_unit_test(empty_inner),
	    cmocka_unit_test(fuse_and_status),
	    cmocka_unit_test(small_outputs),
	    cmocka_unit_test(select_limits),
	    cmocka_unit_test(blocking_drivers),
	};

	return run_group(argc, argv, "adapters", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
