/* SPDX-License-Identifier: MIT */
/*
 * The task core: one allocation per task holding a header and a copy of the
 * future, an atomic state machine, the waker vtable and the join handle.
 * Executors use it through weft_executor_params.tasks and implement only
 * queues, threads and parking (the split of Rust's async-task).  The
 * layout and the live-task set are in taskcore.h and taskset.c.
 *
 * Exclusive access to the future is the RUNNING bit: whoever sets it (run,
 * set_close, drop_runnable) may poll or drop the future; nobody else touches
 * it.  That is what makes "never polled on two threads at once" (E6) and
 * "dropped exactly once" (E5) hold by construction.
 *
 * References: the set holds one until the future is dropped, so a task that
 * nobody will ever wake still lives until shutdown drops it; the executor
 * holds one per runnable (SCHEDULED) task; every waker clone holds one; the
 * join handle holds one.  The last release frees the allocation.  The count
 * shares the state word with the flags, so that a transition takes or gives
 * back its references in the same atomic operation: a wake that schedules
 * takes the runnable reference with SCHEDULED (a wake by value hands over
 * the waker's own), and completion gives back the set's and the runnable
 * one with DROPPED.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "internal.h"
#include "observe.h"
#include "taskcore.h"

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
static _Thread_local struct weft__observe *observe_hint;

/*
 * The label for this thread's next spawn (weft_spawn_label).  Spawn goes
 * through the executor plugin, whose ABI carries no name or location, so
 * lib's spawn macros leave them here just before calling it and the task
 * core takes them (and clears them) when the spawn reaches it.  Written
 * only while some runtime observes (weft__observing), so that a program
 * that does not look pays one load per labelled spawn.
 */
static _Thread_local struct {
	const char *name;
	const char *file;
	int line;
} spawn_label __attribute__((tls_model("initial-exec")));

/*
 * Wakes until this thread times the next one (see observe.h): 0 times the
 * first, then a random 1..127.
 */
static _Thread_local uint32_t wake_countdown
    __attribute__((tls_model("initial-exec")));
static _Thread_local uint32_t wake_rng
    __attribute__((tls_model("initial-exec")));

/* The task is finished: a wake does nothing (W2). */
#define TASK_FINISHED (TASK_COMPLETED | TASK_CLOSED | TASK_DROPPED)

static const struct weft_waker_vtable task_waker_vtable;
static const struct weft_waker_vtable task_waker_vtable_observed;
static const struct weft_join_ops task_join_ops;

_Thread_local struct weft_task_set *weft__taskset_running
    __attribute__((tls_model("initial-exec")));

#ifndef NDEBUG
void (*weft__test_schedule_hook)(void);
#endif


static struct weft_future *
task_future(struct weft_task *t)
{
	return (struct weft_future *)((char *)t + TASK_HEADER_SIZE);
}


/* task_free's rest: a task with facts or an allocator of its own. */
static __attribute__((noinline)) void
task_free_rest(struct weft_task *t, uint64_t s)
{
	struct weft__task_facts *facts = NULL;
	struct weft_allocator a;
	char *base = (char *)t;

	if (s & TASK_FACTS)
		facts = weft__slot_facts(atomic_load_explicit(
		    weft__task_slot(t, s), memory_order_acquire));
	if (!(s & TASK_OWN_ALLOC)) {
		free(facts);
		free(base);
		return;
	}
	base -= TASK_PREFIX_SIZE;
	memcpy(&a, base, sizeof(a));
	weft__mem_free(&a, facts);
	weft__mem_free(&a, base);
}


/*
 * Frees the allocation of t, whose future is already gone or never was.
 * Out of line: it is the cold end of every path that lets go of a task.
 */
static __attribute__((noinline)) void
task_free(struct weft_task *t)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_relaxed);

	if (__builtin_expect(!(s & (TASK_OWN_ALLOC | TASK_FACTS)), 1) ||
	    (!(s & TASK_OWN_ALLOC) &&
	     !(atomic_load_explicit(weft__task_slot(t, s),
	                            memory_order_relaxed) &
	       TASK_SLOT_FACTS)))
		free(t); /* no facts of its own: one block */
	else
		task_free_rest(t, s);
}


