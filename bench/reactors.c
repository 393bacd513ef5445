/* SPDX-License-Identifier: MIT */
/*
 * Compares the reactors on the same work and prints one table:
 *
 *   ping-pong  one byte back and forth over a socketpair, each hop found
 *              through the reactor's wait: ns per round trip.
 *   timers     N timers armed through the host driver, a thousand at a
 *              time due 50 us later, fired by parking (the reactor's
 *              wait with the next deadline as timeout), then freed:
 *              ns per timer.
 *   peak RSS   ru_maxrss of the process that ran both.
 *
 * Each reactor runs in a child process of its own, so that its peak RSS is
 * its own.  Usage: weft-bench-reactors [-n ROUNDS] [-t TIMERS] [NAME...]
 * (default: every reactor, 100000 round trips, 1000000 timers).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <weft/weft.h>

#ifndef WEFT_BENCH_PLUGIN_PATH
#define WEFT_BENCH_PLUGIN_PATH ""
#endif

/* Timers armed before parking until they have all fired. */
#define TIMER_BATCH 1000

static unsigned long fired;


static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* A waker that counts its wakes; it owns nothing, so clones are free. */
static struct weft_waker count_clone(const void *data);


static void
count_wake(const void *data)
{
	(void)data;
	fired++;
}


static void
count_drop(const void *data)
{
	(void)data;
}


static const struct weft_waker_vtable count_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = count_clone,
    .wake = count_wake,
    .wake_by_ref = count_wake,
    .drop = count_drop,
};


static struct weft_waker
count_clone(const void *data)
{
	return (struct weft_waker){&count_vtable, data};
}


/* Waits until the reactor reports token; -1 on error. */
static int
await_token(struct weft_reactor *r, uint64_t token)
{
	struct weft_reactor_event ev[8];
	int n, i;

	for (;;) {
		n = weft_reactor_wait(r, ev, 8, WEFT_TIMEOUT_INFINITE);
		if (n < 0)
			return -1;
		for (i = 0; i < n; i++)
			if (ev[i].token == token)
				return 0;
	}
}


static int
hop(struct weft_reactor *r, int from, int to, uint64_t to_token)
{
	char c = 'x';

	if (write(from, &c, 1) != 1 || await_token(r, to_token) < 0 ||
	    read(to, &c, 1) != 1)
		return -1;
	return 0;
}


/* ns per round trip, or a negative error. */
static double
bench_ping_pong(const struct weft_reactor_iface *ops, long rounds)
{
	struct weft_reactor_params params = {
	    .version = WEFT_REACTOR_PARAMS_VERSION,
	    .max_events = 8,
	};
	struct weft_reactor *r = calloc(1, ops->instance_size);
	double result = -1;
	uint64_t t0 = 0;
	int sv[2];
	long i;

	if (!r)
		return -1;
	r->version = ops->version;
	r->ops = ops;
	if (ops->init(r, &params) < 0)
		goto out_free;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		goto out_fini;
	if (weft_reactor_add(r, sv[0], WEFT_READABLE, 1) < 0 ||
	    weft_reactor_add(r, sv[1], WEFT_READABLE, 2) < 0)
		goto out_close;
	/* The first thousand warm the caches and are not counted. */
	for (i = -1000; i < rounds; i++) {
		if (i == 0)
			t0 = now_ns();
		if (hop(r, sv[0], sv[1], 2) < 0 || hop(r, sv[1], sv[0], 1) < 0)
			goto out_close;
	}
	result = (double)(now_ns() - t0) / (double)rounds;
	weft_reactor_del(r, sv[0]);
	weft_reactor_del(r, sv[1]);
out_close:
	close(sv[0]);
	close(sv[1]);
out_fini:
	ops->fini(r);
out_free:
	free(r);
	return result;
}


/*
 * ns per timer armed, fired and freed, or a negative error.  Timers go in
 * batches due 50-60 us after arming, and each batch is parked for until
 * it has fired: so the reactor's wait with a short timeout is on the path,
 * and a reactor that can only sleep whole milliseconds pays for it.
 */
