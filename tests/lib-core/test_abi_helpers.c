/* SPDX-License-Identifier: MIT */
/*
 * The inline helpers of <weft/abi.h> against objects that lack what they
 * call: a NULL object, no ops table, an ops table of version 0, a method
 * left NULL.  Each must answer WEFT_ENOTSUP (or 0, or do nothing) without
 * calling anything; with the method present it must call it once.  This
 * is what lets a host and a plugin of different minor versions meet.
 */
#include <errno.h>

#include <weft/abi.h>

#include "common.h"

static int called;

/* ---- stubs that count their calls ------------------------------------ */

static uint64_t
d_now(struct weft_driver *d)
{
	(void)d;
	called++;
	return 42;
}

static int
d_timer_add(struct weft_driver *d, uint64_t deadline, uint64_t *id)
{
	(void)d;
	(void)deadline;
	*id = 7;
	return ++called;
}

static int
d_timer_poll(struct weft_driver *d, uint64_t id, struct weft_context *cx)
{
	(void)d;
	(void)id;
	(void)cx;
	return ++called;
}

static void
d_timer_del(struct weft_driver *d, uint64_t id)
{
	(void)d;
	(void)id;
	called++;
}

static int
d_io_add(struct weft_driver *d, int fd, uint32_t interest, uint64_t *id)
{
	(void)d;
	(void)fd;
	(void)interest;
	(void)id;
	return ++called;
}

static int
d_io_poll(struct weft_driver *d, uint64_t id, uint32_t interest,
          struct weft_context *cx, uint32_t *ready)
{
	(void)d;
	(void)id;
	(void)interest;
	(void)cx;
	(void)ready;
	return ++called;
}

static void
d_io_clear(struct weft_driver *d, uint64_t id, uint32_t ready)
{
	(void)d;
	(void)id;
	(void)ready;
	called++;
}

static int
d_io_del(struct weft_driver *d, uint64_t id)
{
	(void)d;
	(void)id;
	return ++called;
}

static int
d_park(struct weft_driver *d, int64_t timeout)
{
	(void)d;
	(void)timeout;
	return ++called;
}

static int
d_unpark(struct weft_driver *d)
{
	(void)d;
	return ++called;
}

static int
d_blocking(struct weft_driver *d, void (*fn)(void *), void *arg,
           struct weft_waker *done)
{
	(void)d;
	(void)fn;
	(void)arg;
	(void)done;
	return ++called;
}

static const struct weft_driver_ops full_driver_ops = {
    1,         d_now,      d_timer_add, d_timer_poll, d_timer_del, d_io_add,
    d_io_poll, d_io_clear, d_io_del,    d_park,       d_unpark,    d_blocking,
    NULL,      NULL,       NULL,        NULL,         NULL,
};
/* The same methods, under a version no helper accepts. */
static const struct weft_driver_ops v0_driver_ops = {
    0,         d_now,      d_timer_add, d_timer_poll, d_timer_del, d_io_add,
    d_io_poll, d_io_clear, d_io_del,    d_park,       d_unpark,    d_blocking,
    NULL,      NULL,       NULL,        NULL,         NULL,
};
static const struct weft_driver_ops empty_driver_ops = {.version = 1};

static void
driver_helpers(void **state)
{
	struct weft_driver no_ops = {1, NULL}, v0 = {1, &v0_driver_ops},
	                   empty = {1, &empty_driver_ops},
	                   full = {1, &full_driver_ops};
	struct weft_driver *absent[] = {NULL, &no_ops, &v0, &empty};
	struct weft_context cx = {0};
	struct weft_waker done = {0};
	uint64_t id = 0;
	uint32_t ready = 0;
	(void)state;

	called = 0;
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		struct weft_driver *d = absent[i];

		assert_int_equal(weft_driver_now(d), 0);
		assert_int_equal(weft_driver_timer_add(d, 1, &id),
		                 WEFT_ENOTSUP);
		assert_int_equal(weft_driver_timer_poll(d, 1, &cx),
		                 WEFT_ENOTSUP);
		weft_driver_timer_del(d, 1);
		assert_int_equal(weft_driver_io_add(d, 0, 1, &id),
		                 WEFT_ENOTSUP);
		assert_int_equal(weft_driver_io_poll(d, 1, 1, &cx, &ready),
		                 WEFT_ENOTSUP);
		weft_driver_io_clear(d, 1, 1);
		assert_int_equal(weft_driver_io_del(d, 1), WEFT_ENOTSUP);
		assert_int_equal(weft_driver_park(d, 0), WEFT_ENOTSUP);
		assert_int_equal(weft_driver_unpark(d), WEFT_ENOTSUP);
		assert_int_equal(weft_driver_blocking(d, NULL, NULL, &done),
		                 WEFT_ENOTSUP);
	}
	assert_int_equal(called, 0);

	/* Present: each helper calls its method once. */
	assert_int_equal(weft_driver_now(&full), 42);
	assert_int_equal(weft_driver_timer_add(&full, 1, &id), 2);
	assert_int_equal(id, 7);
	assert_int_equal(weft_driver_timer_poll(&full, 1, &cx), 3);
	weft_driver_timer_del(&full, 1);
	assert_int_equal(weft_driver_io_add(&full, 0, 1, &id), 5);
	assert_int_equal(weft_driver_io_poll(&full, 1, 1, &cx, &ready), 6);
	weft_driver_io_clear(&full, 1, 1);
	assert_int_equal(weft_driver_io_del(&full, 1), 8);
	assert_int_equal(weft_driver_park(&full, 0), 9);
	assert_int_equal(weft_driver_unpark(&full), 10);
	assert_int_equal(weft_driver_blocking(&full, NULL, NULL, &done), 11);
}