/*
 * Gives a task its facts, at the end of its first poll that returned
 * pending (or of a first poll that is timed): from the same allocator as
 * the task, freed with it.  NULL when out of memory: the task is then
 * only counted as it was, by its label.
 */
struct weft__task_facts *
weft__task_facts_new(struct weft_task *t, _Atomic uintptr_t *slot)
{
	struct weft_task_set *set = t->set;
	uintptr_t v = atomic_load_explicit(slot, memory_order_relaxed);
	struct weft__task_facts *facts;

	if (v & TASK_SLOT_FACTS)
		return weft__slot_facts(v);
	facts =
	    weft__mem_calloc(weft__mem_custom(&set->alloc) ? &set->alloc : NULL,
	                     1, sizeof(*facts));
	if (!facts)
		return NULL;
	facts->label = (const struct weft__label *)v;
	/* The first poll is the one that ends now. */
	atomic_init(&facts->polls, 1);
	atomic_store_explicit(slot, (uintptr_t)facts | TASK_SLOT_FACTS,
	                      memory_order_release);
	return facts;
}


/* Gives back n references. */
static void
task_release(struct weft_task *t, uint64_t n)
{
	uint64_t s = atomic_fetch_sub_explicit(&t->state, n * TASK_REF_ONE,
	                                       memory_order_acq_rel);

	WEFT_ASSERT(TASK_REFS(s) >= n); /* a reference given back twice */
	if (TASK_REFS(s) == n)
		task_free(t);
}


/*
 * The awaiter's lock bit guards a few stores, never a call out of the task
 * core: wakers are cloned, woken and dropped only with it released.
 */
static void
task_lock_awaiter(struct weft_task *t)
{
	unsigned spins = 0;

	while (atomic_fetch_or_explicit(&t->state, TASK_LOCKED,
	                                memory_order_acquire) &
	       TASK_LOCKED) {
		while (atomic_load_explicit(&t->state, memory_order_relaxed) &
		       TASK_LOCKED)
			weft__spin_backoff(&spins);
	}
}


