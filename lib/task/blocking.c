/* SPDX-License-Identifier: MIT */
/*
 * spawn_blocking: a future around the driver's pool of blocking threads.
 *
 * The job outlives the future when the future is dropped while fn runs, so
 * its state is reference-counted: one reference for the future, one for
 * the waker handed to the driver (and one per clone of it).  The waker is
 * ours, not the task's: the driver wakes it when fn has returned, and it
 * marks the job done before waking whichever task waits now — the future
 * may have been polled by different wakers since it was submitted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <weft/coro.h>
#include <weft/task.h>
#include <weft/weft.h>

struct weft__blocking_job {
	atomic_uint refs;
	atomic_uint wakers; /* driver-held wakers not yet woken or dropped */
	pthread_mutex_t lock;
	bool submitted; /* only the future reads or writes this */
	bool done;
	int status;
	struct weft_waker waiter;
	void (*fn)(void *data);
	size_t size;
	_Alignas(max_align_t) unsigned char data[];
};


static void
job_unref(struct weft__blocking_job *job)
{
	if (atomic_fetch_sub(&job->refs, 1) == 1) {
		weft_waker_drop(&job->waiter);
		pthread_mutex_destroy(&job->lock);
		weft_free(job);
	}
}


/* Marks the job finished with status and wakes the task waiting on it. */
static void
job_finish(struct weft__blocking_job *job, int status)
{
	struct weft_waker w;

	pthread_mutex_lock(&job->lock);
	if (!job->done) {
		job->done = true;
		job->status = status;
	}
	w = job->waiter;
	job->waiter = (struct weft_waker){0};
	pthread_mutex_unlock(&job->lock);
	weft_waker_wake(&w);
}


/* ---- the waker the driver holds ------------------------------------- */

static const struct weft_waker_vtable job_waker_vtable;

static struct weft_waker
job_waker_clone(const void *data)
{
	struct weft__blocking_job *job = (struct weft__blocking_job *)data;

	atomic_fetch_add(&job->refs, 1);
	atomic_fetch_add(&job->wakers, 1);
	return (struct weft_waker){&job_waker_vtable, data};
}


static void
job_waker_wake_by_ref(const void *data)
{
	job_finish((struct weft__blocking_job *)data, 0);
}


/*
 * A driver that drops its waker without waking it, and without running fn,
 * would leave the future pending forever; when the last driver-held waker
 * goes without a wake, the job is reported cancelled instead.
 */
static void
job_waker_drop(const void *data)
{
	struct weft__blocking_job *job = (struct weft__blocking_job *)data;

	if (atomic_fetch_sub(&job->wakers, 1) == 1)
		job_finish(job, WEFT_ECANCELED);
	job_unref(job);
}


static void
job_waker_wake(const void *data)
{
	job_waker_wake_by_ref(data);
	job_waker_drop(data);
}

static const struct weft_waker_vtable job_waker_vtable = {
    WEFT_WAKER_VTABLE_VERSION, job_waker_clone, job_waker_wake,
    job_waker_wake_by_ref,     job_waker_drop,
};


static void
job_run(void *arg)
{
	struct weft__blocking_job *job = arg;

	job->fn(job->data);
}


/* ---- the future ----------------------------------------------------- */

static int
blocking_submit(struct weft__blocking_job *job, struct weft_context *cx)
{
	struct weft_waker w = {&job_waker_vtable, job};
	int r;

	atomic_fetch_add(&job->refs, 1);
	atomic_store(&job->wakers, 1);
	r = weft_driver_blocking(cx->driver, job_run, job, &w);
	if (r < 0) {
		/* fn never runs and w is still ours: take it back quietly. */
		atomic_store(&job->wakers, 0);
		atomic_fetch_sub(&job->refs, 1);
		return r;
	}
	job->submitted = true;
	return 0;
}


static weft_poll
blocking_poll(struct weft_future *f, struct weft_context *cx)
{
	struct weft_blocking *b = (struct weft_blocking *)f;
	struct weft__blocking_job *job = b->job;
	bool done;
	int r;

	if (!job)
		return WEFT_READY; /* status was set by init */
	/* The waiter is stored before submitting, so no wake is missed. */
	pthread_mutex_lock(&job->lock);
	done = job->done;
	if (!done)
		weft_waker_store(&job->waiter, &cx->waker);
	pthread_mutex_unlock(&job->lock);
	if (!done && !job->submitted) {
		r = blocking_submit(job, cx);
		if (r < 0) {
			b->status = r;
			b->job = NULL;
			job_unref(job);
			return WEFT_READY;
		}
		return WEFT_PENDING;
	}
	if (!done)
		return WEFT_PENDING;
	b->status = job->status;
	if (job->status == 0 && b->out)
		memcpy(b->out, job->data, job->size);
	b->job = NULL;
	job_unref(job);
	return WEFT_READY;
}


static void
blocking_drop(struct weft_future *f)
{
	struct weft_blocking *b = (struct weft_blocking *)f;

	struct weft_waker w;

	if (b->job) {
		/*
		 * fn may still run: the job frees itself when it has.  The
		 * task's waker is released now rather than then, so that a
		 * long job does not keep a finished task's memory alive.
		 */
		pthread_mutex_lock(&b->job->lock);
		w = b->job->waiter;
		b->job->waiter = (struct weft_waker){0};
		pthread_mutex_unlock(&b->job->lock);
		weft_waker_drop(&w);
		job_unref(b->job);
		b->job = NULL;
	}
}

WEFT_FUTURE_VTABLE(blocking_vtable, struct weft_blocking, status, blocking_poll,
                   blocking_drop);


WEFT_EXPORT void
weft_blocking_init(struct weft_blocking *b, void (*fn)(void *data),
                   const void *data, size_t size, void *out)
{
	struct weft__blocking_job *job = weft_alloc(sizeof(*job) + size);

	*b =
	    (struct weft_blocking){.base.vtable = &blocking_vtable, .out = out};
	if (!job) {
		b->status = -ENOMEM;
		return;
	}
	memset(job, 0, sizeof(*job));
	atomic_init(&job->refs, 1);
	atomic_init(&job->wakers, 0);
	pthread_mutex_init(&job->lock, NULL);
	job->fn = fn;
	job->size = size;
	if (size)
		memcpy(job->data, data, size);
	b->job = job;
}
