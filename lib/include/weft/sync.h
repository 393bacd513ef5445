/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Synchronisation for tasks: an async Mutex that may be held across awaits,
 * a RwLock, a Semaphore, Notify and Barrier — tokio::sync in C.
 *
 * Every waiting operation is a future that the caller allocates (usually
 * inside its own future's struct) and initialises right before awaiting it.
 * Dropping that future before it is ready is always safe and always undoes
 * what it started: it leaves the wait queue, and if it had already been
 * granted what it waited for (the lock, the permits, the notification) it
 * passes that on to the next waiter.  That is what makes these futures
 * usable as select losers and under timeouts: cancellation is checked, not
 * assumed.
 *
 * Conventions shared by this header, <weft/channel.h> and <weft/cancel.h>:
 *
 *   - Objects are created by weft_xxx_new(..., **out), which returns 0 or
 *     -ENOMEM (nothing is allocated then), and released by the matching
 *     free/close function, exactly once.
 *   - Futures report through an `int status` output: 0 for success or a
 *     negative code (WEFT_ECLOSED, ...).  Futures borrow the object they
 *     wait on: it must outlive them (until they are dropped).
 *   - try_* functions never wait: 0 on success, -EAGAIN when they would
 *     have to, or another negative code.
 *   - poll_* functions are for writing your own futures and streams: 1
 *     (ready with a result), 0 (pending: cx's waker will be woken) or a
 *     negative code.
 *   - Every function may be called from any thread, concurrently, unless
 *     its comment says otherwise.  A future is polled and dropped by one
 *     thread at a time, as the future rules require.
 *   - Waiters are served first come, first served.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weft/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A node of a wait queue, embedded in each waiting future.  Private to the
 * library: zeroed by the init functions, read and written only under the
 * lock of the object waited on.  It is public only so that futures can be
 * allocated by their callers.
 */
struct weft__wait {
	struct weft__wait *prev;
	struct weft__wait *next;
	struct weft_waker waker;
	uint64_t tag;
	int state;
	int status;
};

/* ------------------------------------------------------------------ */
/* Mutex                                                               */
/* ------------------------------------------------------------------ */

/**
 * An async mutual-exclusion lock.  Unlike a pthread mutex it may be held
 * across an await: a task that waits for it is parked, not its thread.  It
 * is fair: unlock hands the lock directly to the longest waiting locker,
 * so a task that unlocks and locks again in a loop cannot starve others.
 * The lock is not tied to a task or a thread: whoever holds it unlocks it.
 */
struct weft_mutex;

/** 0 or -ENOMEM.  The mutex starts unlocked. */
int weft_mutex_new(struct weft_mutex **out);

/** Frees an unlocked mutex that nobody waits for.  NULL is a no-op. */
void weft_mutex_free(struct weft_mutex *m);

/**
 * Waits for the lock.  Output `status` is always 0: once the future is
 * ready, the caller holds the lock and must weft_mutex_unlock() it.
 * Dropped before it is ready, it leaves the queue; if the lock had just
 * been handed to it, it passes it on to the next waiter.
 */
struct weft_mutex_lock {
	struct weft_future base; /**< the future's vtable */
	struct weft_mutex *mutex; /**< the mutex, borrowed */
	struct weft__wait wait; /**< its node in the wait queue (private) */
	int status; /**< output: always 0 */
};
/** A future that waits for the lock of m. */
void weft_mutex_lock_init(struct weft_mutex_lock *f, struct weft_mutex *m);

/**
 * Takes the lock if it is free and nobody is queued for it: 0 (the caller
 * holds it) or -EAGAIN.
 */
int weft_mutex_try_lock(struct weft_mutex *m);

/** Releases the lock (it must be held), handing it to the first waiter. */
void weft_mutex_unlock(struct weft_mutex *m);

/* ------------------------------------------------------------------ */
/* RwLock                                                              */
/* ------------------------------------------------------------------ */

/**
 * Any number of readers or one writer.  Fair: a queued writer stops new
 * readers from overtaking it, so writers are never starved; the readers
 * queued behind it all get in together once it unlocks.
 */
struct weft_rwlock;

/** Readers that may hold the lock at once; a writer counts as all of them. */
#define WEFT_RWLOCK_MAX_READERS ((size_t)1 << 30)

/** 0 or -ENOMEM. */
int weft_rwlock_new(struct weft_rwlock **out);

/** Frees an unlocked rwlock that nobody waits for.  NULL is a no-op. */
void weft_rwlock_free(struct weft_rwlock *rw);

/**
 * Waits for shared (read) or exclusive (write) access.  Output `status` is
 * always 0; the caller then holds the lock in that mode and releases it
 * with the matching unlock.  Dropping it early gives up what it was
 * granted, as for the mutex.
 */
struct weft_rwlock_lock {
	struct weft_future base; /**< the future's vtable */
	struct weft_rwlock *rwlock; /**< the rwlock, borrowed */
	struct weft__wait wait; /**< its node in the wait queue (private) */
	size_t weight; /**< reader slots wanted: 1 to read, all to write */
	int status; /**< output: always 0 */
};
/** A future that waits for shared (read) access to rw. */
void weft_rwlock_read_init(struct weft_rwlock_lock *f, struct weft_rwlock *rw);
/** A future that waits for exclusive (write) access to rw. */
void weft_rwlock_write_init(struct weft_rwlock_lock *f, struct weft_rwlock *rw);

/** 0 (the caller holds the lock in that mode) or -EAGAIN. */
int weft_rwlock_try_read(struct weft_rwlock *rw);
/** As weft_rwlock_try_read, for exclusive access. */
int weft_rwlock_try_write(struct weft_rwlock *rw);

/** Releases shared access (it must be held). */
void weft_rwlock_read_unlock(struct weft_rwlock *rw);
/** Releases exclusive access (it must be held). */
void weft_rwlock_write_unlock(struct weft_rwlock *rw);

/* ------------------------------------------------------------------ */
/* Semaphore                                                           */
/* ------------------------------------------------------------------ */

/**
 * A count of permits.  Acquiring n waits until n are available and takes
 * them at once; waiters are served in order, so a large request is not
 * starved by a stream of small ones (the small ones queue behind it).
 * Closing wakes every waiter with WEFT_ECLOSED and makes later acquires
 * fail; permits already held stay valid and may still be released.
 */
struct weft_semaphore;

/** 0 or -ENOMEM. */
int weft_semaphore_new(size_t permits, struct weft_semaphore **out);

/** Frees a semaphore that nobody waits for.  NULL is a no-op. */
void weft_semaphore_free(struct weft_semaphore *s);

/**
 * Waits for n permits.  Output `status`: 0 (the caller owns n permits and
 * gives them back with weft_semaphore_release) or WEFT_ECLOSED.  Dropped
 * before it is ready, it returns any permits it had been granted.
 */
struct weft_semaphore_acquire {
	struct weft_future base; /**< the future's vtable */
	struct weft_semaphore *sem; /**< the semaphore, borrowed */
	struct weft__wait wait; /**< its node in the wait queue (private) */
	size_t n; /**< permits wanted */
	int status; /**< output: 0 or WEFT_ECLOSED */
};
/** A future that waits for n permits of s. */
void weft_semaphore_acquire_init(struct weft_semaphore_acquire *f,
                                 struct weft_semaphore *s, size_t n);

/**
 * Takes n permits if they are available and nobody is queued: 0, -EAGAIN
 * or WEFT_ECLOSED.
 */
int weft_semaphore_try_acquire(struct weft_semaphore *s, size_t n);

/** Adds n permits (returned or new) and serves the waiters they satisfy. */
void weft_semaphore_release(struct weft_semaphore *s, size_t n);

/** Closes the semaphore (idempotent): see above. */
void weft_semaphore_close(struct weft_semaphore *s);

/** Permits available now: a snapshot. */
size_t weft_semaphore_available(struct weft_semaphore *s);

/* ------------------------------------------------------------------ */
/* Notify                                                              */
/* ------------------------------------------------------------------ */

/**
 * Wakes one waiting task or all of them, without data.  notify_one wakes
 * the first waiter; if nobody waits it stores one permit (not a count) so
 * that the next wait completes at once — a notification sent just before
 * the other side starts waiting is not lost.  notify_waiters wakes every
 * waiter whose future was initialised before the call, and stores nothing.
 */
struct weft_notify;

/** 0 or -ENOMEM. */
int weft_notify_new(struct weft_notify **out);

/** Frees a notify that nobody waits for.  NULL is a no-op. */
void weft_notify_free(struct weft_notify *n);

/** Wakes the first waiter, or stores the permit: see above. */
void weft_notify_one(struct weft_notify *n);
/** Wakes every current waiter; stores nothing. */
void weft_notify_waiters(struct weft_notify *n);

/**
 * Waits for a notification.  Output `status` is always 0.  Initialising it
 * records the moment for notify_waiters (see above).  A future dropped
 * after notify_one chose it but before it completed passes that
 * notification on (to the next waiter, or as the stored permit).
 */
struct weft_notified {
	struct weft_future base; /**< the future's vtable */
	struct weft_notify *notify; /**< the notify, borrowed */
	struct weft__wait wait; /**< its node in the wait queue (private) */
	uint64_t epoch; /**< n's epoch at init; notify_waiters advances it */
	int status; /**< output: always 0 */
};
/** A future that waits for a notification of n. */
void weft_notified_init(struct weft_notified *f, struct weft_notify *n);

/* ------------------------------------------------------------------ */
/* Barrier                                                             */
/* ------------------------------------------------------------------ */

/**
 * Makes `parties` tasks meet: each waits until all have arrived, then all
 * go on together and the barrier is ready for the next round.  The last
 * to arrive is the round's leader.
 */
struct weft_barrier;

/** 0 or -ENOMEM.  parties 0 behaves as 1. */
int weft_barrier_new(size_t parties, struct weft_barrier **out);

/** Frees a barrier that nobody waits at.  NULL is a no-op. */
void weft_barrier_free(struct weft_barrier *b);

/**
 * Arrives and waits for the round to complete.  Output `leader`: 1 for
 * exactly one party of each round, 0 for the others.  A future dropped
 * while waiting withdraws its arrival, so the round waits for someone else.
 */
struct weft_barrier_wait {
	struct weft_future base; /**< the future's vtable */
	struct weft_barrier *barrier; /**< the barrier, borrowed */
	struct weft__wait wait; /**< its node in the wait queue (private) */
	int leader; /**< output: 1 for the round's leader, else 0 */
};
/** A future that arrives at b and waits for the round. */
void weft_barrier_wait_init(struct weft_barrier_wait *f,
                            struct weft_barrier *b);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SYNC_H */
