/* SPDX-License-Identifier: MIT */
/*
 * Looking inside a running program: the runtime-wide side of the facts the
 * task core keeps, the monitor thread that finds long polls without a
 * clock read per poll (observe.h says how), the slow-poll detector's log
 * line, and the bodies of weft_runtime_tasks and weft_runtime_metrics.
 *
 * The cost rule: a runtime that neither serves the console nor has a
 * slow-poll threshold hands its executor the plain task core, which has no
 * trace of observation, and starts no thread here.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "observe.h"
#include "taskcore.h"

/* At most one slow-poll line a second per runtime. */
#define SLOW_LOG_INTERVAL_NS 1000000000ull
#define MSEC                 1000000ull

_Atomic unsigned weft__observing;
static _Atomic uint64_t observe_gens;


uint64_t
weft__observe_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/*
 * Memory on a line of its own.  With malloc, posix_memalign: the block
 * starts at the line, so a leak checker looking at a forked child that
 * exits with the runtime open finds a pointer to its start ("reachable",
 * not "possibly lost").  A runtime allocator (weft_config_set_allocator)
 * gives no alignment beyond max_align_t: the block is then larger, and its
 * start is kept just before the aligned pointer.
 */
static void *
observe_alloc_line(const struct weft_allocator *alloc, size_t size)
{
	char *raw;
	void *p = NULL;
	uintptr_t at;

	if (!weft__mem_custom(alloc)) {
		if (posix_memalign(&p, 64, size) != 0)
			return NULL;
		memset(p, 0, size);
		return p;
	}
	raw = weft__mem_calloc(alloc, 1, size + 64 + sizeof(void *));
	if (!raw)
		return NULL;
	at = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
	((void **)at)[-1] = raw;
	return (void *)at;
}


static void
observe_free_line(const struct weft_allocator *alloc, void *p)
{
	if (!p)
		return;
	if (!weft__mem_custom(alloc))
		free(p);
	else
		weft__mem_free(alloc, ((void **)p)[-1]);
}


/* ---- the monitor ---------------------------------------------------- */

/*
 * One look at every poller: a poll running that the last look did not
 * find is marked seen, with the bounds of its start (observe.h); one
 * found again is told once it has run stuck_ns without returning.
 * Returns the longest such time, or 0.
 */
static uint64_t
observe_tick(struct weft__observe *obs, uint64_t prev, uint64_t now)
{
	uint64_t s, stuck = 0;
	struct weft__poller *p;

	for (p = atomic_load_explicit(&obs->pollers, memory_order_acquire); p;
	     p = atomic_load_explicit(&p->next, memory_order_relaxed)) {
		s = atomic_load_explicit(&p->seq, memory_order_relaxed);
		if (!(s & 1)) {
			p->mon_seq = s & ~WEFT__SEQ_SEEN; /* between polls */
			p->mon_flagged = false;
			continue;
		}
		if ((s & ~WEFT__SEQ_SEEN) != p->mon_seq) {
			/* A poll that began since prev: mark it seen. */
			p->mon_seq = s & ~WEFT__SEQ_SEEN;
			p->mon_seen = now;
			p->mon_stuck = false;
			atomic_store_explicit(&p->since_ns, prev,
			                      memory_order_relaxed);
			atomic_store_explicit(&p->seen_ns, now,
			                      memory_order_relaxed);
			atomic_store_explicit(&p->flag, p->mon_seq,
			                      memory_order_relaxed);
			/* Fails when the poll ended meanwhile: no mark. */
			p->mon_flagged =
			    atomic_compare_exchange_strong_explicit(
			        &p->seq, &s, s | WEFT__SEQ_SEEN,
			        memory_order_release, memory_order_relaxed);
			continue;
		}
		/*
		 * Reported once, when it has run long past the threshold
		 * without returning.
		 */
		if (p->mon_flagged && !p->mon_stuck &&
		    now - p->mon_seen >= obs->stuck_ns) {
			p->mon_stuck = true;
			if (now - p->mon_seen > stuck)
				stuck = now - p->mon_seen;
		}
	}
	return stuck;
}


/* The tasks running now, for the line about a poll that has not returned. */
struct stuck_walk {
	char names[256];
	size_t len;
	unsigned running;
};

static int
stuck_visit(void *arg, const struct weft_task_info *t)
{
	struct stuck_walk *w = arg;
	int n;

	if (t->state != WEFT_TASK_RUNNING)
		return 0;
	if (w->running++ < 4 && w->len < sizeof(w->names)) {
		n = snprintf(w->names + w->len, sizeof(w->names) - w->len,
		             "%s task %" PRIu64 " \"%s\"%s%s%s",
		             w->running > 1 ? "," : "", t->id, t->name,
		             t->location[0] ? " (" : "", t->location,
		             t->location[0] ? ")" : "");
		if (n > 0)
			w->len += (size_t)n;
	}
	return 0;
}


