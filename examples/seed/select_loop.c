/* SPDX-License-Identifier: MIT */
/*
 * select! in a loop: a task sends ten messages over an mpsc channel, one
 * every 500 ms; the main loop selects, biased, between Ctrl+C (first), the
 * next message and a heartbeat every 5 s, with an else branch for when
 * every branch is disabled.  It runs until Ctrl+C: the heartbeat never
 * ends, so the else branch is there for form, as in the chapter.
 *
 * WEFT_EXAMPLE_SCALE=n divides the times by n (reported on stderr).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <weft/channel.h>
#include <weft/combinator.h>
#include <weft/io.h>
#include <weft/time.h>
#include <weft/weft.h>

/* A String of the chapter: messages are copied whole through the channel. */
struct message {
	char text[32];
};

/* The sending task: owns its sender, which it frees when done. */
struct sender {
	struct weft_future base;
	struct weft_coro co;
	struct weft_mpsc_tx *tx;
	uint64_t pause;
	int i;
	struct message msg;
	struct weft_sleep sleep;
	struct weft_mpsc_send send;
};

static weft_poll
sender_poll(struct weft_future *f, struct weft_context *cx)
{
	struct sender *s = (struct sender *)f;

	WEFT_BEGIN(&s->co);
	for (s->i = 0; s->i < 10; s->i++) {
		weft_sleep_init(&s->sleep, s->pause);
		WEFT_AWAIT(&s->co, cx, &s->sleep);
		snprintf(s->msg.text, sizeof(s->msg.text), "メッセージ #%d",
		         s->i);
		/* `let _ =`: a closed channel is not this task's concern. */
		weft_mpsc_send_init(&s->send, s->tx, &s->msg);
		WEFT_AWAIT(&s->co, cx, &s->send);
	}
	/* Dropping the last sender is what ends the receiver's stream. */
	weft_mpsc_tx_free(s->tx);
	s->tx = NULL;
	WEFT_END(&s->co);
}

static void
sender_drop(struct weft_future *f)
{
	struct sender *s = (struct sender *)f;

	/* A pending send borrows tx: it goes first. */
	weft_future_drop(&s->send.base);
	weft_future_drop(&s->sleep.base);
	if (s->tx)
		weft_mpsc_tx_free(s->tx);
	s->tx = NULL;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(sender_vtable, struct sender, sender_poll,
                             sender_drop);

struct example {
	struct weft_future base;
	struct weft_coro co;
	uint64_t second;
	struct weft_mpsc_rx *rx;
	struct weft_interval heartbeat;
	struct weft_signal shutdown;
	bool rx_closed;
	struct message msg;
	struct weft_mpsc_recv recv;
	struct weft_interval_tick tick;
	struct weft_select select;
	int status;
};

static void
example_release(struct example *e)
{
	weft_future_drop(&e->select.base);
	weft_future_drop(&e->recv.base);
	weft_future_drop(&e->tick.base);
	/* SIGINT stays caught after this, until weft_signal_release. */
	weft_future_drop(&e->shutdown.base);
	weft_stream_drop(&e->heartbeat.base);
	if (e->rx)
		weft_mpsc_rx_free(e->rx);
	e->rx = NULL;
}

static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;
	struct weft_mpsc_tx *tx;
	struct sender s;

	WEFT_BEGIN(&e->co);
	e->status = weft_mpsc_new(sizeof(struct message), 32, &tx, &e->rx);
	if (e->status < 0)
		WEFT_RETURN(&e->co);
	/*
	 * tokio's interval starts when it is made, not when first polled:
	 * the heartbeats keep to the schedule main set up before spawning.
	 */
	weft_interval_at_init(&e->heartbeat, weft_driver_now(cx->driver),
	                      5 * e->second, WEFT_MISSED_TICK_BURST);
	/*
	 * ctrl_c(), pinned: made once, so a signal arriving while the loop
	 * is busy with a message is kept for the next round.
	 */
	weft_signal_init(&e->shutdown, WEFT_SIGNAL_BIT(SIGINT));

	s = (struct sender){
	    .base.vtable = &sender_vtable, .tx = tx, .pause = e->second / 2};
	e->status = weft_executor_spawn(cx->executor, &s.base, NULL);
	if (e->status < 0) {
		example_release(e);
		WEFT_RETURN(&e->co);
	}

	for (;;) {
		weft_mpsc_recv_init(&e->recv, e->rx, &e->msg);
		weft_interval_tick_init(&e->tick, &e->heartbeat);
		/*
		 * Borrowed branches: select must not drop the pinned
		 * shutdown future, which lives across rounds; the other two
		 * are made afresh each round and dropped below, which loses
		 * neither a message nor a tick.
		 */
		weft_select_init(
		    &e->select, WEFT_SELECT_BIASED | WEFT_SELECT_BORROW, 3,
		    &e->shutdown.base, e->rx_closed ? NULL : &e->recv.base,
		    &e->tick.base);
		WEFT_AWAIT(&e->co, cx, &e->select);
		weft_future_drop(&e->recv.base);
		weft_future_drop(&e->tick.base);
		if (e->select.winner == 0) {
			/* An error (no listener could be made), not Ctrl+C. */
			if (e->shutdown.status < 0) {
				e->status = e->shutdown.status;
				break;
			}
			printf("Ctrl+C 受信。シャットダウン...\n");
			break;
		} else if (e->select.winner == 1) {
			/*
			 * `Some(msg) = rx.recv()`: the end of the channel does
			 * not match, which disables the branch.
			 */
			if (e->recv.status == 0)
				printf("受信: %s\n", e->msg.text);
			else
				e->rx_closed = true;
		} else if (e->select.winner == 2) {
			printf("ハートビート送信\n");
		} else {
			printf("全チャネル閉鎖。終了。\n");
			break;
		}
	}
	example_release(e);
	WEFT_END(&e->co);
}

static void
example_drop(struct weft_future *f)
{
	example_release((struct example *)f);
}

WEFT_FUTURE_VTABLE(example_vtable, struct example, status, example_poll,
                   example_drop);

int
main(void)
{
	const char *env = getenv("WEFT_EXAMPLE_SCALE");
	uint64_t scale = env && atoi(env) > 0 ? (uint64_t)atoi(env) : 1;
	struct example ex = {.base.vtable = &example_vtable,
	                     .second = WEFT_SEC / scale};
	int status;

	if (scale != 1)
		fprintf(stderr, "(times divided by %llu)\n",
		        (unsigned long long)scale);
	status = weft_run(&ex.base);
	weft_future_drop(&ex.base);
	return status ? status : ex.status < 0;
}