static double
bench_timers(struct weft_driver *d, long count)
{
	uint64_t ids[TIMER_BATCH], t0 = now_ns(), base;
	struct weft_context cx;
	long done, n, i, armed;
	int rc = 0;

	weft_context_init(&cx, (struct weft_waker){&count_vtable, NULL}, NULL,
	                  d);
	fired = 0;
	for (done = 0; done < count && rc >= 0; done += n) {
		n = count - done < TIMER_BATCH ? count - done : TIMER_BATCH;
		base = weft_driver_now(d) + 50000;
		for (armed = 0; armed < n; armed++) {
			/* An order the heap has to sort, over 10 us. */
			rc = weft_driver_timer_add(
			    d, base + (uint64_t)((armed * 7919) % 1000) * 10,
			    &ids[armed]);
			if (rc < 0)
				break;
			rc = weft_driver_timer_poll(d, ids[armed], &cx);
			fired += rc == WEFT_READY;
			if (rc < 0) {
				armed++;
				break;
			}
		}
		while (rc >= 0 && fired < (unsigned long)(done + n))
			rc = weft_driver_park(d, WEFT_TIMEOUT_INFINITE);
		for (i = 0; i < armed; i++)
			weft_driver_timer_del(d, ids[i]);
	}
	if (rc < 0)
		return -1;
	return (double)(now_ns() - t0) / (double)count;
}


static int
bench_one(const char *name, long rounds, long timers)
{
	const struct weft_plugin_descriptor *desc;
	const struct weft_reactor_iface *ops;
	struct weft_config *cfg = NULL;
	struct weft_runtime *rt = NULL;
	struct rusage ru;
	char err[256];
	double pp, tm;

	if (weft_config_new(&cfg) < 0 ||
	    (WEFT_BENCH_PLUGIN_PATH[0] &&
	     weft_config_set(cfg, "plugin_path", WEFT_BENCH_PLUGIN_PATH, err,
	                     sizeof(err)) < 0) ||
	    weft_config_set(cfg, "reactor", name, err, sizeof(err)) < 0 ||
	    weft_runtime_open(&rt, cfg, err, sizeof(err)) < 0) {
		printf("%-10s %s\n", name, cfg ? err : "out of memory");
		weft_config_free(cfg);
		return 1;
	}
	weft_config_free(cfg);
	desc = weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR);
	ops = desc->iface;
	pp = bench_ping_pong(ops, rounds);
	tm = bench_timers(weft_runtime_driver(rt), timers);
	getrusage(RUSAGE_SELF, &ru);
	printf("%-10s %-6s %14.0f %14.0f %14ld\n", name,
	       ops->flags & WEFT_REACTOR_EDGE ? "edge" : "level", pp, tm,
	       ru.ru_maxrss);
	weft_runtime_close(rt);
	return pp < 0 || tm < 0;
}


int
main(int argc, char **argv)
{
	static const char *all[] = {"epoll", "kqueue", "libevent"};
	const char **names = all;
	long rounds = 100000, timers = 1000000;
	int n = 3, i, opt, status, failed = 0;
	pid_t pid;

	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		if (opt == 'n')
			rounds = atol(optarg);
		else if (opt == 't')
			timers = atol(optarg);
		else
			return 2;
	}
	if (rounds <= 0 || timers <= 0)
		return 2;
	if (optind < argc) {
		names = (const char **)&argv[optind];
		n = argc - optind;
	}
	printf("%ld round trips, %ld timers\n", rounds, timers);
	printf("%-10s %-6s %14s %14s %14s\n", "reactor", "mode", "ping-pong ns",
	       "timer ns/op", "peak RSS KiB");
	fflush(stdout);
	for (i = 0; i < n; i++) {
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			status = bench_one(names[i], rounds, timers);
			fflush(stdout);
			_exit(status);
		}
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed = 1;
	}
	return failed;
}