/*
 * A poll seen running that has still not returned after stuck_ns: the
 * line the end of the poll would give may never come (a deadlock, a
 * blocking read), so the monitor says it now, naming the tasks running
 * at this moment (the poller's own is among them).  Without obs->lock:
 * the walk reads the observation's view, which takes it.
 */
static void
observe_report_stuck(struct weft__observe *obs, uint64_t ns)
{
	struct stuck_walk w = {.len = 0};
	struct weft_task_set *set;

	pthread_mutex_lock(&obs->set_lock);
	set = atomic_load(&obs->set);
	if (set)
		(void)weft__taskset_visit(set, stuck_visit, &w);
	pthread_mutex_unlock(&obs->set_lock);
	atomic_fetch_add_explicit(&obs->slow_polls, 1, memory_order_relaxed);
	fprintf(stderr,
	        "weft: slow poll: a poll has run %.0f ms and not returned "
	        "(blocking call or deadlock in async code?); running:%s%s\n",
	        (double)ns / 1e6, w.running ? w.names : " none seen",
	        w.running > 4 ? ", ..." : "");
}


void
weft__observe_forget_set(struct weft__observe *obs, struct weft_task_set *set)
{
	struct weft_task_set *expected = set;

	pthread_mutex_lock(&obs->set_lock);
	pthread_mutex_lock(&obs->lock);
	atomic_compare_exchange_strong(&obs->set, &expected, NULL);
	pthread_mutex_unlock(&obs->lock);
	pthread_mutex_unlock(&obs->set_lock);
}


/*
 * Notes the set's last id at this tick, when it moved: a task with a
 * larger id was spawned after the tick before.  When the log is full every
 * other entry goes and entries come half as often, so that the log covers
 * the runtime's whole life at a precision that halves as it ages.  Under
 * obs->lock.
 */
static void
observe_log_ids(struct weft__observe *obs, uint64_t now)
{
	struct weft_task_set *set = atomic_load(&obs->set);
	struct weft__id_time *last;
	uint64_t id;
	unsigned i;

	if (!set)
		return;
	id = atomic_load_explicit(&set->last_id, memory_order_relaxed);
	last = &obs->id_log[obs->id_log_len - 1];
	if (id == last->id || now - last->ns < obs->id_log_gap_ns)
		return;
	if (obs->id_log_len == WEFT__ID_LOG) {
		for (i = 1; i < WEFT__ID_LOG / 2; i++)
			obs->id_log[i] = obs->id_log[2 * i];
		obs->id_log_len = WEFT__ID_LOG / 2;
		obs->id_log_gap_ns *= 2;
	}
	obs->id_log[obs->id_log_len++] = (struct weft__id_time){id, now};
}


static void *
observe_monitor(void *arg)
{
	struct weft__observe *obs = arg;
	uint64_t prev = weft__observe_now(), now, at, stuck;
	struct timespec until;

	pthread_mutex_lock(&obs->lock);
	while (!obs->stop) {
		at = prev + obs->period_ns;
		until.tv_sec = (time_t)(at / 1000000000u);
		until.tv_nsec = (long)(at % 1000000000u);
		pthread_cond_timedwait(&obs->wake, &obs->lock, &until);
		if (obs->stop)
			break;
		now = weft__observe_now();
		observe_log_ids(obs, now);
		stuck = observe_tick(obs, prev, now);
		prev = now;
		if (stuck) {
			pthread_mutex_unlock(&obs->lock);
			observe_report_stuck(obs, stuck);
			pthread_mutex_lock(&obs->lock);
		}
	}
	pthread_mutex_unlock(&obs->lock);
	return NULL;
}


