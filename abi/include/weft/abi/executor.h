/* SPDX-License-Identifier: MIT */
/**
 * @file
 * The executor plugin interface (E rules): its parameters, its statistics and
 * the methods the host calls.
 *
 * A part of <weft/abi.h>: the parts in weft/abi/ are that one header split
 * for reading, included by it in order.  A part relies on the parts before
 * it and is never included on its own.
 */
#ifndef WEFT_ABI_EXECUTOR_H
#define WEFT_ABI_EXECUTOR_H

#ifndef WEFT_ABI_H_INSIDE
#error "include <weft/abi.h>, not its parts"
#endif

/* ------------------------------------------------------------------ */
/* Executor plugin interface (E rules)                                 */
/* ------------------------------------------------------------------ */

/** Capability flags of an executor. */
#define WEFT_EXECUTOR_MULTI_THREAD 0x1u /**< polls tasks on several threads */
/**
 * The schedule is a function of the executor's seed and the program's
 * inputs; the host then runs blocking jobs at park, not on threads (E13).
 * ABI 1.2.
 */
#define WEFT_EXECUTOR_DETERMINISTIC 0x2u

/**
 * @struct weft_executor_params
 * Given to init.  The driver and task core outlive the executor.
 * workers: threads to run (0: the executor's default).
 * setting, setting_ctx (version >= 2, ABI 1.2): the configuration, read
 *          during init (P8).
 */
#define WEFT_EXECUTOR_PARAMS_VERSION 2 /**< layout of the struct below */
struct weft_executor_params {
	uint32_t version; /**< WEFT_EXECUTOR_PARAMS_VERSION */
	uint32_t workers; /**< threads; 0: the executor's default */
	struct weft_driver *driver; /**< the runtime's driver */
	const struct weft_task_core *tasks; /**< the host's task core */
	weft_setting_fn setting; /**< version >= 2: reads a setting (P8) */
	void *setting_ctx; /**< version >= 2: setting's first argument */
};

/**
 * Statistics: the caller sets size to sizeof(its struct); the executor
 * fills what fits, writes nothing past it, and sets size to what it filled
 * (E9).  Counters are cumulative since init (a read never resets them);
 * queue_depth is a snapshot.  completed counts tasks whose future returned
 * ready (task core run_done), or stays 0 when the executor does not count
 * them (E11).
 */
struct weft_executor_stats {
	uint32_t size; /**< in: sizeof the struct; out: bytes filled */
	uint32_t workers; /**< worker threads running */
	uint64_t spawned; /**< tasks spawned */
	uint64_t polls; /**< polls of tasks */
	uint64_t completed; /**< tasks completed, or 0 (E11) */
	uint64_t parks; /**< times a worker parked */
	uint64_t foreign_wakes; /**< wakes from outside the workers */
	uint64_t steals; /**< tasks stolen between workers */
	uint64_t queue_depth; /**< tasks queued now (a snapshot) */
};

/**
 * One worker's statistics (E12, ABI 1.2): filled like weft_executor_stats
 * (the caller sets size; the executor fills what fits and sets size).
 * Counters are cumulative since init; queue_depth is a snapshot of this
 * worker's own queue.
 */
struct weft_worker_stats {
	uint32_t size; /**< in: sizeof the struct; out: bytes filled */
	uint32_t worker; /**< out: the worker's index */
	uint64_t polls; /**< polls on this worker */
	uint64_t steals; /**< tasks this worker stole */
	uint64_t parks; /**< times this worker parked */
	uint64_t queue_depth; /**< tasks in this worker's queue now */
};

/**
 * @struct weft_executor_iface
 * The executor class a plugin exports.  The host allocates instance_size
 * bytes (at least sizeof(struct weft_executor), which must come first in the
 * plugin's private struct), fills the public header, and calls init.
 *
 * init:      0 or negative error; on error fini is not called.  Host thread.
 * spawn:     takes ownership of the future (moved in by copy, F5/E2) and
 *            schedules it; on failure the future has already been dropped.
 *            *join receives the handle (join NULL: detached).  Any thread,
 *            including from inside a poll (E3).
 * block_on:  polls `future` in place (it stays pinned, F7) until ready,
 *            running spawned tasks and parking in the driver meanwhile
 *            (E4).  Returns 0, or WEFT_ECLOSED after shutdown, or
 *            WEFT_EBUSY when called from inside this executor's poll.  The
 *            caller reads the output and drops the future.  One thread at a
 *            time.
 * shutdown:  stops running tasks and drops every spawned future not yet
 *            dropped, exactly once (E5); join handles then report
 *            WEFT_ECANCELED.  Idempotent.  Not from inside a poll.
 * fini:      frees what init allocated; shutdown first if not done.
 * stats:     optional (may be NULL): fills *stats as described above.
 * worker_stats (version >= 2, ABI 1.2): optional: fills *stats for worker
 *            index `worker` (0 .. stats.workers - 1), or returns -ENOENT
 *            past the last one (E12).  Any thread.
 */
