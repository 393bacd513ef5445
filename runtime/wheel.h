/* SPDX-License-Identifier: MIT */
/*
 * The timing wheel under the driver's timers (timer.c): where pending
 * timers wait, sorted by tick, and the heap of the tick under way.  It
 * files and finds nodes; timer.c owns the nodes and the ids.  See timer.h
 * for the design.  Not thread-safe; nothing here touches a waker.
 */
#ifndef WEFT_WHEEL_H
#define WEFT_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

#include "timer.h"

/* An empty free list, or no node. */
#define WEFT__WHEEL_NONE UINT32_MAX

/* A pending timer: 32 bytes. */
struct weft__timer_node {
	uint64_t deadline;
	struct weft_waker waker;
	/*
	 * Where in its slot (chunk << 4 | place) or in the heap the node is
	 * (it is in the heap exactly when heap[pos] names it); the next free
	 * node while free.
	 */
	uint32_t pos;
	uint32_t handle; /* whose timer this is */
};

/* Frees the chunks (not the heap, nodes or handles). */
WEFT__HIDDEN void weft__wheel_fini(struct weft__timers *t);

/*
 * Makes sure the chunks of the slots suffice for `pending` nodes however
 * they move: 0, -ENOMEM or -EOVERFLOW.  Arming calls it, so that nothing
 * needs memory while timers cascade or fire.
 */
WEFT__HIDDEN int weft__wheel_reserve(struct weft__timers *t, uint32_t pending);

/*
 * Files node i by its deadline.  Cannot fail, given weft__wheel_reserve
 * for the nodes in use and room in the heap for all of them.
 */
WEFT__HIDDEN void weft__wheel_insert(struct weft__timers *t, uint32_t i);

/* Takes node i out of wherever it is filed. */
WEFT__HIDDEN void weft__wheel_remove(struct weft__timers *t, uint32_t i);

/*
 * Takes out and returns a node whose deadline is <= now, advancing the
 * wheel as far as now allows; WEFT__WHEEL_NONE when none is due.
 */
WEFT__HIDDEN uint32_t weft__wheel_next_due(struct weft__timers *t,
                                           uint64_t now);

/* See weft__timer_settle. */
WEFT__HIDDEN uint64_t weft__wheel_settle(struct weft__timers *t);

/* See weft__timer_next_deadline. */
WEFT__HIDDEN uint64_t weft__wheel_next_deadline(const struct weft__timers *t);

/*
 * Checks the heap and every slot: order, positions, levels, mask bits.
 * *count receives how many nodes are filed.  For tests.
 */
WEFT__HIDDEN bool weft__wheel_check(const struct weft__timers *t,
                                    uint32_t *count);

#endif /* WEFT_WHEEL_H */
