/* SPDX-License-Identifier: MIT */
/*
 * try_join! over fetch_user(1) and fetch_profile(1), then a task set
 * (JoinSet) of five fetch_user tasks joined in the order they finish.
 * Each fetch is a fiber function: its Result<String> is its return value
 * (0 or an error) and the text it leaves in its argument.
 */
#include <stdio.h>

#include <weft/await.h>

struct fetch {
	unsigned id;
	char out[32];
};

static int
fetch_user(void *arg)
{
	struct fetch *f = arg;
	int r = weft_sleep_ms(50); /* an API call, simulated */

	if (r == 0)
		snprintf(f->out, sizeof(f->out), "User#%u", f->id);
	return r;
}

static int
fetch_profile(void *arg)
{
	struct fetch *f = arg;
	int r = weft_sleep_ms(80);

	if (r == 0)
		snprintf(f->out, sizeof(f->out), "Profile#%u", f->id);
	return r;
}

static int
run(void)
{
	struct fetch user = {1, ""}, profile = {1, ""};
	struct fetch users[] = {{1, ""}, {2, ""}, {3, ""}, {4, ""}, {5, ""}};
	struct weft_fiber_call both[] = {{fetch_user, &user},
	                                 {fetch_profile, &profile}};
	struct weft_fiber_done done;
	struct weft_joinset *set = NULL;
	int r;

	/* try_join!: returns at the first error; here both succeed. */
	if ((r = weft_try_join_fibers(both, 2, NULL)) < 0)
		return r;
	printf("%s, %s\n", user.out, profile.out);

	/* JoinSet: spawn five tasks, join them as they finish.  Each step
	 * runs only while r == 0: an error skips the rest. */
	r = weft_joinset_new(&set);
	for (int i = 0; i < 5 && r == 0; i++)
		r = weft_joinset_spawn_fiber(set, fetch_user, &users[i], NULL);
	/* `result??`: the join's error, then the task's own. */
	while (r == 0 &&
	       (r = weft_joinset_next_await(set, &done, sizeof(done))) == 1)
		if ((r = done.result) == 0)
			printf("取得: %s\n", ((struct fetch *)done.arg)->out);
	/* Aborts what is left, if an error ended the loop early. */
	weft_joinset_free(set);
	return r;
}

int
main(void)
{
	return weft_fiber_main(run);
}
