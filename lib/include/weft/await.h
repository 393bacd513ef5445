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
 * (<weft/fiber.h>) and returns its result.
 *
 * The naming rule.  Every future `struct weft_X` that an init function
 * makes has a one-call form here, weft_X_await (weft_io_read_await for
 * weft_io_read_init, weft_rwlock_read_await for weft_rwlock_read_init),
 * taking the init's arguments and giving the future's outputs back through
 * out-parameters, with these exceptions, named after tokio where that is
 * plainer:
 *
 *   - weft_sleep_init, weft_sleep_until_init: weft_sleep_for, weft_sleep_ms,
 *     weft_sleep_until;
 *   - weft_blocking_init: weft_spawn_blocking;
 *   - weft_join_future_init: weft_task_await;
 *   - weft_signal_init: weft_signal_await, and weft_ctrl_c for SIGINT alone;
 *   - weft_yield_init: weft_fiber_yield (<weft/fiber.h>);
 *   - weft_fiber_init: a fiber is run by weft_spawn_fiber, the *_fibers
 *     functions or weft_fiber_main, not awaited by hand;
 *   - the combinators that take futures: weft_join_init and friends are
 *     weft_join_await, weft_try_join_await, weft_join_all_await,
 *     weft_try_join_all_await, weft_select_await and weft_select_all_await;
 *   - none for weft_select_loop_init (a fiber awaits each round with
 *     weft_await(weft_select_loop_next(&loop))) and none for the adapters
 *     weft_fuse_init, weft_map_init, weft_then_init and weft_ready_init,
 *     which make futures to hand to another call, not to await alone.
 *
 * Streams (weft_X_stream_init, weft_lines_init, weft_interval_init, the
 * adapters of <weft/stream.h>) are not futures: their items come through
 * weft_stream_next_await or weft_stream_collect_await.
 *
 * This header includes every header of the library (<weft/weft.h> and,
 * through it, <weft/abi.h>; cancel, channel, combinator, coro, fiber, io,
 * io_util, net, stream, sync, task, time), as a prelude for fiber
 * programs.  Only <weft/assert.h>, the invariant check for the host and
 * plugins, is left out.
 *
 * Spawning a fiber as a task: what its handle gives back.  A fiber's
 * function returns an int, its result.  weft_spawn_fiber's join handle
 * gives that int (read with weft_task_await into an int).
 * weft_joinset_spawn_fiber's tasks give a struct weft_fiber_done, the int
 * and the arg the function ran with, so that join_next can tell whose
 * result it is.  weft_tracker_spawn_fiber's handle gives the tracker's int
 * status (0: ran to the end, WEFT_ECANCELED: the tracker's token stopped
 * it), as for every tracked task: a tracker keeps nothing of what its
 * tasks produce, so a tracked fiber reports its result through its arg.
 * In every case a task aborted or dropped before it finished makes
 * weft_task_await or weft_joinset_next_await return WEFT_ECANCELED.
 *
 * select's `else` (every branch disabled) has one spelling per form:
 * WEFT_SELECT_ELSE (-1) in struct weft_select's `winner` and struct
 * weft_select_loop's `index` (whose `winner` is then NULL), but n, the
 * number of branches, from weft_select_await and weft_select_all_await.
 * Their return value also carries negative errors, and -1 is -EPERM (on
 * Linux and the BSDs), which they return outside a fiber: so the fiber
 * form cannot return WEFT_SELECT_ELSE, and n, the index after the last
 * branch, stands for it, as `else` comes after the branches in select!.
 * weft_select_fibers cannot disable a call: it returns n only for n 0.
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
#include <weft/coro.h>
#include <weft/fiber.h>
#include <weft/io.h>
#include <weft/io_util.h>
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
 * fn's int result (join NULL: detached; what each spawn's handle gives is
 * compared at the top of this file).  arg is borrowed: it must stay
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

/**
 * Instant::now(): monotonic time in ns, the clock deadlines are on.  In a
 * fiber, its driver's clock (weft_driver_now(cx->driver), what stackless
 * code reads); anywhere else (stackless code, a thread of the
 * application's, before the runtime starts) CLOCK_MONOTONIC, which is the
 * clock of every runtime's driver on a real reactor, so a deadline
 * computed outside a fiber holds inside one.  Under a reactor that keeps
 * its own clock (the sim reactor's virtual time, ABI rule R12) only the
 * driver's clock is the runtime's: outside a fiber, read it with
 * weft_driver_now(weft_runtime_driver(rt)).
 */
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
 * disabled (select!'s `else`: n, not WEFT_SELECT_ELSE, which would read
 * as -EPERM; see the top of this file), or a negative error.
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
 * weft_tracker_spawn says (fn's result is not kept: see the top of this
 * file).  arg is borrowed as
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