/* ---- executor ------------------------------------------------------- */

static int
e_spawn(struct weft_executor *e, struct weft_future *f, struct weft_join **j)
{
	(void)e;
	(void)j;
	weft_future_drop(f);
	return ++called;
}

static int
e_block_on(struct weft_executor *e, struct weft_future *f)
{
	(void)e;
	(void)f;
	return ++called;
}

static void
e_shutdown(struct weft_executor *e)
{
	(void)e;
	called++;
}

static int
e_stats(struct weft_executor *e, struct weft_executor_stats *s)
{
	(void)e;
	(void)s;
	return ++called;
}

static int fdrops;

static weft_poll
f_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)f;
	(void)cx;
	return WEFT_READY;
}

static void
f_drop(struct weft_future *f)
{
	(void)f;
	fdrops++;
}

struct plain {
	struct weft_future base;
	int out;
};

WEFT_FUTURE_VTABLE(plain_vtable, struct plain, out, f_poll, f_drop);

static void
executor_helpers(void **state)
{
	struct weft_executor_iface v0_ops = {.version = 0,
	                                     .spawn = e_spawn,
	                                     .block_on = e_block_on,
	                                     .shutdown = e_shutdown,
	                                     .stats = e_stats};
	struct weft_executor_iface empty_ops = {.version = 1};
	struct weft_executor_iface full_ops = v0_ops;
	struct weft_executor no_ops = {1, NULL}, v0 = {1, &v0_ops},
	                     empty = {1, &empty_ops}, full = {1, &full_ops};
	struct weft_executor *absent[] = {NULL, &no_ops, &v0, &empty};
	struct weft_executor_stats st = {.size = sizeof(st)};
	struct weft_join *join = NULL;
	(void)state;

	full_ops.version = 1;
	called = fdrops = 0;
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		struct plain p = {.base.vtable = &plain_vtable};

		/* spawn consumes the future even when it cannot run it. */
		assert_int_equal(weft_executor_spawn(absent[i], &p.base, &join),
		                 WEFT_ENOTSUP);
		assert_int_equal(fdrops, (int)i + 1);
		p.base.vtable = &plain_vtable;
		assert_int_equal(weft_executor_block_on(absent[i], &p.base),
		                 WEFT_ENOTSUP);
		weft_executor_shutdown(absent[i]);
		assert_int_equal(weft_executor_stats(absent[i], &st),
		                 WEFT_ENOTSUP);
	}
	assert_int_equal(called, 0);
	{
		struct plain p = {.base.vtable = &plain_vtable};

		assert_int_equal(weft_executor_spawn(&full, &p.base, &join), 1);
		assert_int_equal(weft_executor_block_on(&full, &p.base), 2);
		weft_executor_shutdown(&full);
		assert_int_equal(weft_executor_stats(&full, &st), 4);
	}
}

