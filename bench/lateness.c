/* SPDX-License-Identifier: MIT */
/*
 * Timer lateness: one task sleeps 200 us, COUNT times in a row, on one
 * executor x reactor pair, and each sleep's lateness is how much later
 * than 200 us after its first poll the task was polled again with the
 * sleep done.  That is what a program sees of the reactor's timeout
 * precision (epoll_wait counts in milliseconds; epoll_pwait2 and io_uring
 * in nanoseconds) and of the wake-to-poll path, on an otherwise idle
 * runtime.  A sleep is never early (R3), so lateness is never negative.
 *
 * Usage: weft-bench-lateness EXECUTOR REACTOR [COUNT]   (default 2000)
 * Prints one line: the median lateness in ns, the peak RSS in KiB, then
 * the 99th percentile, the smallest and the largest lateness in ns (the
 * first three in the order bench/runner.py reads every workload's line).
 * Exit 1 when the runtime cannot open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <weft/weft.h>

#ifndef WEFT_BENCH_PLUGIN_PATH
#define WEFT_BENCH_PLUGIN_PATH ""
#endif

#define SLEEP_NS      200000u
#define DEFAULT_COUNT 2000

struct sleeper {
	struct weft_future base;
	struct weft_sleep sleep;
	uint64_t *late; /* owned by main: count slots */
	long count;
	long done;
	uint64_t start;
	int sleeping;
	int status;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


static weft_poll
sleeper_poll(struct weft_future *f, struct weft_context *cx)
{
	struct sleeper *s = (struct sleeper *)f;

	while (s->done < s->count) {
		if (!s->sleeping) {
			weft_sleep_init(&s->sleep, SLEEP_NS);
			s->sleeping = 1;
			/* The duration counts from this, the first poll. */
			s->start = now_ns();
		}
		if (weft_future_poll(&s->sleep.base, cx) == WEFT_PENDING)
			return WEFT_PENDING;
		s->late[s->done] = now_ns() - s->start - SLEEP_NS;
		weft_future_drop(&s->sleep.base);
		s->sleeping = 0;
		if (s->sleep.status < 0) {
			s->status = s->sleep.status;
			return WEFT_READY;
		}
		s->done++;
	}
	return WEFT_READY;
}


static void
sleeper_drop(struct weft_future *f)
{
	struct sleeper *s = (struct sleeper *)f;

	if (s->sleeping)
		weft_future_drop(&s->sleep.base);
	s->sleeping = 0;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(sleeper_vtable, struct sleeper, sleeper_poll,
                             sleeper_drop);

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}


static struct weft_runtime *
open_runtime(const char *executor, const char *reactor)
{
	const char *path = getenv("WEFT_PLUGIN_PATH");
	struct weft_config *cfg = NULL;
	struct weft_runtime *rt = NULL;
	char err[512] = "out of memory";

	if (!path || !*path)
		path = WEFT_BENCH_PLUGIN_PATH;
	if (weft_config_new(&cfg) < 0 ||
	    weft_config_set(cfg, "use_env", "false", err, sizeof(err)) < 0 ||
	    (*path &&
	     weft_config_set(cfg, "plugin_path", path, err, sizeof(err)) < 0) ||
	    weft_config_set(cfg, "executor", executor, err, sizeof(err)) < 0 ||
	    weft_config_set(cfg, "reactor", reactor, err, sizeof(err)) < 0 ||
	    weft_runtime_open(&rt, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s/%s: %s\n", executor, reactor, err);
		rt = NULL;
	}
	weft_config_free(cfg);
	return rt;
}


int
main(int argc, char **argv)
{
	struct sleeper s = {.base.vtable = &sleeper_vtable};
	struct weft_runtime *rt;
	struct rusage ru;
	int rc;

	if (argc < 3 || argc > 4 ||
	    (s.count = argc == 4 ? atol(argv[3]) : DEFAULT_COUNT) < 1) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR [COUNT]\n",
		        argv[0]);
		return 2;
	}
	s.late = calloc((size_t)s.count, sizeof(*s.late));
	if (!s.late) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	rt = open_runtime(argv[1], argv[2]);
	if (!rt) {
		free(s.late);
		return 1;
	}
	rc = weft_block_on(rt, &s.base);
	weft_future_drop(&s.base);
	weft_runtime_close(rt);
	if (rc < 0 || s.status < 0) {
		fprintf(stderr, "%s/%s: %s\n", argv[1], argv[2],
		        weft_strerror(rc < 0 ? rc : s.status));
		free(s.late);
		return 1;
	}
	qsort(s.late, (size_t)s.count, sizeof(*s.late), cmp_u64);
	getrusage(RUSAGE_SELF, &ru);
	printf("%llu %ld %llu %llu %llu\n",
	       (unsigned long long)s.late[s.count / 2], ru.ru_maxrss,
	       (unsigned long long)s.late[(s.count * 99) / 100],
	       (unsigned long long)s.late[0],
	       (unsigned long long)s.late[s.count - 1]);
	free(s.late);
	return 0;
}
