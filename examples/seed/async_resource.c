/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous clean-up from a synchronous drop: making a resource spawns
 * a task that waits on a oneshot; dropping the resource cannot await, so
 * it sends on the oneshot and the task does the clean-up in the
 * background.
 *
 * The chapter shows the resource alone; main here makes one, uses it,
 * drops it, and gives the background task time to finish before the
 * runtime shuts down (which would cancel it).
 */
#include <stdio.h>
#include <stdlib.h>

#include <weft/await.h>

struct async_resource {
	char name[32];
	/* Signal for the asynchronous clean-up; NULL once sent (take()). */
	struct weft_oneshot_tx *cleanup_tx;
};

/* What the background task's `async move` captures; the task owns it. */
struct cleanup {
	char resource_name[32];
	struct weft_oneshot_rx *rx;
};

static int
cleanup(void *arg)
{
	struct cleanup *c = arg;
	char unit;
	int r = weft_oneshot_recv_await(c->rx, &unit);

	/* `let _ = rx.await`: a sender freed unsent also means "go"; only
	 * the task's own cancellation, at shutdown, does not. */
	if (r == 0 || r == WEFT_ECLOSED)
		printf("リソース '%s' の非同期クリーンアップ完了\n",
		       c->resource_name);
	weft_oneshot_rx_free(c->rx);
	free(c);
	return 0;
}

/* AsyncResource::new: 0, or an error (nothing to drop then). */
static int
async_resource_new(struct async_resource *res, const char *name)
{
	struct cleanup *c = malloc(sizeof(*c));
	int r = c ? 0 : -ENOMEM;

	printf("リソース '%s' を作成\n", name);
	if (r == 0)
		r = weft_oneshot_new(1, &res->cleanup_tx, &c->rx);
	if (r < 0) {
		free(c);
		return r;
	}
	snprintf(c->resource_name, sizeof(c->resource_name), "%s", name);
	if ((r = weft_spawn_fiber(cleanup, c, NULL)) < 0) {
		weft_oneshot_tx_free(res->cleanup_tx);
		weft_oneshot_rx_free(c->rx);
		free(c);
		return r;
	}
	snprintf(res->name, sizeof(res->name), "%s", name);
	return 0;
}

static int
use_resource(const struct async_resource *res)
{
	printf("リソース '%s' を使用中\n", res->name);
	return weft_sleep_ms(100);
}

/* Drop for AsyncResource: synchronous, so it hands the work over. */
static void
async_resource_drop(struct async_resource *res)
{
	/* `let _ =`: the task may be gone already.  (): the byte of "". */
	if (res->cleanup_tx)
		weft_oneshot_send(res->cleanup_tx, "");
	res->cleanup_tx = NULL;
	printf("リソース '%s' をドロップ (同期部分)\n", res->name);
}

static int
run(void)
{
	struct async_resource resource;
	int r = async_resource_new(&resource, "db");

	if (r < 0)
		return r;
	r = use_resource(&resource);
	async_resource_drop(&resource); /* the end of its scope */
	if (r == 0)
		r = weft_sleep_ms(100); /* the clean-up's turn */
	return r;
}

WEFT_FIBER_MAIN(run);
