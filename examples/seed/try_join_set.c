/* SPDX-License-Identifier: MIT */
/*
 * try_join! over fetch_user(1) and fetch_profile(1), then a task set
 * (JoinSet) of five fetch_user tasks joined in the order they finish.
 */
#include <stdio.h>

#include <weft/combinator.h>
#include <weft/task.h>
#include <weft/weft.h>

/*
 * async fn fetch(id) -> Result<String>: sleeps, then formats.  `status`
 * comes first in the output, so try_join sees failures (none here).
 */
struct fetch_out {
	int status;
	char text[32];
};

struct fetch {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	uint64_t ms;
	const char *what;
	unsigned id;
	struct fetch_out out;
};

static weft_poll
fetch_poll(struct weft_future *f, struct weft_context *cx)
{
	struct fetch *u = (struct fetch *)f;

	WEFT_BEGIN(&u->co);
	weft_sleep_init(&u->sleep, u->ms * WEFT_MSEC);
	WEFT_AWAIT(&u->co, cx, &u->sleep);
	snprintf(u->out.text, sizeof(u->out.text), "%s#%u", u->what, u->id);
	WEFT_END(&u->co);
}

static void
fetch_drop(struct weft_future *f)
{
	weft_future_drop(&((struct fetch *)f)->sleep.base);
}

WEFT_FUTURE_VTABLE(fetch_vtable, struct fetch, out, fetch_poll, fetch_drop);

static void
fetch_user(struct fetch *f, unsigned id)
{
	*f = (struct fetch){
	    .base.vtable = &fetch_vtable, .ms = 50, .what = "User", .id = id};
}

static void
fetch_profile(struct fetch *f, unsigned id)
{
	*f = (struct fetch){.base.vtable = &fetch_vtable,
	                    .ms = 80,
	                    .what = "Profile",
	                    .id = id};
}

struct example {
	struct weft_future base;
	struct weft_coro co;
	struct fetch user, profile;
	struct weft_join_all try_join;
	struct weft_joinset *set;
	struct weft_joinset_next next;
	struct fetch_out result;
	int status;
};

static weft_poll
example_poll(struct weft_future *f, struct weft_context *cx)
{
	struct example *e = (struct example *)f;
	unsigned id;

	WEFT_BEGIN(&e->co);
	/* try_join!: returns at the first error; here both succeed. */
	fetch_user(&e->user, 1);
	fetch_profile(&e->profile, 1);
	weft_try_join_init(&e->try_join, weft_status_output, NULL, 2,
	                   &e->user.base, &e->profile.base);
	WEFT_AWAIT(&e->co, cx, &e->try_join);
	if (e->try_join.status < 0) {
		e->status = e->try_join.status;
		WEFT_RETURN(&e->co);
	}
	printf("%s, %s\n", e->user.out.text, e->profile.out.text);

	/* JoinSet: spawn five tasks, join them as they finish. */
	e->status = weft_joinset_new(&e->set);
	if (e->status < 0)
		WEFT_RETURN(&e->co);
	for (id = 1; id <= 5; id++) {
		struct fetch task;

		fetch_user(&task, id);
		e->status =
		    weft_joinset_spawn(e->set, cx->executor, &task.base, NULL);
		if (e->status < 0)
			WEFT_RETURN(&e->co);
	}
	for (;;) {
		weft_joinset_next_init(&e->next, e->set, &e->result,
		                       sizeof(e->result));
		WEFT_AWAIT(&e->co, cx, &e->next);
		if (e->next.status == 0)
			break; /* the set is empty */
		if (e->next.task_status < 0 || e->result.status < 0) {
			e->status = e->next.task_status < 0
			                ? e->next.task_status
			                : e->result.status;
			weft_joinset_free(e->set);
			e->set = NULL;
			WEFT_RETURN(&e->co);
		}
		printf("取得: %s\n", e->result.text);
	}
	/* Freed here, while the runtime still runs: freeing aborts. */
	weft_joinset_free(e->set);
	e->set = NULL;
	WEFT_END(&e->co);
}

static void
example_drop(struct weft_future *f)
{
	struct example *e = (struct example *)f;

	weft_future_drop(&e->try_join.base);
	weft_future_drop(&e->next.base);
	weft_joinset_free(e->set);
	e->set = NULL;
}

WEFT_FUTURE_VTABLE(example_vtable, struct example, status, example_poll,
                   example_drop);

int
main(void)
{
	struct example ex = {.base.vtable = &example_vtable};
	int status = weft_run(&ex.base);

	weft_future_drop(&ex.base);
	if (status == 0 && ex.status < 0) {
		fprintf(stderr, "エラー: %s\n", weft_strerror(ex.status));
		return 1;
	}
	return status;
}
