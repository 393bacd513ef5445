/* SPDX-License-Identifier: MIT */
/*
 * Graceful shutdown: four worker tasks, each selecting between a change on
 * a watch channel and a one-second sleep.  After three seconds main sends
 * `true`; each worker sees it, cleans up for 100 ms and stops, and main
 * waits for all four.
 *
 * WEFT_EXAMPLE_SCALE=n divides the times by n, to keep a test fast.
 */
#include <stdio.h>
#include <stdlib.h>

#include <weft/await.h>

static uint64_t second = WEFT_SEC;

/* What a worker's `async move` captures: its number and its receiver. */
struct worker {
	int i;
	struct weft_watch_rx *rx; /* owned by the task */
};

static int
worker(void *arg)
{
	struct worker *w = arg;
	struct weft_watch_changed changed;
	struct weft_sleep tick;
	bool shutdown = false;
	int r;

	for (;;) {
		weft_watch_changed_init(&changed, w->rx);
		weft_sleep_init(&tick, second);
		r = weft_select_await(0, 2, &changed.base, &tick.base);
		if (r < 0)
			break; /* cancelled: the program is ending */
		if (r == 1) {
			printf("ワーカー %d 処理中...\n", w->i);
			continue;
		}
		/* `_ = rx.changed()` matches a closed channel too. */
		weft_watch_borrow(w->rx, &shutdown);
		if (shutdown) {
			printf("ワーカー %d がシャットダウン中...\n", w->i);
			/* The clean-up work. */
			if ((r = weft_sleep_for(second / 10)) == 0)
				printf("ワーカー %d 停止完了\n", w->i);
			break;
		}
	}
	weft_watch_rx_free(w->rx);
	return r;
}

static int
graceful_shutdown_example(void)
{
	struct weft_watch_tx *shutdown_tx;
	struct weft_watch_rx *shutdown_rx;
	struct worker workers[4];
	struct weft_join *handles[4] = {NULL};
	bool value = false;
	int r;

	if ((r = weft_watch_new(sizeof(bool), &value, &shutdown_tx,
	                        &shutdown_rx)) < 0)
		return r;
	/* The workers borrow workers[i]: each is joined below. */
	for (int i = 0; i < 4 && r == 0; i++) {
		workers[i].i = i;
		r = weft_watch_subscribe(shutdown_tx, &workers[i].rx);
		if (r == 0 && (r = weft_spawn_fiber(worker, &workers[i],
		                                    &handles[i])) < 0)
			weft_watch_rx_free(workers[i].rx);
	}

	/* Shut down after three seconds (at once if a spawn failed). */
	if (r == 0 && weft_sleep_for(3 * second) == 0)
		printf("シャットダウンシグナル送信\n");
	value = true;
	weft_watch_send(shutdown_tx, &value);

	/* Wait for every worker to finish.  `let _ =`: whatever it gave, and
	 * the -EINVAL of a worker never spawned (its handle NULL). */
	for (int i = 0; i < 4; i++)
		weft_task_await(handles[i], NULL, 0);
	if (r == 0)
		printf("全ワーカー停止。プログラム終了。\n");
	weft_watch_tx_free(shutdown_tx);
	weft_watch_rx_free(shutdown_rx);
	return r;
}

int
main(void)
{
	const char *scale = getenv("WEFT_EXAMPLE_SCALE");

	second /= scale && atoi(scale) > 0 ? (uint64_t)atoi(scale) : 1;
	return weft_fiber_main(graceful_shutdown_example);
}
