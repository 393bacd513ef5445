/* SPDX-License-Identifier: MIT */
/*
 * Fibers against stackless coroutines, on whatever runtime the
 * configuration names (WEFT_EXECUTOR / WEFT_REACTOR, or the two arguments
 * EXECUTOR REACTOR):
 *
 *   fiber switch      a fiber yields and is polled again by hand (no
 *                     executor): ns per round trip, switch in and out.
 *   coro switch       the same with a WEFT_YIELD coroutine: ns per poll.
 *   fiber yield       a fiber yields N times under block_on: ns per
 *                     yield, the executor's reschedule included.
 *   coro yield        a coroutine does WEFT_YIELD N times under block_on.
 *   fiber await       a fiber awaits N weft_yield futures (pending once,
 *                     then ready) under block_on: ns per await.
 *   coro await        a coroutine WEFT_AWAITs N of them.
 *   fiber lifecycle   init (mmap), first poll, drop while suspended
 *                     (the cancel path) and unmap: ns per fiber.
 *   idle fiber        IDLE fibers (default stack) each suspended in an
 *                     await: resident and mapped bytes per fiber, from
 *                     /proc/self/statm before and after.
 *
 * Usage: weft-bench-fiber [EXECUTOR REACTOR] [-n ROUNDS] [-i IDLE]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <weft/fiber.h>
#include <weft/weft.h>

static struct weft_runtime *rt;
static unsigned long rounds = 1000000;
static unsigned long idle = 10000;


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
	printf("%-16s %10lu ops %10.1f ns/op\n", what, ops,
	       (double)ns / (double)ops);
}

/* ---- the work ------------------------------------------------------- */

static int
fiber_yields(void *arg)
{
	unsigned long n = *(unsigned long *)arg;

	for (unsigned long i = 0; i < n; i++)
		if (weft_fiber_yield() != 0)
			return -1;
	return 0;
}


static int
fiber_awaits(void *arg)
{
	unsigned long n = *(unsigned long *)arg;
	struct weft_yield y;

	for (unsigned long i = 0; i < n; i++) {
		weft_yield_init(&y);
		if (weft_await(&y.base) != 0)
			return -1;
	}
	return 0;
}


struct coro {
	struct weft_future base;
	struct weft_coro co;
	struct weft_yield y;
	unsigned long n, i;
	int await; /* WEFT_AWAIT a weft_yield rather than WEFT_YIELD */
	int out;
};

static weft_poll
coro_poll(struct weft_future *f, struct weft_context *cx)
{
	struct coro *c = (struct coro *)f;

	WEFT_BEGIN(&c->co);
	for (c->i = 0; c->i < c->n; c->i++) {
		if (c->await) {
			weft_yield_init(&c->y);
			WEFT_AWAIT(&c->co, cx, &c->y);
		} else {
			WEFT_YIELD(&c->co, cx);
		}
	}
	WEFT_END(&c->co);
}

WEFT_FUTURE_VTABLE(coro_vtable, struct coro, out, coro_poll, NULL);

/* ---- switch: polled by hand ------------------------------------------ */

/* Polls f until ready with a no-op waker; returns the polls made. */
static unsigned long
poll_by_hand(struct weft_future *f)
{
	struct weft_context cx;
	unsigned long polls = 1;

	weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
	while (weft_future_poll(f, &cx) == WEFT_PENDING)
		polls++;
	return polls;
}


static int
bench_switch(void)
{
	struct weft_fiber f;
	struct coro c = {.base.vtable = &coro_vtable, .n = rounds};
	uint64_t t;
	unsigned long polls;

	if (weft_fiber_init(&f, fiber_yields, &rounds, NULL) < 0)
		return 1;
	t = now_ns();
	polls = poll_by_hand(&f.base);
	report("fiber switch", now_ns() - t, polls);
	if (f.result != 0 || polls != rounds + 1)
		return 1;
	weft_future_drop(&f.base);

	t = now_ns();
	polls = poll_by_hand(&c.base);
	report("coro switch", now_ns() - t, polls);
	weft_future_drop(&c.base);
	return polls != rounds + 1;
}

/* ---- yield and await on the runtime ---------------------------------- */

