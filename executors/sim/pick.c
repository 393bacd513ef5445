/* SPDX-License-Identifier: MIT */
/*
 * The seeded half of the simulation executor: the runnable set, which
 * entity in it runs next, and the trace of what ran.  The set, the choice
 * and the trace belong to the thread inside block_on (or to init and fini,
 * with no one else running) and take no lock; only the side queue, which
 * other threads' schedules fill, has one.
 *
 * The PRNG is xoshiro256** (Blackman and Vigna), its state filled from the
 * seed by splitmix64, as its authors recommend: a seed of any value, 0
 * included, gives a well-mixed state.
 *
 * Mode pct is PCT, the randomized scheduler of Burckhardt, Kothari,
 * Musuvathi and Nagarakatte, "A Randomized Scheduler with Probabilistic
 * Guarantees of Finding Bugs" (ASPLOS 2010).  Each task gets a random
 * priority, distinct from every other, when it is first seen; the runnable
 * entity of highest priority always runs; d - 1 priority-change points are
 * drawn at random among the steps 1..k (k drawn per run, below), and at the
 * step of change point i the entity chosen to run gets priority d - i, below
 * every initial priority.  For a program of n tasks and k steps, a bug of depth
 * d is then found by one run with probability at least 1 / (n k^(d-1)).  Here
 * tasks appear as they are spawned, so a task's initial priority is a hash of
 * the seed and its id: the same for the task's whole life, random across seeds,
 * and distinct in practice (63 random bits; a tie goes to the smaller id).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/*
 * PCT's k, the number of steps the change points are drawn among.  The
 * length of a run is not known when it starts, so each run draws its own
 * k = 2^j with j uniform in [SIM_PCT_LOG_MIN, SIM_PCT_LOG_MAX]: across
 * seeds, a program of a dozen steps gets change points inside it as often
 * as one of a million does.  A fixed k of 10,000 left a 12-step race with
 * no change point in 1,000 seeds.
 */
#define SIM_PCT_LOG_MIN 3
#define SIM_PCT_LOG_MAX 20

/* Initial priorities lie in [2^62, 2^63); change points give 1..d-1. */
#define SIM_PRIO_BASE ((uint64_t)1 << 62)

/* Polls in a row after which a spinning entity gives way (sim_streak). */
#define SIM_PCT_STREAK 64

#define FNV_OFFSET 0xcbf29ce484222325u
#define FNV_PRIME  0x100000001b3u


static uint64_t
splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}


static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}


static uint64_t
sim_next(struct sim *ex)
{
	uint64_t *s = ex->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}


/* A number in [0, n), n > 0; the modulo's bias is below 2^-40 here. */
static uint64_t
sim_below(struct sim *ex, uint64_t n)
{
	return sim_next(ex) % n;
}


void
weft__sim_seed(struct sim *ex)
{
	uint64_t sm = ex->seed;
	uint64_t k;
	uint32_t i;

	for (i = 0; i < 4; i++)
		ex->rng[i] = splitmix64(&sm);
	ex->prio_key = sim_next(ex);
	ex->trace = FNV_OFFSET;
	ex->demoted = SIM_PRIO_BASE - 1;
	ex->streak_id = UINT64_MAX;
	if (ex->mode != SIM_PCT)
		return;
	k = (uint64_t)1 << (SIM_PCT_LOG_MIN +
	                    sim_below(ex,
	                              SIM_PCT_LOG_MAX - SIM_PCT_LOG_MIN + 1));
	/* Change point i (1..d-1) at a step drawn in [1, k]. */
	for (i = 1; i < ex->depth; i++)
		ex->change_at[i] = 1 + sim_below(ex, k);
}


/* ---- PCT's priorities ----------------------------------------------- */

/*
 * Priorities that moved (change points, demotions) in a map from id to
 * priority: open addressing, a power-of-two size, id + 1 as the key so
 * that 0 marks a free slot.  Entries stay: tasks end without telling us.
 */
static uint64_t *
sim_moved_find(const struct sim *ex, uint64_t id)
{
	size_t mask = ex->moved_cap - 1, i;
	uint64_t h = id;

	if (!ex->moved_cap)
		return NULL;
	for (i = (size_t)splitmix64(&h) & mask;; i = (i + 1) & mask)
		if (ex->moved[2 * i] == id + 1 || ex->moved[2 * i] == 0)
			return &ex->moved[2 * i];
}


