/* SPDX-License-Identifier: MIT */
/*
 * What the task core keeps for a runtime that observes (see observe.h):
 * the label a spawn is named by, a task's facts once it has returned
 * pending, and the sampling of wakes.  The observed copies of the hot
 * paths themselves are in task.c and task_waker.c, built from the same
 * always-inline bodies as the plain ones.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <weft/coro.h>

#include "alloc.h"
#include "internal.h"
#include "observe.h"
#include "taskcore.h"

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


/*
 * The innermost await the running poll of this thread pends on
 * (weft_task_note_await); an observed poll clears it before and reads it
 * after.  Written only while some runtime observes, as spawn_label is.
 */
_Thread_local const struct weft_await_site *weft__await_note
    __attribute__((tls_model("initial-exec")));

WEFT_EXPORT void
weft_task_note_await(const struct weft_await_site *site)
{
	if (!atomic_load_explicit(&weft__observing, memory_order_relaxed))
		return;
	if (!weft__await_note)
		weft__await_note = site;
}


/* Forgets this thread's spawn label (see spawn_label). */
__attribute__((noinline, cold)) void
weft__task_label_clear(void)
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
const struct weft__label *
weft__task_take_label(struct weft__observe *obs)
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


/*
 * Wakes until this thread times the next one (see observe.h): 0 times the
 * first, then a random 1..127.
 */
_Thread_local uint32_t weft__task_wake_countdown
    __attribute__((tls_model("initial-exec")));
static _Thread_local uint32_t wake_rng
    __attribute__((tls_model("initial-exec")));


/* The sampled wake: its time, for the poll it leads to to measure. */
__attribute__((noinline, cold)) void
weft__task_time_wake(struct weft_task *t)
{
	struct weft__task_facts *facts;
	uint64_t s;
	uint32_t x = wake_rng ? wake_rng : 0x9e3779b9u ^ (uint32_t)(uintptr_t)t;

	x ^= x << 13; /* xorshift32 */
	x ^= x >> 17;
	x ^= x << 5;
	wake_rng = x;
	weft__task_wake_countdown =
	    x % 127; /* the next one after 1..127 wakes */
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
