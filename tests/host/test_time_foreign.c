/* SPDX-License-Identifier: MIT */
/*
 * The runtime's sleep and timeout futures on a driver that is not the
 * host's: they must use only the calls of the ABI (timer_add, timer_poll,
 * timer_del), pass on the driver's errors as their status, and release
 * their timer exactly once.  The driver here is a scripted one with a
 * clock the test moves by hand, so nothing depends on real time.  Last,
 * a sleep whose deadline would pass the end of the host's clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <weft/weft.h>

struct fake {
	struct weft_driver pub;
	uint64_t clock;
	uint64_t deadline; /* of the armed timer */
	int add_result;    /* timer_add returns this when negative */
	int poll_result;   /* timer_poll returns this when negative */
	int adds;
	int polls;
	int dels;
	int armed;
};

static uint64_t
fake_now(struct weft_driver *d)
{
	return ((struct fake *)d)->clock;
}

static int
fake_timer_add(struct weft_driver *d, uint64_t deadline, uint64_t *id)
{
	struct fake *f = (struct fake *)d;

	f->adds++;
	if (f->add_result < 0)
		return f->add_result;
	assert_false(f->armed); /* one timer at a time in these tests */
	f->armed = 1;
	f->deadline = deadline;
	*id = 7;
	return 0;
}

static int
fake_timer_poll(struct weft_driver *d, uint64_t id, struct weft_context *cx)
{
	struct fake *f = (struct fake *)d;

	(void)cx;
	f->polls++;
	assert_int_equal(id, 7);
	assert_true(f->armed);
	if (f->poll_result < 0)
		return f->poll_result;
	return f->clock >= f->deadline ? WEFT_READY : WEFT_PENDING;
}

static void
fake_timer_del(struct weft_driver *d, uint64_t id)
{
	struct fake *f = (struct fake *)d;

	assert_int_equal(id, 7);
	assert_true(f->armed);
	f->armed = 0;
	f->dels++;
}

static const struct weft_driver_ops fake_ops = {
    .version = WEFT_DRIVER_OPS_VERSION,
    .now = fake_now,
    .timer_add = fake_timer_add,
    .timer_poll = fake_timer_poll,
    .timer_del = fake_timer_del,
};

static struct fake drv;
static struct weft_context cx;

static int
fresh(void **state)
{
	(void)state;
	memset(&drv, 0, sizeof(drv));
	drv.pub.version = 1;
	drv.pub.ops = &fake_ops;
	drv.clock = 1000;
	memset(&cx, 0, sizeof(cx));
	cx.size = sizeof(cx);
	cx.budget = 128;
	cx.waker = weft_waker_noop();
	cx.driver = &drv.pub;
	return 0;
}


static void
test_sleep(void **state)
{
	struct weft_sleep s;

	(void)state;
	weft_sleep_init(&s, 100);
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_PENDING);
	assert_int_equal(drv.adds, 1);
	assert_int_equal(drv.deadline, 1100);
	drv.clock = 1099;
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_PENDING);
	assert_int_equal(drv.adds, 1); /* the same timer, polled again */
	drv.clock = 1100;
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
	assert_int_equal(s.status, 0);
	weft_future_drop(&s.base);
	assert_int_equal(drv.dels, 1);

	/* A deadline already past is the driver's to report. */
	weft_sleep_until_init(&s, 500);
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
	assert_int_equal(drv.deadline, 500);
	assert_int_equal(s.status, 0);
	weft_future_drop(&s.base);
	assert_int_equal(drv.dels, 2);
}


static void
test_driver_errors(void **state)
{
	struct weft_sleep s;

	(void)state;
	/* No timer: the sleep is over, with the driver's error. */
	drv.add_result = -ENOMEM;
	weft_sleep_init(&s, 100);
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
	assert_int_equal(s.status, -ENOMEM);
	weft_future_drop(&s.base);
	assert_int_equal(drv.dels, 0); /* nothing armed, nothing to free */

	/* A timer the driver no longer knows. */
	drv.add_result = 0;
	drv.poll_result = -ENOENT;
	weft_sleep_init(&s, 100);
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
	assert_int_equal(s.status, -ENOENT);
	weft_future_drop(&s.base);
	assert_int_equal(drv.dels, 1);
}


