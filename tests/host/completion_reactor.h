/* SPDX-License-Identifier: MIT */
/*
 * A completion reactor in userspace, for the driver's completion tests
 * (D10, D11): each operation's system call is made when poll(2) says its
 * fd is ready, its result reported as a completion (R13-R15 as a test
 * double; the real io_uring reactor runs them in the kernel).
 */
#ifndef TESTS_HOST_COMPLETION_REACTOR_H
#define TESTS_HOST_COMPLETION_REACTOR_H

#include <stdint.h>

#include <weft/abi.h>

/* What the reactor saw, for assertions on batching and cancels. */
struct completion_stats {
	unsigned waits, submitted, completed, cancels;
};

/* A reactor with COMPLETION claimed; stats may be NULL. */
struct weft_reactor *completion_reactor_new(struct completion_stats *stats);
void completion_reactor_free(struct weft_reactor *r);

/* Operations submitted whose final completion has not been reported. */
uint32_t completion_reactor_in_flight(struct weft_reactor *r);

#endif
