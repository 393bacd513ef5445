/* SPDX-License-Identifier: MIT */
/*
 * The task core's private layout and the calls between its files: task.c
 * (the state machine: spawn, run, drop), task_waker.c (the task's waker),
 * task_join.c (the join handle), task_set.c (the set's operations and
 * block_on's root waker), task_observe.c (what an observed runtime keeps)
 * and taskset.c (the live-task set).  Not installed and not part of the
 * ABI: executors see struct weft_task and struct weft_task_set only as
 * opaque pointers.
 */
#ifndef WEFT_TASKCORE_H
#define WEFT_TASKCORE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <weft/assert.h>

#include "internal.h"
#include "observe.h"

/*
 * One atomic word per task: the flags in the low half, the reference count
 * in the high half, so that a transition and the reference it takes or
 * gives back are one atomic operation.
 */
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
	TASK_FACTS = 1u << 9,     /* observed words follow the future */
	TASK_AWAITER = 1u << 10,  /* the awaiter's waker precedes the header */
	/*
	 * An observed task's wake was timed (one in 64, observe.h): its
	 * next poll measures the wait.  Set by the timing waker before the
	 * task is queued, cleared by the run that takes SCHEDULED, so the
	 * poll tests the state word it already holds.
	 */
	TASK_WOKE = 1u << 11,
};

/*
 * Bits 12..31 of the state hold, for a task with TASK_FACTS, the size of
 * its future in 8-byte words: where its observed words are.  Written by
 * spawn, never changed (every transition keeps the bits it does not own),
 * like TASK_OWN_ALLOC and TASK_AWAITER.
 */
#define TASK_WORDS_SHIFT 12
#define TASK_WORDS_MAX   ((1u << 20) - 1)
_Static_assert(TASK_WORDS_SHIFT + 20 == 32, "the words end the low half");

#define TASK_REF_ONE     ((uint64_t)1 << 32)
#define TASK_REFS(state) ((state) >> 32)

/*
 * A task's place in its shard of the live-task set (taskset.c): a node of
 * the shard's circular list, whose sentinel is the shard's head.  Written
 * only under that shard's lock.
 */
struct weft__task_node {
	struct weft__task_node *prev, *next;
};

/*
 * On LP64 struct weft_join is a 4-byte version, 4 bytes of padding and a
 * pointer: the shard lives in that padding.  Only the header's own code
 * writes the join's members, once, in spawn and before the shard; holders
 * of the handle only read them.
 *
 * Issue 18's budget is 64 bytes per task beyond its future, the live-task
 * index included: so the index is the node in the header, and the join
 * handle's awaiter, which a detached task never uses, is not in the
 * header but in 16 bytes in front of it, given only to a task spawned with
 * a join handle (TASK_AWAITER).
 */
#if UINTPTR_MAX > 0xffffffffu
#define TASK_SLOT_IN_JOIN 1
#endif

struct weft_task {
#ifdef TASK_SLOT_IN_JOIN
	union {
		struct weft_join join; /* first: a join handle is the task */
		struct {
			uint32_t join_version_;
			/*
			 * The shard of the set that lists the task while
			 * its future lives.  Written once, by spawn, before
			 * anyone else can see the task.
			 */
			uint32_t shard;
		};
	};
#else
	struct weft_join join;
	uint32_t shard;
#endif
	_Atomic uint64_t state; /* flags | references << 32 */
	struct weft_task_set *set;
	void *link; /* the executor's */
	/* The task's number (T6): given by spawn, never changed. */
	uint64_t id;
	/* In the shard's list from spawn until the future is dropped. */
	struct weft__task_node node;
};

#ifdef TASK_SLOT_IN_JOIN
_Static_assert(offsetof(struct weft_task, shard) == sizeof(uint32_t) &&
                   offsetof(struct weft_join, ops) >= 2 * sizeof(uint32_t),
               "the shard must sit in the join handle's padding");
#endif

/* The task whose node n is. */
static inline struct weft_task *
weft__task_of_node(struct weft__task_node *n)
{
	return (struct weft_task *)((char *)n -
	                            offsetof(struct weft_task, node));
}

/*
 * The room of a join handle's awaiter, in front of the header of a task
 * with TASK_AWAITER: a multiple of the alignment, so the header keeps it.
 */
#define TASK_AWAITER_SIZE                                                      \
	((sizeof(struct weft_waker) + alignof(max_align_t) - 1) &              \
	 ~(alignof(max_align_t) - 1))

/* The awaiter's waker of a task with TASK_AWAITER (task_join.c). */
static inline struct weft_waker *
weft__task_awaiter(struct weft_task *t)
{
	return (struct weft_waker *)((char *)t - TASK_AWAITER_SIZE);
}

