/* SPDX-License-Identifier: MIT */
/*
 * W6: wakers outlive their runtime.  A clone of a task's waker and of
 * block_on's root waker is kept past weft_runtime_close and then woken,
 * cloned and dropped, on this thread and on one that races the close.
 *
 * What the suite can see for certain: a waker whose vtable lives in the
 * executor's own image calls code that close unloads (the rule's most
 * common break: a 1.0-style root waker holding a bare executor pointer).
 * That is checked with dladdr while the plugin is still loaded, so the
 * verdict does not depend on a crash.  The race then checks the rest the
 * only way a black box allows: the process must survive it.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>

#include "harness.h"

/* Clones of wakers that must stay usable after close. */
struct kept {
	struct weft_waker root;
	struct weft_waker task[2];
};

/* A task that clones its waker into the slots and is ready. */
struct cloner {
	struct weft_future base;
	struct weft_waker *slots;
};


static weft_poll
cloner_poll(struct weft_future *base, struct weft_context *cx)
{
	struct cloner *c = (struct cloner *)base;

	c->slots[0] = weft_waker_clone(&cx->waker);
	c->slots[1] = weft_waker_clone(&cx->waker);
	return WEFT_READY;
}


WEFT_FUTURE_VTABLE_NO_OUTPUT(cloner_vtable, struct cloner, cloner_poll, NULL);


/* The root: clones its own waker, then waits for the task. */
struct keep_root {
	struct kept *kept;
	struct weft_join *join;
};


static weft_poll
keep_root_step(void *arg, struct weft_context *cx)
{
	struct keep_root *k = arg;

	if (!k->kept->root.vtable)
		k->kept->root = weft_waker_clone(&cx->waker);
	return weft_join_poll(k->join, cx, NULL, 0) == 0 ? WEFT_PENDING
	                                                 : WEFT_READY;
}


/* Opens a runtime and fills *kept with clones that outlive it. */
static struct weft_runtime *
keep_wakers(struct kept *kept)
{
	struct weft_runtime *rt = h_rt_open(NULL);
	struct cloner c = {{&cloner_vtable}, kept->task};
	struct keep_root k = {kept, NULL};

	*kept = (struct kept){{0, 0}, {{0, 0}, {0, 0}}};
	k.join = h_spawn(rt, &c.base);
	assert_int_equal(h_block_on_fn(rt, keep_root_step, &k), 0);
	weft_join_release(k.join);
	assert_non_null(kept->root.vtable);
	assert_non_null(kept->task[0].vtable);
	return rt;
}


/* True when addr lies in the executor plugin's own file. */
static bool
in_executor_image(const void *addr)
{
	struct stat a, b;
	Dl_info info;

	if (!dladdr(addr, &info) || !info.dli_fname)
		return false;
	/* A linked-in plugin ("builtin:…") has no file of its own. */
	if (stat(h_opt.executor_path, &b) < 0 || stat(info.dli_fname, &a) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}


static void
check_host_owned(const struct weft_waker *w, const char *which)
{
	if (in_executor_image(w->vtable) ||
	    in_executor_image((const void *)w->vtable->wake_by_ref))
		h_violation("W6: the %s waker's vtable lives in the executor "
		            "plugin, whose code is unloaded at close: a clone "
		            "woken after close would call it (use the task "
		            "core's root_waker)",
		            which);
}


/* Every method of every kept waker, and each released exactly once. */
static void
use_and_release(struct kept *kept)
{
	struct weft_waker c;

	weft_waker_wake_by_ref(&kept->root);
	c = weft_waker_clone(&kept->root);
	weft_waker_wake(&c);
	weft_waker_drop(&kept->root);
	weft_waker_wake_by_ref(&kept->task[0]);
	c = weft_waker_clone(&kept->task[0]);
	weft_waker_drop(&c);
	weft_waker_wake(&kept->task[0]);
	weft_waker_drop(&kept->task[1]);
}


static void
W6_wakers_usable_after_close(void **state)
{
	struct kept kept;
	struct weft_runtime *rt;

	(void)state;
	rt = keep_wakers(&kept);
	check_host_owned(&kept.root, "root (block_on)");
	check_host_owned(&kept.task[0], "task");
	if (h_violations_take()) {
		/* Do not call into what close unloads: the verdict is in. */
		fail_msg("W6: a waker calls into the executor after close");
	}
	weft_runtime_close(rt);
	use_and_release(&kept);
	H_NO_VIOLATIONS();
}


/* ---- the race ------------------------------------------------------- */

struct racer {
	struct kept kept;
	atomic_bool closed;
	atomic_uint wakes;
};

/* Wakes through close and a while after, then releases everything. */
static void *
racer_main(void *arg)
{
	struct racer *r = arg;
	unsigned after = 0;

	while (after < 64) {
		weft_waker_wake_by_ref(&r->kept.root);
		weft_waker_wake_by_ref(&r->kept.task[0]);
		atomic_fetch_add(&r->wakes, 1);
		if (atomic_load(&r->closed))
			after++;
	}
	use_and_release(&r->kept);
	return NULL;
}


static void
W6_wakes_racing_close(void **state)
{
	unsigned i, rounds = h_opt.slow ? 10 : 100;
	struct weft_runtime *rt;
	struct racer r;
	pthread_t t;

	(void)state;
	for (i = 0; i < rounds; i++) {
		rt = keep_wakers(&r.kept);
		if (i == 0) {
			check_host_owned(&r.kept.root, "root (block_on)");
			check_host_owned(&r.kept.task[0], "task");
			if (h_violations_take())
				fail_msg("W6: a waker calls into the executor "
				         "after close");
		}
		atomic_init(&r.closed, false);
		atomic_init(&r.wakes, 0);
		t = h_thread(racer_main, &r);
		/* Close while the racer is inside its wakes. */
		while (atomic_load(&r.wakes) < 1 + i % 8)
			sched_yield();
		weft_runtime_close(rt);
		atomic_store(&r.closed, true);
		pthread_join(t, NULL);
	}
	H_NO_VIOLATIONS();
}


static const struct CMUnitTest tests[] = {
    H_TEST(W6_wakers_usable_after_close),
    H_TEST(W6_wakes_racing_close),
};

H_GROUP(h_group_outlive, "outlive", tests);
