/* SPDX-License-Identifier: MIT */
/*
 * Shared by the async library's tests: a real runtime per group, on the
 * executor and reactor named on the command line, and a probe future that
 * counts its drops.
 */
#ifndef LIB_CORE_COMMON_H
#define LIB_CORE_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <weft/weft.h>

#include "pair.h"

uint64_t now_ns(void);

/* Runs fut to completion on the test runtime (asserting success). */
void run(struct weft_future *fut);

/* Sleeps the calling thread: stalls the runtime when called outside it. */
void stall_ms(unsigned ms);

/*
 * Sleeps ms milliseconds, then reports `result` as its status.  Counts its
 * drops in *drops and its completions in *done (each may be NULL).
 */
struct probe {
	struct weft_future base;
	struct weft_coro co;
	struct weft_sleep sleep;
	uint64_t ms;
	int result;
	atomic_int *drops;
	atomic_int *done;
	int status;
};
void probe_init(struct probe *p, uint64_t ms, int result, atomic_int *drops,
                atomic_int *done);

/*
 * A hand-made context for polling step by step: its waker counts what is
 * done with it in step_wakes, step_wake_refs and step_drops, which
 * step_context (given a driver, or NULL) resets.
 */
extern int step_wakes, step_wake_refs, step_drops;
struct weft_context step_context(struct weft_driver *d);

#endif