/* ------------------------------------------------------------------ */
/* Accept, byte streams and readiness (<weft/net.h>, <weft/io.h>)      */
/* ------------------------------------------------------------------ */

/**
 * listener.accept().await: 0 with *stream the connection (the caller
 * owns it and closes it with weft_io_close) and *peer, if peer is not
 * NULL, the peer's address; or -errno (-EMFILE, ...: see struct
 * weft_accept), WEFT_ECLOSED (l closed) or an await error, with *stream
 * NULL.  l is borrowed.  A loop that should ride out fd shortages uses
 * weft_accept_backoff_await.
 */
int weft_accept_await(struct weft_listener *l, struct weft_io **stream,
                      struct weft_addr *peer);

/**
 * The accept of an accept loop (struct weft_accept_backoff): as
 * weft_accept_await, but a shortage of fds or memory is waited out with
 * growing pauses instead of being returned.
 */
int weft_accept_backoff_await(struct weft_listener *l, struct weft_io **stream,
                              struct weft_addr *peer);

/**
 * stream.read(buf).await: the bytes read into buf (0 at end of stream or
 * for len 0), or a negative error.  s and buf are borrowed.
 */
int weft_io_read_await(struct weft_io *s, void *buf, size_t len);

/**
 * stream.read_exact(buf).await: 0 once len bytes are in buf, -ENODATA
 * when the stream ended first, or another negative error (how many bytes
 * came before it is then unknown: use struct weft_io_read_exact for that).
 */
int weft_io_read_exact_await(struct weft_io *s, void *buf, size_t len);

/**
 * stream.write(buf).await: the bytes written (some of len), or a negative
 * error.
 */
int weft_io_write_await(struct weft_io *s, const void *buf, size_t len);

/**
 * stream.write_all(buf).await: 0 once all len bytes are written, or a
 * negative error.
 */
int weft_io_write_all_await(struct weft_io *s, const void *buf, size_t len);

/**
 * A vectored write_all: 0 once every byte of the iovcnt buffers (at most
 * WEFT_IOV_MAX) is written, in order, or a negative error.
 */
int weft_io_writev_await(struct weft_io *s, const struct iovec *iov,
                         int iovcnt);

/**
 * async_fd.ready(interest).await: the readiness bits (> 0: WEFT_READABLE,
 * WEFT_WRITABLE, WEFT_HUP, WEFT_ERROR), or a negative error.  After an
 * operation that found the fd not ready, call weft_async_fd_clear before
 * waiting again.
 */
int weft_async_fd_ready_await(struct weft_async_fd *a, uint32_t interest);

/* ------------------------------------------------------------------ */
/* Files, signals, UDP and names                                       */
/* ------------------------------------------------------------------ */

/**
 * File::open(path).await, on the blocking pool: the new fd (the caller's,
 * closed with close()), or -errno.  path is copied.
 */
int weft_file_open_await(const char *path, int flags, mode_t mode);

/**
 * Reads up to len bytes of fd at offset (-1: at the file position) into
 * buf, on the blocking pool: the bytes read (fewer than len only at the
 * end of the file), or -errno.  fd and buf are borrowed.
 */
int weft_file_read_await(int fd, void *buf, size_t len, off_t offset);

/**
 * Writes all len bytes of buf to fd at offset (-1: at the file position),
 * on the blocking pool: len, or -errno.
 */
int weft_file_write_await(int fd, const void *buf, size_t len, off_t offset);

/**
 * signal.recv().await on a listener (borrowed): the number of the next
 * signal of its set it has not reported yet, or a negative error.
 */
int weft_signal_recv_await(struct weft_signal_listener *l);

/**
 * Listens for the signals of mask (WEFT_SIGNAL_BIT(SIGUSR1) | ...; 0
 * means SIGINT and SIGTERM), waits for the first and stops listening, as
 * struct weft_signal: the signals stay caught until weft_signal_release.
 * The signal number, or a negative error.
 */
int weft_signal_await(uint64_t mask);

/**
 * socket.send_to(buf, to).await: the bytes sent, or -errno.  to is copied;
 * NULL sends to the connected address.
 */
