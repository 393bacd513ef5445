/* SPDX-License-Identifier: MIT */
/*
 * The task core's live-task set: every task whose future has not been
 * dropped, so that shutdown can drop each of them exactly once (E5).
 *
 * A task is linked once, when it is spawned, and unlinked once, by whoever
 * drops its future; both happen on every task, from any thread.  So the
 * set is sharded: each thread links the tasks it spawns into a shard of its
 * own (threads are dealt shards in turn), and a task remembers its shard in
 * its slot.  A task that completes on the thread that spawned it — the
 * common case, on every executor — meets no other thread on that lock.
 *
 * Each shard's lock is a spinlock: what it guards is a handful of stores,
 * never a call out of the set.  A shard is a list of the nodes in its
 * tasks' headers, so the index costs a task nothing beyond its 64-byte
 * header (issue 18).  An unlink writes its neighbours' nodes: a task
 * completed on another thread than its spawner's touches up to two more
 * of the spawner's lines, as the array this replaced touched the line of
 * the task's entry.  Link and unlink, the hot paths, are inline in
 * taskcore.h; this file holds the rest.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <weft/coro.h>

#include "alloc.h"
#include "task_block.h"
#include "taskcore.h"

_Thread_local unsigned weft__taskset_thread_shard;
static atomic_uint next_shard;


unsigned
weft__taskset_deal(void)
{
	unsigned i =
	    atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed);

	weft__taskset_thread_shard = i % TASK_SHARDS + 1;
	return weft__taskset_thread_shard;
}


void
weft__spin_backoff(unsigned *spins)
{
	if (*spins < 64) {
		(*spins)++;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#elif defined(__aarch64__)
		__asm__ __volatile__("yield");
#endif
	} else {
		sched_yield();
	}
}


void
weft__taskset_lock_wait(struct weft_task_shard *sh)
{
	unsigned spins = 0;

	do {
		/* Wait on a plain load; give the CPU away if it takes long. */
		while (atomic_load_explicit(&sh->lock, memory_order_relaxed))
			weft__spin_backoff(&spins);
	} while (atomic_exchange_explicit(&sh->lock, 1, memory_order_acquire));
}


/*
 * The count's owner is the shard whose lock orders its plain adds, so a
 * switch to atomic adds is made under that lock: every add of the owner
 * before it is seen, none after it is plain.  Taking the owner's lock
 * with our own held cannot deadlock: the owner never waits for another
 * shard's lock while it holds its own, and neither does anyone once the
 * count is shared.
 */
uint64_t
weft__taskset_id_slow(struct weft_task_set *set, unsigned i)
{
	unsigned o, none = 0;
	uint64_t id;

	for (;;) {
		o = atomic_load_explicit(&set->id_owner, memory_order_acquire);
		if (o == TASK_ID_SHARED)
			return 1 + atomic_fetch_add_explicit(
			               &set->last_id, 1, memory_order_relaxed);
		if (o == 0 &&
		    !atomic_compare_exchange_strong(&set->id_owner, &none, i)) {
			none = 0;
			continue;
		}
		if (o == 0 || o == i) {
			/* Ours now; our lock is held. */
			id = atomic_load_explicit(&set->last_id,
			                          memory_order_relaxed) +
			     1;
			atomic_store_explicit(&set->last_id, id,
			                      memory_order_relaxed);
			return id;
		}
		weft__taskset_lock(&set->shards[o - 1]);
		atomic_store_explicit(&set->id_owner, TASK_ID_SHARED,
		                      memory_order_release);
		weft__taskset_unlock(&set->shards[o - 1]);
	}
}


/* ---- the guard ------------------------------------------------------ */

/*
 * A Dekker pair, both sides sequentially consistent: a caller raises
 * `inflight` and then reads `closing`; set_close raises `closing` and then
 * reads `inflight`.  So either the caller sees `closing` and keeps out of
 * the executor, or set_close sees the caller and waits for it to leave.
 */
bool
weft__taskset_enter(struct weft_task_set *set)
{
	atomic_fetch_add(&set->inflight, 1);
	if (!atomic_load(&set->closing))
		return true;
	weft__taskset_leave(set);
	return false;
}


void
weft__taskset_leave(struct weft_task_set *set)
{
	unsigned n = atomic_fetch_sub(&set->inflight, 1);

	WEFT_ASSERT(n > 0);
	(void)n;
}


