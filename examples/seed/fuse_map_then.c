/* SPDX-License-Identifier: MIT */
/*
 * FutureExt: the fuse loop — select over two fused sleeps until both have
 * finished, each branch guarded by its `done` flag — then map (42 → 84)
 * and then (10 → a future that sleeps 10 ms and gives 15).
 */
#include <stdio.h>

#include <weft/combinator.h>
#include <weft/weft.h>

/* async move { sleep(10 ms).await; x + 5 } */
struct plus5 {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	int64_t x;
	int64_t out;
};

static weft_poll
plus5_poll(struct weft_future *f, struct weft_context *cx)
{
	struct plus5 *p = (struct plus5 *)f;

	WEFT_BEGIN(&p->co);
	weft_sleep_init(&p->sleep, 10 * WEFT_MSEC);
	WEFT_AWAIT(&p->co, cx, &p->sleep);
	p->out = p->x + 5;
	WEFT_END(&p->co);
}

static void
plus5_drop(struct weft_future *f)
{
	weft_future_drop(&((struct plus5 *)f)->sleep.base);
}

WEFT_FUTURE_VTABLE(plus5_vtable, struct plus5, out, plus5_poll, plus5_drop);

struct example {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep_a, sleep_b;
	struct weft_fuse future_a, future_b;
	bool a_done, b_done;
	struct weft_select select;
	struct weft_ready value;
	struct weft_map map;
	struct plus5 plus5;
	struct weft_then then;
};

/* |x| x * 2 */
static void
times2(struct weft_future *inner, struct weft_result *out, void *arg)
{
	(void)arg;
	out->value.i = ((struct weft_ready *)inner)->out.value.i * 2;
}

/* |x| async move { sleep(10 ms).await; x + 5 } */
static struct weft_future *
then_plus5(struct weft_future *first, struct weft_result *out, void *arg)
{
	struct plus5 *p = arg;

	(void)out;
	*p = (struct plus5){.base.vtable = &plus5_vtable,
	                    .x = ((struct weft_ready *)first)->out.value.i};
	return &p->base;
}

static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;

	WEFT_BEGIN(&e->co);
	weft_sleep_init(&e->sleep_a, 100 * WEFT_MSEC);
	weft_sleep_init(&e->sleep_b, 200 * WEFT_MSEC);
	weft_fuse_init(&e->future_a, &e->sleep_a.base);
	weft_fuse_init(&e->future_b, &e->sleep_b.base);

	/* Until both are done; a NULL branch is one whose guard is false.
	 * The futures are borrowed, so the loser lives on to the next
	 * round, as `&mut future_a` in the chapter. */
	while (!e->a_done || !e->b_done) {
		weft_select_init(&e->select, WEFT_SELECT_BORROW, 2,
		                 e->a_done ? NULL : &e->future_a.base,
		                 e->b_done ? NULL : &e->future_b.base);
		WEFT_AWAIT(&e->co, cx, &e->select);
		if (e->select.winner == 0) {
			printf("A 完了\n");
			e->a_done = true;
		} else if (e->select.winner == 1) {
			printf("B 完了\n");
			e->b_done = true;
		}
	}

	/* map(): transforms the output of a future. */
	weft_ready_init(&e->value, 0, (union weft_value){.i = 42});
	weft_map_init(&e->map, &e->value.base, times2, NULL);
	WEFT_AWAIT(&e->co, cx, &e->map);
	printf("結果: %lld\n", (long long)e->map.out.value.i);

	/* then(): makes the next future from the output of the first. */
	weft_ready_init(&e->value, 0, (union weft_value){.i = 10});
	weft_then_init(&e->then, &e->value.base, then_plus5, &e->plus5);
	WEFT_AWAIT(&e->co, cx, &e->then);
	printf("結果: %lld\n", (long long)e->plus5.out);
	WEFT_END(&e->co);
}

static void
example_drop(struct weft_future *f)
{
	struct example *e = (struct example *)f;

	weft_future_drop(&e->select.base);
	weft_future_drop(&e->future_a.base);
	weft_future_drop(&e->future_b.base);
	weft_future_drop(&e->map.base);
	weft_future_drop(&e->then.base);
}

WEFT_FUTURE_VTABLE_NO_OUTPUT(example_vtable, struct example, example_poll,
                             example_drop);

int
main(void)
{
	struct example ex = {.base.vtable = &example_vtable};
	int status = weft_run(&ex.base);

	weft_future_drop(&ex.base);
	return status;
}