#define TASK_HEADER_SIZE                                                       \
	((sizeof(struct weft_task) + alignof(max_align_t) - 1) &               \
	 ~(alignof(max_align_t) - 1))

/*
 * What an observed runtime keeps about a task.  Memory is the price that
 * shows (a task that is spawned, polled once and done is the common case),
 * so a task carries two words more than its future, just after it
 * (struct weft__task_obs): its poll count, the one fact every poll
 * writes, and its facts slot.  The slot holds the spawn's label
 * (interned, see observe.c), and once something was measured or noted
 * about the task (a timed or long poll, a timed wake, an await), a
 * struct weft__task_facts of its own (tagged with bit 0), which holds the
 * label from then on.  A task nothing was measured of has no facts: its
 * times are the runtime's means.  The spawn time is not kept per task:
 * the monitor logs which ids were given by when (observe.c).
 */
struct weft_await_site; /* <weft/coro.h> */

struct weft__label {
	char name[32];
	const char *file; /* a string literal of the spawning code: __FILE__ */
	uint32_t line;
	struct weft__label *next; /* in the observation's table */
};

/*
 * The words after an observed task's future.  polls has one writer, the
 * thread that owns the poll (RUNNING), and is read by weft_runtime_tasks;
 * the slot goes from label to facts once, by a compare-and-swap, from the
 * poller or a timing waker.
 */
struct weft__task_obs {
	_Atomic uint64_t polls;
	_Atomic uintptr_t slot;
};

/*
 * The counters have one writer each, the thread that owns the poll
 * (RUNNING), except woke_ns (a timing waker); they are relaxed atomics so
 * that weft_runtime_tasks may read them from any thread.  Timings are
 * sampled: see observe.h.
 */
struct weft__task_facts {
	const struct weft__label *label;
	_Atomic uint64_t woke_ns;    /* a timed wake not yet polled, or 0 */
	_Atomic uint64_t timed;      /* short polls timed exactly ... */
	_Atomic uint64_t timed_ns;   /* ... and their total */
	_Atomic uint64_t long_polls; /* polls the monitor saw run long ... */
	_Atomic uint64_t long_ns;    /* ... and their total (estimated) */
	_Atomic uint64_t max_poll_ns;
	_Atomic uint64_t sched;    /* wakes timed to their poll ... */
	_Atomic uint64_t sched_ns; /* ... and their total */
	/*
	 * The innermost await of the poll numbered await_poll (coro.h), or
	 * NULL: what the task awaits while that poll is its last one.
	 */
	const struct weft_await_site *_Atomic awaiting;
	_Atomic uint64_t await_poll;
};

#define TASK_SLOT_FACTS ((uintptr_t)1)

/* The observed words of a task with TASK_FACTS, given its state s. */
static inline struct weft__task_obs *
weft__task_obs(struct weft_task *t, uint64_t s)
{
	/* The words end the low half: its shift alone leaves them. */
	uint64_t words = (uint32_t)s >> TASK_WORDS_SHIFT;

	return (struct weft__task_obs *)((char *)t + TASK_HEADER_SIZE +
	                                 words * 8);
}

/* The facts slot of a task with TASK_FACTS, given its state s. */
static inline _Atomic uintptr_t *
weft__task_slot(struct weft_task *t, uint64_t s)
{
	return &weft__task_obs(t, s)->slot;
}

/* The facts in a slot's value, or NULL while the task has none. */
static inline struct weft__task_facts *
weft__slot_facts(uintptr_t v)
{
	return v & TASK_SLOT_FACTS ? (struct weft__task_facts *)(v - 1) : NULL;
}

/*
 * An observed task's facts, made on first need (task_observe.c) from the
 * task's allocator and freed with it; NULL when out of memory.  Any thread
 * that holds a reference to t.
 */
WEFT__HIDDEN struct weft__task_facts *
weft__task_facts_new(struct weft_task *t, struct weft__task_obs *o);

/* The label in a slot's value, or NULL. */
static inline const struct weft__label *
weft__slot_label(uintptr_t v)
{
	return v & TASK_SLOT_FACTS ? weft__slot_facts(v)->label
	                           : (const struct weft__label *)v;
}

/*
 * The per-task overhead (issue 18): 64 bytes, the id (ABI 1.2, T6) and
 * the live-task index (the node) included, the shard in the join handle's
 * padding.  task_block.c checks that the block adds nothing to it.
 */
_Static_assert(sizeof(void *) != 8 || TASK_HEADER_SIZE <= 64,
               "the task header grew past 64 bytes");

