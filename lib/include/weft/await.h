/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Straight-line awaits for fibers: one call per `.await`, so that a
 * fiber's code is as short as the async Rust it ports.
 *
 *     static int
 *     run(void)
 *     {
 *             int sum = 0;
 *             for (int i = 0; i < 3; i++) {
 *                     weft_sleep_ms(100);              // sleep(..).await
 *                     sum += i;
 *             }
 *             printf("%d\n", sum);
 *             return 0;
 *     }
 *
 *     int
 *     main(void)
 *     {
 *             return weft_fiber_main(run);             // #[tokio::main]
 *     }
 *
 * Each function here is a thin wrapper: it initialises the library's
 * future in the fiber's own stack frame, awaits it with weft_await
 * (<weft/fiber.h>) and returns its result.  The naming rule: the future
 * `struct weft_X` made by weft_X_init has the inline form weft_X_await,
 * taking the same arguments; tokio's own names are used where they are
 * plainer (weft_sleep_ms, weft_spawn_blocking).  This header includes the
 * library's other headers, as a prelude for fiber programs.
 *
 * Every function that awaits must be called from a fiber: outside one it
 * returns -EPERM.  When the fiber is being dropped (cancelled) it returns
 * WEFT_ECANCELED, as weft_await does, and so does every later await: the
 * fiber's function should then release what it holds and return.  Errors
 * are negative errno-style codes; nothing here aborts.
 *
 * Ownership: a future passed in is consumed (dropped exactly once before
 * the call returns, its output readable in its own storage), as by
 * weft_await, unless WEFT_SELECT_BORROW says otherwise.  Handles (channel
 * halves, streams, join sets) are borrowed.
 */
#ifndef WEFT_AWAIT_H
#define WEFT_AWAIT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weft/cancel.h>
#include <weft/channel.h>
#include <weft/combinator.h>
#include <weft/fiber.h>
#include <weft/io.h>
#include <weft/net.h>
#include <weft/stream.h>
#include <weft/sync.h>
#include <weft/task.h>
#include <weft/time.h>
#include <weft/weft.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* The program's root and spawning                                     */
/* ------------------------------------------------------------------ */

/**
 * #[tokio::main]: runs fn() as a fiber that is the program's root future
 * (weft_run: a runtime from the defaults and the environment), and
 * returns an exit status for main: fn's return value when it is 0 or
 * positive; 1, after a line "error: ..." on stderr, when fn returned a
 * negative error (as a Rust main returning Err); 1 when the runtime could
 * not run it (weft_run has said why).
 */
int weft_fiber_main(int (*fn)(void));

/**
 * tokio::spawn(async move {...}): spawns fn(arg) as a fiber task on the
 * calling fiber's executor.  *join receives the handle, whose output is
 * fn's int result (join NULL: detached).  arg is borrowed: it must stay
 * valid while the task may run (own it in the task, or join the task
 * before it goes).  0, -EPERM outside a fiber, or the spawn's error.
 */
int weft_spawn_fiber(weft_fiber_fn fn, void *arg, struct weft_join **join);

/**
 * tokio::spawn(fut): spawns any future on the calling fiber's executor
 * (copied in, consumed as by weft_executor_spawn).  0, -EPERM outside a
 * fiber (fut is then dropped), or the spawn's error.
 */
int weft_spawn_future(struct weft_future *fut, struct weft_join **join);

/**
 * handle.await: waits for the task behind join to finish, copies its
 * output into out (size bytes; 0 discards it) and releases the handle in
 * every case.  0, WEFT_ECANCELED (the task was aborted, or this fiber is
 * being dropped), -EMSGSIZE (out too small), -EINVAL (join NULL).
 */
int weft_task_await(struct weft_join *join, void *out, size_t size);

/**
 * spawn_blocking(fn).await: runs fn on a copy of the size bytes at data on
 * the runtime's blocking pool, then writes the copy back to data.  Should
 * the fiber be dropped meanwhile, the job finishes on its own and data is
 * left untouched.  0, or the error of struct weft_blocking (fn did not run).
 */
int weft_spawn_blocking(void (*fn)(void *data), void *data, size_t size);

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/** Instant::now(): the driver's clock in ns, or 0 outside a fiber. */
uint64_t weft_now(void);

/** sleep(d).await for duration_ns: 0, or a negative error. */
int weft_sleep_for(uint64_t duration_ns);

/** sleep(Duration::from_millis(ms)).await: 0, or a negative error. */
int weft_sleep_ms(uint64_t ms);

/** sleep_until(deadline).await, on weft_now()'s clock: 0 or an error. */
int weft_sleep_until(uint64_t deadline_ns);

/**
 * timeout(d, fut).await: runs fut (consumed) for at most duration_ns.
 * 0 when fut finished (its output is in its storage), WEFT_ETIMEDOUT when
 * the time ran out first (fut has been dropped), or an error.
 */
