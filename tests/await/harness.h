/* SPDX-License-Identifier: MIT */
/*
 * What the await tests share: a runtime on the executor and reactor named
 * on the command line, opened once per group, and run_fiber, which runs a
 * fiber on it to the end.
 *
 * A fiber's function never calls a cmocka assert (a failed one longjmps,
 * which must not leave a fiber's stack): each returns 0, or with CHECK the
 * line of the first check that failed, and the test asserts that.
 */
#ifndef WEFT_TEST_AWAIT_HARNESS_H
#define WEFT_TEST_AWAIT_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <weft/await.h>

/* In a fiber: returns the line when cond is false. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "check failed, line %d: %s\n",         \
			        __LINE__, #cond);                              \
			return __LINE__;                                       \
		}                                                              \
	} while (0)

static struct weft_runtime *rt;
static const char *executor_name, *reactor_name;

static inline int
rt_open(void **state)
{
	struct weft_config *cfg;
	const char *path = getenv("WEFT_PLUGIN_PATH");
	char err[256] = "";
	int r;

	(void)state;
	if (weft_config_new(&cfg) < 0)
		return -1;
	weft_config_set(cfg, "use_env", "false", NULL, 0);
	weft_config_set(cfg, "executor", executor_name, NULL, 0);
	weft_config_set(cfg, "reactor", reactor_name, NULL, 0);
	if (path)
		weft_config_set(cfg, "plugin_path", path, NULL, 0);
	r = weft_runtime_open(&rt, cfg, err, sizeof(err));
	weft_config_free(cfg);
	if (r < 0) {
		fprintf(stderr, "runtime %s/%s: %s\n", executor_name,
		        reactor_name, err);
		return -1;
	}
	return 0;
}

static inline int
rt_close(void **state)
{
	(void)state;
	weft_runtime_close(rt);
	rt = NULL;
	return 0;
}

/* Runs fn(arg) as a fiber on the runtime (block_on); its result. */
static inline int
run_fiber(weft_fiber_fn fn, void *arg)
{
	struct weft_fiber f;
	int r;

	assert_int_equal(weft_fiber_init(&f, fn, arg, NULL), 0);
	assert_int_equal(weft_block_on(rt, &f.base), 0);
	r = f.result;
	weft_future_drop(&f.base);
	return r;
}

/* The group's main: EXECUTOR REACTOR on the command line. */
#define AWAIT_TEST_MAIN(tests)                                                 \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		if (argc < 3) {                                                \
			fprintf(stderr, "usage: %s EXECUTOR REACTOR\n",        \
			        argv[0]);                                      \
			return 2;                                              \
		}                                                              \
		executor_name = argv[1];                                       \
		reactor_name = argv[2];                                        \
		return cmocka_run_group_tests_name(executor_name, tests,       \
		                                   rt_open, rt_close);         \
	}                                                                      \
	struct weft_test_main_semicolon

#endif /* WEFT_TEST_AWAIT_HARNESS_H */
