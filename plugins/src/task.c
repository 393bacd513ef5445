/* SPDX-License-Identifier: MIT */
/*
 * The task core: one allocation per task holding a header and a copy of the
 * future, an atomic state machine, the waker vtable and the join handle.
 * Executors use it through weft_executor_params.tasks and implement only
 * queues, threads and parking (the split of Rust's async-task).
 *
 * Exclusive access to the future is the RUNNING bit: whoever sets it (run,
 * set_close, drop_runnable) may poll or drop the future; nobody else touches
 * it.  That is what makes "never polled on two threads at once" (E6) and
 * "dropped exactly once" (E5) hold by construction.
 *
 * References: the set holds one until the future is dropped, so a task that
 * nobody will ever wake still lives until shutdown drops it; the executor
 * holds one per runnable (SCHEDULED) task; every waker clone holds one; the
 * join handle holds one.  The last release frees the allocation.
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "internal.h"

enum {
	TASK_SCHEDULED = 1u << 0, /* holds a runnable reference */
	TASK_RUNNING = 1u << 1,   /* someone owns the future right now */
	TASK_COMPLETED = 1u << 2, /* poll returned ready; output present */
	TASK_CLOSED = 1u << 3,    /* aborted or shut down */
	TASK_DROPPED = 1u << 4,   /* the future has been dropped */
	TASK_HANDLE = 1u << 5,    /* the join handle is alive */
	TASK_LOCKED = 1u << 6,    /* guards the awaiter waker */
	TASK_TAKEN = 1u << 7,     /* the join handle has returned */
	TASK_OWN_ALLOC = 1u << 8, /* allocation starts with an allocator */
};

struct weft_task {
	struct weft_join join; /* first: a join handle is the task pointer */
	_Atomic uint32_t state;
	_Atomic uint32_t refs;
	struct weft_task_set *set;
	void *link; /* the executor's */
	struct weft_waker awaiter;
	uint32_t slot; /* index in the set's array while the future lives */
};

/* The per-task overhead the executors issue promises: 64 bytes at most. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct weft_task) <= 64,
               "the task header grew past 64 bytes");

/*
 * Live tasks sit in an array, each knowing its index: O(1) insert and
 * swap-remove with one 4-byte field per task instead of two list links.
 */
struct weft_task_set {
	pthread_mutex_t lock;
	struct weft_task **tasks;
	size_t live, cap;
	bool closed;
	weft_task_schedule_fn schedule;
	void *sched;
	struct weft_allocator alloc; /* version 0: libc */
};

/*
 * A task made with an allocator other than libc's keeps a copy of it in
 * front of its header: its last reference may be released after the set
 * (and the runtime) are gone, and must still free through it.
 */
#define TASK_PREFIX_SIZE                                                       \
	((sizeof(struct weft_allocator) + alignof(max_align_t) - 1) &          \
	 ~(alignof(max_align_t) - 1))

/* Set by the runtime around an executor's init; see internal.h. */
static _Thread_local const struct weft_allocator *alloc_hint;

#define TASK_HEADER_SIZE                                                       \
	((sizeof(struct weft_task) + alignof(max_align_t) - 1) &               \
	 ~(alignof(max_align_t) - 1))

static const struct weft_waker_vtable task_waker_vtable;
static const struct weft_join_ops task_join_ops;


static struct weft_future *
task_future(struct weft_task *t)
{
	return (struct weft_future *)((char *)t + TASK_HEADER_SIZE);
}


/* Frees the allocation of t, whose future is already gone or never was. */
static void
task_free(struct weft_task *t)
{
	struct weft_allocator a;
	char *base;

	if (!(atomic_load_explicit(&t->state, memory_order_relaxed) &
	      TASK_OWN_ALLOC)) {
		free(t);
		return;
	}
	base = (char *)t - TASK_PREFIX_SIZE;
	memcpy(&a, base, sizeof(a));
	weft__mem_free(&a, base);
}


static void
task_release(struct weft_task *t)
{
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		task_free(t);
}


static void
task_lock_awaiter(struct weft_task *t)
{
	while (atomic_fetch_or_explicit(&t->state, TASK_LOCKED,
	                                memory_order_acquire) &
	       TASK_LOCKED)
		;
}


static void
task_unlock_awaiter(struct weft_task *t)
{
	atomic_fetch_and_explicit(&t->state, ~(uint32_t)TASK_LOCKED,
	                          memory_order_release);
}


/* Wakes whoever awaits the join handle: the task has finished. */
static void
task_notify_awaiter(struct weft_task *t)
{
	struct weft_waker w;

	task_lock_awaiter(t);
	w = t->awaiter;
	t->awaiter.vtable = NULL;
	task_unlock_awaiter(t);
	weft_waker_wake(&w);
}


