/* SPDX-License-Identifier: MIT */
/*
 * Fibers on a real runtime (the executor and reactor named on the command
 * line): locals and callee-saved registers survive awaits, awaits of a
 * sleep, a channel, another task and another fiber, a thousand fibers at
 * once, drop while suspended (every awaited future dropped exactly once,
 * the stack unmapped), the guard page, and the errors outside a fiber.
 *
 * A fiber's function never calls a cmocka assert: a failed one longjmps,
 * which must not leave a fiber's stack.  Fibers record what they saw and
 * the test asserts it afterwards.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <weft/channel.h>
#include <weft/fiber.h>
#include <weft/weft.h>

#include "pair.h"

#ifndef EXPECT_SWITCH
#if defined(__x86_64__) && !defined(__ILP32__)
#define EXPECT_SWITCH "x86_64"
#elif defined(__aarch64__)
#define EXPECT_SWITCH "aarch64"
#else
#define EXPECT_SWITCH "ucontext"
#endif
#endif

/* A future that is never ready and counts its polls and its drops. */
struct never {
	struct weft_future base;
	atomic_int *polls, *drops;
};

static weft_poll
never_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)cx;
	atomic_fetch_add(((struct never *)f)->polls, 1);
	return WEFT_PENDING;
}


static void
never_drop(struct weft_future *f)
{
	atomic_fetch_add(((struct never *)f)->drops, 1);
}

static const struct weft_future_vtable never_vtable = {
    WEFT_FUTURE_VTABLE_VERSION,
    0,
    sizeof(struct never),
    0,
    0,
    never_poll,
    never_drop,
};

static void
never_init(struct never *n, atomic_int *polls, atomic_int *drops)
{
	n->base.vtable = &never_vtable;
	n->polls = polls;
	n->drops = drops;
}


static int
sleep_ms(unsigned ms)
{
	struct weft_sleep s;

	weft_sleep_init(&s, ms * WEFT_MSEC);
	return weft_await(&s.base);
}

/* ---- locals and registers survive awaits ------------------------------ */

struct locals_out {
	int bad;
	uint64_t mix;
	double fsum;
};

static int
locals_fn(void *arg)
{
	struct locals_out *out = arg;
	int a[64];
	int *p = &a[5];
	/* Enough live values that some sit in callee-saved registers across
	 * each await. */
	uint64_t x1 = 1, x2 = 2, x3 = 3, x4 = 4, x5 = 5, x6 = 6, x7 = 7;
	double d1 = 0.5, d2 = 1.5, d3 = 2.5;
	int sum = 0;

	for (int i = 0; i < 64; i++)
		a[i] = i * i;
	for (int i = 0; i < 20; i++) {
		if ((i % 4 == 0 ? sleep_ms(1) : weft_fiber_yield()) != 0)
			out->bad++;
		if (!weft_in_fiber() || !weft_fiber_context())
			out->bad++;
		sum += a[i];
		x1 = x1 * 3 + x7;
		x2 ^= x1 << 1;
		x3 += x2 >> 3;
		x4 = x4 * 5 + x3;
		x5 -= x4;
		x6 += x5 * 7;
		x7 = x7 + x6 + 1;
		d1 += 1.0;
		d2 *= 1.25;
		d3 -= 0.5;
	}
	if (*p != 25)
		out->bad++;
	out->mix = x1 ^ x2 ^ x3 ^ x4 ^ x5 ^ x6 ^ x7;
	out->fsum = d1 + d2 + d3;
	return sum;
}


/* The same arithmetic without awaits, for the expected values. */
static void
locals_expected(uint64_t *mix, double *fsum)
{
	uint64_t x1 = 1, x2 = 2, x3 = 3, x4 = 4, x5 = 5, x6 = 6, x7 = 7;
	double d1 = 0.5, d2 = 1.5, d3 = 2.5;

	for (int i = 0; i < 20; i++) {
		x1 = x1 * 3 + x7;
		x2 ^= x1 << 1;
		x3 += x2 >> 3;
		x4 = x4 * 5 + x3;
		x5 -= x4;
		x6 += x5 * 7;
		x7 = x7 + x6 + 1;
		d1 += 1.0;
		d2 *= 1.25;
		d3 -= 0.5;
	}
	*mix = x1 ^ x2 ^ x3 ^ x4 ^ x5 ^ x6 ^ x7;
	*fsum = d1 + d2 + d3;
}