void
weft__taskset_quiesce(struct weft_task_set *set)
{
	unsigned spins = 0;

	atomic_store(&set->closing, true);
	if (set->root)
		atomic_store(&set->root->closed, true);
	while (atomic_load(&set->inflight))
		weft__spin_backoff(&spins);
}


/* ---- the pool of kept sets ------------------------------------------ */

/*
 * Sets are never given back to an allocator: a late waker may read a
 * task's set pointer an instant before the set is freed and then enter its
 * guard (W6).  A freed set waits here for the next set_new, so the memory
 * behind such a pointer is always a set, either closed or reborn — and a
 * reborn set's guard admits only tasks that are not dropped, which every
 * task of the set's earlier life is.  The pool holds at most as many sets
 * as were ever open at once; they come from libc, since a runtime's
 * allocator may be gone when its set is reused.
 */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct weft_task_set *pool;
/* Sets taken and not yet freed, under pool_lock: at 0, blocks are trimmed. */
static unsigned long sets_open;


static struct weft_task_set *
taskset_take(void)
{
	size_t align = alignof(struct weft_task_set);
	struct weft_task_set *set;
	void *mem;

	pthread_mutex_lock(&pool_lock);
	set = pool;
	if (set)
		pool = set->next_free;
	sets_open++;
	pthread_mutex_unlock(&pool_lock);
	if (set)
		return set;
	/*
	 * The shards start on a line of their own.  The pool points at the
	 * start of the block, so a leak checker sees kept sets as reachable.
	 */
	if (posix_memalign(&mem, align, sizeof(*set))) {
		pthread_mutex_lock(&pool_lock);
		sets_open--;
		pthread_mutex_unlock(&pool_lock);
		return NULL;
	}
	memset(mem, 0, sizeof(*set));
	set = mem;
	set->mem = mem;
	return set;
}


struct weft_task_set *
weft__taskset_new(const struct weft_allocator *alloc)
{
	struct weft_task_set *set = taskset_take();
	unsigned i;

	if (!set)
		return NULL;
	/*
	 * A reborn set: late wakers of its earlier life may be inside the
	 * guard right now, so `inflight` is left as it is; `closing` drops
	 * only now that every task of that life is dropped.
	 */
	for (i = 0; i < TASK_SHARDS; i++) {
		struct weft_task_shard *sh = &set->shards[i];

		atomic_store(&sh->lock, 0);
		sh->closed = false;
		sh->live = 0;
		sh->head.prev = sh->head.next = &sh->head;
	}
	set->schedule = NULL;
	set->sched = NULL;
	set->root = NULL;
	set->next_free = NULL;
	atomic_store_explicit(&set->last_id, 0, memory_order_relaxed);
	atomic_store_explicit(&set->id_owner, 0, memory_order_relaxed);
	set->alloc = (struct weft_allocator){0};
	if (weft__mem_custom(alloc))
		set->alloc = *alloc;
	atomic_store(&set->closing, false);
	return set;
}


int
weft__taskset_free(struct weft_task_set *set)
{
	uint32_t live;
	unsigned i;
	bool last;

	for (i = 0; i < TASK_SHARDS; i++) {
		weft__taskset_lock(&set->shards[i]);
		live = set->shards[i].live;
		weft__taskset_unlock(&set->shards[i]);
		if (live)
			return -EBUSY;
	}
	/* A set freed without set_close: keep late wakers out all the same. */
	weft__taskset_quiesce(set);
	pthread_mutex_lock(&pool_lock);
	set->next_free = pool;
	pool = set;
	last = --sets_open == 0;
	pthread_mutex_unlock(&pool_lock);
	/*
	 * The last runtime closed: the task blocks all came back but for
	 * tasks still held by a join handle or a waker, so this thread's
	 * pages and those of exited threads go back to libc.
	 */
	if (last)
		weft__task_block_trim();
	return 0;
}


/*
 * A spawn that links after this sees `closed`: it takes the same shard's
 * lock after this released it.  One that linked before left its task where
 * claim will find it.
 */
void
weft__taskset_close(struct weft_task_set *set)
{
	unsigned i;

	for (i = 0; i < TASK_SHARDS; i++) {
		weft__taskset_lock(&set->shards[i]);
		set->shards[i].closed = true;
		weft__taskset_unlock(&set->shards[i]);
	}
}


