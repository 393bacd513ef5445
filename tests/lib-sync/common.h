/* SPDX-License-Identifier: MIT */
/*
 * Shared by the sync, channel and cancellation tests: a real runtime per
 * group on the executor and reactor named on the command line, helpers to
 * spawn and join tasks, and a hand-made context whose waker counts what is
 * done with it, for tests that poll futures step by step.
 */
#ifndef LIB_SYNC_COMMON_H
#define LIB_SYNC_COMMON_H

#include <errno.h>
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

/* Runs fut to completion on the test runtime, then drops it. */
void run(struct weft_future *fut);

/* Spawns a copy of fut on the test runtime. */
void spawn(struct weft_future *fut, struct weft_join **join);

/* Awaits every handle (asserting each task completed) and releases it. */
void join_all(struct weft_join **joins, size_t n);

/* Lets the runtime run for ms milliseconds (blocks on a sleep). */
void run_for_ms(unsigned ms);

/*
 * The counting context.  Its waker's clones, wakes and drops are counted
 * so that a test can check that every clone was consumed exactly once.
 */
extern atomic_int cw_clones, cw_wakes, cw_drops, cw_wake_refs;
void cw_reset(void);
struct weft_context cw_context(void);
/* Clones not yet woken or dropped. */
int cw_outstanding(void);

#endif
