/* SPDX-License-Identifier: MIT */
/*
 * CancellationToken: a worker selects between its (child) token being
 * cancelled and a one-second sleep; main cancels the parent after three
 * seconds, which cancels the child, and the worker cleans up and returns.
 *
 * WEFT_EXAMPLE_SCALE=n divides the times by n (reported on stderr).
 */
#include <stdio.h>
#include <stdlib.h>

#include <weft/cancel.h>
#include <weft/combinator.h>
#include <weft/weft.h>

struct worker {
	struct weft_future base;
	struct weft_coro co;
	struct weft_cancel_token *token; /* owned */
	uint64_t second;
	struct weft_cancelled cancelled;
	struct weft_sleep sleep;
	struct weft_select select;
};

static weft_poll
worker_poll(struct weft_future *f, struct weft_context *cx)
{
	struct worker *w = (struct worker *)f;

	WEFT_BEGIN(&w->co);
	for (;;) {
		weft_cancelled_init(&w->cancelled, w->token);
		weft_sleep_init(&w->sleep, w->second);
		weft_select_init(&w->select, 0, 2, &w->cancelled.base,
		                 &w->sleep.base);
		WEFT_AWAIT(&w->co, cx, &w->select);
		if (w->select.winner == 0) {
			printf("キャンセルされました。クリーンアップ中...\n");
			break;
		}
		printf("作業中...\n");
	}
	weft_cancel_token_free(w->token);
	w->token = NULL;
	WEFT_END(&w->co);
}

static void
worker_drop(struct weft_future *f)
{
	struct worker *w = (struct worker *)f;

	weft_future_drop(&w->select.base);
	weft_cancel_token_free(w->token);
	w->token = NULL;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(worker_vtable, struct worker, worker_poll,
                             worker_drop);

struct example {
	struct weft_future base;
	struct weft_coro co;
	uint64_t second;
	struct weft_cancel_token *token, *child;
	struct weft_join_future task;
	struct weft_sleep sleep;
	int status;
};

static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;
	struct weft_join *join = NULL;
	struct worker w;

	WEFT_BEGIN(&e->co);
	e->status = weft_cancel_token_new(&e->token);
	if (e->status < 0)
		WEFT_RETURN(&e->co);
	/* A child token: cancelled when its parent is. */
	e->status = weft_cancel_token_child(e->token, &e->child);
	if (e->status < 0)
		WEFT_RETURN(&e->co);
	w = (struct worker){.base.vtable = &worker_vtable,
	                    .token = weft_cancel_token_clone(e->child),
	                    .second = e->second};
	e->status = weft_executor_spawn(cx->executor, &w.base, &join);
	if (e->status < 0)
		WEFT_RETURN(&e->co);
	weft_join_future_init(&e->task, join, NULL, 0);

	/* Cancel after three seconds. */
	weft_sleep_init(&e->sleep, 3 * e->second);
	WEFT_AWAIT(&e->co, cx, &e->sleep);
	weft_cancel_token_cancel(e->token);
	WEFT_AWAIT(&e->co, cx, &e->task);
	printf("タスクが正常にキャンセルされました\n");
	weft_cancel_token_free(e->child);
	weft_cancel_token_free(e->token);
	e->child = e->token = NULL;
	WEFT_END(&e->co);
}

static void
example_drop(struct weft_future *f)
{
	struct example *e = (struct example *)f;

	weft_future_drop(&e->task.base);
	weft_future_drop(&e->sleep.base);
	weft_cancel_token_free(e->child);
	weft_cancel_token_free(e->token);
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
