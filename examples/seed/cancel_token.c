/* SPDX-License-Identifier: MIT */
/*
 * CancellationToken: a worker task selects between its (child) token being
 * cancelled and a one-second sleep; main cancels the parent after three
 * seconds, which cancels the child, and the worker cleans up and returns.
 *
 * WEFT_EXAMPLE_SCALE=n divides the times by n, to keep a test fast.
 */
#include <stdio.h>
#include <stdlib.h>

#include <weft/await.h>

static uint64_t second = WEFT_SEC;

static int
task(void *arg)
{
	struct weft_cancel_token *token = arg; /* owned by the task */
	struct weft_cancelled cancelled;
	struct weft_sleep sleep;
	int r;

	for (;;) {
		weft_cancelled_init(&cancelled, token);
		weft_sleep_init(&sleep, second);
		r = weft_select_await(0, 2, &cancelled.base, &sleep.base);
		if (r != 1)
			break;
		printf("作業中...\n");
	}
	if (r == 0)
		printf("キャンセルされました。クリーンアップ中...\n");
	weft_cancel_token_free(token); /* the resources' release */
	return r;
}

static int
cancellation_token_example(void)
{
	struct weft_cancel_token *token, *child_token = NULL, *clone;
	struct weft_join *join;
	int r;

	if ((r = weft_cancel_token_new(&token)) < 0)
		return r;
	/* A child token: cancelled when its parent is. */
	if ((r = weft_cancel_token_child(token, &child_token)) < 0)
		goto out;
	clone = weft_cancel_token_clone(child_token);
	if ((r = weft_spawn_fiber(task, clone, &join)) < 0) {
		weft_cancel_token_free(clone);
		goto out;
	}

	/* Cancel after three seconds. */
	weft_sleep_for(3 * second);
	weft_cancel_token_cancel(token);
	weft_task_await(join, NULL, 0);
	printf("タスクが正常にキャンセルされました\n");
out:
	weft_cancel_token_free(child_token);
	weft_cancel_token_free(token);
	return r;
}

int
main(void)
{
	const char *scale = getenv("WEFT_EXAMPLE_SCALE");

	second /= scale && atoi(scale) > 0 ? (uint64_t)atoi(scale) : 1;
	return weft_fiber_main(cancellation_token_example);
}