/*
 * The live-task set, in shards: a thread links the tasks it spawns into a
 * shard of its own, so that spawning and completing on different threads
 * seldom meet on one lock.  A shard is a circular doubly linked list of
 * its tasks' nodes, in the order they were linked, which is the order of
 * their ids: O(1) link and unlink, and no memory of the set's own per
 * task, so a spawn never allocates for the index and never fails for it.
 */
#define TASK_SHARD_BITS 4
#define TASK_SHARDS     (1u << TASK_SHARD_BITS)

struct weft_task_shard {
	/* A spinlock: held for a few stores.  One line each. */
	alignas(64) atomic_uint lock;
	bool closed;
	uint32_t live;               /* tasks linked */
	struct weft__task_node head; /* the list's sentinel */
};

/*
 * block_on's root waker: host-owned, so that a clone held anywhere stays
 * valid after the runtime is closed and the executor unloaded (W6).  The
 * set holds one reference, each clone one.  `closed` is raised by
 * set_close before it waits out the guard, so a wake that enters the guard
 * after that never reaches the executor.
 */
struct weft__root {
	_Atomic uint64_t refs;
	atomic_bool closed;
	struct weft_task_set *set;
	void (*_Atomic wake)(void *sched);
};

/*
 * A set's memory is type-stable: set_free keeps it for the next set_new
 * instead of freeing it (see taskset.c), so a waker that read t->set just
 * before the set was freed still touches a set, whose guard then turns it
 * away.  Only the shard arrays go back to the allocator.
 */
struct weft_task_set {
	struct weft_task_shard shards[TASK_SHARDS];
	/*
	 * The last id given (T6), on a line of its own.  Ids are given in
	 * link, under the spawner's shard lock.  While the tasks are spawned
	 * from one shard only (one thread, the common case), that lock
	 * orders them and the count is a plain add; the first spawn from
	 * another shard takes the owner's lock to switch every later one to
	 * an atomic add (weft__taskset_id_slow).
	 */
	alignas(64) _Atomic uint64_t last_id;
	atomic_uint id_owner; /* 0: none yet, shard + 1, or TASK_ID_SHARED */
	/*
	 * The guard around every call into the executor that may come from
	 * outside its own threads: calls in flight, and whether set_close
	 * has begun.  On a line of its own: foreign wakes touch it.
	 */
	alignas(64) atomic_uint inflight;
	atomic_bool closing;
	weft_task_schedule_fn schedule;
	void *sched;
	struct weft__root *root;         /* NULL until block_on asks for it */
	struct weft_allocator alloc;     /* version 0: libc */
	void *mem;                       /* what was allocated, for the free */
	struct weft_task_set *next_free; /* in the pool of kept sets */
	/*
	 * The runtime's observation, or NULL, and its gen (0 without): read
	 * by every poll, written only by set_new, so on a line that nothing
	 * else writes.  A poll compares obs_gen with its thread's poller's
	 * without loading obs.
	 */
	alignas(64) struct weft__observe *obs;
	uint64_t obs_gen;
};

/*
 * The set whose task this thread is running (inside run), or NULL: a
 * schedule from there needs no guard, since the executor's own thread is
 * inside run and set_close cannot overlap a run (its workers stop first).
 */
#define weft__taskset_running (weft__task_tls.running)

/* ---- the task core's files: task.c and its parts ------------------ */

/* The task is finished: a wake does nothing (W2). */
#define TASK_FINISHED (TASK_COMPLETED | TASK_CLOSED | TASK_DROPPED)

/*
 * Every hot function of the task core comes twice, from one always-inline
 * body with a constant `observed`: the plain task core (weft__task_core,
 * and wakers of weft__task_waker_vtable) has no trace of observation, and
 * the observed one is handed only to the executor of a runtime that
 * observes.  Both copies of a body live in the file that defines it.
 */
#define TASK_INLINE static inline __attribute__((always_inline))

/* The task's future: its copy follows the header. */
static inline struct weft_future *
weft__task_future(struct weft_task *t)
{
	return (struct weft_future *)((char *)t + TASK_HEADER_SIZE);
}

/*
 * Frees the allocation of t, whose future is already gone or never was
 * (task.c).  Out of line: the cold end of every path that lets go of a
 * task.
 */
WEFT__HIDDEN void weft__task_free(struct weft_task *t);

/* Gives back n references of t; the last one frees it. */
static inline void
weft__task_release(struct weft_task *t, uint64_t n)
{
	uint64_t s = atomic_fetch_sub_explicit(&t->state, n * TASK_REF_ONE,
	                                       memory_order_acq_rel);

	WEFT_ASSERT(TASK_REFS(s) >= n); /* a reference given back twice */
	if (TASK_REFS(s) == n)
		weft__task_free(t);
}