static void
test_reset(void **state)
{
	struct weft_sleep s;

	(void)state;
	/* Before the first poll: only the deadline changes. */
	weft_sleep_init(&s, 100);
	weft_sleep_reset(&s, 3000);
	assert_int_equal(drv.dels, 0);
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_PENDING);
	assert_int_equal(drv.deadline, 3000);

	/* Armed: the driver's timer goes, and the next poll arms anew. */
	weft_sleep_reset(&s, 2000);
	assert_int_equal(drv.dels, 1);
	assert_false(drv.armed);
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_PENDING);
	assert_int_equal(drv.adds, 2);
	assert_int_equal(drv.deadline, 2000);
	drv.clock = 2000;
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);

	/* A finished sleep reset to 0 waits for "1 ns": already past. */
	weft_sleep_reset(&s, 0);
	assert_int_equal(drv.dels, 2);
	assert_int_equal(weft_future_poll(&s.base, &cx), WEFT_READY);
	assert_int_equal(drv.deadline, 1);
	weft_future_drop(&s.base);
	assert_int_equal(drv.dels, 3);
}


/* An inner future that never finishes and counts its drops. */
struct forever {
	struct weft_future base;
	int *drops;
};

static weft_poll
forever_poll(struct weft_future *f, struct weft_context *c)
{
	(void)f;
	(void)c;
	return WEFT_PENDING;
}

static void
forever_drop(struct weft_future *f)
{
	(*((struct forever *)f)->drops)++;
}

static const struct weft_future_vtable forever_vtable = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct forever),
    .poll = forever_poll,
    .drop = forever_drop,
};


static void
test_timeout(void **state)
{
	struct forever inner;
	struct weft_timeout t;
	int drops = 0;

	(void)state;
	inner = (struct forever){{&forever_vtable}, &drops};
	weft_timeout_init(&t, &inner.base, 50);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_PENDING);
	drv.clock += 50;
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.status, WEFT_ETIMEDOUT);
	assert_int_equal(drops, 1);
	weft_future_drop(&t.base);
	assert_int_equal(drops, 1);
	assert_int_equal(drv.dels, 1);

	/* A time limit the driver cannot arm ends with its error. */
	drv.add_result = -ENOMEM;
	inner = (struct forever){{&forever_vtable}, &drops};
	weft_timeout_at_init(&t, &inner.base, drv.clock + 50);
	assert_int_equal(weft_future_poll(&t.base, &cx), WEFT_READY);
	assert_int_equal(t.status, -ENOMEM);
	assert_int_equal(drops, 2);
	weft_future_drop(&t.base);
	assert_int_equal(drops, 2);
	assert_int_equal(drv.dels, 1);
}


/*
 * On the host's driver, a duration past the end of the clock saturates
 * instead of wrapping to a deadline in the past.
 */
static void
test_host_sleep_saturates(void **state)
{
	struct weft_timeout t;
	struct weft_sleep s;
	struct weft_runtime *rt;
	char err[512];

	(void)state;
	if (weft_runtime_open(&rt, NULL, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	weft_sleep_init(&s, UINT64_MAX);
	weft_timeout_init(&t, &s.base, 1000000); /* 1 ms */
	assert_int_equal(weft_block_on(rt, &t.base), 0);
	assert_int_equal(t.status, WEFT_ETIMEDOUT);
	assert_int_equal(s.deadline, UINT64_MAX);
	weft_future_drop(&t.base);
	weft_runtime_close(rt);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_sleep, fresh),
	    cmocka_unit_test_setup(test_driver_errors, fresh),
	    cmocka_unit_test_setup(test_reset, fresh),
	    cmocka_unit_test_setup(test_timeout, fresh),
	    cmocka_unit_test(test_host_sleep_saturates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
