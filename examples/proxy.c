/* SPDX-License-Identifier: MIT */
/*
 * proxy: a TCP proxy with idle timeouts and graceful shutdown.
 * bench/peers/tokio/examples/proxy.rs is the same program in tokio.
 *
 * Usage: proxy PORT UPSTREAM_PORT [IDLE_MS [GRACE_MS]]
 *
 * Listens on 127.0.0.1:PORT (0: a free port) and prints
 * "listening on 127.0.0.1:P" once it accepts connections, with SIGINT
 * already caught.  Each connection, numbered 1, 2, ... in the order
 * accepted, gets its own fiber task that connects to
 * 127.0.0.1:UPSTREAM_PORT and copies bytes both ways.  An end of stream
 * from one side is passed on as a shutdown of writing to the other; the
 * connection ends when both directions have ended, or when nothing has
 * moved either way for IDLE_MS (default 10000), and the task prints one
 * of:
 *
 *   conn N: closed, U bytes up, D bytes down
 *   conn N: idle timeout
 *   conn N: error: MESSAGE          (e.g. the upstream refused)
 *
 * On Ctrl+C (SIGINT) it stops accepting, closes the listening socket and
 * prints "shutting down, K open"; it then waits up to GRACE_MS (default
 * 5000) for those connections to end as above.  Any left then are cut off
 * after "grace period over, K cut off".  Last comes "bye", and exit 0.
 * Wrong arguments: the usage line on stderr, exit 2.  An error binding or
 * accepting ends the proxy with that error, exit 1.
 *
 * The connections are fiber tasks counted by a task tracker.  Cutting
 * them off cancels a token that each one's work races against, so that
 * every task ends by itself and frees what it owns.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/await.h>

#define USAGE "usage: proxy PORT UPSTREAM_PORT [IDLE_MS [GRACE_MS]]"

static struct weft_addr listen_addr, upstream; /* on 127.0.0.1 */
static uint64_t idle, grace;
static struct weft_cancel_token *cutoff;

/* A connection's task owns it, and the client stream. */
struct conn {
	unsigned id;
	struct weft_io *client;
	size_t count[2]; /* bytes up (client to upstream) and down */
};

/*
 * Connects to the upstream and copies both ways until both have ended.
 * Each step is one read and its write; if a step takes longer than
 * `idle`, the connection is idle (WEFT_ETIMEDOUT).
 */
static int
relay(void *arg)
{
	struct conn *c = arg;
	/* Direction i reads from io[i] and writes to io[!i]; reads[i] is NULL
	 * once its read half has ended. */
	struct weft_io *io[2] = {c->client, NULL};
	unsigned char buf[2][8192];
	struct weft_io_read rd[2];
	struct weft_future *reads[2] = {&rd[0].base, &rd[1].base};
	struct weft_io_write_all wr;
	struct weft_sleep timer;
	int i, r;

	if ((r = weft_connect_await(&upstream, &io[1])) < 0)
		return r;
	while (r == 0 && (reads[0] || reads[1])) {
		uint64_t until = weft_now() + idle;

		for (i = 0; i < 2; i++)
			if (reads[i])
				weft_io_read_init(&rd[i], io[i], buf[i], 8192);
		weft_sleep_until_init(&timer, until);
		i = weft_select_await(0, 3, reads[0], reads[1], &timer.base);
		if (i < 0 || i == 2) {
			r = i < 0 ? i : WEFT_ETIMEDOUT;
		} else if ((r = rd[i].status) == 0) {
			reads[i] = NULL;
			r = weft_io_shutdown(io[!i], SHUT_WR);
		} else if (r > 0) {
			c->count[i] += (size_t)r;
			weft_io_write_all_init(&wr, io[!i], buf[i], (size_t)r);
			if ((r = weft_timeout_at_await(&wr.base, until)) == 0)
				r = wr.status;
		}
	}
	weft_io_close(io[1]);
	return r;
}

/* The relay races the cut-off, which cancels it as an abort would. */
static int
serve(void *arg)
{
	struct conn *c = arg;
	struct weft_fiber work;
	struct weft_cancelled cut;
	int r;

	weft_fiber_init(&work, relay, c, NULL); /* a failure is its result */
	weft_cancelled_init(&cut, cutoff);
	if ((r = weft_select_await(0, 2, &work.base, &cut.base)) == 0)
		r = work.result;
	if (r == 0)
		printf("conn %u: closed, %zu bytes up, %zu bytes down\n", c->id,
		       c->count[0], c->count[1]);
	else if (r == WEFT_ETIMEDOUT)
		printf("conn %u: idle timeout\n", c->id);
	else if (r != 1 && r != WEFT_ECANCELED) /* 1: cut off, say nothing */
		printf("conn %u: error: %s\n", c->id, weft_strerror(r));
	weft_io_close(c->client);
	free(c);
	return 0;
}