static void
task_unlock_awaiter(struct weft_task *t)
{
	atomic_fetch_and_explicit(&t->state, ~(uint64_t)TASK_LOCKED,
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
 * Drops the future, takes the task out of the set, then in one step
 * publishes DROPPED (with done_bits), lets go of RUNNING and gives back
 * `refs` references: the set's, plus the caller's runnable one if it holds
 * one.  The caller holds RUNNING.  The vtable stays in place so that the
 * join handle can still find the output.
 */
static void
task_drop_future(struct weft_task *t, uint64_t done_bits, uint64_t refs)
{
	struct weft_future *f = task_future(t);
	uint64_t s, next;

	s = atomic_load_explicit(&t->state, memory_order_relaxed);
	WEFT_ASSERT((s & TASK_RUNNING) && !(s & TASK_DROPPED));
	if (f->vtable->drop)
		f->vtable->drop(f);
	weft__taskset_unlink(t->set, t);

	s = atomic_load_explicit(&t->state, memory_order_relaxed);
	do {
		next = (s | TASK_DROPPED | done_bits) & ~(uint64_t)TASK_RUNNING;
		/* With a join handle, keep one to wake its awaiter. */
		next -= (s & TASK_HANDLE ? refs - 1 : refs) * TASK_REF_ONE;
	} while (!atomic_compare_exchange_weak_explicit(
	    &t->state, &s, next, memory_order_acq_rel, memory_order_relaxed));

	if (s & TASK_HANDLE) {
		task_notify_awaiter(t);
		task_release(t, 1);
	} else if (TASK_REFS(next) == 0) {
		task_free(t);
	}
}


/* The sampled wake: its time, for the poll it leads to to measure. */
static __attribute__((noinline, cold)) void
task_time_wake(struct weft_task *t)
{
	struct weft__task_facts *facts;
	uint64_t s;
	uint32_t x = wake_rng ? wake_rng : 0x9e3779b9u ^ (uint32_t)(uintptr_t)t;

	x ^= x << 13; /* xorshift32 */
	x ^= x >> 17;
	x ^= x << 5;
	wake_rng = x;
	wake_countdown = x % 127; /* the next one after 1..127 wakes */
	s = atomic_load_explicit(&t->state, memory_order_relaxed);
	if (!(s & TASK_FACTS))
		return;
	/* Not before its first poll has ended: the sample is let go. */
	facts = weft__slot_facts(
	    atomic_load_explicit(weft__task_slot(t, s), memory_order_acquire));
	if (facts)
		atomic_store_explicit(&facts->woke_ns, weft__observe_now(),
		                      memory_order_relaxed);
}


/*
 * A wake that queues t, a task with facts: one in 64 on this thread is
 * timed.  A countdown in a thread-local, no shared write.
 */
static inline void
task_observe_wake(struct weft_task *t)
{
	if (__builtin_expect(wake_countdown-- == 0, 0))
		task_time_wake(t);
}


/*
 * Hands a runnable task to its executor, from a wake made anywhere: the
 * caller has set SCHEDULED and holds the runnable reference.  The set's
 * guard keeps the call out of an executor that set_close has begun to
 * close; the reference then goes back, and set_close drops the future.  A
 * task that is already dropped belongs to an earlier life of a reborn set
 * (see taskset.c) and goes back the same way.
 */
static __attribute__((noinline)) void
task_schedule_guarded(struct weft_task *t, struct weft_task_set *set)
{
#ifndef NDEBUG
	if (weft__test_schedule_hook)
		weft__test_schedule_hook();
#endif
	if (weft__taskset_enter(set)) {
		if (!(atomic_load(&t->state) & TASK_DROPPED)) {
			set->schedule(set->sched, t);
			weft__taskset_leave(set);
			return;
		}
		weft__taskset_leave(set);
	}
	task_release(t, 1);
}


/*
 * Every hot function below comes twice, from one always-inline body with a
 * constant `observed`: the plain task core (weft__task_core, and wakers of
 * task_waker_vtable) has no trace of observation, and the observed one is
 * handed only to the executor of a runtime that observes.
 */
#define TASK_INLINE static inline __attribute__((always_inline))

TASK_INLINE void
task_schedule(struct weft_task *t, bool observed)
{
	struct weft_task_set *set = t->set;

	WEFT__PROBE1(task__wake, t->id);
	if (observed)
		task_observe_wake(t);
	/* On the executor's own thread inside run: no close can overlap. */
	if (weft__taskset_running == set)
		set->schedule(set->sched, t);
	else
		task_schedule_guarded(t, set);
}


/* ---- waker ---------------------------------------------------------- */

TASK_INLINE struct weft_waker
task_waker_clone_as(const void *data, bool observed)
{
	struct weft_task *t = (struct weft_task *)data;
	struct weft_waker w = {
	    observed ? &task_waker_vtable_observed : &task_waker_vtable, t};

	atomic_fetch_add_explicit(&t->state, TASK_REF_ONE,
	                          memory_order_relaxed);
	return w;
}


TASK_INLINE void
task_waker_wake_by_ref_as(const void *data, bool observed)
{
	struct weft_task *t = (struct weft_task *)data;
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & (TASK_FINISHED | TASK_SCHEDULED))
			return; /* finished (W2) or already queued (W3) */
		if (s & TASK_RUNNING) {
			/*
			 * The runner sees SCHEDULED after the poll and queues
			 * the task itself with its own reference (W4).
			 */
			if (atomic_compare_exchange_weak_explicit(
			        &t->state, &s, s | TASK_SCHEDULED,
			        memory_order_acq_rel, memory_order_acquire))
				return;
			continue;
		}
		/* Idle: the queue's reference is taken in the same step. */
		next = (s | TASK_SCHEDULED) + TASK_REF_ONE;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	task_schedule(t, observed);
}


static void
task_waker_drop(const void *data)
{
	task_release((struct weft_task *)data, 1);
}


/* As wake_by_ref, but the waker's reference becomes the queue's. */
TASK_INLINE void
task_waker_wake_as(const void *data, bool observed)
{
	struct weft_task *t = (struct weft_task *)data;
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & (TASK_FINISHED | TASK_SCHEDULED | TASK_RUNNING)) {
			/* Nothing to queue: the waker's reference goes. */
			next = s - TASK_REF_ONE;
			if (!(s & (TASK_FINISHED | TASK_SCHEDULED)))
				next |= TASK_SCHEDULED; /* W4 */
		} else {
			next = s | TASK_SCHEDULED;
		}
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	if (!(s & (TASK_FINISHED | TASK_SCHEDULED | TASK_RUNNING)))
		task_schedule(t, observed);
	else if (TASK_REFS(next) == 0)
		task_free(t);
}