static int
observe_start(struct weft__observe *obs)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	int r;

	if (pthread_condattr_init(&ca))
		return -ENOMEM;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = -pthread_cond_init(&obs->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (r < 0)
		return r;
	/* No signal of the program's is ever delivered to the monitor. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&obs->monitor, NULL, observe_monitor, obs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		pthread_cond_destroy(&obs->wake);
		return r;
	}
	obs->monitor_started = true;
	return 0;
}


int
weft__observe_new(struct weft__observe **out, unsigned slow_poll_ms,
                  bool console, const struct weft_allocator *alloc)
{
	struct weft__observe *obs;
	uint64_t period;
	int r;

	obs = observe_alloc_line(alloc, sizeof(*obs));
	if (!obs)
		return -ENOMEM;
	obs->alloc = alloc;
	obs->slow_poll_ns = (uint64_t)slow_poll_ms * MSEC;
	obs->timing = console || slow_poll_ms;
	obs->gen = 1 + atomic_fetch_add(&observe_gens, 1);
	obs->open_ns = weft__observe_now();
	/* No task before the observation. */
	obs->id_log[0] = (struct weft__id_time){0, obs->open_ns};
	obs->id_log_len = 1;
	pthread_mutex_init(&obs->lock, NULL);
	pthread_mutex_init(&obs->set_lock, NULL);
	/*
	 * A poll that has not returned is reported while it runs once it is
	 * ten times past the threshold, and never before a second: the line
	 * at its end, with its exact time, is the better one.
	 */
	obs->stuck_ns = 10 * obs->slow_poll_ns;
	if (obs->stuck_ns < 1000 * MSEC)
		obs->stuck_ns = 1000 * MSEC;
	/*
	 * The console shows busy times: a fine period.  The detector alone
	 * needs a few looks within its threshold.
	 */
	period = obs->slow_poll_ns / 4;
	if (console || period < MSEC)
		period = MSEC;
	if (period > 10 * MSEC)
		period = 10 * MSEC;
	obs->period_ns = period;
	obs->id_log_gap_ns = period;
	if (obs->timing) {
		r = observe_start(obs);
		if (r < 0) {
			pthread_mutex_destroy(&obs->lock);
			pthread_mutex_destroy(&obs->set_lock);
			observe_free_line(alloc, obs);
			return r;
		}
		atomic_fetch_add(&weft__observing, 1);
	}
	*out = obs;
	return 0;
}


void
weft__observe_free(struct weft__observe *obs)
{
	struct weft__poller *p, *next;
	struct weft__label *l, *lnext;
	size_t i;

	if (!obs)
		return;
	if (obs->monitor_started) {
		pthread_mutex_lock(&obs->lock);
		obs->stop = true;
		pthread_cond_signal(&obs->wake);
		pthread_mutex_unlock(&obs->lock);
		pthread_join(obs->monitor, NULL);
		pthread_cond_destroy(&obs->wake);
		atomic_fetch_sub(&weft__observing, 1);
	}
	/* The executor is gone: no thread polls for this gen any more. */
	for (p = atomic_load(&obs->pollers); p; p = next) {
		next = atomic_load(&p->next);
		observe_free_line(obs->alloc, p);
	}
	for (i = 0; i < sizeof(obs->labels) / sizeof(obs->labels[0]); i++)
		for (l = obs->labels[i]; l; l = lnext) {
			lnext = l->next;
			weft__mem_free(obs->alloc, l);
		}
	pthread_mutex_destroy(&obs->lock);
	pthread_mutex_destroy(&obs->set_lock);
	observe_free_line(obs->alloc, obs);
}


/* ---- pollers -------------------------------------------------------- */

/*
 * A thread that polls for more than one observed runtime (block_on of one
 * inside a task of another) finds its poller again by its thread id: one
 * poller per thread and runtime, however often it switches.
 */
struct weft__poller *
weft__observe_register(struct weft__observe *obs)
{
	pthread_t self = pthread_self();
	struct weft__poller *p;

	pthread_mutex_lock(&obs->lock);
	for (p = atomic_load(&obs->pollers); p; p = atomic_load(&p->next))
		if (pthread_equal(p->thread, self))
			break;
	if (!p) {
		p = observe_alloc_line(obs->alloc, sizeof(*p));
		if (p) {
			p->thread = self;
			/*
			 * Its first poll is timed (weft__observe_poll_slow
			 * sets the countdown): every thread has a sample.
			 */
			p->rng = (uint32_t)obs->gen * 0x9e3779b9u ^
			         (uint32_t)(uintptr_t)p;
			if (!p->rng)
				p->rng = 1;
			atomic_store_explicit(&p->next,
			                      atomic_load(&obs->pollers),
			                      memory_order_relaxed);
			atomic_store_explicit(&obs->pollers, p,
			                      memory_order_release);
		}
	}
	pthread_mutex_unlock(&obs->lock);
	if (p) {
		weft__task_tls.poller_gen = obs->gen;
		weft__task_tls.poller = p;
	}
	return p;
}


/* ---- labels --------------------------------------------------------- */