/*
 * Nothing links once the set is closed, and a claimed task leaves its list
 * (its drop unlinks it) before set_close claims the next: so each claim
 * finds its task at the head of a list, behind at most the tasks running
 * right now, and closing n tasks takes O(n).
 */
struct weft_task *
weft__taskset_claim(struct weft_task_set *set)
{
	const uint64_t busy = TASK_RUNNING | TASK_DROPPED;
	struct weft__task_node *n;
	struct weft_task_shard *sh;
	struct weft_task *t;
	uint64_t s;
	unsigned i;

	for (i = 0; i < TASK_SHARDS; i++) {
		sh = &set->shards[i];
		weft__taskset_lock(sh);
		for (n = sh->head.next; n != &sh->head; n = n->next) {
			t = weft__task_of_node(n);
			s = atomic_load_explicit(&t->state,
			                         memory_order_acquire);
			while (!(s & busy)) {
				if (atomic_compare_exchange_weak_explicit(
				        &t->state, &s,
				        s | TASK_CLOSED | TASK_RUNNING,
				        memory_order_acq_rel,
				        memory_order_acquire)) {
					weft__taskset_unlock(sh);
					return t;
				}
			}
			/*
			 * Running: its runner drops it after the poll.  (A
			 * DROPPED task is never listed: unlink comes first.)
			 */
			atomic_fetch_or_explicit(&t->state, TASK_CLOSED,
			                         memory_order_acq_rel);
		}
		weft__taskset_unlock(sh);
	}
	return NULL;
}


/* ---- looking inside ------------------------------------------------- */