/*
 * Drops the future and lets go of the set's reference.  The caller holds
 * RUNNING.  The vtable stays in place so that the join handle can still
 * find the output.
 */
static void
task_drop_future(struct weft_task *t, uint32_t done_bits)
{
	struct weft_future *f = task_future(t);
	struct weft_task_set *set = t->set;

	if (f->vtable->drop)
		f->vtable->drop(f);

	pthread_mutex_lock(&set->lock);
	set->tasks[t->slot] = set->tasks[--set->live];
	set->tasks[t->slot]->slot = t->slot;
	pthread_mutex_unlock(&set->lock);

	atomic_fetch_or_explicit(&t->state, TASK_DROPPED | done_bits,
	                         memory_order_acq_rel);
	atomic_fetch_and_explicit(&t->state, ~(uint32_t)TASK_RUNNING,
	                          memory_order_acq_rel);
	task_notify_awaiter(t);
	task_release(t); /* the set's reference */
}


static void
task_schedule(struct weft_task *t)
{
	t->set->schedule(t->set->sched, t);
}


/* ---- waker ---------------------------------------------------------- */

static struct weft_waker
task_waker_clone(const void *data)
{
	struct weft_task *t = (struct weft_task *)data;
	struct weft_waker w = {&task_waker_vtable, t};

	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return w;
}


static void
task_waker_wake_by_ref(const void *data)
{
	struct weft_task *t = (struct weft_task *)data;
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint32_t next;

	for (;;) {
		if (s & (TASK_COMPLETED | TASK_CLOSED | TASK_DROPPED |
		         TASK_SCHEDULED))
			return; /* finished (W2) or already queued (W3) */
		next = s | TASK_SCHEDULED;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	/*
	 * While RUNNING, the runner sees SCHEDULED after the poll and queues
	 * the task itself with its own reference (W4).
	 */
	if (s & TASK_RUNNING)
		return;
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	task_schedule(t);
}


static void
task_waker_drop(const void *data)
{
	task_release((struct weft_task *)data);
}


static void
task_waker_wake(const void *data)
{
	task_waker_wake_by_ref(data);
	task_waker_drop(data);
}


static const struct weft_waker_vtable task_waker_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = task_waker_clone,
    .wake = task_waker_wake,
    .wake_by_ref = task_waker_wake_by_ref,
    .drop = task_waker_drop,
};


/* ---- sets ----------------------------------------------------------- */

static int
task_set_new(struct weft_task_set **out, weft_task_schedule_fn schedule,
             void *sched)
{
	struct weft_task_set *set;

	if (!out || !schedule)
		return -EINVAL;
	set = weft__mem_calloc(alloc_hint, 1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	if (weft__mem_custom(alloc_hint))
		set->alloc = *alloc_hint;
	pthread_mutex_init(&set->lock, NULL);
	set->schedule = schedule;
	set->sched = sched;
	*out = set;
	return 0;
}


/*
 * Claims the future of one live task for dropping (by setting RUNNING), or
 * returns NULL when none is left.  A task that is running is only marked
 * closed: its runner drops it when the poll returns.
 */
static struct weft_task *
task_set_claim(struct weft_task_set *set)
{
	struct weft_task *t = NULL;
	uint32_t s;
	size_t i;

	pthread_mutex_lock(&set->lock);
	for (i = 0; i < set->live; i++) {
		t = set->tasks[i];
		s = atomic_load_explicit(&t->state, memory_order_acquire);
		while (!(s & (TASK_RUNNING | TASK_DROPPED)) &&
		       !atomic_compare_exchange_weak_explicit(
		           &t->state, &s, s | TASK_CLOSED | TASK_RUNNING,
		           memory_order_acq_rel, memory_order_acquire))
			;
		if (!(s & (TASK_RUNNING | TASK_DROPPED)))
			break;
		atomic_fetch_or(&t->state, TASK_CLOSED);
	}
	if (i == set->live)
		t = NULL;
	if (t)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&set->lock);
	return t;
}


static void
task_set_close(struct weft_task_set *set)
{
	struct weft_task *t;

	pthread_mutex_lock(&set->lock);
	set->closed = true;
	pthread_mutex_unlock(&set->lock);

	/*
	 * Drop futures one at a time outside the lock: a future's drop may
	 * wake or drop wakers of other tasks of this set.
	 */
	while ((t = task_set_claim(set))) {
		task_drop_future(t, 0);
		task_release(t);
	}
}