static struct weft_waker
task_waker_clone(const void *data)
{
	return task_waker_clone_as(data, false);
}

static void
task_waker_wake_by_ref(const void *data)
{
	task_waker_wake_by_ref_as(data, false);
}

static void
task_waker_wake(const void *data)
{
	task_waker_wake_as(data, false);
}

static const struct weft_waker_vtable task_waker_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = task_waker_clone,
    .wake = task_waker_wake,
    .wake_by_ref = task_waker_wake_by_ref,
    .drop = task_waker_drop,
};

/* The wakers of an observed runtime's tasks: wakes are sampled. */
static struct weft_waker
task_waker_clone_observed(const void *data)
{
	return task_waker_clone_as(data, true);
}

static void
task_waker_wake_by_ref_observed(const void *data)
{
	task_waker_wake_by_ref_as(data, true);
}

static void
task_waker_wake_observed(const void *data)
{
	task_waker_wake_as(data, true);
}

static const struct weft_waker_vtable task_waker_vtable_observed = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = task_waker_clone_observed,
    .wake = task_waker_wake_observed,
    .wake_by_ref = task_waker_wake_by_ref_observed,
    .drop = task_waker_drop,
};


/* ---- block_on's root waker ------------------------------------------ */

static const struct weft_waker_vtable root_waker_vtable;


static void
root_release(struct weft__root *root)
{
	uint64_t n = atomic_fetch_sub(&root->refs, 1);

	WEFT_ASSERT(n > 0);
	if (n == 1)
		free(root);
}


static struct weft_waker
root_clone(const void *data)
{
	struct weft__root *root = (struct weft__root *)data;
	struct weft_waker w = {&root_waker_vtable, root};

	atomic_fetch_add_explicit(&root->refs, 1, memory_order_relaxed);
	return w;
}


/*
 * The set a root points to is type-stable; `closed` tells whether that set
 * is still the root's own life.  Checked inside the guard, so set_close
 * (which raises it before waiting the guard out) never overlaps the call.
 */
static void
root_wake_by_ref(const void *data)
{
	struct weft__root *root = (struct weft__root *)data;
	struct weft_task_set *set = root->set;
	void (*wake)(void *sched);

	if (atomic_load(&root->closed) || !weft__taskset_enter(set))
		return;
	wake = atomic_load(&root->wake);
	if (!atomic_load(&root->closed) && wake)
		wake(set->sched);
	weft__taskset_leave(set);
}


static void
root_drop(const void *data)
{
	root_release((struct weft__root *)data);
}


static void
root_wake(const void *data)
{
	root_wake_by_ref(data);
	root_drop(data);
}


static const struct weft_waker_vtable root_waker_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = root_clone,
    .wake = root_wake,
    .wake_by_ref = root_wake_by_ref,
    .drop = root_drop,
};


/*
 * Made on the first call, by block_on's thread; the set holds it until
 * set_free.  Libc's memory: a clone may be dropped after the runtime's
 * allocator is gone.
 */
static struct weft_waker
task_root_waker(struct weft_task_set *set, void (*wake)(void *sched))
{
	struct weft__root *root = set ? set->root : NULL;

	if (!set || !wake)
		return (struct weft_waker){0, 0};
	if (!root) {
		root = calloc(1, sizeof(*root));
		if (!root)
			return (struct weft_waker){0, 0};
		atomic_init(&root->refs, 1);
		atomic_init(&root->closed, atomic_load(&set->closing));
		root->set = set;
		set->root = root;
	}
	if (atomic_load_explicit(&root->wake, memory_order_relaxed) != wake)
		atomic_store(&root->wake, wake);
	return (struct weft_waker){&root_waker_vtable, root};
}


/* ---- sets ----------------------------------------------------------- */

