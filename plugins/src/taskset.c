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
 * or a grow of the array, never a call out of the set except the
 * allocator's.  Link and unlink, the hot paths, are inline in taskcore.h;
 * this file holds the rest.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
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


static void
spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}


void
weft__taskset_lock_wait(struct weft_task_shard *sh)
{
	unsigned spins = 0;

	do {
		/* Wait on a plain load; give the CPU away if it takes long. */
		while (atomic_load_explicit(&sh->lock, memory_order_relaxed)) {
			if (spins < 64) {
				spins++;
				spin_pause();
			} else {
				sched_yield();
			}
		}
	} while (atomic_exchange_explicit(&sh->lock, 1, memory_order_acquire));
}


struct weft_task_set *
weft__taskset_new(const struct weft_allocator *alloc)
{
	size_t align = alignof(struct weft_task_set);
	struct weft_task_set *set;
	void *mem;
	unsigned i;

	/* The shards start on a line of their own whatever the allocator. */
	mem = weft__mem_calloc(alloc, 1, sizeof(*set) + align - 1);
	if (!mem)
		return NULL;
	set = (struct weft_task_set *)(((uintptr_t)mem + align - 1) &
	                               ~(uintptr_t)(align - 1));
	for (i = 0; i < TASK_SHARDS; i++)
		atomic_init(&set->shards[i].lock, 0);
	set->mem = mem;
	if (weft__mem_custom(alloc))
		set->alloc = *alloc;
	return set;
}


int
weft__taskset_free(struct weft_task_set *set)
{
	struct weft_allocator a;
	uint32_t live;
	unsigned i;

	for (i = 0; i < TASK_SHARDS; i++) {
		weft__taskset_lock(&set->shards[i]);
		live = set->shards[i].live;
		weft__taskset_unlock(&set->shards[i]);
		if (live)
			return -EBUSY;
	}
	a = set->alloc;
	for (i = 0; i < TASK_SHARDS; i++)
		weft__mem_free(&a, set->shards[i].entries);
	weft__mem_free(&a, set->mem);
	return 0;
}


int
weft__taskset_grow(struct weft_task_set *set, struct weft_task_shard *sh)
{
	uint32_t cap = sh->cap ? sh->cap * 2 : 64;
	uintptr_t *entries;

	/* The index must fit in the slot beside the shard. */
	if (sh->cap >= (uint32_t)1 << (32 - TASK_SHARD_BITS))
		return -ENOMEM;
	entries = weft__mem_grow(&set->alloc, sh->entries,
	                         (size_t)sh->cap * sizeof(*entries),
	                         (size_t)cap * sizeof(*entries));
	if (!entries)
		return -ENOMEM;
	sh->entries = entries;
	sh->cap = cap;
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
 * Nothing links once the set is closed, so the entries below a shard's
 * cursor stay free or hold a task some runner will drop: each claim goes
 * on from where the last one stopped, and closing n tasks takes O(n).
 */
struct weft_task *
weft__taskset_claim(struct weft_task_set *set)
{
	const uint64_t busy = TASK_RUNNING | TASK_DROPPED;
	struct weft_task_shard *sh;
	struct weft_task *t;
	uint64_t s;
	uintptr_t e;
	unsigned i;

	for (i = 0; i < TASK_SHARDS; i++) {
		sh = &set->shards[i];
		weft__taskset_lock(sh);
		while (sh->cursor < sh->len) {
			e = sh->entries[sh->cursor++];
			if (e & TASK_FREE_ENTRY)
				continue;
			t = (struct weft_task *)e;
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
			/* Running: its runner drops it after the poll. */
			atomic_fetch_or_explicit(&t->state, TASK_CLOSED,
			                         memory_order_acq_rel);
		}
		weft__taskset_unlock(sh);
	}
	return NULL;
}