static void
stats_fill(void **state)
{
	struct weft_executor_stats src = {
	    .size = sizeof(src), .workers = 3, .spawned = 9};
	struct weft_executor_stats dst;
	(void)state;

	assert_int_equal(weft_executor_stats_fill(NULL, &src), -EINVAL);
	dst = (struct weft_executor_stats){.size = 2};
	assert_int_equal(weft_executor_stats_fill(&dst, &src), -EINVAL);
	/* A caller built before `spawned` existed gets what fits. */
	dst = (struct weft_executor_stats){
	    .size = offsetof(struct weft_executor_stats, spawned)};
	assert_int_equal(weft_executor_stats_fill(&dst, &src), 0);
	assert_int_equal(dst.size,
	                 offsetof(struct weft_executor_stats, spawned));
	assert_int_equal(dst.workers, 3);
	assert_int_equal(dst.spawned, 0);
	/* A caller built later gets all of it, and the size it got. */
	dst = (struct weft_executor_stats){.size = UINT32_MAX};
	assert_int_equal(weft_executor_stats_fill(&dst, &src), 0);
	assert_int_equal(dst.size, sizeof(src));
	assert_int_equal(dst.spawned, 9);
}

/* ---- reactor -------------------------------------------------------- */

static int
r_add(struct weft_reactor *r, int fd, uint32_t in, uint64_t tok)
{
	(void)r;
	(void)fd;
	(void)in;
	(void)tok;
	return ++called;
}

static int
r_del(struct weft_reactor *r, int fd)
{
	(void)r;
	(void)fd;
	return ++called;
}

static int
r_wait(struct weft_reactor *r, struct weft_reactor_event *ev, uint32_t cap,
       int64_t timeout)
{
	(void)r;
	(void)ev;
	(void)cap;
	(void)timeout;
	return ++called;
}

static int
r_wakeup(struct weft_reactor *r)
{
	(void)r;
	return ++called;
}

static void
reactor_helpers(void **state)
{
	struct weft_reactor_iface v0_ops = {.version = 0,
	                                    .add = r_add,
	                                    .modify = r_add,
	                                    .del = r_del,
	                                    .wait = r_wait,
	                                    .wakeup = r_wakeup};
	struct weft_reactor_iface empty_ops = {.version = 1};
	struct weft_reactor_iface full_ops = v0_ops;
	struct weft_reactor no_ops = {1, NULL}, v0 = {1, &v0_ops},
	                    empty = {1, &empty_ops}, full = {1, &full_ops};
	struct weft_reactor *absent[] = {NULL, &no_ops, &v0, &empty};
	struct weft_reactor_event ev[1];
	(void)state;

	full_ops.version = 1;
	called = 0;
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		struct weft_reactor *r = absent[i];

		assert_int_equal(weft_reactor_add(r, 0, 1, 1), WEFT_ENOTSUP);
		assert_int_equal(weft_reactor_modify(r, 0, 1, 1), WEFT_ENOTSUP);
		assert_int_equal(weft_reactor_del(r, 0), WEFT_ENOTSUP);
		assert_int_equal(weft_reactor_wait(r, ev, 1, 0), WEFT_ENOTSUP);
		assert_int_equal(weft_reactor_wakeup(r), WEFT_ENOTSUP);
	}
	assert_int_equal(called, 0);
	assert_int_equal(weft_reactor_add(&full, 0, 1, 1), 1);
	assert_int_equal(weft_reactor_modify(&full, 0, 1, 1), 2);
	assert_int_equal(weft_reactor_del(&full, 0), 3);
	assert_int_equal(weft_reactor_wait(&full, ev, 1, 0), 4);
	assert_int_equal(weft_reactor_wakeup(&full), 5);
}

/* ---- wakers, join handles, negotiation ------------------------------ */

static struct weft_waker
w_clone(const void *data)
{
	called++;
	return (struct weft_waker){NULL, data};
}

static const struct weft_waker_vtable clone_only = {
    .version = WEFT_WAKER_VTABLE_VERSION, .clone = w_clone};
static const struct weft_waker_vtable nothing = {.version =
                                                     WEFT_WAKER_VTABLE_VERSION};

static int
j_poll(struct weft_join *j, struct weft_context *cx, void *out, size_t n)
{
	(void)j;
	(void)cx;
	(void)out;
	(void)n;
	return ++called;
}