static void
test_locals_survive(void **state)
{
	struct locals_out out = {0};
	uint64_t mix;
	double fsum;
	int want = 0;
	size_t live = weft_fiber_live();

	(void)state;
	for (int i = 0; i < 20; i++)
		want += i * i;
	locals_expected(&mix, &fsum);
	assert_int_equal(run_fiber(locals_fn, &out), want);
	assert_int_equal(out.bad, 0);
	assert_true(out.mix == mix);
	assert_true(out.fsum == fsum);
	assert_int_equal(weft_fiber_live(), live);
}

/* ---- await a channel, another task, another fiber --------------------- */

static int
producer_fn(void *arg)
{
	struct weft_mpsc_tx *tx = arg;
	struct weft_mpsc_send s;
	int bad = 0;

	for (int i = 1; i <= 100; i++) {
		weft_mpsc_send_init(&s, tx, &i);
		if (weft_await(&s.base) != 0 || s.status != 0)
			bad++;
		if (i % 10 == 0 && sleep_ms(1) != 0)
			bad++;
	}
	weft_mpsc_tx_free(tx);
	return bad ? -1 : 100;
}


struct yielder {
	struct weft_future base;
	struct weft_coro co;
	int i;
	int out;
};

static weft_poll
yielder_poll(struct weft_future *f, struct weft_context *cx)
{
	struct yielder *y = (struct yielder *)f;

	WEFT_BEGIN(&y->co);
	for (y->i = 0; y->i < 3; y->i++)
		WEFT_YIELD(&y->co, cx);
	y->out = 7;
	WEFT_END(&y->co);
}

WEFT_FUTURE_VTABLE(yielder_vtable, struct yielder, out, yielder_poll, NULL);


static int
inner_fn(void *arg)
{
	int *seen = arg;

	*seen = weft_in_fiber();
	if (sleep_ms(2) != 0)
		return -1;
	return 5;
}


struct pipeline_out {
	int received, sum, producer, stackless, inner, inner_seen, bad;
};

static int
pipeline_fn(void *arg)
{
	struct pipeline_out *out = arg;
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct weft_join *join;
	struct weft_join_future jf;
	struct weft_mpsc_recv r;
	struct yielder y = {.base.vtable = &yielder_vtable};
	struct weft_fiber inner;
	int msg, res = 0;

	if (weft_mpsc_new(sizeof(int), 4, &tx, &rx) < 0)
		return -1;
	if (weft_fiber_spawn(weft_fiber_context()->executor, producer_fn, tx,
	                     NULL, &join) < 0)
		return -2;
	for (;;) {
		weft_mpsc_recv_init(&r, rx, &msg);
		if (weft_await(&r.base) != 0)
			out->bad++;
		if (r.status != 0)
			break;
		out->received++;
		out->sum += msg;
	}
	weft_mpsc_rx_free(rx);
	weft_join_future_init(&jf, join, &res, sizeof(res));
	if (weft_await(&jf.base) != 0 || jf.status != 0)
		out->bad++;
	out->producer = res;

	/* A stackless task, spawned and joined. */
	if (weft_spawn(rt, &y.base, &join) < 0)
		return -3;
	res = 0;
	weft_join_future_init(&jf, join, &res, sizeof(res));
	if (weft_await(&jf.base) != 0 || jf.status != 0)
		out->bad++;
	out->stackless = res;

	/* A fiber awaited inline, on this fiber's stack. */
	if (weft_fiber_init(&inner, inner_fn, &out->inner_seen, NULL) < 0)
		return -4;
	if (weft_await(&inner.base) != 0)
		out->bad++;
	out->inner = inner.result;
	return 0;
}


