/* SPDX-License-Identifier: MIT */
/*
 * join! and select! over the chapter's task_a (100 ms), task_b (200 ms)
 * and task_c (50 ms).  join finishes with the slowest, at about 200 ms;
 * select returns the fastest, task_c, and drops the other two.
 *
 * The elapsed times go to stderr; the program fails if either combinator
 * finished before its slowest (join) or fastest (select) child could have.
 */
#include <stdio.h>

#include <weft/combinator.h>
#include <weft/weft.h>

/* async fn task_x() -> String { sleep(ms).await; "X完了" } */
struct task {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	uint64_t ms;
	const char *name;
	const char *out;
};

static weft_poll
task_poll(struct weft_future *f, struct weft_context *cx)
{
	struct task *t = (struct task *)f;

	WEFT_BEGIN(&t->co);
	weft_sleep_init(&t->sleep, t->ms * WEFT_MSEC);
	WEFT_AWAIT(&t->co, cx, &t->sleep);
	t->out = t->name;
	WEFT_END(&t->co);
}

static void
task_drop(struct weft_future *f)
{
	weft_future_drop(&((struct task *)f)->sleep.base);
}

WEFT_FUTURE_VTABLE(task_vtable, struct task, out, task_poll, task_drop);

static void
task_init(struct task *t, uint64_t ms, const char *name)
{
	*t = (struct task){.base.vtable = &task_vtable, .ms = ms, .name = name};
}

struct example {
	struct weft_future base;
	struct weft_coro co;
	struct task a, b, c;
	struct weft_join_all join;
	struct weft_select select;
	uint64_t t0;
	int status;
};

static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;
	static const char *const first[] = {"Aが先", "Bが先", "Cが先"};
	struct task *kids[] = {&e->a, &e->b, &e->c};
	uint64_t ms;

	WEFT_BEGIN(&e->co);
	/* join!: every future runs concurrently; all must finish. */
	task_init(&e->a, 100, "A完了");
	task_init(&e->b, 200, "B完了");
	task_init(&e->c, 50, "C完了");
	weft_join_init(&e->join, 3, &e->a.base, &e->b.base, &e->c.base);
	e->t0 = weft_driver_now(cx->driver);
	WEFT_AWAIT(&e->co, cx, &e->join);
	ms = (weft_driver_now(cx->driver) - e->t0) / WEFT_MSEC;
	printf("%s, %s, %s\n", e->a.out, e->b.out, e->c.out);
	fprintf(stderr, "join: %llu ms\n", (unsigned long long)ms);
	if (ms < 200)
		e->status = 1;

	/* select!: the first to finish wins, the others are dropped. */
	task_init(&e->a, 100, "A完了");
	task_init(&e->b, 200, "B完了");
	task_init(&e->c, 50, "C完了");
	weft_select_init(&e->select, 0, 3, &e->a.base, &e->b.base, &e->c.base);
	e->t0 = weft_driver_now(cx->driver);
	WEFT_AWAIT(&e->co, cx, &e->select);
	ms = (weft_driver_now(cx->driver) - e->t0) / WEFT_MSEC;
	printf("%s: %s\n", first[e->select.winner],
	       kids[e->select.winner]->out);
	fprintf(stderr, "select: %llu ms\n", (unsigned long long)ms);
	if (ms < 50)
		e->status = 1;
	WEFT_END(&e->co);
}

static void
example_drop(struct weft_future *f)
{
	struct example *e = (struct example *)f;

	weft_future_drop(&e->join.base);
	weft_future_drop(&e->select.base);
}

WEFT_FUTURE_VTABLE(example_vtable, struct example, status, example_poll,
                   example_drop);

int
main(void)
{
	struct example ex = {.base.vtable = &example_vtable};
	int status = weft_run(&ex.base);

	weft_future_drop(&ex.base);
	return status ? status : ex.status;
}
