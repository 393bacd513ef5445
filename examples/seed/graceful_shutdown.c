/* SPDX-License-Identifier: MIT */
/*
 * Graceful shutdown: four workers, each selecting between a change on a
 * watch channel and a one-second sleep.  After three seconds main sends
 * `true`; each worker sees it, cleans up for 100 ms and stops, and main
 * waits for all four.
 *
 * WEFT_EXAMPLE_SCALE=n divides the times by n (reported on stderr).
 */
#include <stdio.h>
#include <stdlib.h>

#include <weft/channel.h>
#include <weft/combinator.h>
#include <weft/weft.h>

#define WORKERS 4

struct worker {
	struct weft_future base;
	struct weft_coro co;
	int id;
	uint64_t second;
	struct weft_watch_rx *rx; /* owned */
	bool shutdown;
	struct weft_watch_changed changed;
	struct weft_sleep sleep;
	struct weft_select select;
};

static weft_poll
worker_poll(struct weft_future *f, struct weft_context *cx)
{
	struct worker *w = (struct worker *)f;

	WEFT_BEGIN(&w->co);
	for (;;) {
		weft_watch_changed_init(&w->changed, w->rx);
		weft_sleep_init(&w->sleep, w->second);
		weft_select_init(&w->select, 0, 2, &w->changed.base,
		                 &w->sleep.base);
		WEFT_AWAIT(&w->co, cx, &w->select);
		if (w->select.winner != 0) {
			printf("ワーカー %d 処理中...\n", w->id);
			continue;
		}
		/* `_ = rx.changed()` matches a closed channel too. */
		weft_watch_borrow(w->rx, &w->shutdown);
		if (w->shutdown) {
			printf("ワーカー %d がシャットダウン中...\n", w->id);
			/* The clean-up work. */
			weft_sleep_init(&w->sleep, w->second / 10);
			WEFT_AWAIT(&w->co, cx, &w->sleep);
			printf("ワーカー %d 停止完了\n", w->id);
			break;
		}
	}
	weft_watch_rx_free(w->rx);
	w->rx = NULL;
	WEFT_END(&w->co);
}

static void
worker_drop(struct weft_future *f)
{
	struct worker *w = (struct worker *)f;

	/* The changed future borrows rx: it goes first. */
	weft_future_drop(&w->select.base);
	weft_future_drop(&w->sleep.base);
	if (w->rx)
		weft_watch_rx_free(w->rx);
	w->rx = NULL;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(worker_vtable, struct worker, worker_poll,
                             worker_drop);

struct example {
	struct weft_future base;
	struct weft_coro co;
	uint64_t second;
	struct weft_watch_tx *shutdown_tx;
	struct weft_watch_rx *shutdown_rx;
	struct weft_join_future handles[WORKERS];
	int i;
	struct weft_sleep sleep;
	int status;
};

static void
example_release(struct example *e)
{
	int i;

	for (i = 0; i < WORKERS; i++)
		weft_future_drop(&e->handles[i].base);
	weft_future_drop(&e->sleep.base);
	if (e->shutdown_tx)
		weft_watch_tx_free(e->shutdown_tx);
	if (e->shutdown_rx)
		weft_watch_rx_free(e->shutdown_rx);
	e->shutdown_tx = NULL;
	e->shutdown_rx = NULL;
}

/* Spawns worker i, listening on a receiver of its own. */
static int
spawn_worker(struct example *e, struct weft_context *cx, int i)
{
	struct weft_join *join;
	struct worker w = {
	    .base.vtable = &worker_vtable, .id = i, .second = e->second};
	int status;

	status = weft_watch_subscribe(e->shutdown_tx, &w.rx);
	if (status < 0)
		return status;
	status = weft_executor_spawn(cx->executor, &w.base, &join);
	if (status < 0)
		return status;
	weft_join_future_init(&e->handles[i], join, NULL, 0);
	return 0;
}

static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;
	bool value = false;

	WEFT_BEGIN(&e->co);
	e->status = weft_watch_new(sizeof(bool), &value, &e->shutdown_tx,
	                           &e->shutdown_rx);
	if (e->status < 0)
		WEFT_RETURN(&e->co);
	for (e->i = 0; e->i < WORKERS; e->i++) {
		e->status = spawn_worker(e, cx, e->i);
		if (e->status < 0) {
			example_release(e);
			WEFT_RETURN(&e->co);
		}
	}

	/* Shut down after three seconds. */
	weft_sleep_init(&e->sleep, 3 * e->second);
	WEFT_AWAIT(&e->co, cx, &e->sleep);
	printf("シャットダウンシグナル送信\n");
	value = true;
	weft_watch_send(e->shutdown_tx, &value);

	/* Wait for every worker to finish. */
	for (e->i = 0; e->i < WORKERS; e->i++)
		WEFT_AWAIT(&e->co, cx, &e->handles[e->i]);
	printf("全ワーカー停止。プログラム終了。\n");
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