static int
task_set_free(struct weft_task_set *set)
{
	struct weft_allocator a;

	if (!set)
		return 0;
	pthread_mutex_lock(&set->lock);
	if (set->live) {
		pthread_mutex_unlock(&set->lock);
		return -EBUSY;
	}
	pthread_mutex_unlock(&set->lock);
	pthread_mutex_destroy(&set->lock);
	a = set->alloc;
	weft__mem_free(&a, set->tasks);
	weft__mem_free(&a, set);
	return 0;
}


/* ---- spawn and run -------------------------------------------------- */

/* With the set's lock held. */
static int
task_set_grow(struct weft_task_set *set)
{
	size_t cap = set->cap ? set->cap * 2 : 64;
	struct weft_task **tasks;

	if (cap > UINT32_MAX)
		return -ENOMEM;
	tasks = weft__mem_grow(&set->alloc, set->tasks,
	                       set->cap * sizeof(*tasks), cap * sizeof(*tasks));
	if (!tasks)
		return -ENOMEM;
	set->tasks = tasks;
	set->cap = cap;
	return 0;
}


/* A zeroed header followed by room for a size-byte future. */
static struct weft_task *
task_alloc(struct weft_task_set *set, size_t size)
{
	struct weft_task *t;
	char *base;

	if (size > SIZE_MAX - TASK_HEADER_SIZE - TASK_PREFIX_SIZE)
		return NULL;
	if (!weft__mem_custom(&set->alloc)) {
		t = malloc(TASK_HEADER_SIZE + size);
	} else {
		base = weft__mem_alloc(
		    &set->alloc, TASK_PREFIX_SIZE + TASK_HEADER_SIZE + size);
		if (!base)
			return NULL;
		memcpy(base, &set->alloc, sizeof(set->alloc));
		t = (struct weft_task *)(base + TASK_PREFIX_SIZE);
	}
	if (t)
		memset(t, 0, sizeof(*t));
	return t;
}


static int
task_spawn(struct weft_task_set *set, struct weft_future *future,
           struct weft_task **task, struct weft_join **join)
{
	size_t size = future->vtable->size;
	struct weft_task *t;

	if (size < sizeof(struct weft_future)) {
		weft_future_drop(future);
		return -EINVAL;
	}
	t = task_alloc(set, size);
	if (!t) {
		weft_future_drop(future);
		return -ENOMEM;
	}
	memcpy(task_future(t), future, size); /* the move (F5) */
	t->join.version = 1;
	t->join.ops = &task_join_ops;
	t->set = set;
	atomic_init(&t->state,
	            TASK_SCHEDULED | (join ? TASK_HANDLE : 0u) |
	                (weft__mem_custom(&set->alloc) ? TASK_OWN_ALLOC : 0u));
	atomic_init(&t->refs, 2u + (join ? 1u : 0u));

	pthread_mutex_lock(&set->lock);
	if (set->closed) {
		pthread_mutex_unlock(&set->lock);
		weft_future_drop(task_future(t));
		task_free(t);
		return WEFT_ECLOSED;
	}
	if (set->live == set->cap && task_set_grow(set) < 0) {
		pthread_mutex_unlock(&set->lock);
		weft_future_drop(task_future(t));
		task_free(t);
		return -ENOMEM;
	}
	t->slot = (uint32_t)set->live;
	set->tasks[set->live++] = t;
	pthread_mutex_unlock(&set->lock);

	*task = t;
	if (join)
		*join = &t->join;
	return 0;
}


/* After a pending poll: requeue, drop if aborted meanwhile, or idle. */
static void
task_after_pending(struct weft_task *t)
{
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);

	for (;;) {
		if (s & TASK_CLOSED) {
			/* A wake during the poll took no reference. */
			atomic_fetch_and(&t->state, ~(uint32_t)TASK_SCHEDULED);
			task_drop_future(t, 0);
			task_release(t); /* the runnable reference */
			return;
		}
		if (atomic_compare_exchange_weak_explicit(
		        &t->state, &s, s & ~(uint32_t)TASK_RUNNING,
		        memory_order_acq_rel, memory_order_acquire))
			break;
	}
	if (s & TASK_SCHEDULED)
		task_schedule(t); /* woken during the poll: our ref goes on */
	else
		task_release(t);
}