static void
waker_and_join_helpers(void **state)
{
	struct weft_waker none = {0}, empty = {&nothing, NULL},
	                  cl = {&clone_only, &called}, other = {&nothing, &cl};
	struct weft_join_ops no_poll = {.version = 1};
	struct weft_join_ops polls = {.version = 1, .poll = j_poll};
	struct weft_join j_none = {1, NULL}, j_empty = {1, &no_poll},
	                 j_full = {1, &polls};
	struct weft_context cx = {0};
	struct weft_waker w;
	(void)state;

	called = 0;
	/* Nothing to call: an empty waker back, nothing done. */
	w = weft_waker_clone(NULL);
	assert_null(w.vtable);
	w = weft_waker_clone(&none);
	assert_null(w.vtable);
	w = weft_waker_clone(&empty);
	assert_null(w.vtable);
	weft_waker_wake(NULL);
	weft_waker_wake(&none);
	weft_waker_wake(&empty);
	weft_waker_wake_by_ref(NULL);
	weft_waker_wake_by_ref(&empty);
	weft_waker_drop(NULL);
	weft_waker_drop(&empty);
	/* A method that is absent leaves the waker as it was. */
	assert_ptr_equal(empty.vtable, &nothing);
	w = weft_waker_clone(&cl);
	assert_int_equal(called, 1);
	assert_ptr_equal(w.data, &called);

	/* will_wake compares both words. */
	assert_true(weft_waker_will_wake(&empty, &empty));
	assert_false(weft_waker_will_wake(&empty, &other));
	assert_false(weft_waker_will_wake(&empty, &cl));

	assert_int_equal(weft_join_poll(NULL, &cx, NULL, 0), WEFT_ENOTSUP);
	assert_int_equal(weft_join_poll(&j_none, &cx, NULL, 0), WEFT_ENOTSUP);
	assert_int_equal(weft_join_poll(&j_empty, &cx, NULL, 0), WEFT_ENOTSUP);
	assert_int_equal(weft_join_poll(&j_full, &cx, NULL, 0), 2);
	weft_join_abort(NULL);
	weft_join_abort(&j_none);
	weft_join_abort(&j_empty);
	weft_join_release(NULL);
	weft_join_release(&j_none);
	weft_join_release(&j_empty);
	assert_int_equal(called, 2);
}

static void
negotiation(void **state)
{
	const uint32_t v10 = WEFT_ABI_MAKE(1, 0), v13 = WEFT_ABI_MAKE(1, 3),
	               v20 = WEFT_ABI_MAKE(2, 0);
	struct weft_negotiate neg = {.version = 0};
	(void)state;

	assert_int_equal(weft_negotiate_pick(NULL, v10), WEFT_EABI);
	assert_int_equal(weft_negotiate_pick(&neg, v10), WEFT_EABI);
	/* The newest both speak. */
	neg = (struct weft_negotiate){1, v10, v13, 0};
	assert_int_equal(weft_negotiate_pick(&neg, WEFT_ABI_MAKE(1, 1)), 0);
	assert_int_equal(neg.chosen, WEFT_ABI_MAKE(1, 1));
	assert_int_equal(weft_negotiate_pick(&neg, WEFT_ABI_MAKE(1, 9)), 0);
	assert_int_equal(neg.chosen, v13);
	/* A host that only speaks newer versions than the plugin. */
	neg = (struct weft_negotiate){1, v13, v13, 0};
	assert_int_equal(weft_negotiate_pick(&neg, v10), WEFT_EABI);
	/* A plugin of the next major: the host's newest is not its major. */
	neg = (struct weft_negotiate){1, v10, v13, 0};
	assert_int_equal(weft_negotiate_pick(&neg, v20), WEFT_EABI);
	assert_int_equal(neg.chosen, 0);
	/* A host that speaks both majors lets the plugin pick its own. */
	neg = (struct weft_negotiate){1, v10, WEFT_ABI_MAKE(2, 3), 0};
	assert_int_equal(weft_negotiate_pick(&neg, v20), 0);
	assert_int_equal(neg.chosen, v20);
}

static void
context_budget(void **state)
{
	struct weft_context cx;
	struct weft_waker w = {&nothing, NULL};
	(void)state;

	weft_context_init(&cx, w, NULL, NULL);
	assert_true(WEFT_CONTEXT_HAS(&cx, driver));
	cx.budget = 1;
	assert_true(weft_budget_spend(&cx));
	assert_false(weft_budget_spend(&cx));
	/* A context from a build that ended before `driver`. */
	cx.size = offsetof(struct weft_context, driver);
	assert_false(WEFT_CONTEXT_HAS(&cx, driver));
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(driver_helpers),
	    cmocka_unit_test(executor_helpers),
	    cmocka_unit_test(stats_fill),
	    cmocka_unit_test(reactor_helpers),
	    cmocka_unit_test(waker_and_join_helpers),
	    cmocka_unit_test(negotiation),
	    cmocka_unit_test(context_budget),
	};

	return run_group(argc, argv, "abi_helpers", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
