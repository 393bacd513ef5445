/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the reactor tests: a wait that checks the bounds of the
 * host's array (R1) and folds what it got into a per-token summary.
 */
#ifndef WEFT_CONFORMANCE_RTEST_H
#define WEFT_CONFORMANCE_RTEST_H

#include "harness.h"

#define CAP      16
#define SENTINEL 0x5e5e5e5e5e5e5e5eull

/* Tokens of the tests are BASE + a small index. */
#define BASE 0xABCD000000000000ull

struct seen {
	uint32_t ready[CAP]; /* or-ed readiness per token - BASE */
	int count;           /* events returned in total */
	int foreign;         /* events with a token not ours */
};

/*
 * The timeout of a wait that only an event or a wakeup from another
 * thread is meant to end: on a reactor that keeps the clock (R12) a
 * finite wait that finds nothing returns at once, so it has no limit.
 */
static inline int64_t
long_wait(int64_t ns)
{
	return h_virtual_clock() ? WEFT_TIMEOUT_INFINITE : ns;
}

/* The time waits are measured on: the reactor's clock, or real time. */
uint64_t reactor_time(struct h_reactor *hr);

/* One wait; fails the test on an error or an overrun of capacity. */
int wait_into(struct h_reactor *hr, struct seen *s, uint32_t capacity,
              int64_t timeout_ns);

/* add, or fail the test naming the fd and the error. */
void add_or_fail(struct h_reactor *hr, int fd, uint32_t interest,
                 uint64_t token);

#endif /* WEFT_CONFORMANCE_RTEST_H */
