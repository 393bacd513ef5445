/* SPDX-License-Identifier: MIT */
/*
 * What the task core keeps for a runtime that observes (see observe.h):
 * the label a spawn is named by, a task's facts once something about it
 * was measured or noted, the awaits, and the sampling of wakes.  The
 * observed copies of the hot
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
_Thread_local struct weft__spawn_label weft__spawn_label
    __attribute__((tls_model("initial-exec")));

WEFT_EXPORT void
weft_spawn_label(const char *name, const char *file, int line)
{
	if (!atomic_load_explicit(&weft__observing, memory_order_relaxed))
		return; /* nobody keeps labels */
	if (name)
		weft__spawn_label.name = name;
	weft__spawn_label.file = file;
	weft__spawn_label.line = line;
}


/*
 * An await is noted in the task's facts, with the number of the poll it
 * was made in: a later poll that notes nothing makes it stale, which
 * weft_runtime_tasks sees by that number, so the poll itself does nothing
 * about awaits.  The task is the one this thread's poller polls while
 * weft__taskset_running names an observed set.
 */
WEFT_EXPORT void
weft_task_note_await(const struct weft_await_site *site)
{
	struct weft_task_set *set = weft__taskset_running;
	struct weft__task_facts *facts;
	struct weft__task_obs *o;
	struct weft_task *t;
	uint64_t polls, s;

	if (!atomic_load_explicit(&weft__observing, memory_order_relaxed))
		return;
	/* Outside a poll, or in one of a runtime that does not observe. */
	if (!set || !set->obs || weft__task_tls.poller_gen != set->obs_gen)
		return;
	t = weft__task_tls.poller->task;
	if (!t)
		return;
	s = atomic_load_explicit(&t->state, memory_order_relaxed);
	o = weft__task_obs(t, s);
	polls = atomic_load_explicit(&o->polls, memory_order_relaxed);
	facts = weft__task_facts_new(t, o);
	/* The first note of a poll is its innermost await. */
	if (!facts || atomic_load_explicit(&facts->await_poll,
	                                   memory_order_relaxed) == polls)
		return;
	atomic_store_explicit(&facts->awaiting, site, memory_order_relaxed);
	atomic_store_explicit(&facts->await_poll, polls, memory_order_relaxed);
}


/* Forgets this thread's spawn label (see weft__spawn_label). */
__attribute__((noinline, cold)) void
weft__task_label_clear(void)
{
	weft__spawn_label.file = weft__spawn_label.name = NULL;
	weft__spawn_label.line = 0;
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

/*
 * This thread's label for its spawn into obs, taken (and cleared); the
 * inline weft__task_take_label has found one waiting.
 */
const struct weft__label *
weft__task_take_label_slow(struct weft__observe *obs)
{
	const char *name = weft__spawn_label.name,
	           *file = weft__spawn_label.file;
	int line = weft__spawn_label.line;
	const struct weft__label *l = label_cache.label;

	if (!name && !file)
		return NULL;
	weft__spawn_label.file = weft__spawn_label.name = NULL;
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
 * Gives a task its facts, when a poll or wake first measures it or an
 * await is noted: from the same allocator as the task, freed with it.
 * The slot goes from label to facts once, by a compare-and-swap: the
 * poller and a timing waker may race, and the loser frees its copy.
 */
struct weft__task_facts *
weft__task_facts_new(struct weft_task *t, struct weft__task_obs *o)
{
	const struct weft_allocator *alloc =
	    weft__mem_custom(&t->set->alloc) ? &t->set->alloc : NULL;
	uintptr_t v = atomic_load_explicit(&o->slot, memory_order_acquire);
	struct weft__task_facts *facts;

	if (v & TASK_SLOT_FACTS)
		return weft__slot_facts(v);
	facts = weft__mem_calloc(alloc, 1, sizeof(*facts));
	if (!facts)
		return NULL;
	facts->label = (const struct weft__label *)v;
	if (!atomic_compare_exchange_strong_explicit(
	        &o->slot, &v, (uintptr_t)facts | TASK_SLOT_FACTS,
	        memory_order_acq_rel, memory_order_acquire)) {
		weft__mem_free(alloc, facts);
		return weft__slot_facts(v);
	}
	return facts;
}


/*
 * The generator of this thread's wake countdown (weft__task_tls: wakes
 * until it times the next one, less one, see observe.h): 0 times the
 * first, then a random 1..127.
 */
static _Thread_local uint32_t wake_rng
    __attribute__((tls_model("initial-exec")));


/*
 * The sampled wake: its time, for the poll it leads to to measure, which
 * TASK_WOKE sends out of line.  The caller holds a reference and has made
 * t runnable, not yet queued.
 */
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
	/* The next one after 1..127 wakes. */
	weft__task_wake_countdown = (int32_t)(x % 127);
	s = atomic_load_explicit(&t->state, memory_order_relaxed);
	if (!(s & TASK_FACTS))
		return;
	facts = weft__task_facts_new(t, weft__task_obs(t, s));
	if (!facts)
		return;
	atomic_store_explicit(&facts->woke_ns, weft__observe_now(),
	                      memory_order_relaxed);
	/* Before the queue hands t over: its run sees the bit. */
	atomic_fetch_or_explicit(&t->state, TASK_WOKE, memory_order_release);
}
