/* SPDX-License-Identifier: MIT */
/*
 * The task core's set operations (set_new, set_close, set_free), the
 * runtime's hints that set_new reads, and block_on's root waker, which a
 * set makes on demand and holds until set_free.  The set itself (shards,
 * guard, pool of kept sets) is taskset.c.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "alloc.h"
#include "internal.h"
#include "observe.h"
#include "taskcore.h"

/* Set by the runtime around an executor's init; see internal.h. */
static _Thread_local const struct weft_allocator *alloc_hint;
static _Thread_local struct weft__observe *observe_hint;

struct weft__observe *
weft__task_observe_hint(struct weft__observe *obs)
{
	struct weft__observe *old = observe_hint;

	observe_hint = obs;
	return old;
}


const struct weft_allocator *
weft__task_alloc_hint(const struct weft_allocator *alloc)
{
	const struct weft_allocator *old = alloc_hint;

	alloc_hint = alloc;
	return old;
}


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
struct weft_waker
weft__task_root_waker(struct weft_task_set *set, void (*wake)(void *sched))
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
	set->obs_gen = set->obs ? set->obs->gen : 0;
	if (observe_hint)
		atomic_store(&observe_hint->set, set);
	*out = set;
	return 0;
}


int
weft__task_set_new(struct weft_task_set **out, weft_task_schedule_fn schedule,
                   void *sched)
{
	return task_set_new_as(out, schedule, sched, false);
}


int
weft__task_set_new_observed(struct weft_task_set **out,
                            weft_task_schedule_fn schedule, void *sched)
{
	return task_set_new_as(out, schedule, sched, true);
}


void
weft__task_set_close(struct weft_task_set *set)
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
		weft__task_drop_future(t, 0, 1);
}


int
weft__task_set_free(struct weft_task_set *set)
{
	struct weft__root *root;
	int r;

	if (!set)
		return 0;
	root = set->root;
	if (set->obs) /* its monitor walks the set: not once it is gone */
		weft__observe_forget_set(set->obs, set);
	r = weft__taskset_free(set);
	if (r == 0 && root)
		/* The set's reference; clones keep theirs. */
		root_release(root);
	return r;
}
