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

#include <weft/channel.h>
#include <weft/weft.h>

struct async_resource {
	char name[32];
	/* Signal for the asynchronous clean-up; NULL once sent. */
	struct weft_oneshot_tx *cleanup_tx;
};

/* The background task: waits for the signal, then cleans up. */
struct cleanup {
	struct weft_future base;
	struct weft_coro co;
	char name[32];
	struct weft_oneshot_rx *rx; /* owned */
	char unit;
	struct weft_oneshot_recv recv;
};

static weft_poll
cleanup_poll(struct weft_future *f, struct weft_context *cx)
{
	struct cleanup *c = (struct cleanup *)f;

	WEFT_BEGIN(&c->co);
	/* `let _ = rx.await`: a sender dropped unsent also means "go". */
	weft_oneshot_recv_init(&c->recv, c->rx, &c->unit);
	WEFT_AWAIT(&c->co, cx, &c->recv);
	/* The asynchronous clean-up work. */
	printf("リソース '%s' の非同期クリーンアップ完了\n", c->name);
	weft_oneshot_rx_free(c->rx);
	c->rx = NULL;
	WEFT_END(&c->co);
}

static void
cleanup_drop(struct weft_future *f)
{
	struct cleanup *c = (struct cleanup *)f;

	weft_future_drop(&c->recv.base);
	if (c->rx)
		weft_oneshot_rx_free(c->rx);
	c->rx = NULL;
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(cleanup_vtable, struct cleanup, cleanup_poll,
                             cleanup_drop);

/* AsyncResource::new: 0 or a negative error (nothing to drop then). */
static int
async_resource_new(struct async_resource *r, const char *name,
                   struct weft_executor *ex)
{
	struct cleanup c = {.base.vtable = &cleanup_vtable};
	int status;

	printf("リソース '%s' を作成\n", name);
	*r = (struct async_resource){0};
	snprintf(r->name, sizeof(r->name), "%s", name);
	status = weft_oneshot_new(sizeof(c.unit), &r->cleanup_tx, &c.rx);
	if (status < 0)
		return status;
	snprintf(c.name, sizeof(c.name), "%s", name);
	/* Detached: nobody awaits the clean-up task. */
	status = weft_executor_spawn(ex, &c.base, NULL);
	if (status < 0) {
		weft_oneshot_tx_free(r->cleanup_tx);
		r->cleanup_tx = NULL;
	}
	return status;
}

/* Drop for AsyncResource: synchronous, so it hands the work over. */
static void
async_resource_drop(struct async_resource *r)
{
	char unit = 0;

	if (r->cleanup_tx) {
		/* `let _ =`: the task may be gone already, at shutdown. */
		weft_oneshot_send(r->cleanup_tx, &unit);
		r->cleanup_tx = NULL;
	}
	printf("リソース '%s' をドロップ (同期部分)\n", r->name);
}

/* async fn use_resource(&self) */
struct use_resource {
	struct weft_future base;
	struct weft_coro co;
	const struct async_resource *r;
	struct weft_sleep sleep;
};

static weft_poll
use_resource_poll(struct weft_future *f, struct weft_context *cx)
{
	struct use_resource *u = (struct use_resource *)f;

	WEFT_BEGIN(&u->co);
	printf("リソース '%s' を使用中\n", u->r->name);
	weft_sleep_init(&u->sleep, 100 * WEFT_MSEC);
	WEFT_AWAIT(&u->co, cx, &u->sleep);
	WEFT_END(&u->co);
}

static void
use_resource_drop(struct weft_future *f)
{
	weft_future_drop(&((struct use_resource *)f)->sleep.base);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(use_resource_vtable, struct use_resource,
                             use_resource_poll, use_resource_drop);

static void
use_resource_init(struct use_resource *u, const struct async_resource *r)
{
	*u = (struct use_resource){.base.vtable = &use_resource_vtable, .r = r};
}

struct example {
	struct weft_future base;
	struct weft_coro co;
	struct async_resource resource;
	bool live; /* resource made and not yet dropped */
	struct use_resource use;
	struct weft_sleep sleep;
	int status;
};

static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;

	WEFT_BEGIN(&e->co);
	e->status = async_resource_new(&e->resource, "db", cx->executor);
	if (e->status < 0)
		WEFT_RETURN(&e->co);
	e->live = true;
	use_resource_init(&e->use, &e->resource);
	WEFT_AWAIT(&e->co, cx, &e->use);
	/* End of the resource's scope. */
	e->live = false;
	async_resource_drop(&e->resource);
	/* The clean-up task needs one turn; this is ample. */
	weft_sleep_init(&e->sleep, 100 * WEFT_MSEC);
	WEFT_AWAIT(&e->co, cx, &e->sleep);
	WEFT_END(&e->co);
}

static void
example_drop(struct weft_future *f)
{
	struct example *e = (struct example *)f;

	weft_future_drop(&e->use.base);
	weft_future_drop(&e->sleep.base);
	/* Unwinding an unfinished scope drops the resource too. */
	if (e->live)
		async_resource_drop(&e->resource);
	e->live = false;
}

WEFT_FUTURE_VTABLE(example_vtable, struct example, status, example_poll,
                   example_drop);

int
main(void)
{
	struct example ex = {.base.vtable = &example_vtable};
	int status = weft_run(&ex.base);

	weft_future_drop(&ex.base);
	return status ? status : ex.status < 0;
}