static void
test_await_channel_task_fiber(void **state)
{
	struct pipeline_out out = {0};
	size_t live = weft_fiber_live();

	(void)state;
	assert_int_equal(run_fiber(pipeline_fn, &out), 0);
	assert_int_equal(out.bad, 0);
	assert_int_equal(out.received, 100);
	assert_int_equal(out.sum, 5050);
	assert_int_equal(out.producer, 100);
	assert_int_equal(out.stackless, 7);
	assert_int_equal(out.inner, 5);
	assert_int_equal(out.inner_seen, 1);
	assert_int_equal(weft_fiber_live(), live);
}

/* ---- a thousand fibers ------------------------------------------------ */

#define MANY 1000

static int
many_fn(void *arg)
{
	intptr_t i = (intptr_t)arg;
	volatile intptr_t keep[8];

	for (int k = 0; k < 8; k++)
		keep[k] = i * 3 + k;
	for (int k = 0; k < 4; k++) {
		int r = (k + i) % 2 ? weft_fiber_yield() : sleep_ms(1);
		if (r != 0)
			return -1;
	}
	for (int k = 0; k < 8; k++)
		if (keep[k] != i * 3 + k)
			return -2;
	return (int)(i * 3);
}


static int
spawner_fn(void *arg)
{
	struct weft_join **joins = arg;
	struct weft_join_future jf;
	struct weft_fiber_opts opts;
	long bad = 0;

	weft_fiber_opts_init(&opts);
	opts.stack_size = 32 * 1024;
	for (intptr_t i = 0; i < MANY; i++)
		if (weft_fiber_spawn(weft_fiber_context()->executor, many_fn,
		                     (void *)i, i % 2 ? &opts : NULL,
		                     &joins[i]) < 0)
			return -1;
	for (intptr_t i = 0; i < MANY; i++) {
		int res = -100;

		weft_join_future_init(&jf, joins[i], &res, sizeof(res));
		if (weft_await(&jf.base) != 0 || jf.status != 0 ||
		    res != (int)(i * 3))
			bad++;
	}
	return (int)bad;
}


static void
test_many_fibers(void **state)
{
	struct weft_join **joins = calloc(MANY, sizeof(*joins));
	size_t live = weft_fiber_live();

	(void)state;
	assert_non_null(joins);
	assert_int_equal(run_fiber(spawner_fn, joins), 0);
	assert_int_equal(weft_fiber_live(), live);
	free(joins);
}

/* ---- drop while suspended --------------------------------------------- */

struct dropper {
	atomic_int polls, drops, polls2, drops2;
	atomic_int started;
	int first, second, yield, cx_null;
	atomic_int returned;
};

static int
dropper_fn(void *arg)
{
	struct dropper *d = arg;
	struct never n, n2;

	never_init(&n, &d->polls, &d->drops);
	atomic_store(&d->started, 1);
	d->first = weft_await(&n.base);
	/* Dropped: every later await fails at once and drops its future. */
	d->cx_null = weft_fiber_context() == NULL;
	never_init(&n2, &d->polls2, &d->drops2);
	d->second = weft_await(&n2.base);
	d->yield = weft_fiber_yield();
	atomic_store(&d->returned, 1);
	return 99;
}


static void
check_dropped(struct dropper *d)
{
	assert_true(atomic_load(&d->polls) >= 1);
	assert_int_equal(atomic_load(&d->drops), 1);
	assert_int_equal(d->first, WEFT_ECANCELED);
	assert_int_equal(d->cx_null, 1);
	assert_int_equal(atomic_load(&d->polls2), 0);
	assert_int_equal(atomic_load(&d->drops2), 1);
	assert_int_equal(d->second, WEFT_ECANCELED);
	assert_int_equal(d->yield, WEFT_ECANCELED);
	assert_int_equal(atomic_load(&d->returned), 1);
}