TASK_INLINE int
task_set_new_as(struct weft_task_set **out, weft_task_schedule_fn schedule,
                void *sched, bool observed)
{
	struct weft_task_set *set;

	if (!out || !schedule)
		return -EINVAL;
	/*
	 * The observed core is handed out with its observation named for
	 * the executor's init (weft__task_core_for): a set made outside that
	 * init could not be found by weft_runtime_tasks either.
	 */
	if (observed && !(observe_hint && observe_hint->timing))
		return -EINVAL;
	set = weft__taskset_new(alloc_hint);
	if (!set)
		return -ENOMEM;
	set->schedule = schedule;
	set->sched = sched;
	/*
	 * The runtime finds its set through the observation; the tasks keep
	 * facts only when someone looks (console or slow-poll threshold).
	 */
	set->obs = observe_hint && observe_hint->timing ? observe_hint : NULL;
	if (observe_hint)
		atomic_store(&observe_hint->set, set);
	*out = set;
	return 0;
}


static int
task_set_new(struct weft_task_set **out, weft_task_schedule_fn schedule,
             void *sched)
{
	return task_set_new_as(out, schedule, sched, false);
}


static int
task_set_new_observed(struct weft_task_set **out,
                      weft_task_schedule_fn schedule, void *sched)
{
	return task_set_new_as(out, schedule, sched, true);
}


static void
task_set_close(struct weft_task_set *set)
{
	struct weft_task *t;

	weft__taskset_close(set);
	/* From here on no wake reaches the executor (W6). */
	weft__taskset_quiesce(set);
	/*
	 * Drop futures one at a time outside the set's locks: a future's drop
	 * may wake or drop wakers of other tasks of this set.  A claimed
	 * task is alive at least until its drop gives back the set's
	 * reference.
	 */
	while ((t = weft__taskset_claim(set)))
		task_drop_future(t, 0, 1);
}


static void root_release(struct weft__root *root);

static int
task_set_free(struct weft_task_set *set)
{
	struct weft__root *root;
	int r;

	if (!set)
		return 0;
	root = set->root;
	r = weft__taskset_free(set);
	if (r == 0 && root)
		/* The set's reference; clones keep theirs. */
		root_release(root);
	return r;
}


/* ---- spawn and run -------------------------------------------------- */

/*
 * A zeroed header followed by room for a size-byte future and `extra`
 * bytes.
 */
TASK_INLINE struct weft_task *
task_alloc(struct weft_task_set *set, size_t size, size_t extra)
{
	char *base;

	if (size > SIZE_MAX - TASK_HEADER_SIZE - TASK_PREFIX_SIZE - extra)
		return NULL;
	if (!weft__mem_custom(&set->alloc)) {
		base = malloc(TASK_HEADER_SIZE + size + extra);
		if (!base)
			return NULL;
	} else {
		base = weft__mem_alloc(&set->alloc, TASK_PREFIX_SIZE +
		                                        TASK_HEADER_SIZE +
		                                        size + extra);
		if (!base)
			return NULL;
		memcpy(base, &set->alloc, sizeof(set->alloc));
		base += TASK_PREFIX_SIZE;
	}
	memset(base, 0, sizeof(struct weft_task));
	return (struct weft_task *)base;
}


/* Forgets this thread's spawn label (see spawn_label). */
static __attribute__((noinline, cold)) void
task_label_clear(void)
{
	spawn_label.file = spawn_label.name = NULL;
	spawn_label.line = 0;
}


/*
 * The last label this thread interned, so that a loop of spawns from one
 * place finds it without the observation's lock.
 */
static _Thread_local struct {
	uint64_t gen;
	const char *file;
	int line;
	const struct weft__label *label;
} label_cache __attribute__((tls_model("initial-exec")));

/* This thread's label for its spawn into obs, taken (and cleared). */
static const struct weft__label *
task_take_label(struct weft__observe *obs)
{
	const char *name = spawn_label.name, *file = spawn_label.file;
	int line = spawn_label.line;
	const struct weft__label *l = label_cache.label;

	if (!name && !file)
		return NULL;
	spawn_label.file = spawn_label.name = NULL;
	if (!(l && label_cache.gen == obs->gen && label_cache.file == file &&
	      label_cache.line == line &&
	      strncmp(l->name, name ? name : "", sizeof(l->name) - 1) == 0)) {
		l = weft__observe_label(obs, name, file, line);
		label_cache.gen = obs->gen;
		label_cache.file = file;
		label_cache.line = line;
		label_cache.label = l;
	}
	return l;
}


TASK_INLINE int
task_spawn_as(struct weft_task_set *set, struct weft_future *future,
              struct weft_task **task, struct weft_join **join, bool observed)
{
	size_t size = future->vtable->size;
	/* An observed task's facts slot follows its future's words. */
	size_t words = (size + 7) / 8;
	bool facts = observed && words <= TASK_WORDS_MAX;
	struct weft_task *t;
	uint64_t s;
	int rc;

