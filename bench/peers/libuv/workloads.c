/* SPDX-License-Identifier: MIT */
/*
 * The libuv peer of bench/run.  libuv has callbacks, not tasks, so each
 * workload is its closest callback-style equivalent:
 *
 *   spawn_many     an idle callback starts N idle handles (one allocation
 *                  each); each runs once, stops and closes itself.
 *   yield_many     1,000 idle handles run 1,000/DIV times each: one loop
 *                  iteration is one yield of every handle.
 *   ping_pong      1,000 pairs of idle handles; a message is starting the
 *                  peer's handle (no channel, nothing allocated per round).
 *   chained_spawn  each idle callback starts a freshly allocated idle
 *                  handle and closes its own, to a depth of N.
 *   sleeps         N timers, preallocated in one array, with pseudo-random
 *                  0..100 ms timeouts.
 *   pending_tasks  no equivalent (exit status 4).
 *
 * Usage: weft-bench-peer-libuv WORKLOAD DIV
 * Prints one line: ns per operation and peak RSS in KiB.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#define MILLION 1000000L
#define PAIRS   1000
#define TASKS   1000

static uv_loop_t *loop;
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

static void
free_handle(uv_handle_t *h)
{
	free(h);
}

static uv_idle_t *
new_idle(uv_idle_cb cb, void *data)
{
	uv_idle_t *h = malloc(sizeof(*h));

	if (!h) {
		perror("malloc");
		exit(1);
	}
	uv_idle_init(loop, h);
	h->data = data;
	uv_idle_start(h, cb);
	return h;
}

static void
done_close(uv_idle_t *h)
{
	uv_idle_stop(h);
	uv_close((uv_handle_t *)h, free_handle);
}


/* ---- spawn_many ----------------------------------------------------- */

static void
trivial_cb(uv_idle_t *h)
{
	left--;
	done_close(h);
}

static void
spawner_cb(uv_idle_t *h)
{
	for (long i = 0; i < n_ops; i++)
		new_idle(trivial_cb, NULL);
	done_close(h);
}

static void
spawn_many(void)
{
	n_ops = left = MILLION / div_by;
	new_idle(spawner_cb, NULL);
}


/* ---- yield_many ----------------------------------------------------- */

struct yielder {
	uv_idle_t h;
	long count;
};

static void
yielder_cb(uv_idle_t *h)
{
	struct yielder *y = (struct yielder *)h;

	if (++y->count == each) {
		left--;
		uv_idle_stop(h);
	}
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
		uv_idle_init(loop, &yielders[i].h);
		uv_idle_start(&yielders[i].h, yielder_cb);
	}
}


/* ---- ping_pong ------------------------------------------------------ */

struct pair {
	uv_idle_t ping, pong;
	long round;
};

static void pong_cb(uv_idle_t *h);

static void
ping_cb(uv_idle_t *h)
{
	struct pair *p = h->data;

	uv_idle_stop(h);
	if (p->round == each) {
		left--;
		return;
	}
	p->round++;
	uv_idle_start(&p->pong, pong_cb);
}

static void
pong_cb(uv_idle_t *h)
{
	struct pair *p = h->data;

	uv_idle_stop(h);
	uv_idle_start(&p->ping, ping_cb);
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
		uv_idle_init(loop, &pairs[i].ping);
		uv_idle_init(loop, &pairs[i].pong);
		pairs[i].ping.data = pairs[i].pong.data = &pairs[i];
		uv_idle_start(&pairs[i].ping, ping_cb);
	}
}


/* ---- chained_spawn -------------------------------------------------- */

static void
link_cb(uv_idle_t *h)
{
	if (left > 0) {
		left--;
		new_idle(link_cb, NULL);
	}
	done_close(h);
}

static void
chained_spawn(void)
{
	n_ops = left = MILLION / div_by;
	new_idle(link_cb, NULL);
}


/* ---- sleeps --------------------------------------------------------- */

static void
timer_cb(uv_timer_t *t)
{
	(void)t;
	left--;
}

static uv_timer_t *timers;

static void
sleeps(void)
{
	uint64_t rng = 0x9e3779b97f4a7c15u;

	n_ops = left = MILLION / div_by;
	timers = malloc(sizeof(*timers) * (size_t)n_ops);
	if (!timers) {
		perror("malloc");
		exit(1);
	}
	uv_update_time(loop);
	for (long i = 0; i < n_ops; i++) {
		uv_timer_init(loop, &timers[i]);
		uv_timer_start(&timers[i], timer_cb, rng_next(&rng) % 101, 0);
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
		fprintf(stderr, "%s: no libuv equivalent\n", argv[1]);
		return 4;
	}
	loop = uv_default_loop();
	t0 = now_ns();
	start();
	uv_run(loop, UV_RUN_DEFAULT);
	t1 = now_ns();
	if (left != 0) {
		fprintf(stderr, "%s: %ld left\n", argv[1], left);
		return 1;
	}
	printf("%.1f %ld\n", (double)(t1 - t0) / (double)n_ops, peak_rss_kib());
	fflush(stdout);
	_exit(0);
}
