/* SPDX-License-Identifier: MIT */
/*
 * join! and select! over the chapter's task_a (100 ms), task_b (200 ms)
 * and task_c (50 ms), each a fiber of its own within main's task.  join
 * finishes with the slowest, at about 200 ms; select returns the fastest,
 * task_c, and cancels the other two.
 */
#include <stdio.h>

#include <weft/await.h>

/* async fn task_x() -> String: sleeps, then gives its name. */
struct task {
	uint64_t ms;
	const char *name, *out;
};

static int
task(void *arg)
{
	struct task *t = arg;
	int r = weft_sleep_ms(t->ms);

	if (r == 0)
		t->out = t->name; /* not when cancelled: a select lost */
	return r;
}

static int
run(void)
{
	struct task t[] = {
	    {100, "A完了", NULL}, {200, "B完了", NULL}, {50, "C完了", NULL}};
	struct weft_fiber_call abc[] = {
	    {task, &t[0]}, {task, &t[1]}, {task, &t[2]}};
	const char *first[] = {"Aが先", "Bが先", "Cが先"};
	int r;

	/* join!: all three run concurrently; all must finish. */
	if ((r = weft_join_fibers(abc, 3)) < 0)
		return r;
	printf("%s, %s, %s\n", t[0].out, t[1].out, t[2].out);

	/* select!: the first to finish wins, the others are cancelled. */
	if ((r = weft_select_fibers(0, abc, 3)) < 0)
		return r;
	printf("%s: %s\n", first[r], t[r].out);
	return 0;
}

int
main(void)
{
	return weft_fiber_main(run);
}
