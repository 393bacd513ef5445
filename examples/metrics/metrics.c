/* SPDX-License-Identifier: MIT */
/*
 * The runtime's metrics for Prometheus, served by the program itself over
 * weft's own TCP, while a small workload runs beside it.
 *
 *     metrics [-p PORT] [-t SECONDS]
 *
 * Listens on 127.0.0.1 (the line "listening on ..." gives the port);
 * GET /metrics answers in the text exposition format (version 0.0.4):
 * counters, gauges, per-worker counters and the poll-duration histogram.
 * Stops on SIGINT or SIGTERM, or after SECONDS.  Run it with
 * WEFT_CONSOLE=1 and `weft top PID` shows the same tasks live.
 *
 * The workload: "ticker" (a sleep loop), three "cruncher"s (a little CPU
 * per round, then a sleep) and "yielder" (yields, so it is polled often).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/await.h>
#include <weft/net.h>
#include <weft/weft.h>

#define REQ_MAX  4096
#define BODY_MAX 16384

static struct weft_runtime *rt;
static struct weft_addr addr;
static unsigned seconds; /* 0: until a signal */
/* Keeps the crunching; atomic: crunchers run on several workers. */
static _Atomic unsigned long long sink;

/* ---- the workload --------------------------------------------------- */

static int
ticker(void *arg)
{
	(void)arg;
	for (;;)
		if (weft_sleep_for(10 * WEFT_MSEC) < 0)
			return 0;
}

static int
cruncher(void *arg)
{
	unsigned long long x = (unsigned long long)(uintptr_t)arg;

	for (;;) {
		for (int i = 0; i < 20000; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
		atomic_store_explicit(&sink, x, memory_order_relaxed);
		if (weft_sleep_for(2 * WEFT_MSEC) < 0)
			return 0;
	}
}

static int
yielder(void *arg)
{
	(void)arg;
	for (;;) {
		for (int i = 0; i < 10; i++)
			if (weft_fiber_yield() < 0)
				return 0;
		if (weft_sleep_for(1 * WEFT_MSEC) < 0)
			return 0;
	}
}

/* ---- the exposition ------------------------------------------------- */

struct text {
	char buf[BODY_MAX];
	size_t len;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n < sizeof(t->buf) - t->len
		              ? (size_t)n
		              : sizeof(t->buf) - 1 - t->len;
}

static void
metric(struct text *t, const char *name, const char *type, const char *help,
       unsigned long long v)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
	    name, v);
}

/* Per-worker counters as one family with a worker label. */
static void
workers(struct text *t, unsigned n)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} fam[] = {
	    {"weft_worker_polls_total", "Polls on the worker.",
	     offsetof(struct weft_worker_stats, polls)},
	    {"weft_worker_steals_total", "Tasks the worker stole.",
	     offsetof(struct weft_worker_stats, steals)},
	    {"weft_worker_parks_total", "Times the worker parked.",
	     offsetof(struct weft_worker_stats, parks)},
	    {"weft_worker_queue_depth", "Tasks in the worker's queue.",
	     offsetof(struct weft_worker_stats, queue_depth)},
	};

	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		const char *type =
		    strstr(fam[f].name, "_total") ? "counter" : "gauge";

		put(t, "# HELP %s %s\n# TYPE %s %s\n", fam[f].name, fam[f].help,
		    fam[f].name, type);
		for (unsigned w = 0; w < n; w++) {
			struct weft_worker_stats s = {.size = sizeof(s)};

			if (weft_runtime_worker_stats(rt, w, &s) < 0)
				break;
			put(t, "%s{worker=\"%u\"} %llu\n", fam[f].name, w,
			    *(unsigned long long *)((char *)&s + fam[f].off));
		}
	}
}

/*
 * The poll-duration histogram: bucket i of the runtime's counts polls
 * under 2^i us, so its cumulative count is Prometheus's le="2^i us".  The
 * runtime keeps no total of poll time, so _sum is an estimate: each poll
 * counted at the middle of its bucket (the open last one at its floor).
 */
static void
histogram(struct text *t, const struct weft_runtime_metrics *m)
{
	const char *h = "weft_poll_duration_seconds";
	unsigned long long cum = 0;
	double sum = 0;
	int last = WEFT_POLL_HISTOGRAM_BUCKETS - 1;

	put(t,
	    "# HELP %s Time of one poll (_sum estimated from the buckets).\n"
	    "# TYPE %s histogram\n",
	    h, h);
	for (int i = 0; i < last; i++) {
		double hi = (double)(1u << i) * 1e-6, lo = i ? hi / 2 : 0;

		cum += m->poll_histogram[i];
		sum += (double)m->poll_histogram[i] * (lo + hi) / 2;
		put(t, "%s_bucket{le=\"%g\"} %llu\n", h, hi, cum);
	}
	cum += m->poll_histogram[last];
	sum +=
	    (double)m->poll_histogram[last] * (double)(1u << (last - 1)) * 1e-6;
	put(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9f\n%s_count %llu\n", h,
	    cum, h, sum, h, cum);
}