static uint64_t
sim_prio(const struct sim *ex, uint64_t id)
{
	uint64_t h = ex->prio_key ^ (id * 0x9e3779b97f4a7c15u);
	uint64_t *m = sim_moved_find(ex, id);

	if (m && *m)
		return m[1];
	return SIM_PRIO_BASE | (splitmix64(&h) >> 2);
}


/* Fails only when the map cannot grow: the priority then stays. */
static void
sim_lower(struct sim *ex, uint64_t id, uint64_t prio)
{
	uint64_t *m;

	if (2 * (ex->nmoved + 1) > ex->moved_cap) {
		size_t cap = ex->moved_cap ? 2 * ex->moved_cap : 64, i;
		size_t old_cap = ex->moved_cap;
		uint64_t *old = ex->moved;

		ex->moved = calloc(cap, 2 * sizeof(uint64_t));
		if (!ex->moved) {
			ex->moved = old;
			return;
		}
		ex->moved_cap = cap;
		for (i = 0; i < old_cap; i++)
			if (old[2 * i]) {
				m = sim_moved_find(ex, old[2 * i] - 1);
				m[0] = old[2 * i];
				m[1] = old[2 * i + 1];
			}
		free(old);
	}
	m = sim_moved_find(ex, id);
	if (!*m)
		ex->nmoved++;
	m[0] = id + 1;
	m[1] = prio;
}


/* At a change point, the entity chosen now drops below all others. */
static void
sim_change_points(struct sim *ex, uint64_t id)
{
	uint32_t i;

	for (i = 1; i < ex->depth; i++)
		if (ex->change_at[i] == ex->steps)
			sim_lower(ex, id, ex->depth - i);
}


/*
 * Not in the paper: an entity polled SIM_PCT_STREAK times in a row while
 * others wait (a task spinning on yield until another one acts) moves below
 * every initial priority and every entity moved before it, though above
 * the change points' priorities.  Strict priorities would otherwise starve
 * the others for ever (E7); spinners take turns instead.
 */
static void
sim_streak(struct sim *ex, uint64_t id)
{
	if (id != ex->streak_id) {
		ex->streak_id = id;
		ex->streak = 0;
	}
	if (++ex->streak < SIM_PCT_STREAK || ex->n == 0)
		return;
	ex->streak = 0;
	sim_lower(ex, id, ex->demoted--);
}


/* ---- the runnable set ----------------------------------------------- */

/*
 * In mode pct the set is a binary max-heap on (prio, smaller id first), so
 * that a choice among many runnable tasks costs log n, not n.  Ids are
 * distinct, so the order is total and the heap's shape changes nothing of
 * the schedule.
 */
static bool
sim_above(const struct sim_ent *a, const struct sim_ent *b)
{
	return a->prio > b->prio || (a->prio == b->prio && a->id < b->id);
}