static void
task_run(struct weft_task *t, struct weft_context *cx)
{
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	struct weft_future *f = task_future(t);
	uint32_t next;

	do {
		next = (s & ~(uint32_t)TASK_SCHEDULED) | TASK_RUNNING;
	} while (!atomic_compare_exchange_weak_explicit(
	    &t->state, &s, next, memory_order_acq_rel, memory_order_acquire));

	if (s & TASK_DROPPED) {
		atomic_fetch_and_explicit(&t->state, ~(uint32_t)TASK_RUNNING,
		                          memory_order_acq_rel);
		task_release(t);
		return;
	}
	if (s & TASK_CLOSED) {
		task_drop_future(t, 0);
		task_release(t);
		return;
	}

	cx->waker.vtable = &task_waker_vtable;
	cx->waker.data = t;
	if (f->vtable->poll(f, cx) == WEFT_READY) {
		task_drop_future(t, TASK_COMPLETED);
		task_release(t);
		return;
	}
	task_after_pending(t);
}


static void
task_drop_runnable(struct weft_task *t)
{
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint32_t next;

	do {
		next = (s & ~(uint32_t)TASK_SCHEDULED) | TASK_RUNNING |
		       TASK_CLOSED;
	} while (!atomic_compare_exchange_weak_explicit(
	    &t->state, &s, next, memory_order_acq_rel, memory_order_acquire));

	if (s & TASK_DROPPED)
		atomic_fetch_and_explicit(&t->state, ~(uint32_t)TASK_RUNNING,
		                          memory_order_acq_rel);
	else
		task_drop_future(t, 0);
	task_release(t);
}


static void **
task_link(struct weft_task *t)
{
	return &t->link;
}


/* ---- join handle ---------------------------------------------------- */

static int
task_join_take(struct weft_task *t, uint32_t s, void *out, size_t out_size)
{
	const struct weft_future_vtable *vt = task_future(t)->vtable;

	if (!(s & TASK_COMPLETED)) {
		atomic_fetch_or(&t->state, TASK_TAKEN);
		return WEFT_ECANCELED;
	}
	if (out_size && out_size < vt->output_size)
		return -EMSGSIZE;
	if (out_size && vt->output_size)
		memcpy(out, (char *)task_future(t) + vt->output_offset,
		       vt->output_size);
	atomic_fetch_or(&t->state, TASK_TAKEN);
	return 1;
}


static int
task_join_poll(struct weft_join *j, struct weft_context *cx, void *out,
               size_t out_size)
{
	struct weft_task *t = (struct weft_task *)j;
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);

	if (s & TASK_TAKEN)
		return WEFT_ETAKEN;
	if (s & TASK_DROPPED)
		return task_join_take(t, s, out, out_size);

	task_lock_awaiter(t);
	weft_waker_store(&t->awaiter, &cx->waker);
	task_unlock_awaiter(t);

	/* Completion publishes DROPPED before it takes the awaiter. */
	s = atomic_load_explicit(&t->state, memory_order_acquire);
	if (s & TASK_DROPPED)
		return task_join_take(t, s, out, out_size);
	return 0;
}


static void
task_join_abort(struct weft_join *j)
{
	struct weft_task *t = (struct weft_task *)j;
	uint32_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint32_t next;

	for (;;) {
		if (s & (TASK_COMPLETED | TASK_CLOSED | TASK_DROPPED))
			return;
		next = s | TASK_CLOSED;
		/* Idle: schedule it so the executor drops it on its side. */
		if (!(s & (TASK_SCHEDULED | TASK_RUNNING)))
			next |= TASK_SCHEDULED;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	if (!(s & (TASK_SCHEDULED | TASK_RUNNING))) {
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
		task_schedule(t);
	}
}


static void
task_join_release(struct weft_join *j)
{
	struct weft_task *t = (struct weft_task *)j;
	struct weft_waker w;

	task_lock_awaiter(t);
	w = t->awaiter;
	t->awaiter.vtable = NULL;
	atomic_fetch_and(&t->state, ~(uint32_t)TASK_HANDLE);
	task_unlock_awaiter(t);
	weft_waker_drop(&w);
	task_release(t);
}


static const struct weft_join_ops task_join_ops = {
    .version = WEFT_JOIN_OPS_VERSION,
    .poll = task_join_poll,
    .abort = task_join_abort,
    .release = task_join_release,
};

const struct weft_task_core weft__task_core = {
    .version = WEFT_TASK_CORE_VERSION,
    .set_new = task_set_new,
    .set_close = task_set_close,
    .set_free = task_set_free,
    .spawn = task_spawn,
    .run = task_run,
    .drop_runnable = task_drop_runnable,
    .link = task_link,
};


const struct weft_allocator *
weft__task_alloc_hint(const struct weft_allocator *alloc)
{
	const struct weft_allocator *old = alloc_hint;

	alloc_hint = alloc;
	return old;
}
