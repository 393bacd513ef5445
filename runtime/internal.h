/* SPDX-License-Identifier: MIT */
/*
 * Interfaces between the runtime core's modules (this folder), and the
 * error helper every part of libweft uses.  Not installed; names use the
 * weft__ prefix and are hidden from the library's exported symbols.  What
 * finds, checks and loads plugins is declared in plugins/src/plugins.h.
 */
#ifndef WEFT_INTERNAL_H
#define WEFT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <weft/weft.h>

#define WEFT__HIDDEN __attribute__((visibility("hidden")))

/* ---- error.c ------------------------------------------------------ */

/* printf into err/errlen (either may be NULL/0); returns code. */
WEFT__HIDDEN int weft__fail(char *err, size_t errlen, int code,
			    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- driver.c ----------------------------------------------------- */

struct weft__driver; /* starts with a struct weft_driver */

/* The reactor stays owned by the caller and must outlive the driver. */
/* blocking_threads bounds the blocking pool (0: its default). */
WEFT__HIDDEN int weft__driver_new(struct weft__driver **out,
				  struct weft_reactor *reactor,
				  uint32_t reactor_flags,
				  unsigned blocking_threads, char *err,
				  size_t errlen);
/* The same, allocating through alloc (NULL: libc), which must outlive it. */
WEFT__HIDDEN int weft__driver_new_with(struct weft__driver **out,
				       struct weft_reactor *reactor,
				       uint32_t reactor_flags,
				       unsigned blocking_threads,
				       const struct weft_allocator *alloc,
				       char *err, size_t errlen);
WEFT__HIDDEN struct weft_driver *weft__driver_public(struct weft__driver *d);

/*
 * Seeds the driver's fault generator (D9) and sets the probability p
 * (0 to 1) of an injected fault and of a delayed timer; p 0 turns both
 * off.  Before the driver is shared.
 */
WEFT__HIDDEN void weft__driver_set_faults(struct weft__driver *d,
					  uint64_t seed, double p);

/*
 * Completion I/O (D10): on only where the reactor claims it; off makes
 * op_submit answer WEFT_ENOTSUP, so the I/O library uses readiness.
 * Before the driver is shared.  _completion: whether it is on.
 */
WEFT__HIDDEN void weft__driver_set_completion(struct weft__driver *d, bool on);
WEFT__HIDDEN bool weft__driver_completion(const struct weft__driver *d);

/*
 * Under a deterministic executor (E13): blocking jobs are queued and the
 * next park runs them on the parking thread, in submission order.  Before
 * the first blocking call.
 */
WEFT__HIDDEN void weft__driver_set_deterministic(struct weft__driver *d,
						 bool on);

/*
 * At runtime shutdown, after the executor's: closes the blocking pool, so
 * that later blocking calls fail with WEFT_ECLOSED and no pool thread
 * outlives the runtime's tasks.
 */
WEFT__HIDDEN void weft__driver_shutdown(struct weft__driver *d);

/*
 * The same, waiting at most timeout_ns for the blocking pool's threads:
 * 0, or WEFT_ETIMEDOUT when some were still busy and were left to finish
 * on their own (see weft__blocking_close_timeout).  UINT64_MAX: no limit.
 */
WEFT__HIDDEN int weft__driver_shutdown_timeout(struct weft__driver *d,
					       uint64_t timeout_ns);

/*
 * Frees the driver.  Registrations and timers still alive are freed and
 * their wakers dropped unwoken.
 */
WEFT__HIDDEN void weft__driver_free(struct weft__driver *d);

/* ---- blocking.c --------------------------------------------------- */

#define WEFT__BLOCKING_DEFAULT 64

struct weft__blocking;

/* max_threads 0: WEFT__BLOCKING_DEFAULT. */
WEFT__HIDDEN int weft__blocking_new(struct weft__blocking **out,
				    unsigned max_threads);

/* The same, allocating through alloc (NULL: libc). */
WEFT__HIDDEN int weft__blocking_new_with(struct weft__blocking **out,
					 unsigned max_threads,
					 const struct weft_allocator *alloc);

/*
 * A pool that starts no thread (deterministic executors, E13): its jobs
 * wait until weft__blocking_run_queued or the close runs them on the
 * caller's thread.
 */
WEFT__HIDDEN int weft__blocking_new_deferred(struct weft__blocking **out,
					     const struct weft_allocator *alloc);

/*
 * Runs the jobs queued at the call, in submission order, on this thread;
 * each job's done is woken after it returns.  Returns how many ran.
 */
WEFT__HIDDEN unsigned weft__blocking_run_queued(struct weft__blocking *b);

/* Whether jobs are waiting in the queue (b may be NULL: none). */
WEFT__HIDDEN bool weft__blocking_queued(struct weft__blocking *b);

/* See weft_driver_ops.blocking. */
WEFT__HIDDEN int weft__blocking_spawn(struct weft__blocking *b,
				      void (*fn)(void *arg), void *arg,
				      struct weft_waker *done);

/*
 * Refuses new jobs (WEFT_ECLOSED), runs what is still queued and joins
 * every thread.  Idempotent.
 */
WEFT__HIDDEN void weft__blocking_close(struct weft__blocking *b);

/*
 * The same, waiting at most timeout_ns for the threads: 0 when every one
 * has exited (and was joined), WEFT_ETIMEDOUT when some were busy.  Those
 * are detached and finish their jobs and the queue on their own; the pool
 * stays allocated until the last of them exits, and so must the allocator
 * it was made with (it keeps a copy of the struct).  A later close returns
 * what the first one settled.  UINT64_MAX: no limit.
 */
WEFT__HIDDEN int weft__blocking_close_timeout(struct weft__blocking *b,
					      uint64_t timeout_ns);

/*
 * Closes if needed, then releases the owner's reference: frees now, or
 * when the last detached thread exits.
 */
WEFT__HIDDEN void weft__blocking_free(struct weft__blocking *b);

/* ---- task.c ------------------------------------------------------- */

WEFT__HIDDEN extern const struct weft_task_core weft__task_core;

/*
 * The allocator that set_new gives the sets made on this thread (NULL:
 * libc).  The ABI's set_new takes no allocator, so the runtime names its
 * own around the executor's init, which is where executors make their set;
 * a set made elsewhere uses libc.  Returns the previous one.
 */
WEFT__HIDDEN const struct weft_allocator *
weft__task_alloc_hint(const struct weft_allocator *alloc);

#endif /* WEFT_INTERNAL_H */