static int
bench_runtime(const char *what, weft_fiber_fn fn, int await)
{
	struct weft_fiber f;
	struct coro c = {.base.vtable = &coro_vtable, .n = rounds};
	char name[32];
	uint64_t t;
	int r;

	if (weft_fiber_init(&f, fn, &rounds, NULL) < 0)
		return 1;
	t = now_ns();
	r = weft_block_on(rt, &f.base);
	snprintf(name, sizeof(name), "fiber %s", what);
	report(name, now_ns() - t, rounds);
	if (r < 0 || f.result != 0)
		return 1;
	weft_future_drop(&f.base);

	c.await = await;
	t = now_ns();
	r = weft_block_on(rt, &c.base);
	snprintf(name, sizeof(name), "coro %s", what);
	report(name, now_ns() - t, rounds);
	weft_future_drop(&c.base);
	return r < 0;
}

/* ---- idle fibers ------------------------------------------------------ */

static weft_poll
never_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)f;
	(void)cx;
	return WEFT_PENDING;
}

static const struct weft_future_vtable never_vtable = {
    WEFT_FUTURE_VTABLE_VERSION,
    0,
    sizeof(struct weft_future),
    0,
    0,
    never_poll,
    NULL,
};


static int
fiber_waits(void *arg)
{
	struct weft_future never = {&never_vtable};

	(void)arg;
	return weft_await(&never) == WEFT_ECANCELED ? 0 : -1;
}


/* Resident and mapped bytes of this process. */
static int
statm(size_t *rss, size_t *vm)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long pages, res;
	long page = sysconf(_SC_PAGESIZE);
	int n;

	if (!fp)
		return -errno;
	n = fscanf(fp, "%lu %lu", &pages, &res);
	fclose(fp);
	if (n != 2)
		return -EIO;
	*vm = pages * (size_t)page;
	*rss = res * (size_t)page;
	return 0;
}


static int
bench_idle(void)
{
	struct weft_fiber *fs = calloc(idle, sizeof(*fs));
	struct weft_context cx;
	size_t rss0, vm0, rss1, vm1;
	unsigned long made = 0;
	uint64_t t;
	int r = 0;

	if (!fs || statm(&rss0, &vm0) < 0) {
		free(fs);
		return 1;
	}
	weft_context_init(&cx, weft_waker_noop(), NULL, NULL);
	for (; made < idle; made++) {
		if (weft_fiber_init(&fs[made], fiber_waits, NULL, NULL) < 0) {
			weft_future_drop(&fs[made].base);
			r = 1;
			break;
		}
		weft_future_poll(&fs[made].base, &cx);
	}
	if (statm(&rss1, &vm1) < 0 || made == 0)
		r = 1;
	else
		printf("%-16s %10lu fibers %7.1f KiB resident, %.1f KiB "
		       "mapped per fiber (stack %zu KiB)\n",
		       "idle fiber", made,
		       (double)(rss1 - rss0) / 1024.0 / (double)made,
		       (double)(vm1 - vm0) / 1024.0 / (double)made,
		       WEFT_FIBER_STACK_DEFAULT / 1024);
	for (unsigned long i = 0; i < made; i++)
		weft_future_drop(&fs[i].base);
	if (weft_fiber_live() != 0)
		r = 1;
	free(fs);

	/* Made, started, suspended, cancelled and unmapped, one at a time. */
	t = now_ns();
	for (unsigned long i = 0; i < idle; i++) {
		struct weft_fiber f;

		if (weft_fiber_init(&f, fiber_waits, NULL, NULL) < 0)
			r = 1;
		weft_future_poll(&f.base, &cx);
		weft_future_drop(&f.base);
	}
	report("fiber lifecycle", now_ns() - t, idle);
	return r;
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
			rounds = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-i") && i + 1 < argc)
			idle = strtoul(argv[++i], NULL, 10);
		else if (pos < 2)
			names[pos++] = argv[i];
	}
	if (rounds < 1)
		rounds = 1;
	if (idle < 1)
		idle = 1;
	if (weft_config_new(&cfg) < 0)
		return 1;
	if (names[0])
		weft_config_set(cfg, "executor", names[0], NULL, 0);
	if (names[1])
		weft_config_set(cfg, "reactor", names[1], NULL, 0);
	if (weft_runtime_open(&rt, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "weft-bench-fiber: %s\n", err);
		weft_config_free(cfg);
		return 1;
	}
	weft_config_free(cfg);
	printf("executor %s, reactor %s, switch %s\n",
	       weft_runtime_plugin(rt, WEFT_PLUGIN_EXECUTOR)->name,
	       weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR)->name,
	       weft_fiber_switch_name());
	r |= bench_switch();
	r |= bench_runtime("yield", fiber_yields, 0);
	r |= bench_runtime("await", fiber_awaits, 1);
	r |= bench_idle();
	weft_runtime_close(rt);
	if (r)
		fprintf(stderr, "weft-bench-fiber: a benchmark failed\n");
	return r;
}
