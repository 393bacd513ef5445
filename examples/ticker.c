/* SPDX-License-Identifier: MIT */
/*
 * ticker: an interval, a timeout, select and a lagging broadcast
 * subscriber.  bench/peers/tokio/examples/ticker.rs is the same program in
 * tokio.
 *
 * An interval ticks every 200 ms, the first tick at once.  On tick n main
 * publishes n on a broadcast channel of capacity 2, then runs work(n)
 * under a 50 ms timeout: work sleeps 20 ms for odd n (done) and 80 ms for
 * even n (timed out, and dropped).  main selects between the next tick and
 * shutdown, a deadline 1100 ms after the start that stands for Ctrl+C;
 * shutdown wins, so ticks 1 to 6 come (at 0, 200, ... 1000 ms).
 *
 * One subscriber lags: it takes 700 ms over each message, so messages are
 * overwritten before it reads them.  A receive that finds its next
 * message gone reports how many it lost (WEFT_ELAGGED) and goes on from
 * the oldest one still held.  When main has shut down it frees the
 * sender; the subscriber reads what is left, sees the channel closed and
 * returns what it got.  Every moment at which one thing happens is 30 ms
 * or more from any other, so the output is always:
 *
 *   tick 1: done
 *   tick 2: timed out
 *   tick 3: done
 *   tick 4: timed out
 *   tick 5: done
 *   tick 6: timed out
 *   shutdown after 6 ticks
 *   slow subscriber: got [1, 3, 5, 6], lost 2
 *
 * (It takes 1 at 0 ms; at 700 ms 2 is gone and it takes 3; at 1400 ms 4 is
 * gone and it takes 5; 6 at 2100 ms; closed at 2800 ms.)
 */
#include <inttypes.h>
#include <stdio.h>

#include <weft/await.h>

/* More than the ticks before shutdown: the subscriber keeps them all. */
#define MAX_GOT 16

/* The slow subscriber owns rx; what it got and lost go out through it. */
struct subscriber {
	struct weft_broadcast_rx *rx;
	uint64_t got[MAX_GOT], lost;
	size_t n;
};

static int
slow(void *arg)
{
	struct subscriber *s = arg;
	uint64_t msg, missed;
	int r;

	while ((r = weft_broadcast_recv_await(s->rx, &msg, &missed)) == 0 ||
	       r == WEFT_ELAGGED) {
		if (r == WEFT_ELAGGED)
			s->lost += missed;
		else if (s->n < MAX_GOT)
			s->got[s->n++] = msg;
		if (r == 0 && (r = weft_sleep_ms(700)) < 0)
			break; /* 700 ms over each message received */
	}
	weft_broadcast_rx_free(s->rx);
	return r == WEFT_ECLOSED ? 0 : r; /* closed: the sender is gone */
}

static int
run(void)
{
	struct weft_broadcast_tx *tx;
	struct subscriber s = {0};
	struct weft_join *slow_task;
	struct weft_interval ticks;
	struct weft_interval_tick tick;
	struct weft_sleep shutdown, work;
	struct weft_select_loop sel;
	uint64_t n = 0;
	int r, a, result = 0;

	if ((r = weft_broadcast_new(sizeof(n), 2, &tx, &s.rx)) < 0)
		return r;
	if ((r = weft_spawn_fiber(slow, &s, &slow_task)) < 0) {
		weft_broadcast_rx_free(s.rx);
		weft_broadcast_tx_free(tx);
		return r;
	}
	weft_interval_init(&ticks, 200 * WEFT_MSEC, WEFT_MISSED_TICK_BURST);
	weft_sleep_until_init(&shutdown, weft_now() + 1100 * WEFT_MSEC);
	weft_interval_tick_init(&tick, &ticks);
	weft_select_loop_init(&sel, 0, 2, &shutdown.base, &tick.base);
	while ((r = weft_await(weft_select_loop_next(&sel))) == 0 &&
	       weft_select_loop_won(&sel, &tick) && (r = tick.status) == 0) {
		n++;
		weft_broadcast_send(tx, &n); /* `let _ =`: none may listen */
		/* work(n): 20 ms for odd n, 80 ms for even n. */
		weft_sleep_init(&work, (n % 2 == 1 ? 20 : 80) * WEFT_MSEC);
		if ((r = weft_timeout_await(&work.base, 50 * WEFT_MSEC)) == 0)
			r = work.status; /* done, unless its timer failed */
		if (r < 0 && r != WEFT_ETIMEDOUT)
			break;
		printf("tick %" PRIu64 ": %s\n", n,
		       r == 0 ? "done" : "timed out");
		weft_interval_tick_init(&tick, &ticks);
	}
	weft_select_loop_drop(&sel);
	weft_stream_drop(&ticks.base);
	if (r == 0)
		r = shutdown.status; /* the loop ended because shutdown won */
	if (r == 0)
		printf("shutdown after %" PRIu64 " ticks\n", n);
	weft_broadcast_tx_free(tx);
	a = weft_task_await(slow_task, &result, sizeof(result));
	if (r == 0)
		r = a < 0 ? a : result;
	if (r < 0)
		return r;
	printf("slow subscriber: got [");
	for (size_t i = 0; i < s.n; i++)
		printf("%s%" PRIu64, i ? ", " : "", s.got[i]);
	printf("], lost %" PRIu64 "\n", s.lost);
	return 0;
}

WEFT_FIBER_MAIN(run);