/* Polled by hand, then dropped by hand, on this thread. */
static void
test_drop_suspended_direct(void **state)
{
	struct dropper d = {0};
	struct weft_fiber f;
	struct weft_context cx;
	size_t live = weft_fiber_live();

	(void)state;
	weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
	assert_int_equal(weft_fiber_init(&f, dropper_fn, &d, NULL), 0);
	assert_int_equal(weft_fiber_live(), live + 1);
	assert_int_equal(weft_future_poll(&f.base, &cx), WEFT_PENDING);
	assert_int_equal(weft_future_poll(&f.base, &cx), WEFT_PENDING);
	assert_int_equal(atomic_load(&d.polls), 2);
	assert_int_equal(atomic_load(&d.drops), 0);
	weft_future_drop(&f.base);
	check_dropped(&d);
	assert_int_equal(weft_fiber_live(), live);
}


/* Dropped by a timeout on the runtime. */
static void
test_drop_by_timeout(void **state)
{
	struct dropper d = {0};
	struct weft_fiber f;
	struct weft_timeout t;
	size_t live = weft_fiber_live();

	(void)state;
	assert_int_equal(weft_fiber_init(&f, dropper_fn, &d, NULL), 0);
	weft_timeout_init(&t, &f.base, 5 * WEFT_MSEC);
	assert_int_equal(weft_block_on(rt, &t.base), 0);
	assert_int_equal(t.status, WEFT_ETIMEDOUT);
	weft_future_drop(&t.base);
	check_dropped(&d);
	assert_int_equal(weft_fiber_live(), live);
}


/* Spawned, then aborted through its join handle: dropped by the executor. */
static int
abort_fn(void *arg)
{
	struct dropper *d = arg;
	struct weft_join *join;
	struct weft_join_future jf;
	int res = 0, st;

	if (weft_fiber_spawn(weft_fiber_context()->executor, dropper_fn, d,
	                     NULL, &join) < 0)
		return -1;
	for (int i = 0; i < 5000 && !atomic_load(&d->started); i++)
		if (sleep_ms(1) != 0)
			return -2;
	weft_join_abort(join);
	weft_join_future_init(&jf, join, &res, sizeof(res));
	if (weft_await(&jf.base) != 0)
		return -3;
	st = jf.status;
	/* The join may report before the executor's drop has finished. */
	for (int i = 0; i < 5000 && !atomic_load(&d->returned); i++)
		if (sleep_ms(1) != 0)
			return -4;
	return st;
}


static void
test_drop_by_abort(void **state)
{
	struct dropper d = {0};
	size_t live = weft_fiber_live();

	(void)state;
	assert_int_equal(run_fiber(abort_fn, &d), WEFT_ECANCELED);
	check_dropped(&d);
	/* The unmap follows the function's return on the executor's thread. */
	for (int i = 0; i < 5000 && weft_fiber_live() != live; i++)
		usleep(1000);
	assert_int_equal(weft_fiber_live(), live);
}


static int
count_fn(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
	return 0;
}


/* Dropped before its first poll: the function never runs. */
static void
test_drop_unpolled(void **state)
{
	struct weft_fiber f;
	atomic_int ran = 0;
	size_t live = weft_fiber_live();

	(void)state;
	assert_int_equal(weft_fiber_init(&f, count_fn, &ran, NULL), 0);
	weft_future_drop(&f.base);
	assert_int_equal(atomic_load(&ran), 0);
	assert_int_equal(weft_fiber_live(), live);
}

/* ---- errors ----------------------------------------------------------- */

static void
test_outside_fiber(void **state)
{
	atomic_int polls = 0, drops = 0;
	struct never n;
	struct weft_future empty = {NULL};

	(void)state;
	never_init(&n, &polls, &drops);
	assert_int_equal(weft_await(&n.base), -EPERM);
	assert_int_equal(atomic_load(&polls), 0);
	assert_int_equal(atomic_load(&drops), 1);
	assert_int_equal(weft_await(NULL), -EINVAL);
	assert_int_equal(weft_await(&empty), -EINVAL);
	assert_int_equal(weft_fiber_yield(), -EPERM);
	assert_null(weft_fiber_context());
	assert_false(weft_in_fiber());
	assert_string_equal(weft_fiber_switch_name(), EXPECT_SWITCH);
}


