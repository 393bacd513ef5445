/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Intervals: a clock that ticks every period, for heartbeats and polling
 * loops — tokio's `interval` with its MissedTickBehavior.  sleep,
 * sleep_until and timeout come with the runtime (<weft/weft.h>).
 *
 * An interval is a stream (<weft/stream.h>) of uint64_t items: each item is
 * the deadline of the tick that fired, on the driver's clock
 * (weft_driver_now).  It never ends.  The first tick is due at once, the
 * next ones every period after it.  A tick never fires before its
 * deadline; it fires late when the task was busy or the system loaded, and
 * the policy decides what happens to the schedule then:
 *
 * WEFT_MISSED_TICK_BURST: ticks keep their original schedule: the missed
 *     ones fire back to back, as fast as the task polls, until it has
 *     caught up.
 * WEFT_MISSED_TICK_DELAY: the schedule restarts from the late tick: the
 *     next one is due a full period after it actually fired.
 * WEFT_MISSED_TICK_SKIP: missed ticks are dropped: the next one is due at
 *     the next multiple of the period on the original schedule.
 *
 * A tick counts as missed when it fires more than WEFT_INTERVAL_SLACK late;
 * small jitter never shifts the schedule.
 */
#ifndef WEFT_TIME_H
#define WEFT_TIME_H

#include <weft/weft.h>
#include <weft/stream.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What an interval does after a late tick. */
enum weft_missed_tick {
	WEFT_MISSED_TICK_BURST = 0,
	WEFT_MISSED_TICK_DELAY = 1,
	WEFT_MISSED_TICK_SKIP = 2,
};

/** How late a tick may fire before it counts as missed. */
#define WEFT_INTERVAL_SLACK (5 * WEFT_MSEC)

/** A clock that ticks every period: a stream of uint64_t deadlines. */
struct weft_interval {
	struct weft_stream base; /**< the stream's vtable */
	uint64_t period; /**< ns between ticks */
	uint64_t start; /**< 0: the first poll's now() */
	uint64_t next;  /**< deadline of the next tick, 0 until started */
	enum weft_missed_tick policy; /**< what a late tick does */
	struct weft_sleep sleep; /**< the wait for the next tick */
	bool sleeping; /**< whether sleep is in use */
};

/**
 * First tick at the first poll, then every period_ns (which must not be 0;
 * 0 is taken as 1 ns).  The interval is pinned from its first poll; drop
 * it with weft_stream_drop.
 */
void weft_interval_init(struct weft_interval *iv, uint64_t period_ns,
                        enum weft_missed_tick policy);

/** First tick at start_ns (driver clock), then every period_ns. */
void weft_interval_at_init(struct weft_interval *iv, uint64_t start_ns,
                           uint64_t period_ns, enum weft_missed_tick policy);

/** Changes the policy; it applies from the next late tick on. */
void weft_interval_set_policy(struct weft_interval *iv,
                              enum weft_missed_tick policy);

/**
 * interval.tick().await: a future that borrows the interval and is ready
 * at its next tick.  Output `status` (0, or a negative error when no timer
 * could be armed), with `deadline` the tick's deadline.
 */
struct weft_interval_tick {
	struct weft_future base; /**< the future's vtable */
	struct weft_interval *iv; /**< the interval, borrowed */
	int status; /**< output: 0 or a negative error */
	uint64_t deadline; /**< output: the tick's deadline */
};
/** A future ready at the next tick of iv, which it borrows. */
void weft_interval_tick_init(struct weft_interval_tick *t,
                             struct weft_interval *iv);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_TIME_H */