static int
exposition(struct text *t)
{
	struct weft_runtime_metrics m = {.size = sizeof(m)};
	int r = weft_runtime_metrics(rt, &m);

	if (r < 0)
		return r;
	metric(t, "weft_polls_total", "counter", "Polls of tasks.", m.polls);
	metric(t, "weft_tasks_spawned_total", "counter", "Tasks spawned.",
	       m.spawned);
	metric(t, "weft_tasks_completed_total", "counter", "Tasks completed.",
	       m.completed);
	metric(t, "weft_parks_total", "counter", "Times a worker parked.",
	       m.parks);
	metric(t, "weft_steals_total", "counter", "Tasks stolen.", m.steals);
	metric(t, "weft_foreign_wakes_total", "counter",
	       "Wakes from outside the workers.", m.foreign_wakes);
	metric(t, "weft_slow_polls_total", "counter",
	       "Polls longer than slow_poll_ms.", m.slow_polls);
	metric(t, "weft_workers", "gauge", "Worker threads.", m.workers);
	metric(t, "weft_tasks_live", "gauge", "Tasks not yet dropped.",
	       m.tasks_live);
	metric(t, "weft_queue_depth", "gauge", "Tasks queued now.",
	       m.queue_depth);
	put(t,
	    "# HELP weft_uptime_seconds Time since the runtime opened.\n"
	    "# TYPE weft_uptime_seconds gauge\nweft_uptime_seconds %.3f\n",
	    (double)m.uptime_ns / 1e9);
	workers(t, m.workers);
	histogram(t, &m);
	return 0;
}

/* ---- HTTP ----------------------------------------------------------- */

static int
await_status(struct weft_future *fut, const int *status)
{
	int r = weft_await(fut);

	return r < 0 ? r : *status;
}

/* One connection: owns s; one request, then Connection: close. */
static int
handle(void *arg)
{
	static const char ctype[] = "text/plain; version=0.0.4; charset=utf-8";
	struct weft_io *s = arg;
	struct weft_io_read rd;
	struct weft_io_write_all w;
	struct text *body = malloc(sizeof(*body));
	char req[REQ_MAX], head[256];
	const char *status = "404 Not Found";
	size_t len = 0;
	int r = body ? 0 : -ENOMEM;

	req[0] = '\0';
	while (r == 0 && !strstr(req, "\r\n\r\n") && len + 1 < sizeof(req)) {
		weft_io_read_init(&rd, s, req + len, sizeof(req) - 1 - len);
		if ((r = await_status(&rd.base, &rd.status)) <= 0)
			break;
		len += (size_t)r;
		req[len] = '\0';
		r = 0;
	}
	if (r == 0 && body) {
		body->len = 0;
		body->buf[0] = '\0';
		if (strncmp(req, "GET /metrics ", 13) == 0) {
			status = "200 OK";
			if (exposition(body) < 0)
				status = "500 Internal Server Error";
		}
		snprintf(head, sizeof(head),
		         "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: "
		         "%zu\r\nConnection: close\r\n\r\n",
		         status, ctype, body->len);
		weft_io_write_all_init(&w, s, head, strlen(head));
		r = await_status(&w.base, &w.status);
		if (r >= 0) {
			weft_io_write_all_init(&w, s, body->buf, body->len);
			r = await_status(&w.base, &w.status);
		}
	}
	free(body);
	weft_io_close(s);
	return r < 0 ? r : 0;
}

static int
serve(void *arg)
{
	struct weft_listener *l;
	struct weft_signal sig;
	struct weft_accept_backoff acc;
	struct weft_sleep end;
	char text[64];
	int r, i;

	(void)arg;
	weft_signal_init(&sig, 0); /* SIGINT or SIGTERM */
	/* No -t: a month, which no test waits for. */
	weft_sleep_init(&end, (seconds ? seconds : 30 * 86400) * WEFT_SEC);
	if ((r = weft_listen(&l, &addr, 128)) < 0)
		goto out;
	/* Named, so that weft top and weft tasks say which is which. */
	WEFT_SPAWN_NAMED("ticker", weft_spawn_fiber(ticker, NULL, NULL));
	for (i = 1; i <= 3; i++)
		WEFT_SPAWN_NAMED(
		    "cruncher",
		    weft_spawn_fiber(cruncher, (void *)(uintptr_t)i, NULL));
	WEFT_SPAWN_NAMED("yielder", weft_spawn_fiber(yielder, NULL, NULL));
	weft_listener_local_addr(l, &addr);
	printf("listening on %s\n",
	       weft_addr_format(&addr, text, sizeof(text)));
	fflush(stdout);
	for (;;) {
		weft_accept_backoff_init(&acc, l);
		r = weft_select_await(WEFT_SELECT_BORROW, 3, &sig.base,
		                      &end.base, &acc.base);
		weft_future_drop(&acc.base);
		if (r != 2)
			break;
		if ((r = acc.status) < 0)
			break;
		if (WEFT_SPAWN_NAMED(
		        "http connection",
		        weft_spawn_fiber(handle, acc.stream, NULL)) < 0)
			weft_io_close(acc.stream);
	}
	if (r >= 0)
		r = 0;
	weft_listener_close(l);
out:
	weft_future_drop(&end.base);
	weft_future_drop(&sig.base);
	return r;
}

int
main(int argc, char **argv)
{
	struct weft_fiber root;
	char err[512];
	int port = 0, opt, r;

	while ((opt = getopt(argc, argv, "p:t:")) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 't')
			seconds = (unsigned)atoi(optarg);
		else
			return 2;
	}
	if (optind != argc || port < 0 || port > 65535 ||
	    weft_addr_ip(&addr, "127.0.0.1", (uint16_t)port) < 0) {
		fprintf(stderr, "usage: %s [-p PORT] [-t SECONDS]\n", argv[0]);
		return 2;
	}
	if ((r = weft_runtime_open(&rt, NULL, err, sizeof(err))) < 0) {
		fprintf(stderr, "metrics: %s\n", err);
		return 1;
	}
	weft_fiber_init(&root, serve, NULL, NULL);
	r = weft_block_on(rt, &root.base);
	if (r == 0)
		r = root.result;
	weft_future_drop(&root.base);
	weft_runtime_close_timeout(rt, WEFT_SEC);
	if (r < 0)
		fprintf(stderr, "metrics: %s\n", weft_strerror(r));
	return r < 0 ? 1 : 0;
}
