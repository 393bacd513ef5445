/* SPDX-License-Identifier: MIT */
/*
 * join_all and try_join_all over fetch_item(id), which sleeps id * 10 ms
 * and fails for item 5.  join_all waits for all ten and reports each
 * result, the failure included (on stderr, as the chapter's eprintln!);
 * try_join_all over items 1..=3 succeeds; over 1..=10 it stops at item 5's
 * error and cancels the others.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <weft/combinator.h>
#include <weft/weft.h>

#define ITEMS 10

/* Result<String>: status first (the combinators' convention). */
struct item_out {
	int status;
	char text[64];
};

struct fetch_item {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	unsigned id;
	struct item_out out;
};

static weft_poll
fetch_poll(struct weft_future *f, struct weft_context *cx)
{
	struct fetch_item *it = (struct fetch_item *)f;

	WEFT_BEGIN(&it->co);
	weft_sleep_init(&it->sleep, it->id * 10 * WEFT_MSEC);
	WEFT_AWAIT(&it->co, cx, &it->sleep);
	if (it->id == 5) {
		it->out.status = -EIO;
		snprintf(it->out.text, sizeof(it->out.text),
		         "アイテム5の取得に失敗");
		WEFT_RETURN(&it->co);
	}
	snprintf(it->out.text, sizeof(it->out.text), "Item#%u", it->id);
	WEFT_END(&it->co);
}

static void
fetch_drop(struct weft_future *f)
{
	weft_future_drop(&((struct fetch_item *)f)->sleep.base);
}

WEFT_FUTURE_VTABLE(fetch_vtable, struct fetch_item, out, fetch_poll,
                   fetch_drop);

struct example {
	struct weft_future base;
	struct weft_coro co;
	struct fetch_item items[ITEMS];
	struct weft_future *ptrs[ITEMS];
	struct weft_join_all all;
	size_t n; /* lives across awaits, so it is here and not on the stack */
};

/* (first..=last).map(fetch_item).collect(): n futures and their pointers. */
static size_t
make_items(struct example *e, unsigned first, unsigned last)
{
	size_t n = 0;
	unsigned id;

	for (id = first; id <= last; id++, n++) {
		e->items[n] =
		    (struct fetch_item){.base.vtable = &fetch_vtable, .id = id};
		e->ptrs[n] = &e->items[n].base;
	}
	return n;
}

static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;
	size_t i;

	WEFT_BEGIN(&e->co);
	/* join_all: every result, errors included. */
	e->n = make_items(e, 1, 10);
	weft_join_all_init(&e->all, e->ptrs, e->n);
	WEFT_AWAIT(&e->co, cx, &e->all);
	for (i = 0; i < ITEMS; i++) {
		if (e->items[i].out.status == 0)
			printf("[%zu] %s\n", i, e->items[i].out.text);
		else
			fprintf(stderr, "[%zu] エラー: %s\n", i,
			        e->items[i].out.text);
	}

	/* try_join_all: all succeed, so all results. */
	e->n = make_items(e, 1, 3);
	weft_try_join_all_init(&e->all, e->ptrs, e->n, weft_status_output,
	                       NULL);
	WEFT_AWAIT(&e->co, cx, &e->all);
	if (e->all.status == 0) {
		printf("全成功: [");
		for (i = 0; i < e->n; i++)
			printf("%s\"%s\"", i ? ", " : "", e->items[i].out.text);
		printf("]\n");
	}

	/* try_join_all over all ten: item 5's error wins, the rest (the
	 * slower items 6..10) are cancelled. */
	e->n = make_items(e, 1, 10);
	weft_try_join_all_init(&e->all, e->ptrs, e->n, weft_status_output,
	                       NULL);
	WEFT_AWAIT(&e->co, cx, &e->all);
	if (e->all.status < 0)
		printf("try_join_all(1..=10): エラー: %s\n",
		       e->items[e->all.failed].out.text);
	WEFT_END(&e->co);
}

static void
example_drop(struct weft_future *f)
{
	weft_future_drop(&((struct example *)f)->all.base);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(example_vtable, struct example, example_poll,
                             example_drop);

int
main(void)
{
	static struct example ex = {.base.vtable = &example_vtable};
	int status = weft_run(&ex.base);

	weft_future_drop(&ex.base);
	return status;
}
