/* SPDX-License-Identifier: MIT */
/*
 * The runtime's pool of blocking threads: where spawn_blocking, file I/O
 * and name resolution run so that they never stall an executor's worker.
 *
 * Threads are started on demand up to a bound and then reused; a job that
 * finds every thread busy waits in a FIFO.  Closing the pool runs the jobs
 * still queued (their callers own memory that only the job releases) and
 * joins every thread, so nothing outlives the runtime.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

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
	pthread_cond_t cond;
	struct job *first, *last;
	pthread_t *threads;
	unsigned max, started, idle;
	bool closed;
	const struct weft_allocator *alloc; /* the runtime's; NULL: libc */
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

	if (max_threads == 0)
		max_threads = WEFT__BLOCKING_DEFAULT;
	b = weft__mem_calloc(alloc, 1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->alloc = alloc;
	b->threads = weft__mem_calloc(alloc, max_threads, sizeof(*b->threads));
	if (!b->threads) {
		weft__mem_free(alloc, b);
		return -ENOMEM;
	}
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->max = max_threads;
	*out = b;
	return 0;
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
	pthread_mutex_unlock(&b->lock);
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
	if (b->idle == 0 && b->started < b->max) {
		r = -pthread_create(&b->threads[b->started], NULL, pool_thread,
		                    b);
		if (r < 0 && b->started == 0)
			goto fail; /* no thread at all would ever run it */
		if (r == 0)
			b->started++;
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


WEFT__HIDDEN void
weft__blocking_close(struct weft__blocking *b)
{
	struct job *j;
	unsigned started;

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	if (b->closed) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	b->closed = true;
	started = b->started;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
	/* No thread starts after closed is set, so `started` is final. */
	for (unsigned i = 0; i < started; i++)
		pthread_join(b->threads[i], NULL);
	/* Threads drain the queue before they exit; this is for none started.
	 */
	pthread_mutex_lock(&b->lock);
	while ((j = pool_pop(b))) {
		pthread_mutex_unlock(&b->lock);
		job_run(b, j);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
}


WEFT__HIDDEN void
weft__blocking_free(struct weft__blocking *b)
{
	if (!b)
		return;
	weft__blocking_close(b);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	weft__mem_free(b->alloc, b->threads);
	weft__mem_free(b->alloc, b);
}