static unsigned
label_hash(const char *name, const char *file, int line)
{
	uint32_t h = 2166136261u ^ (uint32_t)line; /* FNV-1a */
	size_t i;

	h = (h ^ (uint32_t)((uintptr_t)file >> 4)) * 16777619u;
	for (i = 0;
	     name && name[i] && i < sizeof(((struct weft__label *)0)->name) - 1;
	     i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h % (sizeof(((struct weft__observe *)0)->labels) /
	            sizeof(struct weft__label *));
}


const struct weft__label *
weft__observe_label(struct weft__observe *obs, const char *name,
                    const char *file, int line)
{
	struct weft__label *l;
	unsigned h;

	if (!name)
		name = "";
	pthread_mutex_lock(&obs->lock);
	if (obs->nlabels >= WEFT__LABELS_MAX)
		name = ""; /* a name per task would grow the table forever */
	h = label_hash(name, file, line);
	for (l = obs->labels[h]; l; l = l->next)
		if (l->file == file && l->line == (uint32_t)line &&
		    strncmp(l->name, name, sizeof(l->name) - 1) == 0)
			break;
	if (!l && (l = weft__mem_calloc(obs->alloc, 1, sizeof(*l)))) {
		snprintf(l->name, sizeof(l->name), "%s", name);
		l->file = file;
		l->line = line > 0 ? (uint32_t)line : 0;
		l->next = obs->labels[h];
		obs->labels[h] = l;
		obs->nlabels++;
	}
	pthread_mutex_unlock(&obs->lock);
	return l;
}


/* Polls until the next timed one: 1..127, 64 on average. */
static uint32_t
observe_countdown(struct weft__poller *p)
{
	uint32_t x = p->rng;

	x ^= x << 13; /* xorshift32 */
	x ^= x >> 17;
	x ^= x << 5;
	p->rng = x;
	return 1 + x % 127;
}


/* Bucket i: shorter than 2^i us and not in a lower one; the last: rest. */
static unsigned
poll_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = 0;

	while (b < WEFT_POLL_HISTOGRAM_BUCKETS - 1 && us >= (uint64_t)1 << b)
		b++;
	return b;
}


static void
observe_max(_Atomic uint64_t *m, uint64_t ns)
{
	if (ns > atomic_load_explicit(m, memory_order_relaxed))
		atomic_store_explicit(m, ns, memory_order_relaxed);
}


/*
 * The detector's line: one a second at most, so that a program that blocks
 * in every poll does not drown its own stderr; the next line says how
 * many were left out.
 */
static void
observe_slow(struct weft__observe *obs, struct weft_task *t,
             struct weft__task_obs *o, uint64_t ns)
{
	const struct weft__label *l = weft__slot_label(
	    atomic_load_explicit(&o->slot, memory_order_acquire));
	uint64_t now = weft__observe_now();
	uint64_t next =
	    atomic_load_explicit(&obs->log_next_ns, memory_order_relaxed);
	uint64_t skipped;
	char where[96] = "";
	char more[64] = "";

	atomic_fetch_add_explicit(&obs->slow_polls, 1, memory_order_relaxed);
	if (now < next ||
	    !atomic_compare_exchange_strong_explicit(
	        &obs->log_next_ns, &next, now + SLOW_LOG_INTERVAL_NS,
	        memory_order_relaxed, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&obs->suppressed, 1,
		                          memory_order_relaxed);
		return;
	}
	skipped =
	    atomic_exchange_explicit(&obs->suppressed, 0, memory_order_relaxed);
	if (l && l->file)
		snprintf(where, sizeof(where), " (%s:%" PRIu32 ")", l->file,
		         l->line);
	if (skipped)
		snprintf(more, sizeof(more), "; %" PRIu64 " more not shown",
		         skipped);
	fprintf(stderr,
	        "weft: slow poll: task %" PRIu64 " \"%s\"%s ran %.1f ms in "
	        "one poll (blocking call in async code?)%s\n",
	        t->id, l ? l->name : "", where, (double)ns / 1e6, more);
}


/*
 * A long poll's end: its duration lies between lo and hi (equal when it
 * was timed).
 */
static void
observe_poll_long(struct weft__observe *obs, struct weft__poller *p,
                  struct weft_task *t, uint64_t lo, uint64_t hi)
{
	struct weft__task_obs *o = weft__task_obs(
	    t, atomic_load_explicit(&t->state, memory_order_relaxed));
	uint64_t mid = lo + (hi - lo) / 2;
	struct weft__task_facts *f;

	weft__bump(&p->long_polls, 1);
	weft__bump(&p->hist_long[poll_bucket(mid)], 1);
	f = weft__task_facts_new(t, o);
	if (f) {
		weft__bump(&f->long_polls, 1);
		weft__bump(&f->long_ns, mid);
		observe_max(&f->max_poll_ns, hi);
	}
	/*
	 * Judged by the middle of the bounds: by the lower one alone, a
	 * monitor kept off its CPU past the poll's start would miss it.
	 * Reported with the upper one, never less than the poll took.
	 */
	if (obs->slow_poll_ns && mid >= obs->slow_poll_ns)
		observe_slow(obs, t, o, hi);
}