static void
sim_heap_up(struct sim_ent *h, size_t i)
{
	struct sim_ent e = h[i];

	while (i > 0 && sim_above(&e, &h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = e;
}


static void
sim_heap_down(struct sim_ent *h, size_t n)
{
	struct sim_ent e;
	size_t i = 0, c;

	if (n == 0)
		return;
	e = h[0];
	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && sim_above(&h[c + 1], &h[c]))
			c++;
		if (!sim_above(&h[c], &e))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = e;
}


/* Adds an entity; -ENOMEM when the array cannot grow. */
int
weft__sim_push(struct sim *ex, struct weft_task *task, uint64_t id)
{
	if (ex->n == ex->cap) {
		size_t cap = ex->cap ? ex->cap * 2 : 64;
		struct sim_ent *run = realloc(ex->run, cap * sizeof(*run));

		if (!run)
			return -ENOMEM;
		ex->run = run;
		ex->cap = cap;
	}
	ex->run[ex->n].task = task;
	ex->run[ex->n].id = id;
	ex->run[ex->n].prio = ex->mode == SIM_PCT ? sim_prio(ex, id) : 0;
	ex->n++;
	if (ex->mode == SIM_PCT)
		sim_heap_up(ex->run, ex->n - 1);
	return 0;
}


/* Takes the next entity to poll out of the set; ex->n > 0. */
struct sim_ent
weft__sim_pick(struct sim *ex)
{
	struct sim_ent e;
	size_t i = 0;

	ex->steps++;
	if (ex->mode == SIM_PCT) {
		e = ex->run[0];
		ex->run[0] = ex->run[--ex->n];
		sim_heap_down(ex->run, ex->n);
		sim_change_points(ex, e.id);
		sim_streak(ex, e.id);
		return e;
	}
	if (ex->n > 1)
		i = (size_t)sim_below(ex, ex->n);
	e = ex->run[i];
	ex->run[i] = ex->run[--ex->n]; /* order carries no meaning here */
	return e;
}


/* ---- the side queue: schedules from other threads ----------------- */

/* The task's number: the core's (T6), or ours, kept in the link slot. */
uint64_t
weft__sim_task_id(struct sim *ex, struct weft_task *t)
{
	if (ex->core_ids)
		return ex->tasks->id(t);
	return (uint64_t)(uintptr_t)*ex->tasks->link(t);
}


/*
 * Queues t on the side, under the lock.  On a core without ids the spill
 * list overwrites the number kept in the link slot: such a task is
 * renumbered when it comes out (only ever when memory ran out).
 */
void
weft__sim_remote_push(struct sim *ex, struct weft_task *t)
{
	pthread_mutex_lock(&ex->lock);
	if (ex->remote_n == ex->remote_cap) {
		size_t cap = ex->remote_cap ? ex->remote_cap * 2 : 16;
		struct weft_task **q = realloc(ex->remote, cap * sizeof(*q));

		if (q) {
			ex->remote = q;
			ex->remote_cap = cap;
		}
	}
	if (ex->remote_n < ex->remote_cap) {
		ex->remote[ex->remote_n++] = t;
	} else {
		void **link = ex->tasks->link(t);

		*link = NULL;
		if (ex->spill_last)
			*ex->spill_last = t;
		else
			ex->spill_first = t;
		ex->spill_last = link;
	}
	atomic_fetch_add(&ex->remote_len, 1);
	pthread_mutex_unlock(&ex->lock);
}


/* Moves what fits of the side queue into the runnable set. */
void
weft__sim_splice_remote(struct sim *ex)
{
	struct weft_task *t;
	size_t i, moved = 0;

	if (atomic_load(&ex->remote_len) == 0)
		return;
	pthread_mutex_lock(&ex->lock);
	for (i = 0; i < ex->remote_n; i++, moved++)
		if (weft__sim_push(ex, ex->remote[i],
		                   weft__sim_task_id(ex, ex->remote[i])) < 0)
			break;
	memmove(ex->remote, ex->remote + i,
	        (ex->remote_n - i) * sizeof(*ex->remote));
	ex->remote_n -= i;
	while ((t = ex->spill_first) && ex->n < ex->cap) {
		void **link = ex->tasks->link(t);
		uint64_t id;

		ex->spill_first = *link;
		if (!ex->spill_first)
			ex->spill_last = NULL;
		if (!ex->core_ids)
			*link = (void *)(uintptr_t)(atomic_fetch_add(
			                                &ex->next_id, 1) +
			                            1);
		id = weft__sim_task_id(ex, t);
		(void)weft__sim_push(ex, t, id); /* room checked above */
		moved++;
	}
	atomic_fetch_sub(&ex->remote_len, moved);
	pthread_mutex_unlock(&ex->lock);
}


/* ---- the trace ------------------------------------------------------ */

void
weft__sim_trace(struct sim *ex, uint64_t id)
{
	uint64_t h = ex->trace;
	int b;

	for (b = 0; b < 64; b += 8) {
		h ^= (id >> b) & 0xff;
		h *= FNV_PRIME;
	}
	ex->trace = h;
	ex->npolls++;
}


const char *
weft__sim_mode_name(enum sim_mode mode)
{
	return mode == SIM_PCT ? "pct" : "random";
}


/* The line the runner parses: one fprintf, so one write on stderr. */
void
weft__sim_report(struct sim *ex)
{
	fprintf(stderr,
	        "weft-sim: seed=%llu mode=%s polls=%llu trace=%016llx\n",
	        (unsigned long long)ex->seed, weft__sim_mode_name(ex->mode),
	        (unsigned long long)ex->npolls, (unsigned long long)ex->trace);
}
