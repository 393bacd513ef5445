/* SPDX-License-Identifier: MIT */
/*
 * What the driver tests share: a waker that counts, a wrapper reactor that
 * injects events and records interest changes, and a fixture holding the
 * real epoll reactor (loaded from WEFT_TEST_REACTOR) and a driver over it.
 */
#ifndef TESTS_HOST_DRIVER_FIXTURE_H
#define TESTS_HOST_DRIVER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "internal.h"

#define MS (1000000ll)

struct counter {
	atomic_int wakes;
	atomic_int refs; /* clones alive */
};

/* A waker on c: every clone counts in refs, every wake in wakes. */
struct weft_waker counter_clone(const void *data);

/* A context whose borrowed waker wakes c, as an executor would build. */
struct weft_context context_of(struct counter *c, struct weft_driver *d);

struct wrap {
	struct weft_reactor head;
	struct weft_reactor *inner;
	struct weft_reactor_event inject[8];
	uint32_t n_inject;
	uint32_t last_interest;
	int modifies;
};

struct fixture {
	void *so;
	const struct weft_reactor_iface *iface;
	struct weft_reactor *epoll;
	struct wrap wrap;
	struct weft__driver *drv;
	struct weft_driver *d;
};

extern struct fixture fx;

/* Group setup and teardown: load and unload the reactor plugin. */
int load_reactor(void **state);
int unload_reactor(void **state);

/*
 * A fresh epoll instance and a driver over it, or over the wrapper when
 * wrapped; flags are the reactor flags the driver is told.
 */
void open_driver(bool wrapped, uint32_t flags);

/* Test setups: the reactor's own flags, or without CONCURRENT_CTL. */
int open_edge(void **state);
int open_serial(void **state);
int close_driver(void **state);

int64_t elapsed_since(uint64_t start);
void socket_pair(int sv[2]);
void drain(int fd);

#endif