/* n times sum / count, in 128 bits: sums of ns times counts overflow. */
static uint64_t
taskset_scale(uint64_t sum, uint64_t n, uint64_t count)
{
	return count ? (uint64_t)((unsigned __int128)sum * n / count) : 0;
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

/*
 * One task's snapshot; the caller holds its shard's lock.  Busy and
 * scheduling times are estimates from the sampled polls (observe.h): the
 * long polls as measured, the others at the mean of the task's timed
 * ones, or of the runtime's while the task has none.  A task nothing was
 * measured or noted of has no facts but its label and poll count.
 */
/* "what file.c:12": the expression first, the file without its folder. */
static void
taskset_fill_awaiting(struct weft_task_info *info,
                      const struct weft_await_site *site)
{
	const char *file, *slash;

	if (!site)
		return;
	file = site->file ? site->file : "";
	slash = strrchr(file, '/');
	if (slash)
		file = slash + 1;
	snprintf(info->awaiting, sizeof(info->awaiting), "%s %s:%d",
	         site->what ? site->what : "", file, site->line);
}


static void
taskset_fill(struct weft_task *t, struct weft_task_info *info,
             const struct weft__observe_view *view)
{
	uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
	uint64_t polls, longs, timed, sched;
	const struct weft__task_facts *f;
	const struct weft__label *l;
	uintptr_t slot;

	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->id = t->id;
	if (s & (TASK_COMPLETED | TASK_CLOSED | TASK_DROPPED))
		info->state = WEFT_TASK_DONE;
	else if (s & TASK_RUNNING)
		info->state = WEFT_TASK_RUNNING;
	else if (s & TASK_SCHEDULED)
		info->state = WEFT_TASK_SCHEDULED;
	else
		info->state = WEFT_TASK_IDLE;
	if (!(s & TASK_FACTS))
		return;
	info->age_ns = view->now - weft__observe_spawn_ns(view, t->id);
	slot =
	    atomic_load_explicit(weft__task_slot(t, s), memory_order_acquire);
	l = weft__slot_label(slot);
	if (l) {
		const char *file = l->file ? l->file : "";
		size_t n = strlen(file), room = sizeof(info->location) - 12;

		memcpy(info->name, l->name, sizeof(l->name));
		info->name[sizeof(info->name) - 1] = '\0';
		/* Keep the end of a long path: it names the file. */
		if (n > room)
			file += n - room;
		if (l->file)
			snprintf(info->location, sizeof(info->location),
			         "%s:%u", file, l->line);
	}
	f = weft__slot_facts(slot);
	polls = LOAD(weft__task_obs(t, s)->polls);
	info->polls = polls;
	/* Every poll but the first is the work of a wake. */
	info->wakes = polls ? polls - 1 : 0;
	if (!f) {
		/* Nothing measured of it yet: the runtime's means. */
		info->busy_ns = polls * view->poll_ns;
		info->sched_ns = info->wakes * view->sched_ns;
		info->max_poll_ns = polls ? view->poll_ns : 0;
		return;
	}
	/* Noted by its last poll, or by the one running now. */
	if (LOAD(f->await_poll) + (info->state == WEFT_TASK_RUNNING) >= polls)
		taskset_fill_awaiting(
		    info,
		    atomic_load_explicit(&f->awaiting, memory_order_relaxed));
	longs = LOAD(f->long_polls);
	timed = LOAD(f->timed);
	sched = LOAD(f->sched);
	info->busy_ns = LOAD(f->long_ns);
	if (polls > longs)
		info->busy_ns += timed ? taskset_scale(LOAD(f->timed_ns),
		                                       polls - longs, timed)
		                       : (polls - longs) * view->poll_ns;
	info->sched_ns =
	    sched ? taskset_scale(LOAD(f->sched_ns), info->wakes, sched)
	          : info->wakes * view->sched_ns;
	info->max_poll_ns = LOAD(f->max_poll_ns);
	if (!info->max_poll_ns && polls > longs)
		info->max_poll_ns = view->poll_ns; /* no sample yet */
}


/*
 * Where a visit of sh goes on, with sh's lock held: after `keep`, a task
 * it holds a reference to, while that is still listed; else after the
 * last id seen, which the list's order of ids finds (O(n), only when the
 * task a batch ended on was dropped meanwhile).
 */
static struct weft__task_node *
taskset_resume(struct weft_task_shard *sh, struct weft_task *keep,
               uint64_t after)
{
	struct weft__task_node *n;

	if (!keep)
		return sh->head.next;
	if (keep->node.next)
		return keep->node.next;
	for (n = sh->head.next; n != &sh->head; n = n->next)
		if (weft__task_of_node(n)->id > after)
			break;
	return n;
}


/*
 * One shard, a batch at a time.  Between batches the lock is released:
 * the task the batch ended on is held by a reference (taken under the
 * lock, while the set's keeps it alive), so the next batch can start
 * after it.
 */
static int
taskset_visit_shard(struct weft_task_shard *sh, struct weft_task_info *batch,
                    unsigned cap, const struct weft__observe_view *view,
                    weft_task_visit_fn fn, void *arg)
{
	struct weft_task *keep = NULL, *last;
	struct weft__task_node *node;
	uint64_t after = 0;
	unsigned n, k;
	int r = 0;

	do {
		n = 0;
		last = NULL;
		weft__taskset_lock(sh);
		node = taskset_resume(sh, keep, after);
		for (; node != &sh->head && n < cap; node = node->next) {
			last = weft__task_of_node(node);
			taskset_fill(last, &batch[n++], view);
		}
		if (node == &sh->head)
			last = NULL; /* the shard is done */
		if (last)
			atomic_fetch_add_explicit(&last->state, TASK_REF_ONE,
			                          memory_order_relaxed);
		weft__taskset_unlock(sh);
		if (keep)
			weft__task_release(keep, 1);
		keep = last;
		if (last)
			after = last->id;
		for (k = 0; k < n && !r; k++)
			r = fn(arg, &batch[k]);
	} while (keep && !r);
	if (keep)
		weft__task_release(keep, 1);
	return r;
}


int
weft__taskset_visit(struct weft_task_set *set, weft_task_visit_fn fn, void *arg)
{
	enum { BATCH = 16 };
	struct weft_task_info batch[BATCH];
	struct weft__observe_view *view;
	unsigned i;
	int r = 0;

	/* Not on the stack: the log makes it 8 KiB. */
	view = malloc(sizeof(*view));
	if (!view)
		return -ENOMEM;
	weft__observe_view(set->obs, view);
	for (i = 0; i < TASK_SHARDS && !r; i++)
		r = taskset_visit_shard(&set->shards[i], batch, BATCH, view, fn,
		                        arg);
	free(view);
	return r;
}


uint64_t
weft__taskset_live(struct weft_task_set *set)
{
	uint64_t live = 0;
	unsigned i;

	for (i = 0; i < TASK_SHARDS; i++) {
		weft__taskset_lock(&set->shards[i]);
		live += set->shards[i].live;
		weft__taskset_unlock(&set->shards[i]);
	}
	return live;
}