weft_poll
weft__observe_poll_seen(struct weft__poller *p, struct weft_task *t,
                        uint64_t seq, weft_poll r)
{
	struct weft__observe *obs = t->set->obs;
	uint64_t end, since, seen, lo;

	/* The fast path stored seq + 1 with the mark: take it off. */
	seq &= ~WEFT__SEQ_SEEN;
	atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
	/* Pairs with the monitor's release of the mark. */
	atomic_thread_fence(memory_order_acquire);
	/* A mark made for an outer poll: a nested one ends first. */
	if (atomic_load_explicit(&p->flag, memory_order_relaxed) != seq)
		return r;
	end = weft__observe_now();
	since = atomic_load_explicit(&p->since_ns, memory_order_relaxed);
	seen = atomic_load_explicit(&p->seen_ns, memory_order_relaxed);
	lo = end > seen ? end - seen : 0;
	/*
	 * Long only when it ran a period past the look that saw it: a short
	 * poll seen by a monitor late after a starved gap is no long poll,
	 * however wide the gap made its bounds.
	 */
	if (lo >= obs->period_ns)
		observe_poll_long(obs, p, t, lo, end > since ? end - since : 0);
	return r;
}


/* Measures one poll, both ends on the clock. */
static weft_poll
observe_poll_timed(struct weft__observe *obs, struct weft__poller *p,
                   struct weft_task *t, struct weft__task_obs *o,
                   struct weft_future *f, struct weft_context *cx, uint64_t s)
{
	/* Measured polls are the task's samples: it needs its facts. */
	struct weft__task_facts *facts = weft__task_facts_new(t, o);
	uint64_t start, woke, end, d;
	weft_poll r;

	atomic_store_explicit(&p->seq, s + 1, memory_order_relaxed);
	p->task = t;
	start = weft__observe_now();
	woke = facts
	           ? atomic_load_explicit(&facts->woke_ns, memory_order_relaxed)
	           : 0;
	if (woke) {
		woke = atomic_exchange_explicit(&facts->woke_ns, 0,
		                                memory_order_relaxed);
		if (woke && woke <= start) {
			weft__bump(&facts->sched, 1);
			weft__bump(&facts->sched_ns, start - woke);
			weft__bump(&p->sched, 1);
			weft__bump(&p->sched_ns, start - woke);
		}
	}
	r = f->vtable->poll(f, cx);
	end = weft__observe_now();
	/* Stored over a mark the monitor may have made: not needed here. */
	atomic_store_explicit(&p->seq, s + 2, memory_order_relaxed);
	d = end > start ? end - start : 0;
	/* Timed: judged by its exact time, seen or not. */
	if (d >= obs->period_ns) {
		observe_poll_long(obs, p, t, d, d);
		return r;
	}
	weft__bump(&p->timed, 1);
	weft__bump(&p->timed_ns, d);
	weft__bump(&p->hist_timed[poll_bucket(d)], 1);
	if (facts) {
		weft__bump(&facts->timed, 1);
		weft__bump(&facts->timed_ns, d);
		observe_max(&facts->max_poll_ns, d);
	}
	return r;
}


weft_poll
weft__observe_poll_slow(struct weft__observe *obs, struct weft_task *t,
                        struct weft_future *f, struct weft_context *cx)
{
	struct weft__task_obs *o = weft__task_obs(
	    t, atomic_load_explicit(&t->state, memory_order_relaxed));
	struct weft__poller *p = weft__task_tls.poller;
	bool found = weft__task_tls.poller_gen == obs->gen;
	struct weft_task *outer;
	uint64_t s;
	weft_poll r;

	if (!found)
		p = weft__observe_register(obs);
	/* Sent here by the countdown, a timed wake or a new poller. */
	if (p && (p->countdown == 0 || !found))
		p->countdown = observe_countdown(p);
	if (!p ||
	    ((s = atomic_load_explicit(&p->seq, memory_order_relaxed)) & 1)) {
		/*
		 * No poller, or inside another poll of this thread: the
		 * outer poll's task is its own again when this one ends.
		 */
		if (!p)
			return f->vtable->poll(f, cx);
		outer = p->task;
		p->task = t;
		r = f->vtable->poll(f, cx);
		p->task = outer;
		return r;
	}
	return observe_poll_timed(obs, p, t, o, f, cx, s & ~WEFT__SEQ_SEEN);
}