int weft_udp_send_to_await(struct weft_udp *u, const void *buf, size_t len,
                           const struct weft_addr *to);

/**
 * socket.recv_from(buf).await: the bytes of one datagram (truncated to
 * len), with *from, if from is not NULL, its sender; or -errno.
 */
int weft_udp_recv_from_await(struct weft_udp *u, void *buf, size_t len,
                             struct weft_addr *from);

/**
 * lookup_host((host, port)).await, on the blocking pool (struct
 * weft_resolve): writes up to max addresses, in the resolver's order, to
 * addrs and returns how many (1 or more), or a negative error (-ENOENT:
 * no such name; getaddrinfo's own code is in the future's `gai`).  host
 * is copied.
 */
int weft_resolve_await(const char *host, uint16_t port, int family,
                       struct weft_addr *addrs, size_t max);

/* ------------------------------------------------------------------ */
/* Buffered reads and copy_bidirectional (<weft/io_util.h>)            */
/* ------------------------------------------------------------------ */

/**
 * reader.read_until(delim, &mut buf).await: the bytes read, up to and
 * including delim (0: end of stream), with *data those bytes and a NUL,
 * the caller's, freed with weft_free (NULL when nothing was read); or a
 * negative error: -EMSGSIZE when max (0: no limit) bytes came without
 * delim (they are in *data, still to free), else *data is NULL.
 */
int weft_read_until_await(struct weft_bufreader *r, int delim, size_t max,
                          char **data);

/** reader.read_line(&mut buf).await: weft_read_until_await with '\n'. */
int weft_read_line_await(struct weft_bufreader *r, size_t max, char **data);

/**
 * copy_bidirectional(a, b).await: 0 once both directions have ended, or
 * the first error.  *a_to_b and *b_to_a (each if not NULL) count the bytes
 * copied each way, also on error.  a and b are borrowed.
 */
int weft_copy_bidirectional_await(struct weft_io *a, struct weft_io *b,
                                  uint64_t *a_to_b, uint64_t *b_to_a);

/* ------------------------------------------------------------------ */
/* Notify, a condition, semaphore, rwlock, barrier; collect            */
/* ------------------------------------------------------------------ */

/**
 * notify.notified().await: 0 once notified (weft_notify_one, or
 * weft_notify_waiters after this call began), or an await error.  To wait
 * for a condition, use weft_await_until, which cannot miss a wake-up.
 */
int weft_notified_await(struct weft_notify *n);

/**
 * Waits until cond(arg) is true; whoever makes it true then calls
 * weft_notify_waiters(n) (or weft_notify_one, with one waiter).  Each round
 * arms a notified future first and then calls cond, so a change made
 * between the check and the wait still wakes it (the fiber form of
 * WEFT_AWAIT_UNTIL).  cond runs in the fiber; it reads state the caller
 * protects (an atomic, or a lock it releases before returning).  0 once
 * cond returned true (at once if it already was), -EINVAL, -EPERM outside
 * a fiber, or WEFT_ECANCELED.
 */
int weft_await_until(struct weft_notify *n, bool (*cond)(void *arg),
                     void *arg);

/**
 * semaphore.acquire_many(n).await: 0 once the caller holds n permits,
 * which it gives back with weft_semaphore_release; WEFT_ECLOSED, or an
 * await error (then no permit is held).
 */
int weft_semaphore_acquire_await(struct weft_semaphore *s, size_t n);

/**
 * rwlock.read().await: 0 once the caller holds shared access, released
 * with weft_rwlock_read_unlock; or an await error (then nothing is held).
 */
int weft_rwlock_read_await(struct weft_rwlock *rw);

/**
 * rwlock.write().await: 0 once the caller holds exclusive access,
 * released with weft_rwlock_write_unlock; or an await error.
 */
int weft_rwlock_write_await(struct weft_rwlock *rw);

/**
 * barrier.wait().await: 1 for the round's leader (exactly one party), 0
 * for the others, or an await error (the arrival is then withdrawn).
 */
int weft_barrier_wait_await(struct weft_barrier *b);

/**
 * stream.collect().await: stream is consumed (dropped in every case).
 * 0 with *out the items, the caller's (weft_vec_free); or the first error
 * item, with *out the items before it (also the caller's); or an await
 * error, with *out empty.
 */
int weft_stream_collect_await(struct weft_stream *stream,
                              struct weft_vec *out);

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