	/*
	 * A label left for a spawn into a runtime that does not observe must
	 * not name the next task of one that does.
	 */
	if (!observed &&
	    __builtin_expect(atomic_load_explicit(&weft__observing,
	                                          memory_order_relaxed) != 0,
	                     0))
		task_label_clear();
	if (size < sizeof(struct weft_future)) {
		rc = -EINVAL;
		goto fail;
	}
	t = task_alloc(set, facts ? words * 8 : size,
	               facts ? sizeof(uintptr_t) : 0);
	if (!t) {
		rc = -ENOMEM;
		goto fail;
	}
	memcpy(task_future(t), future, size); /* the move (F5) */
	t->join.version = 1;
	t->join.ops = &task_join_ops;
	t->set = set;
	/* The set's reference, the runnable one and the join handle's. */
	s = (2u + (join ? 1u : 0u)) * TASK_REF_ONE | TASK_SCHEDULED |
	    (join ? TASK_HANDLE : 0u) |
	    (weft__mem_custom(&set->alloc) ? TASK_OWN_ALLOC : 0u);
	if (facts) {
		s |= TASK_FACTS | (uint64_t)words << TASK_WORDS_SHIFT;
		atomic_init(weft__task_slot(t, s),
		            (uintptr_t)task_take_label(set->obs));
	} else if (observed) {
		task_label_clear(); /* a future of over 32 MiB: no facts */
	}
	atomic_init(&t->state, s);

	/*
	 * The id comes with the link.  After the join's members: the slot
	 * may share their padding.
	 */
	rc = weft__taskset_link(set, t);
	if (rc < 0) {
		weft_future_drop(task_future(t));
		task_free(t);
		return rc;
	}
	WEFT__PROBE1(task__spawn, t->id);
	*task = t;
	if (join)
		*join = &t->join;
	return 0;

fail:
	weft_future_drop(future);
	if (observed)
		task_label_clear();
	return rc;
}


static int
task_spawn(struct weft_task_set *set, struct weft_future *future,
           struct weft_task **task, struct weft_join **join)
{
	return task_spawn_as(set, future, task, join, false);
}


static int
task_spawn_observed(struct weft_task_set *set, struct weft_future *future,
                    struct weft_task **task, struct weft_join **join)
{
	return task_spawn_as(set, future, task, join, true);
}


/* After a pending poll: requeue, drop if aborted meanwhile, or idle. */
TASK_INLINE void
task_after_pending(struct weft_task *t, bool observed)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & TASK_CLOSED) {
			/* A wake during the poll took no reference. */
			task_drop_future(t, 0, 2);
			return;
		}
		/*
		 * Idle: the runnable reference goes in the same step (the
		 * set's is still held, so this is never the last).
		 */
		next = s & ~(uint64_t)TASK_RUNNING;
		if (!(s & TASK_SCHEDULED))
			next -= TASK_REF_ONE;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	/*
	 * Woken during the poll: our reference goes on, straight to the
	 * executor, since its runner is inside run and no close overlaps.
	 */
	if (s & TASK_SCHEDULED) {
		WEFT__PROBE1(task__wake, t->id);
		if (observed)
			task_observe_wake(t);
		t->set->schedule(t->set->sched, t);
	}
}


/*
 * The observed poll (see observe.h): the task's poll counted, this
 * thread's seq odd while it runs, and the clock read only by a timed poll
 * or one the monitor flagged as long.
 */
TASK_INLINE weft_poll
task_poll_observed(struct weft_task *t, uint64_t s, struct weft_future *f,
                   struct weft_context *cx)
{
	struct weft__observe *obs = t->set->obs;
	_Atomic uintptr_t *slot = weft__task_slot(t, s);
	uintptr_t v = atomic_load_explicit(slot, memory_order_relaxed);
	struct weft__poller *p = weft__observe_poller(obs);
	struct weft__task_facts *facts = weft__slot_facts(v);
	uint64_t seq;
	weft_poll r;

