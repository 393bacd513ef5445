/* SPDX-License-Identifier: MIT */
/*
 * What the await tests share: the runtime on the pair named on the command
 * line, run_fiber and CHECK (tests/common/pair.h), and their main.
 */
#ifndef WEFT_TEST_AWAIT_HARNESS_H
#define WEFT_TEST_AWAIT_HARNESS_H

#include <weft/await.h>

#include "pair.h"

/* The group's main: EXECUTOR REACTOR on the command line. */
#define AWAIT_TEST_MAIN(tests)                                                 \
	int main(int argc, char **argv)                                        \
	{                                                                      \
		return run_group(argc, argv, "await", tests,                   \
		                 sizeof(tests) / sizeof((tests)[0]));          \
	}                                                                      \
	struct weft_test_main_semicolon

#endif /* WEFT_TEST_AWAIT_HARNESS_H */