static void
test_init_errors(void **state)
{
	struct weft_fiber f;
	struct weft_fiber_opts opts;
	struct weft_context cx;
	size_t live = weft_fiber_live();
	int r;

	(void)state;
	weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
	assert_int_equal(weft_fiber_init(&f, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(weft_future_poll(&f.base, &cx), WEFT_READY);
	assert_int_equal(f.result, -EINVAL);
	weft_future_drop(&f.base);

	weft_fiber_opts_init(&opts);
	opts.size = 4;
	assert_int_equal(weft_fiber_init(&f, count_fn, NULL, &opts), -EINVAL);
	weft_future_drop(&f.base);

	/* Far beyond any address space: mmap refuses it (-ENOMEM; Valgrind's
	 * mmap says -EINVAL). */
	weft_fiber_opts_init(&opts);
	opts.stack_size = (size_t)1 << 60;
	r = weft_fiber_init(&f, count_fn, NULL, &opts);
	assert_true(r == -ENOMEM || r == -EINVAL);
	assert_int_equal(weft_future_poll(&f.base, &cx), WEFT_READY);
	assert_int_equal(f.result, r);
	weft_future_drop(&f.base);

	opts.stack_size = SIZE_MAX - 10;
	assert_int_equal(weft_fiber_init(&f, count_fn, NULL, &opts), -EINVAL);
	weft_future_drop(&f.base);
	assert_int_equal(weft_fiber_spawn(NULL, count_fn, NULL, NULL, NULL),
	                 -EINVAL);
	assert_int_equal(weft_fiber_live(), live);
}

/* ---- the guard page --------------------------------------------------- */

static volatile uintptr_t guard_top;

static void
on_segv(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	size_t span = 16 * 1024 + 3 * 4096;

	(void)sig;
	(void)uc;
	/* The fault lies just below a 16 KiB stack that started at guard_top.
	 */
	_exit(a < guard_top && a + span >= guard_top ? 42 : 43);
}


static __attribute__((noinline)) int
recurse(int n)
{
	volatile char buf[512];

	buf[0] = (char)n;
	buf[sizeof(buf) - 1] = (char)n;
	if (n > (1 << 30)) /* never: a 16 KiB stack ends long before */
		return n;
	return recurse(n + 1) + buf[0] + buf[sizeof(buf) - 1];
}


static int
overflow_fn(void *arg)
{
	(void)arg;
	/* The frame, not a local: ASan may keep locals on a heap fake stack. */
	guard_top = (uintptr_t)__builtin_frame_address(0);
	return recurse(0);
}


static void
test_guard_page(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static char alt[64 * 1024];
		stack_t ss = {.ss_sp = alt, .ss_size = sizeof(alt)};
		struct sigaction sa;
		struct weft_fiber f;
		struct weft_fiber_opts opts;
		struct weft_context cx;

		/* Our handler, on its own stack, replaces any sanitizer's. */
		sigaltstack(&ss, NULL);
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigaction(SIGSEGV, &sa, NULL);
		weft_fiber_opts_init(&opts);
		opts.stack_size = 16 * 1024;
		weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
		if (weft_fiber_init(&f, overflow_fn, NULL, &opts) < 0)
			_exit(2);
		weft_future_poll(&f.base, &cx);
		_exit(3); /* not reached: the recursion has no end */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 42);
}


int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_outside_fiber),
	    cmocka_unit_test(test_init_errors),
	    cmocka_unit_test(test_locals_survive),
	    cmocka_unit_test(test_await_channel_task_fiber),
	    cmocka_unit_test(test_many_fibers),
	    cmocka_unit_test(test_drop_suspended_direct),
	    cmocka_unit_test(test_drop_by_timeout),
	    cmocka_unit_test(test_drop_by_abort),
	    cmocka_unit_test(test_drop_unpolled),
	    cmocka_unit_test(test_guard_page),
	};

	return run_group(argc, argv, "fiber", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