	if (facts)
		weft__bump(&facts->polls, 1); /* a first poll: counted later */
	/*
	 * Out of line: no poller, a poll to time, or a wake that was timed.
	 * A poll nested in another of this thread needs no test here: it
	 * leaves seq as it found it, but for the while it runs.
	 */
	if (__builtin_expect(
	        p == NULL || --p->countdown == 0 ||
	            (facts && atomic_load_explicit(&facts->woke_ns,
	                                           memory_order_relaxed)),
	        0))
		return weft__observe_poll_slow(obs, p, t, slot, f, cx);
	seq = atomic_load_explicit(&p->seq, memory_order_relaxed);
	atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
	r = f->vtable->poll(f, cx);
	/*
	 * Read again rather than kept across the call: a poll nested in
	 * this one leaves seq alone, and fewer values live across a call
	 * are fewer spills.
	 */
	seq = atomic_load_explicit(&p->seq, memory_order_relaxed);
	atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
	if (__builtin_expect(
	        atomic_load_explicit(&p->flag, memory_order_relaxed) == seq, 0))
		weft__observe_poll_long(t->set->obs, p, t, slot, 0, false);
	/* A task that will be polled again gets facts of its own. */
	if (r == WEFT_PENDING &&
	    __builtin_expect(
	        !(atomic_load_explicit(slot, memory_order_relaxed) &
	          TASK_SLOT_FACTS),
	        0))
		weft__task_facts_new(t, slot);
	return r;
}


/*
 * The poll of run_done, with RUNNING held and s the state before.  Wakes
 * made during the poll, and by the drop that completes it, skip the
 * guard.  A nested run (block_on of another runtime inside this poll)
 * leaves NULL behind: the rest of this poll then takes the guarded path,
 * which is only slower.
 */
TASK_INLINE int
task_poll_as(struct weft_task *t, struct weft_context *cx, uint64_t s,
             bool observed)
{
	struct weft_future *f = task_future(t);
	weft_poll ready;

	weft__taskset_running = t->set;
	cx->waker.vtable =
	    observed ? &task_waker_vtable_observed : &task_waker_vtable;
	cx->waker.data = t;
	WEFT__PROBE1(poll__begin, t->id);
	if (observed)
		ready = task_poll_observed(t, s, f, cx);
	else
		ready = f->vtable->poll(f, cx);
	WEFT__PROBE2(poll__end, t->id, ready);
	if (ready == WEFT_READY) {
		task_drop_future(t, TASK_COMPLETED, 2);
		weft__taskset_running = NULL;
		return 1;
	}
	weft__taskset_running = NULL;
	task_after_pending(t, observed);
	return 0;
}


static int task_poll_plain(struct weft_task *t, struct weft_context *cx);

/* Polls t once; 1 when that poll completed it (run_done), else 0. */
TASK_INLINE int
task_run_done_as(struct weft_task *t, struct weft_context *cx, bool observed)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & TASK_DROPPED) {
			task_release(t, 1); /* nothing to run: let go */
			return 0;
		}
		next = (s & ~(uint64_t)TASK_SCHEDULED) | TASK_RUNNING;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	WEFT_ASSERT(!(s & TASK_RUNNING)); /* E1: polled on two threads */
	if (s & TASK_CLOSED) {
		task_drop_future(t, 0, 2);
		return 0;
	}

	/*
	 * An observed set has its observation (task_set_new); its tasks have
	 * a facts slot, but for a future too large to say where.
	 */
	if (observed && __builtin_expect(!(s & TASK_FACTS), 0))
		return task_poll_plain(t, cx);
	return task_poll_as(t, cx, s, observed);
}


/* An observed set's task without facts: polled as an unobserved one. */
static __attribute__((noinline, cold)) int
task_poll_plain(struct weft_task *t, struct weft_context *cx)
{
	return task_poll_as(t, cx, 0, false);
}


static int
task_run_done(struct weft_task *t, struct weft_context *cx)
{
	return task_run_done_as(t, cx, false);
}


static void
task_run(struct weft_task *t, struct weft_context *cx)
{
	(void)task_run_done_as(t, cx, false);
}


static int
task_run_done_observed(struct weft_task *t, struct weft_context *cx)
{
	return task_run_done_as(t, cx, true);
}


static void
task_run_observed(struct weft_task *t, struct weft_context *cx)
{
	(void)task_run_done_as(t, cx, true);
}


