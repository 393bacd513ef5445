/* SPDX-License-Identifier: MIT */
/*
 * The smallest program on weft: opens a runtime from the defaults and the
 * environment, blocks on a future that is ready at once, and prints its
 * output with the plugins that ran it.
 */
#include <stdio.h>

#include <weft/weft.h>

struct answer {
	struct weft_future base;
	int out;
};

static weft_poll
answer_poll(struct weft_future *f, struct weft_context *cx)
{
	(void)cx;
	((struct answer *)f)->out = 42;
	return WEFT_READY;
}

static void
answer_drop(struct weft_future *f)
{
	(void)f;
}

WEFT_FUTURE_VTABLE(answer_vtable, struct answer, out, answer_poll,
		   answer_drop);

int
main(void)
{
	struct weft_runtime *rt;
	struct answer a = {{&answer_vtable}, 0};
	char err[256];
	int rc;

	rc = weft_runtime_open(&rt, NULL, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "weft-consumer: %s\n", err);
		return 1;
	}
	rc = weft_block_on(rt, &a.base);
	if (rc < 0) {
		fprintf(stderr, "weft-consumer: block_on: %d\n", rc);
		weft_runtime_close(rt);
		return 1;
	}
	printf("weft-consumer: %d\n", a.out);
	printf("executor: %s\n",
	       weft_runtime_plugin_path(rt, WEFT_PLUGIN_EXECUTOR));
	printf("reactor: %s\n",
	       weft_runtime_plugin_path(rt, WEFT_PLUGIN_REACTOR));
	weft_future_drop(&a.base);
	weft_runtime_close(rt);
	return 0;
}