int weft_timeout_await(struct weft_future *fut, uint64_t duration_ns);

/** interval.tick().await: 0, or a negative error (no timer). */
int weft_interval_tick_await(struct weft_interval *iv);

/* ------------------------------------------------------------------ */
/* join, try_join and select over futures                              */
/* ------------------------------------------------------------------ */

/**
 * join!(a, b, ...): n futures (at most WEFT_COMBINATOR_INLINE, all
 * consumed; NULL entries count as done) follow n and run concurrently
 * until all have finished.  0, -E2BIG (n too large: the futures are
 * dropped unpolled), or an await error.
 */
int weft_join_await(size_t n, ...);

/**
 * try_join!(a, b, ...): as weft_join_await, but the first future whose
 * output begins with a negative int status (weft_status_output of
 * <weft/combinator.h>) wins: the others are dropped at once.  Returns 0
 * or that status.
 */
int weft_try_join_await(size_t n, ...);

/** join_all(futs).await over an array of n future pointers. */
int weft_join_all_await(struct weft_future **futs, size_t n);

/**
 * try_join_all(futs).await: 0, or the first negative status, with
 * *failed (if not NULL) the index of the future that reported it.
 */
int weft_try_join_all_await(struct weft_future **futs, size_t n,
                            size_t *failed);

/**
 * select! { ... }: n branches follow n (at most WEFT_COMBINATOR_INLINE;
 * NULL disables a branch, as `, if false`) and race; the first to finish
 * wins and the others are dropped, unless flags hold WEFT_SELECT_BORROW
 * (then the caller keeps and drops every branch).  WEFT_SELECT_BIASED
 * polls in order.  Returns the winner's index, n when every branch was
 * disabled (select!'s `else`), or a negative error.
 */
int weft_select_await(unsigned flags, size_t n, ...);

/** select! over an array of n branch pointers: as weft_select_await. */
int weft_select_all_await(unsigned flags, struct weft_future **branches,
                          size_t n);

/* ------------------------------------------------------------------ */
/* join, try_join and select over fiber functions                      */
/* ------------------------------------------------------------------ */

/**
 * An async block for the *_fibers functions: fn(arg) runs in a fiber of
 * its own, a child of the calling fiber (no task is spawned: the calls run
 * concurrently within the caller's task, as join! and select! do).  What
 * an async block would give back goes through arg.
 */
struct weft_fiber_call {
	weft_fiber_fn fn; /**< the function to run */
	void *arg;        /**< its argument, borrowed */
};

/**
 * join!: runs the n calls concurrently until all have returned.  0 when
 * every function returned 0 or more, else the first negative return value
 * in the order of calls (all still ran to their end); -ENOMEM; or an
 * await error (the calls still running were then dropped).
 */
int weft_join_fibers(const struct weft_fiber_call *calls, size_t n);

/**
 * try_join!: as weft_join_fibers, but the first function to return a
 * negative value wins and the calls still running are dropped (cancelled:
 * their awaits return WEFT_ECANCELED).  0, or that value, with *failed
 * (if not NULL) the index of its call (n when none failed).
 */
int weft_try_join_fibers(const struct weft_fiber_call *calls, size_t n,
                         size_t *failed);

/**
 * select!: races the n calls; the first to return wins and the others
 * are dropped (cancelled: their awaits return WEFT_ECANCELED).  flags:
 * WEFT_SELECT_BIASED or 0.  Returns the winner's index, or a negative
 * error.
 */
int weft_select_fibers(unsigned flags, const struct weft_fiber_call *calls,
                       size_t n);

/* ------------------------------------------------------------------ */
/* Tasks and channels                                                  */
/* ------------------------------------------------------------------ */

/**
 * What a fiber task of a join set gives back: its function's return value
 * and the argument it ran with, where an async block's output would be.
 */
struct weft_fiber_done {
	int result; /**< fn's return value (first: the status convention) */
	void *arg;  /**< the arg given to weft_joinset_spawn_fiber */
};

/**
 * set.spawn(async move {...}): spawns fn(arg) as a fiber task into set,
 * on the calling fiber's executor; its output, for join_next, is a
 * struct weft_fiber_done.  arg is borrowed as by weft_spawn_fiber.  *id
 * as weft_joinset_spawn.  0, -EPERM outside a fiber, or the spawn's error.
 */
int weft_joinset_spawn_fiber(struct weft_joinset *set, weft_fiber_fn fn,
                             void *arg, uint64_t *id);

/**
 * set.join_next().await: 1 when a task was joined (its output copied into
 * out, size bytes: a struct weft_fiber_done for a fiber task), 0 when the
 * set is empty (None), or a negative error: the joined task's
 * (WEFT_ECANCELED: aborted; -EMSGSIZE: out too small) or the await's.
 */
int weft_joinset_next_await(struct weft_joinset *set, void *out, size_t size);

