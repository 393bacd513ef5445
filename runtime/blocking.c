/* SPDX-License-Identifier: MIT */
/*
 * The runtime's pool of blocking threads: where spawn_blocking, file I/O
 * and name resolution run so that they never stall an executor's worker.
 *
 * Threads are started on demand up to a bound and then reused; a job that
 * finds every thread busy waits in a FIFO.  Closing the pool runs the jobs
 * still queued (their callers own memory that only the job releases) and
 * waits for every thread to exit, so nothing outlives the runtime — or,
 * with a time limit, waits at most that long and then detaches the threads
 * still busy: they finish their jobs (and the queue) on their own.
 *
 * A deferred pool (for deterministic executors, E13) starts no thread at
 * all: its jobs wait in the FIFO until the driver's park runs them on the
 * parking thread (weft__blocking_run_queued), or the close runs them.
 *
 * So that a detached thread never touches freed memory, the pool is
 * reference-counted: one reference for its owner (the driver) and one per
 * thread, dropped when the thread exits; the last one frees it.  A
 * detached thread touches only the pool, its jobs and their wakers (which
 * W6 keeps valid after close), and the pool carries its own copy of the
 * allocator, so it needs nothing of the runtime's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "internal.h"

struct job {
	struct job *next;
	void (*fn)(void *arg);
	void *arg;
	struct weft_waker done;
};

struct weft__blocking {
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* jobs queued, or closed */
	pthread_cond_t exited; /* a thread exited (CLOCK_MONOTONIC) */
	struct job *first, *last;
	pthread_t *threads;
	unsigned max, started, idle;
	unsigned alive; /* threads started and not yet exited */
	unsigned refs;  /* the owner's, plus one per alive thread */
	bool closed;
	bool settled; /* a close joined or detached every thread */
	bool detached;
	bool deferred; /* starts no thread: jobs run at run_queued */
	const struct weft_allocator *alloc; /* &alloc_copy, or NULL: libc */
	struct weft_allocator alloc_copy; /* outlives the runtime's settings */
};


WEFT__HIDDEN int
weft__blocking_new(struct weft__blocking **out, unsigned max_threads)
{
	return weft__blocking_new_with(out, max_threads, NULL);
}