static void
task_drop_runnable(struct weft_task *t)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & TASK_DROPPED) {
			task_release(t, 1);
			return;
		}
		next = (s & ~(uint64_t)TASK_SCHEDULED) | TASK_RUNNING |
		       TASK_CLOSED;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	task_drop_future(t, 0, 2);
}


static uint64_t
task_id(struct weft_task *t)
{
	return t->id;
}


static void **
task_link(struct weft_task *t)
{
	return &t->link;
}


/* ---- join handle ---------------------------------------------------- */

static int
task_join_take(struct weft_task *t, uint64_t s, void *out, size_t out_size)
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


/*
 * Stores the awaiter's waker.  The clone and the drop of the one it
 * replaces are foreign code (the awaiter's executor), so they run with the
 * lock released; under it the slot is only compared and swapped.
 */
static void
task_join_store_awaiter(struct weft_task *t, const struct weft_waker *w)
{
	struct weft_waker fresh, old;
	bool same;

	task_lock_awaiter(t);
	same = t->awaiter.vtable && weft_waker_will_wake(&t->awaiter, w);
	task_unlock_awaiter(t);
	if (same)
		return;
	fresh = weft_waker_clone(w);
	task_lock_awaiter(t);
	old = t->awaiter;
	t->awaiter = fresh;
	task_unlock_awaiter(t);
	weft_waker_drop(&old);
}


static int
task_join_poll(struct weft_join *j, struct weft_context *cx, void *out,
               size_t out_size)
{
	struct weft_task *t = (struct weft_task *)j;
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);

	if (s & TASK_TAKEN)
		return WEFT_ETAKEN;
	if (s & TASK_DROPPED)
		return task_join_take(t, s, out, out_size);

	task_join_store_awaiter(t, &cx->waker);

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
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t next;

	for (;;) {
		if (s & TASK_FINISHED)
			return;
		next = s | TASK_CLOSED;
		/* Idle: schedule it so the executor drops it on its side. */
		if (!(s & (TASK_SCHEDULED | TASK_RUNNING)))
			next = (next | TASK_SCHEDULED) + TASK_REF_ONE;
		if (atomic_compare_exchange_weak_explicit(&t->state, &s, next,
		                                          memory_order_acq_rel,
		                                          memory_order_acquire))
			break;
	}
	if (!(s & (TASK_SCHEDULED | TASK_RUNNING)))
		task_schedule(t, s & TASK_FACTS);
}


static void
task_join_release(struct weft_join *j)
{
	struct weft_task *t = (struct weft_task *)j;
	struct weft_waker w;

	task_lock_awaiter(t);
	w = t->awaiter;
	t->awaiter.vtable = NULL;
	atomic_fetch_and(&t->state, ~(uint64_t)TASK_HANDLE);
	task_unlock_awaiter(t);
	weft_waker_drop(&w);
	task_release(t, 1);
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
    .root_waker = task_root_waker,
    .run_done = task_run_done,
    .id = task_id,
};

/* The same core for a runtime that observes (see observe.h). */
static const struct weft_task_core task_core_observed = {
    .version = WEFT_TASK_CORE_VERSION,
    .set_new = task_set_new_observed,
    .set_close = task_set_close,
    .set_free = task_set_free,
    .spawn = task_spawn_observed,
    .run = task_run_observed,
    .drop_runnable = task_drop_runnable,
    .link = task_link,
    .root_waker = task_root_waker,
    .run_done = task_run_done_observed,
    .id = task_id,
};


const struct weft_task_core *
weft__task_core_for(const struct weft__observe *obs)
{
	return obs && obs->timing ? &task_core_observed : &weft__task_core;
}


struct weft__observe *
weft__task_observe_hint(struct weft__observe *obs)
{
	struct weft__observe *old = observe_hint;

	observe_hint = obs;
	return old;
}


WEFT_EXPORT void
weft_spawn_label(const char *name, const char *file, int line)
{
	if (!atomic_load_explicit(&weft__observing, memory_order_relaxed))
		return; /* nobody keeps labels */
	if (name)
		spawn_label.name = name;
	spawn_label.file = file;
	spawn_label.line = line;
}


const struct weft_allocator *
weft__task_alloc_hint(const struct weft_allocator *alloc)
{
	const struct weft_allocator *old = alloc_hint;

	alloc_hint = alloc;
	return old;
}