/* conns.spawn(serve(...)): a failure is the connection's error. */
static void
spawn(struct weft_tracker *conns, unsigned id, struct weft_io *client)
{
	struct conn *c = malloc(sizeof(*c));
	int r = -ENOMEM;

	if (c) {
		*c = (struct conn){.id = id, .client = client};
		r = weft_tracker_spawn_fiber(conns, serve, c, NULL);
	}
	if (r < 0) {
		printf("conn %u: error: %s\n", id, weft_strerror(r));
		weft_io_close(client);
		free(c);
	}
}

static int
run(void)
{
	struct weft_listener *l = NULL;
	struct weft_tracker *conns = NULL;
	struct weft_signal sigint;
	struct weft_accept_backoff acc;
	struct weft_select_loop sel;
	struct weft_tracker_wait wait;
	struct weft_addr addr;
	unsigned accepted = 0;
	int r;

	if ((r = weft_tracker_new(&conns, NULL)) < 0 ||
	    (r = weft_cancel_token_new(&cutoff)) < 0 ||
	    (r = weft_listen(&l, &listen_addr, 0)) < 0 ||
	    (r = weft_listener_local_addr(l, &addr)) < 0)
		goto out;
	/* Caught before the listening line, so that a Ctrl+C sent on seeing
	 * it is never the default one that kills. */
	weft_signal_init(&sigint, WEFT_SIGNAL_BIT(SIGINT));
	printf("listening on 127.0.0.1:%u\n", weft_addr_port(&addr));
	weft_accept_backoff_init(&acc, l);
	weft_select_loop_init(&sel, 0, 2, &sigint.base, &acc.base);
	while ((r = weft_await(weft_select_loop_next(&sel))) == 0 &&
	       weft_select_loop_won(&sel, &acc) && (r = acc.status) == 0) {
		spawn(conns, ++accepted, acc.stream);
		weft_accept_backoff_init(&acc, l);
	}
	weft_select_loop_drop(&sel);
	if (r == 0)
		r = sigint.status; /* the signal won: its number, or an error */
	weft_listener_close(l);
	l = NULL;
	weft_tracker_close(conns);
	if (r > 0) {
		printf("shutting down, %zu open\n", weft_tracker_len(conns));
		weft_tracker_wait_init(&wait, conns);
		if (weft_timeout_await(&wait.base, grace) == WEFT_ETIMEDOUT)
			printf("grace period over, %zu cut off\n",
			       weft_tracker_len(conns));
	}
	weft_cancel_token_cancel(cutoff); /* the connections left end now */
	weft_tracker_wait_await(conns);
	if (r > 0)
		printf("bye\n");
out:
	weft_listener_close(l);
	weft_tracker_free(conns);
	weft_cancel_token_free(cutoff);
	return r < 0 ? r : 0;
}

/* Argument i as a number up to max, or def when absent (def > max: it is
 * required); the usage line and exit 2 when it is wrong. */
static uint64_t
arg(int argc, char **argv, int i, uint64_t max, uint64_t def)
{
	const char *a = i < argc ? argv[i] : NULL;

	if (!a && def <= max)
		return def;
	if (a && *a && !a[strspn(a, "0123456789")] &&
	    strtoull(a, NULL, 10) <= max)
		return strtoull(a, NULL, 10);
	fprintf(stderr, "%s\n", USAGE);
	exit(2);
}

int
main(int argc, char **argv)
{
	weft_addr_ip(&listen_addr, "127.0.0.1",
	             (uint16_t)arg(argc, argv, 1, UINT16_MAX, UINT64_MAX));
	weft_addr_ip(&upstream, "127.0.0.1",
	             (uint16_t)arg(argc, argv, 2, UINT16_MAX, UINT64_MAX));
	idle = arg(argc, argv, 3, UINT32_MAX, 10000) * WEFT_MSEC;
	grace = arg(argc, argv, 4, UINT32_MAX, 5000) * WEFT_MSEC;
	setvbuf(stdout, NULL, _IOLBF, 0); /* a line at a time, as Rust's */
	return weft_fiber_main(run);
}