WEFT__HIDDEN int
weft__blocking_new_with(struct weft__blocking **out, unsigned max_threads,
                        const struct weft_allocator *alloc)
{
	struct weft__blocking *b;
	pthread_condattr_t attr;

	if (max_threads == 0)
		max_threads = WEFT__BLOCKING_DEFAULT;
	b = weft__mem_calloc(alloc, 1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (alloc) {
		b->alloc_copy = *alloc;
		b->alloc = &b->alloc_copy;
	}
	b->threads =
	    weft__mem_calloc(b->alloc, max_threads, sizeof(*b->threads));
	if (!b->threads) {
		weft__mem_free(alloc, b);
		return -ENOMEM;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	/* The close's time limit is on the monotonic clock, as weft's. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&b->exited, &attr);
	pthread_condattr_destroy(&attr);
	b->max = max_threads;
	b->refs = 1;
	*out = b;
	return 0;
}


WEFT__HIDDEN int
weft__blocking_new_deferred(struct weft__blocking **out,
                            const struct weft_allocator *alloc)
{
	int r = weft__blocking_new_with(out, 1, alloc);

	if (r == 0)
		(*out)->deferred = true;
	return r;
}


static struct job *
pool_pop(struct weft__blocking *b)
{
	struct job *j = b->first;

	if (j) {
		b->first = j->next;
		if (!b->first)
			b->last = NULL;
	}
	return j;
}


static void
job_run(struct weft__blocking *b, struct job *j)
{
	j->fn(j->arg);
	weft_waker_wake(&j->done);
	weft__mem_free(b->alloc, j);
}


/* Frees the pool: its last reference is gone, so no thread uses it. */
static void
pool_destroy(struct weft__blocking *b)
{
	/* b->alloc points into b: copy it before b goes. */
	struct weft_allocator a = b->alloc_copy;
	const struct weft_allocator *alloc = b->alloc ? &a : NULL;

	pthread_cond_destroy(&b->exited);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	weft__mem_free(alloc, b->threads);
	weft__mem_free(alloc, b);
}


/* Drops a reference with the lock held; unlocks; frees on the last. */
static void
pool_unref_unlock(struct weft__blocking *b)
{
	bool last = --b->refs == 0;

	pthread_mutex_unlock(&b->lock);
	if (last)
		pool_destroy(b);
}


static void *
pool_thread(void *data)
{
	struct weft__blocking *b = data;
	struct job *j;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		j = pool_pop(b);
		if (j) {
			pthread_mutex_unlock(&b->lock);
			job_run(b, j);
			pthread_mutex_lock(&b->lock);
			continue;
		}
		if (b->closed)
			break;
		b->idle++;
		pthread_cond_wait(&b->cond, &b->lock);
		b->idle--;
	}
	if (--b->alive == 0)
		pthread_cond_broadcast(&b->exited);
	/* The last thing this thread does with b: it may free it. */
	pool_unref_unlock(b);
	return NULL;
}


WEFT__HIDDEN int
weft__blocking_spawn(struct weft__blocking *b, void (*fn)(void *arg), void *arg,
                     struct weft_waker *done)
{
	struct job *j;
	int r = 0;

	if (!fn || !done)
		return -EINVAL;
	j = weft__mem_calloc(b->alloc, 1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;

	pthread_mutex_lock(&b->lock);
	if (b->closed) {
		r = WEFT_ECLOSED;
		goto fail;
	}
	if (!b->deferred && b->idle == 0 && b->started < b->max) {
		r = -pthread_create(&b->threads[b->started], NULL, pool_thread,
		                    b);
		if (r < 0 && b->started == 0)
			goto fail; /* no thread at all would ever run it */
		if (r == 0) {
			b->started++;
			b->alive++;
			b->refs++;
		}
		r = 0;
	}
	j->done = *done;
	done->vtable = NULL;
	if (b->last)
		b->last->next = j;
	else
		b->first = j;
	b->last = j;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
	return 0;

fail:
	pthread_mutex_unlock(&b->lock);
	weft__mem_free(b->alloc, j);
	return r;
}


WEFT__HIDDEN unsigned
weft__blocking_run_queued(struct weft__blocking *b)
{
	struct job *j, *next;
	unsigned n = 0;

	if (!b)
		return 0;
	/*
	 * Only the jobs queued now: one that a job submits waits for the next
	 * call, so a job that resubmits itself cannot hold the caller forever.
	 */
	pthread_mutex_lock(&b->lock);
	j = b->first;
	b->first = b->last = NULL;
	pthread_mutex_unlock(&b->lock);
	for (; j; j = next) {
		next = j->next;
		job_run(b, j);
		n++;
	}
	return n;
}


WEFT__HIDDEN bool
weft__blocking_queued(struct weft__blocking *b)
{
	bool queued;

	if (!b)
		return false;
	pthread_mutex_lock(&b->lock);
	queued = b->first != NULL;
	pthread_mutex_unlock(&b->lock);
	return queued;
}


/* The absolute time limit of a close, on CLOCK_MONOTONIC. */
static struct timespec
close_limit(uint64_t timeout_ns)
{
	struct timespec ts;
	uint64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_nsec + timeout_ns % 1000000000u;
	ts.tv_sec += (time_t)(timeout_ns / 1000000000u + ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	return ts;
}


WEFT__HIDDEN int
weft__blocking_close_timeout(struct weft__blocking *b, uint64_t timeout_ns)
{
	/* Past this, the limit is as good as none (and time_t is safe). */
	bool forever = timeout_ns >= (uint64_t)365 * 24 * 3600 * 1000000000u;
	struct timespec limit;
	struct job *j;
	unsigned started;

	if (!b)
		return 0;
	if (!forever)
		limit = close_limit(timeout_ns);
	pthread_mutex_lock(&b->lock);
	b->closed = true;
	pthread_cond_broadcast(&b->cond);
	if (b->settled) {
		pthread_mutex_unlock(&b->lock);
		return b->detached ? WEFT_ETIMEDOUT : 0;
	}
	while (b->alive > 0) {
		if (forever)
			pthread_cond_wait(&b->exited, &b->lock);
		else if (pthread_cond_timedwait(&b->exited, &b->lock, &limit) ==
		         ETIMEDOUT)
			break;
	}
	/* No thread starts after closed is set, so `started` is final. */
	started = b->started;
	b->settled = true;
	b->detached = b->alive > 0;
	pthread_mutex_unlock(&b->lock);
	if (b->detached) {
		/*
		 * The busy threads hold their references: they finish their
		 * jobs and the queue, and the last of them frees the pool.
		 */
		for (unsigned i = 0; i < started; i++)
			pthread_detach(b->threads[i]);
		return WEFT_ETIMEDOUT;
	}
	/* Every thread has exited or is about to: joining is quick. */
	for (unsigned i = 0; i < started; i++)
		pthread_join(b->threads[i], NULL);
	/* Threads drain the queue before they exit; this is for none
	 * started. */
	pthread_mutex_lock(&b->lock);
	while ((j = pool_pop(b))) {
		pthread_mutex_unlock(&b->lock);
		job_run(b, j);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return 0;
}


WEFT__HIDDEN void
weft__blocking_close(struct weft__blocking *b)
{
	weft__blocking_close_timeout(b, UINT64_MAX);
}


WEFT__HIDDEN void
weft__blocking_free(struct weft__blocking *b)
{
	if (!b)
		return;
	weft__blocking_close(b);
	pthread_mutex_lock(&b->lock);
	pool_unref_unlock(b);
}