/*
 * Drops t's future and publishes DROPPED with done_bits, giving back
 * `refs` references (task.c).  The caller holds RUNNING.
 */
WEFT__HIDDEN void weft__task_drop_future(struct weft_task *t,
                                         uint64_t done_bits, uint64_t refs);

/* task_waker.c: the task's wakers, plain and observed. */
extern const struct weft_waker_vtable weft__task_waker_vtable
    __attribute__((visibility("hidden")));
extern const struct weft_waker_vtable weft__task_waker_vtable_observed
    __attribute__((visibility("hidden")));

/*
 * Hands t, made runnable by the caller (SCHEDULED and its reference), to
 * its executor, as a wake would.
 */
WEFT__HIDDEN void weft__task_schedule(struct weft_task *t, bool observed);

/* task_join.c: the join handle's ops, and the wake of its awaiter. */
extern const struct weft_join_ops weft__task_join_ops
    __attribute__((visibility("hidden")));
WEFT__HIDDEN void weft__task_notify_awaiter(struct weft_task *t);

/* task_set.c: the core's set operations (see abi.h) and root waker. */
WEFT__HIDDEN int weft__task_set_new(struct weft_task_set **out,
                                    weft_task_schedule_fn schedule,
                                    void *sched);
WEFT__HIDDEN int weft__task_set_new_observed(struct weft_task_set **out,
                                             weft_task_schedule_fn schedule,
                                             void *sched);
WEFT__HIDDEN void weft__task_set_close(struct weft_task_set *set);
WEFT__HIDDEN int weft__task_set_free(struct weft_task_set *set);
WEFT__HIDDEN struct weft_waker weft__task_root_waker(struct weft_task_set *set,
                                                     void (*wake)(void *sched));

/*
 * task_observe.c: this thread's label for its spawn into obs, taken (and
 * cleared), or NULL; and the label forgotten, for a spawn that keeps none.
 * The label itself waits in weft__spawn_label; a spawn without one (the
 * executor's own, or an unlabelled call) pays a test of it.
 */
struct weft__spawn_label {
	const char *name;
	const char *file;
	int line;
};
extern _Thread_local struct weft__spawn_label weft__spawn_label
    __attribute__((visibility("hidden"), tls_model("initial-exec")));
WEFT__HIDDEN const struct weft__label *
weft__task_take_label_slow(struct weft__observe *obs);
WEFT__HIDDEN void weft__task_label_clear(void);

static inline const struct weft__label *
weft__task_take_label(struct weft__observe *obs)
{
	if (__builtin_expect(!weft__spawn_label.name && !weft__spawn_label.file,
	                     1))
		return NULL;
	return weft__task_take_label_slow(obs);
}

/*
 * Wakes until this thread times the next one (see observe.h), and the
 * timing itself.
 */
#define weft__task_wake_countdown (weft__task_tls.wake_countdown)
WEFT__HIDDEN void weft__task_time_wake(struct weft_task *t);

/*
 * A wake that queues t, a task with facts: one in 64 on this thread is
 * timed.  A countdown in a thread-local, no shared write: one subtraction
 * and the test of its sign.
 */
static inline void
weft__task_observe_wake(struct weft_task *t)
{
	if (__builtin_expect(--weft__task_wake_countdown < 0, 0))
		weft__task_time_wake(t);
}

/* ---- taskset.c: the set's cold paths ------------------------------ */

/*
 * Enters the guard: true when the executor may be called (leave after the
 * call); false once set_close has begun (nothing to leave).
 */
WEFT__HIDDEN bool weft__taskset_enter(struct weft_task_set *set);
WEFT__HIDDEN void weft__taskset_leave(struct weft_task_set *set);

/* Raises `closing` and waits until no call is inside the guard. */
WEFT__HIDDEN void weft__taskset_quiesce(struct weft_task_set *set);

/* A pause in a spin: the CPU's hint, then the scheduler once it is long. */
WEFT__HIDDEN void weft__spin_backoff(unsigned *spins);

/*
 * Test builds only: called between a wake making a task runnable and the
 * guard, the window a racing close must survive (NULL: no call).
 */
extern void (*weft__test_schedule_hook)(void)
    __attribute__((visibility("hidden")));

/* A set with no task, allocating through alloc (NULL: libc). */
WEFT__HIDDEN struct weft_task_set *
weft__taskset_new(const struct weft_allocator *alloc);

