/* SPDX-License-Identifier: MIT */
/*
 * select! in a loop: a task sends ten messages over an mpsc channel, one
 * every 500 ms; the main loop selects, biased, between Ctrl+C (first), the
 * next message and a heartbeat every 5 s, with an else branch for when
 * every branch is disabled.  It runs until Ctrl+C: the heartbeat never
 * ends, so the else branch is there for form, as in the chapter.
 *
 * The branches stay in place across rounds (weft_select_loop): a round
 * drops only its winner, which is made again if the loop still wants it,
 * so neither a message, a tick nor a Ctrl+C is lost between rounds.
 *
 * WEFT_EXAMPLE_SCALE=n divides the times by n, to keep a test fast.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft/await.h>

static uint64_t second = WEFT_SEC;

/* The sending task: arg is the sender, owned; freeing it is what closes
 * the channel. */
static int
sender(void *tx)
{
	char msg[32];

	/* Dropped at the end of the program, every await fails at once. */
	for (int i = 0; i < 10; i++) {
		weft_sleep_for(second / 2);
		snprintf(msg, sizeof(msg), "メッセージ #%d", i);
		weft_mpsc_send_await(tx, msg); /* `let _ =`: ignored */
	}
	weft_mpsc_tx_free(tx);
	return 0;
}

static int
run(void)
{
	struct weft_mpsc_tx *tx;
	struct weft_mpsc_rx *rx;
	struct weft_interval heartbeat;
	struct weft_signal shutdown;
	struct weft_mpsc_recv recv;
	struct weft_interval_tick tick;
	struct weft_select_loop sel;
	char msg[32];
	int r;

	if ((r = weft_mpsc_new(sizeof(msg), 32, &tx, &rx)) < 0)
		return r;
	/* First tick at the first poll, with no await before it: now, as
	 * tokio's interval.  ctrl_c() listens from here on. */
	weft_interval_init(&heartbeat, 5 * second, WEFT_MISSED_TICK_BURST);
	weft_signal_init(&shutdown, WEFT_SIGNAL_BIT(SIGINT));
	if ((r = weft_spawn_fiber(sender, tx, NULL)) < 0)
		weft_mpsc_tx_free(tx);
	weft_mpsc_recv_init(&recv, rx, msg);
	weft_interval_tick_init(&tick, &heartbeat);
	weft_select_loop_init(&sel, WEFT_SELECT_BIASED, 3, &shutdown.base,
	                      &recv.base, &tick.base);
	while (r == 0 && (r = weft_await(weft_select_loop_next(&sel))) == 0) {
		if (weft_select_loop_won(&sel, &shutdown)) {
			/* A signal number, or the error of the listener. */
			if ((r = shutdown.status) > 0)
				printf("Ctrl+C 受信。シャットダウン...\n");
			break;
		} else if (weft_select_loop_won(&sel, &recv) &&
		           recv.status == 0) {
			/* `Some(msg)`; the channel's end leaves recv disarmed.
			 */
			printf("受信: %s\n", msg);
			weft_mpsc_recv_init(&recv, rx, msg);
		} else if (weft_select_loop_won(&sel, &tick)) {
			printf("ハートビート送信\n");
			weft_interval_tick_init(&tick, &heartbeat);
		} else if (!sel.winner) {
			printf("全チャネル閉鎖。終了。\n");
			break;
		}
	}
	weft_select_loop_drop(&sel);
	weft_stream_drop(&heartbeat.base);
	weft_mpsc_rx_free(rx);
	return r < 0 ? r : 0;
}

int
main(void)
{
	const char *scale = getenv("WEFT_EXAMPLE_SCALE");

	second /= scale && atoi(scale) > 0 ? (uint64_t)atoi(scale) : 1;
	return weft_fiber_main(run);
}
