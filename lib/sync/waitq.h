/* SPDX-License-Identifier: MIT */
/*
 * Private to the async library: the wait queue every primitive is built
 * on, a batch of wakers to wake after unlocking, and the semaphore core
 * that the mutex, the rwlock, the semaphore and bounded channels share.
 *
 * The one rule all of it follows: a waker is never woken or dropped while
 * a lock is held.  Waking may run the task at once on another thread, and
 * dropping the last reference to a task frees it, which drops its future,
 * whose drop may come back into the very primitive that holds the lock.
 * So wakers are moved out of the queue under the lock and woken after it.
 */
#ifndef WEFT_LIB_WAITQ_H
#define WEFT_LIB_WAITQ_H

#include <pthread.h>

#include <weft/sync.h>

/* States of a struct weft__wait. */
enum {
	WEFT__WAIT_IDLE = 0, /* initialised, not yet polled */
	WEFT__WAIT_QUEUED,   /* in a queue, waker stored */
	WEFT__WAIT_DONE,     /* served (status says how), not yet observed */
	WEFT__WAIT_FINISHED, /* reported ready, or dropped */
};

struct weft__waitq {
	struct weft__wait *head;
	struct weft__wait *tail;
};

static inline void
weft__waitq_push(struct weft__waitq *q, struct weft__wait *w)
{
	w->next = NULL;
	w->prev = q->tail;
	if (q->tail)
		q->tail->next = w;
	else
		q->head = w;
	q->tail = w;
	w->state = WEFT__WAIT_QUEUED;
}


static inline void
weft__waitq_remove(struct weft__waitq *q, struct weft__wait *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->prev = w->next = NULL;
}


/*
 * Under the lock: makes w's stored waker wake cx's task.  Returns the waker
 * it replaced (usually empty), which the caller drops after unlocking.
 * Cloning under the lock is fine: a clone only takes a reference.
 */
static inline struct weft_waker
weft__wait_set_waker(struct weft__wait *w, const struct weft_context *cx)
{
	struct weft_waker old = {0, 0};

	if (w->waker.vtable && weft_waker_will_wake(&w->waker, &cx->waker))
		return old;
	old = w->waker;
	w->waker = weft_waker_clone(&cx->waker);
	return old;
}


/* Under the lock: takes w's waker out, leaving w's slot empty. */
static inline struct weft_waker
weft__wait_take_waker(struct weft__wait *w)
{
	struct weft_waker out = w->waker;

	w->waker.vtable = NULL;
	w->waker.data = NULL;
	return out;
}

/*
 * Wakers collected under a lock and woken after it.  The batch is bounded
 * so that waking a thousand waiters needs no allocation: when it is full
 * the caller unlocks, wakes, and locks again (weft__wakeups_flush).
 */
#define WEFT__WAKE_BATCH 32
struct weft__wakeups {
	unsigned n;
	struct weft_waker w[WEFT__WAKE_BATCH];
};

/* Moves w's waker into the batch.  True when the batch is now full. */
static inline bool
weft__wakeups_add(struct weft__wakeups *b, struct weft__wait *w)
{
	struct weft_waker k = weft__wait_take_waker(w);

	if (k.vtable)
		b->w[b->n++] = k;
	return b->n == WEFT__WAKE_BATCH;
}


/* Wakes the batch (no lock held) and empties it. */
static inline void
weft__wakeups_run(struct weft__wakeups *b)
{
	for (unsigned i = 0; i < b->n; i++)
		weft_waker_wake(&b->w[i]);
	b->n = 0;
}


/* Called with `lock` held and a full batch: wakes it without the lock. */
static inline void
weft__wakeups_flush(struct weft__wakeups *b, pthread_mutex_t *lock)
{
	pthread_mutex_unlock(lock);
	weft__wakeups_run(b);
	pthread_mutex_lock(lock);
}

/* ------------------------------------------------------------------ */
/* The semaphore core                                                  */
/* ------------------------------------------------------------------ */

/*
 * A FIFO semaphore.  A waiter asks for w->tag permits; release serves the
 * queue from the head for as long as the head's request fits, and stops at
 * the first that does not, which is what makes it fair.
 */
struct weft__sem {
	pthread_mutex_t lock;
	size_t permits;
	bool closed;
	struct weft__waitq q;
};

int weft__sem_init(struct weft__sem *s, size_t permits);
void weft__sem_fini(struct weft__sem *s);

/*
 * Polls waiter w for n permits (n is read on the first poll only): 1 when
 * they are the caller's, 0 pending, WEFT_ECLOSED.
 */
int weft__sem_poll(struct weft__sem *s, struct weft__wait *w, size_t n,
                   struct weft_context *cx);

/*
 * The drop of a waiter: leaves the queue, or gives back the permits it was
 * granted but never reported.  A no-op on a finished waiter.
 */
void weft__sem_cancel(struct weft__sem *s, struct weft__wait *w);

int weft__sem_try(struct weft__sem *s, size_t n);
void weft__sem_release(struct weft__sem *s, size_t n);
void weft__sem_close(struct weft__sem *s);
size_t weft__sem_available(struct weft__sem *s);

#endif /* WEFT_LIB_WAITQ_H */