/* Frees an empty set; -EBUSY while any task's future lives. */
WEFT__HIDDEN int weft__taskset_free(struct weft_task_set *set);

/* From now on, link fails with WEFT_ECLOSED. */
WEFT__HIDDEN void weft__taskset_close(struct weft_task_set *set);

/*
 * Claims the future of one live task for dropping (sets RUNNING and
 * CLOSED), or returns NULL when none is left.  A task that is running is
 * only marked closed: its runner drops it when the poll returns.
 */
WEFT__HIDDEN struct weft_task *weft__taskset_claim(struct weft_task_set *set);

/* The shard lock's wait, once the first try found it taken. */
WEFT__HIDDEN void weft__taskset_lock_wait(struct weft_task_shard *sh);

/*
 * Calls fn with a snapshot of each live task's facts, a batch at a time
 * under each shard's lock (a linked task is alive while the lock is held:
 * unlink comes before the set's reference is given back) and fn outside
 * it.  A task is seen at most once.  0, fn's non-zero return or -ENOMEM.
 */
WEFT__HIDDEN int weft__taskset_visit(struct weft_task_set *set,
                                     weft_task_visit_fn fn, void *arg);

#define TASK_ID_SHARED (~0u)

/*
 * The next id for a spawn linking into shard i + 1 (held), when that
 * shard does not own the count.
 */
WEFT__HIDDEN uint64_t weft__taskset_id_slow(struct weft_task_set *set,
                                            unsigned i);

/* Tasks linked now, summed over the shards. */
WEFT__HIDDEN uint64_t weft__taskset_live(struct weft_task_set *set);

/* This thread's shard, plus one: 0 until the thread first spawns. */
extern _Thread_local unsigned weft__taskset_thread_shard
    __attribute__((visibility("hidden"), tls_model("initial-exec")));

/* Deals this thread a shard and returns it, plus one. */
WEFT__HIDDEN unsigned weft__taskset_deal(void);

/* ---- the set's hot paths, inline in task.c ------------------------ */

static inline void
weft__taskset_lock(struct weft_task_shard *sh)
{
	if (atomic_exchange_explicit(&sh->lock, 1, memory_order_acquire))
		weft__taskset_lock_wait(sh);
}

static inline void
weft__taskset_unlock(struct weft_task_shard *sh)
{
	atomic_store_explicit(&sh->lock, 0, memory_order_release);
}

/*
 * Adds t to this thread's shard and gives it its id (T6): 0, or
 * WEFT_ECLOSED once the set is closed.  The id is given in the same hold
 * of the lock as the link, so each shard's list is in the order of ids
 * (weft__taskset_visit resumes by them).
 */
static inline int
weft__taskset_link(struct weft_task_set *set, struct weft_task *t)
{
	unsigned i = weft__taskset_thread_shard;
	struct weft_task_shard *sh;
	struct weft__task_node *tail;

	if (!i)
		i = weft__taskset_deal();
	sh = &set->shards[i - 1];
	weft__taskset_lock(sh);
	if (sh->closed) {
		weft__taskset_unlock(sh);
		return WEFT_ECLOSED;
	}
	if (__builtin_expect(
	        atomic_load_explicit(&set->id_owner, memory_order_relaxed) == i,
	        1)) {
		/* Ours: the lock orders the spawns. */
		t->id =
		    atomic_load_explicit(&set->last_id, memory_order_relaxed) +
		    1;
		atomic_store_explicit(&set->last_id, t->id,
		                      memory_order_relaxed);
	} else {
		t->id = weft__taskset_id_slow(set, i);
	}
	tail = sh->head.prev;
	t->node.prev = tail;
	t->node.next = &sh->head;
	tail->next = &t->node;
	sh->head.prev = &t->node;
	sh->live++;
	t->shard = i - 1;
	weft__taskset_unlock(sh);
	return 0;
}

/*
 * Takes t out of the set.  The caller owns t's future (RUNNING).  The
 * node's next is left NULL: "no longer listed" to a visit that holds a
 * reference to t.
 */
static inline void
weft__taskset_unlink(struct weft_task_set *set, struct weft_task *t)
{
	struct weft_task_shard *sh = &set->shards[t->shard];

	weft__taskset_lock(sh);
	WEFT_ASSERT(t->node.next && t->node.prev->next == &t->node);
	WEFT_ASSERT(sh->live > 0);
	t->node.prev->next = t->node.next;
	t->node.next->prev = t->node.prev;
	t->node.next = t->node.prev = NULL;
	sh->live--;
	weft__taskset_unlock(sh);
}

#endif /* WEFT_TASKCORE_H */