/** tx.send(msg).await: 0, WEFT_ECLOSED (not sent), -ENOMEM or an error. */
int weft_mpsc_send_await(struct weft_mpsc_tx *tx, const void *msg);

/** rx.recv().await: 0 (message in out), WEFT_ECLOSED (None), an error. */
int weft_mpsc_recv_await(struct weft_mpsc_rx *rx, void *out);

/** rx.await for a oneshot: 0 (value in out), WEFT_ECLOSED or an error. */
int weft_oneshot_recv_await(struct weft_oneshot_rx *rx, void *out);

/** rx.changed().await: 0, WEFT_ECLOSED (the sender is gone) or an error. */
int weft_watch_changed_await(struct weft_watch_rx *rx);

/** token.cancelled().await: 0 once t is cancelled, or an error. */
int weft_cancelled_await(struct weft_cancel_token *t);

/**
 * stream.next().await on a borrowed stream: 1 (an item in item), 0 (the
 * stream has ended: None) or a negative error item.
 */
int weft_stream_next_await(struct weft_stream *s, void *item);

/**
 * signal::ctrl_c().await: listens for SIGINT, waits for it and stops
 * listening.  The signal number, or a negative error.
 */
int weft_ctrl_c(void);

/* ------------------------------------------------------------------ */
/* Deadlines, locks, broadcast, TCP and task trackers                  */
/* ------------------------------------------------------------------ */

/**
 * timeout_at(deadline, fut).await: as weft_timeout_await, with the limit
 * a deadline on weft_now()'s clock (several awaits can share one).  A
 * deadline already past still polls fut once.  0 when fut finished,
 * WEFT_ETIMEDOUT, or an error.
 */
int weft_timeout_at_await(struct weft_future *fut, uint64_t deadline_ns);

/**
 * mutex.lock().await: 0 once the calling fiber holds m, which it then
 * releases with weft_mutex_unlock; or an error (WEFT_ECANCELED, -EPERM,
 * -EINVAL for m NULL), and then the lock is not held.
 */
int weft_mutex_lock_await(struct weft_mutex *m);

/**
 * rx.recv().await on a broadcast receiver: 0 (the message in out),
 * WEFT_ELAGGED (messages were overwritten before rx read them: *missed,
 * if missed is not NULL, says how many, and the next receive goes on from
 * the oldest one still held), WEFT_ECLOSED (every sender is gone and
 * nothing is left), or an error.
 */
int weft_broadcast_recv_await(struct weft_broadcast_rx *rx, void *out,
                              uint64_t *missed);

/**
 * TcpStream::connect(addr).await (or a Unix socket's, for a path): 0 with
 * *stream the connection, which the caller owns and closes with
 * weft_io_close; or -errno (-ECONNREFUSED, ...) or an await error, with
 * *stream NULL.  addr is copied.
 */
int weft_connect_await(const struct weft_addr *addr, struct weft_io **stream);

/**
 * tracker.spawn(async move {...}): spawns fn(arg) as a fiber task tracked
 * by tracker, on the calling fiber's executor.  *join, if join is not
 * NULL, receives the handle, whose output is the tracked task's status as
 * weft_tracker_spawn says (fn's result is not kept).  arg is borrowed as
 * by weft_spawn_fiber.  If the tracker is cancelled before the task first
 * runs, fn never runs: a task that owns arg should watch a token of its
 * own for cancellation.  0, -EPERM outside a fiber, or the spawn's error.
 */
int weft_tracker_spawn_fiber(struct weft_tracker *tracker, weft_fiber_fn fn,
                             void *arg, struct weft_join **join);

/**
 * tracker.wait().await: 0 once tracker is closed and every task it
 * tracks has been dropped, or an await error.
 */
int weft_tracker_wait_await(struct weft_tracker *tracker);

#ifdef __cplusplus
}
#endif

/* ------------------------------------------------------------------ */
/* The program's main in one line                                      */
/* ------------------------------------------------------------------ */

/**
 * #[tokio::main]: defines `int main(void)` to return weft_fiber_main(fn),
 * for a program whose main would do nothing else:
 *
 *     static int
 *     run(void)
 *     {
 *             ...
 *     }
 *
 *     WEFT_FIBER_MAIN(run);
 *
 * Used once, at file scope, followed by a semicolon: the expansion ends
 * with the declaration of an incomplete struct, which the semicolon
 * completes (a `;` after the function body alone would be an empty
 * declaration, and repeating main's declaration there would trip
 * -Wredundant-decls).  A main that does more first (reads the
 * environment, say) calls weft_fiber_main itself.
 */
#define WEFT_FIBER_MAIN(fn)                                                    \
	int main(void)                                                         \
	{                                                                      \
		return weft_fiber_main(fn);                                    \
	}                                                                      \
	struct weft_fiber_main_semicolon

#endif /* WEFT_AWAIT_H */
