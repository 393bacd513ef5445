/* SPDX-License-Identifier: MIT */
/*
 * The fixture shared by the tests that run on a real runtime on the
 * executor and reactor named on their command line (argv[1], argv[2];
 * the plugins are found through WEFT_PLUGIN_PATH, never the rest of the
 * environment).  Link with test_pair (tests/common/meson.build).
 *
 * A fiber's function never calls a cmocka assert (a failed one longjmps,
 * which must not leave a fiber's stack): it returns 0, or with CHECK the
 * line of the first check that failed, and the test asserts that.
 */
#ifndef WEFT_TESTS_PAIR_H
#define WEFT_TESTS_PAIR_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <weft/fiber.h>
#include <weft/weft.h>

/* The group's runtime, open between rt_open and rt_close. */
extern struct weft_runtime *rt;

/* The pair under test (set by run_group, before rt_open). */
extern const char *test_executor;
extern const char *test_reactor;

/*
 * True on the sim executor (run by `weft sim`): virtual time, which jumps
 * to the next timer whenever nothing is runnable, so a step that waits
 * for a thread of its own, a signal or real time to pass does not apply
 * there.
 */
bool pair_is_sim(void);

/* Opens a runtime on the pair into *out: 0, or -1 with the reason on stderr. */
int rt_open_pair(struct weft_runtime **out);

/* cmocka group setup and teardown: open and close rt. */
int rt_open(void **state);
int rt_close(void **state);

/*
 * Runs a cmocka group named "NAME on EXECUTOR/REACTOR" with rt open, the
 * pair taken from argv[1], argv[2]; 2 with a usage line without them.
 */
int run_group(int argc, char **argv, const char *name,
              const struct CMUnitTest *tests, size_t n);

/* Runs fn(arg) as a fiber (opts may be NULL) on rt to the end; its result. */
int run_fiber_opts(weft_fiber_fn fn, void *arg,
                   const struct weft_fiber_opts *opts);

static inline int
run_fiber(weft_fiber_fn fn, void *arg)
{
	return run_fiber_opts(fn, arg, NULL);
}

/* In a fiber: returns the line when cond is false. */
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "check failed, line %d: %s\n",         \
			        __LINE__, #cond);                              \
			return __LINE__;                                       \
		}                                                              \
	} while (0)

#endif
