/* SPDX-License-Identifier: MIT */
/*
 * The libevent peer of bench/run.  libevent has callbacks, not tasks; an
 * event made active by hand (event_active) is its closest thing to a
 * spawned task, so:
 *
 *   spawn_many     a callback allocates N events and activates each; each
 *                  runs once and frees itself.
 *   yield_many     1,000 events re-activate themselves 1,000/DIV times.
 *   ping_pong      1,000 pairs of events; a message is activating the
 *                  peer's event (no channel, nothing allocated per round).
 *   chained_spawn  each callback allocates and activates the next event
 *                  and frees its own, to a depth of N.
 *   sleeps         N timer events (one allocation each) with pseudo-random
 *                  0..100 ms timeouts.
 *   pending_tasks  no equivalent (exit status 4).
 *
 * Usage: weft-bench-peer-libevent WORKLOAD DIV
 * Prints one line: ns per operation and peak RSS in KiB.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define MILLION 1000000L
#define PAIRS   1000
#define TASKS   1000

static struct event_base *base;
static long div_by = 1;
static long n_ops;
static long left;
static long each;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/*
 * Peak RSS of this process image in KiB.  Not ru_maxrss: that one keeps
 * the high-water mark of the image before execve (the runner's).
 */
static long
peak_rss_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* A new event whose callback gets the event itself, made active now. */
static struct event *
activate_new(event_callback_fn cb)
{
	struct event *ev = event_new(base, -1, 0, cb, event_self_cbarg());

	if (!ev) {
		fprintf(stderr, "event_new failed\n");
		exit(1);
	}
	event_active(ev, 0, 0);
	return ev;
}


/* ---- spawn_many ----------------------------------------------------- */

static void
trivial_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	left--;
	event_free(arg);
}

static void
spawner_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	for (long i = 0; i < n_ops; i++)
		activate_new(trivial_cb);
	event_free(arg);
}

static void
spawn_many(void)
{
	n_ops = left = MILLION / div_by;
	activate_new(spawner_cb);
}


/* ---- yield_many ----------------------------------------------------- */

struct yielder {
	struct event *ev;
	long count;
};

static void
yielder_cb(evutil_socket_t fd, short what, void *arg)
{
	struct yielder *y = arg;

	(void)fd;
	(void)what;
	if (++y->count == each) {
		left--;
		return;
	}
	event_active(y->ev, 0, 0);
}

static struct yielder *yielders;

static void
yield_many(void)
{
	each = 1000 / div_by;
	n_ops = TASKS * each;
	left = TASKS;
	yielders = calloc(TASKS, sizeof(*yielders));
	for (int i = 0; i < TASKS; i++) {
		yielders[i].ev = event_new(base, -1, 0, yielder_cb,
		                           &yielders[i]);
		event_active(yielders[i].ev, 0, 0);
	}
}


/* ---- ping_pong ------------------------------------------------------ */

struct pair {
	struct event *ping, *pong;
	long round;
};

static void
ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pair *p = arg;

	(void)fd;
	(void)what;
	if (p->round == each) {
		left--;
		return;
	}
	p->round++;
	event_active(p->pong, 0, 0);
}

static void
pong_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pair *p = arg;

	(void)fd;
	(void)what;
	event_active(p->ping, 0, 0);
}

static struct pair *pairs;

static void
ping_pong(void)
{
	each = 1000 / div_by;
	n_ops = PAIRS * each;
	left = PAIRS;
	pairs = calloc(PAIRS, sizeof(*pairs));
	for (int i = 0; i < PAIRS; i++) {
		pairs[i].ping = event_new(base, -1, 0, ping_cb, &pairs[i]);
		pairs[i].pong = event_new(base, -1, 0, pong_cb, &pairs[i]);
		event_active(pairs[i].ping, 0, 0);
	}
}


/* ---- chained_spawn -------------------------------------------------- */

static void
link_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	if (left > 0) {
		left--;
		activate_new(link_cb);
	}
	event_free(arg);
}

static void
chained_spawn(void)
{
	n_ops = left = MILLION / div_by;
	activate_new(link_cb);
}


/* ---- sleeps --------------------------------------------------------- */

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	left--;
	event_free(arg);
}

static void
sleeps(void)
{
	uint64_t rng = 0x9e3779b97f4a7c15u;

	n_ops = left = MILLION / div_by;
	for (long i = 0; i < n_ops; i++) {
		uint64_t ms = rng_next(&rng) % 101;
		struct timeval tv = {
		    .tv_sec = (time_t)(ms / 1000),
		    .tv_usec = (suseconds_t)(ms % 1000) * 1000};
		struct event *ev =
		    evtimer_new(base, timer_cb, event_self_cbarg());

		if (!ev || evtimer_add(ev, &tv) < 0) {
			fprintf(stderr, "evtimer failed\n");
			exit(1);
		}
	}
}


/* ---- main ----------------------------------------------------------- */

static const struct {
	const char *name;
	void (*start)(void);
} workloads[] = {
    {"spawn_many", spawn_many},       {"yield_many", yield_many},
    {"ping_pong", ping_pong},         {"chained_spawn", chained_spawn},
    {"sleeps", sleeps},               {"pending_tasks", NULL},
};

int
main(int argc, char **argv)
{
	void (*start)(void) = NULL;
	uint64_t t0, t1;
	size_t i;
	int found = 0;

	if (argc != 3 || (div_by = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: %s WORKLOAD DIV\n", argv[0]);
		return 2;
	}
	for (i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (strcmp(argv[1], workloads[i].name) == 0) {
			start = workloads[i].start;
			found = 1;
		}
	}
	if (!found) {
		fprintf(stderr, "%s: unknown workload\n", argv[1]);
		return 3;
	}
	if (!start) {
		fprintf(stderr, "%s: no libevent equivalent\n", argv[1]);
		return 4;
	}
	base = event_base_new();
	if (!base) {
		fprintf(stderr, "event_base_new failed\n");
		return 1;
	}
	t0 = now_ns();
	start();
	event_base_dispatch(base);
	t1 = now_ns();
	if (left != 0) {
		fprintf(stderr, "%s: %ld left\n", argv[1], left);
		return 1;
	}
	printf("%.1f %ld\n", (double)(t1 - t0) / (double)n_ops, peak_rss_kib());
	fflush(stdout);
	_exit(0);
}
