/* SPDX-License-Identifier: MIT */
/*
 * FutureExt: the fuse loop — select over two fused sleeps until both have
 * finished, each branch guarded by its `done` flag — then map (42 → 84)
 * and then (10 → a future that sleeps 10 ms and gives 15, here a fiber).
 */
#include <stdio.h>

#include <weft/await.h>

/* async move { sleep(10 ms).await; x + 5 }: a fiber, in *then_plus5's arg. */
struct plus5 {
	struct weft_fiber fiber;
	int64_t x;
};

static int
plus5(void *arg)
{
	int r = weft_sleep_ms(10);

	((struct plus5 *)arg)->x += 5;
	return r;
}

/* |x| x * 2 */
static void
times2(struct weft_future *inner, struct weft_result *out, void *arg)
{
	(void)arg;
	out->value.i = ((struct weft_ready *)inner)->out.value.i * 2;
}

/* |x| async move { ... }: made from the first future's output. */
static struct weft_future *
then_plus5(struct weft_future *first, struct weft_result *out, void *arg)
{
	(void)out;
	((struct plus5 *)arg)->x = ((struct weft_ready *)first)->out.value.i;
	/* The fiber heads struct plus5: arg is both. */
	weft_fiber_init(arg, plus5, arg, NULL);
	return arg;
}

static int
run(void)
{
	struct weft_sleep sleep_a, sleep_b;
	struct weft_fuse future_a, future_b;
	bool a_done = false, b_done = false;
	struct weft_ready value;
	struct weft_map map;
	struct weft_then then;
	struct plus5 p;
	int w = 0;

	weft_sleep_init(&sleep_a, 100 * WEFT_MSEC);
	weft_sleep_init(&sleep_b, 200 * WEFT_MSEC);
	weft_fuse_init(&future_a, &sleep_a.base);
	weft_fuse_init(&future_b, &sleep_b.base);
	/* Until both are done; a NULL branch is one whose guard is false.
	 * Borrowed, as `&mut future_a`: the loser lives on. */
	while (w >= 0 && (!a_done || !b_done)) {
		w = weft_select_await(WEFT_SELECT_BORROW, 2,
		                      a_done ? NULL : &future_a.base,
		                      b_done ? NULL : &future_b.base);
		if (w == 0 || w == 1)
			printf("%s 完了\n", w == 0 ? "A" : "B");
		a_done |= w == 0;
		b_done |= w == 1;
	}
	weft_future_drop(&future_a.base);
	weft_future_drop(&future_b.base);

	/* map(): transforms the output of a future. */
	weft_ready_init(&value, 0, (union weft_value){.i = 42});
	weft_map_init(&map, &value.base, times2, NULL);
	weft_await(&map.base);
	printf("結果: %lld\n", (long long)map.out.value.i);

	/* then(): makes the next future from the output of the first. */
	weft_ready_init(&value, 0, (union weft_value){.i = 10});
	weft_then_init(&then, &value.base, then_plus5, &p);
	weft_await(&then.base);
	printf("結果: %lld\n", (long long)p.x);
	return w < 0 ? w : then.out.status;
}

WEFT_FIBER_MAIN(run);