#define WEFT_EXECUTOR_IFACE_VERSION 2 /**< layout of the struct below */
struct weft_executor_iface {
	uint32_t version; /**< WEFT_EXECUTOR_IFACE_VERSION */
	uint32_t flags; /**< WEFT_EXECUTOR_* capability flags */
	size_t instance_size; /**< bytes the host allocates */
	/** sets the instance up */
	int (*init)(struct weft_executor *self,
		    const struct weft_executor_params *params);
	/** takes and schedules a future (E2, E3) */
	int (*spawn)(struct weft_executor *self, struct weft_future *future,
		     struct weft_join **join);
	/** runs a future to completion (E4) */
	int (*block_on)(struct weft_executor *self, struct weft_future *future);
	/** drops every task, once (E5) */
	void (*shutdown)(struct weft_executor *self);
	void (*fini)(struct weft_executor *self); /**< frees what init made */
	/** optional: fills the statistics (E9) */
	int (*stats)(struct weft_executor *self,
		     struct weft_executor_stats *stats);
	/** version >= 2, optional: one worker's statistics (E12) */
	int (*worker_stats)(struct weft_executor *self, uint32_t worker,
			    struct weft_worker_stats *stats);
};

/**
 * The public head of every executor instance, filled by the host before
 * init: version is the iface's version, ops the iface itself.
 */
struct weft_executor {
	uint32_t version; /**< version of the instance header */
	const struct weft_executor_iface *ops; /**< its class */
};

/** weft_executor_iface.spawn, or WEFT_ENOTSUP. */
static inline int
weft_executor_spawn(struct weft_executor *e, struct weft_future *future,
		    struct weft_join **join)
{
	if (!WEFT__HAS(e, spawn, 1)) {
		weft_future_drop(future);
		return WEFT_ENOTSUP;
	}
	return e->ops->spawn(e, future, join);
}

/** weft_executor_iface.block_on, or WEFT_ENOTSUP. */
static inline int
weft_executor_block_on(struct weft_executor *e, struct weft_future *future)
{
	return WEFT__HAS(e, block_on, 1) ? e->ops->block_on(e, future)
					 : WEFT_ENOTSUP;
}

/** weft_executor_iface.shutdown. */
static inline void
weft_executor_shutdown(struct weft_executor *e)
{
	if (WEFT__HAS(e, shutdown, 1))
		e->ops->shutdown(e);
}

/**
 * For executors: copies the filled-in `src` into the caller's `dst` as far
 * as dst->size allows, and sets dst->size to what was copied.  Returns 0,
 * or -22 (EINVAL) when dst cannot hold even its size field.
 */
static inline int
weft__sized_fill(void *dst, const void *src, size_t src_size)
{
	uint32_t have;
	size_t n, i;

	if (!dst)
		return -22;
	for (i = 0; i < sizeof(have); i++) /* no memcpy: no <string.h> */
		((unsigned char *)&have)[i] = ((const unsigned char *)dst)[i];
	if (have < sizeof(uint32_t))
		return -22;
	n = have < src_size ? have : src_size;
	for (i = 0; i < n; i++)
		((unsigned char *)dst)[i] = ((const unsigned char *)src)[i];
	have = (uint32_t)n;
	for (i = 0; i < sizeof(have); i++)
		((unsigned char *)dst)[i] = ((const unsigned char *)&have)[i];
	return 0;
}

/** See above: the executor's statistics. */
static inline int
weft_executor_stats_fill(struct weft_executor_stats *dst,
			 const struct weft_executor_stats *src)
{
	return weft__sized_fill(dst, src, sizeof(*src));
}

/** weft_executor_iface.stats, or WEFT_ENOTSUP. */
static inline int
weft_executor_stats(struct weft_executor *e, struct weft_executor_stats *s)
{
	return WEFT__HAS(e, stats, 1) ? e->ops->stats(e, s) : WEFT_ENOTSUP;
}

/** For executors: weft_executor_stats_fill for one worker's statistics. */
static inline int
weft_worker_stats_fill(struct weft_worker_stats *dst,
		       const struct weft_worker_stats *src)
{
	return weft__sized_fill(dst, src, sizeof(*src));
}

/** weft_executor_iface.worker_stats, or WEFT_ENOTSUP (E12). */
static inline int
weft_executor_worker_stats(struct weft_executor *e, uint32_t worker,
			   struct weft_worker_stats *s)
{
	return WEFT__HAS(e, worker_stats, 2)
		       ? e->ops->worker_stats(e, worker, s)
		       : WEFT_ENOTSUP;
}

#endif /* WEFT_ABI_EXECUTOR_H */
