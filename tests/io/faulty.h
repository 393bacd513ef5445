/* SPDX-License-Identifier: MIT */
/*
 * A driver with faults (D9) for the I/O tests: it wraps the runtime's own
 * driver and answers the fault method from a seeded generator, with a
 * chance per kind that the test sets.  Futures run under it through
 * run_faulty, which polls them with the context's driver replaced; every
 * object a test uses must first be used in there, so that it registers
 * with this driver.
 */
#ifndef TESTS_IO_FAULTY_H
#define TESTS_IO_FAULTY_H

#include <pthread.h>

#include "common.h"

#define SITES 4 /* WEFT_FAULT_* are 1..3 */

struct faulty {
	struct weft_driver pub; /* first: the ops get &pub */
	struct weft_driver_ops ops;
	struct weft_driver *real;
	uint64_t rng;
	unsigned percent[SITES]; /* chance of each kind, in percent */
	unsigned asked[SITES], fired[SITES];
	pthread_mutex_t lock; /* the fault method runs on any worker */
};

extern struct faulty fd_drv;

/* cmocka group setup: builds the driver, then rt_open. */
int faulty_setup(void **state);

/* Faults from now on: the chance of each kind in percent. */
void faults_set(unsigned short_io, unsigned spurious, unsigned reset);

/* Zeroes the counts, seeds the generator and turns faults off. */
void faults_reset_counts(uint64_t seed);

/* Runs fn(arg) as a fiber under the faulty driver (bounded); its result. */
int run_faulty(weft_fiber_fn fn, void *arg);

#endif
