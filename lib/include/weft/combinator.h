/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Combinators: futures made of futures — join, try_join, select, fuse,
 * map, then — the C face of tokio's join!/try_join!/select! macros and
 * of the futures crate's join_all, try_join_all and FutureExt.
 *
 * Children are passed by pointer.  They live in the parent's struct (or in
 * an array of the caller's), initialised before the combinator is, and are
 * pinned with it.  The combinator OWNS them: it drops each child once, as
 * soon as the child is no longer needed (finished, lost a select, cancelled
 * by a failing sibling), and drops the rest when it is dropped itself.  A
 * child's output stays readable in its own storage after that drop (F4), so
 * the caller reads results where it put the children.
 *
 * Pointer arrays passed to the *_all variants are borrowed: they must stay
 * valid (and unchanged) until the combinator is dropped.  The variadic
 * initialisers copy up to WEFT_COMBINATOR_INLINE pointers into the
 * combinator itself instead, so `join!(a, b, c)` needs no array.
 *
 * Statuses.  try_join cancels the rest when a child fails, and a child's
 * failure is whatever the caller says it is: the try variants take a
 * weft_status_fn that reads a finished child's status (negative: failed).
 * weft_status_output is the one for children whose declared output (the
 * vtable's output_offset) begins with an int status, as the runtime's own
 * futures (sleep, timeout, join future) and the combinators here do;
 * fuse and map record their inner future's status the same way.
 */
#ifndef WEFT_COMBINATOR_H
#define WEFT_COMBINATOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <weft/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The int at the start of f's declared output (vtable output_offset), or
 * 0 when its output is smaller than an int: the status of the runtime's
 * futures and of the combinators here.
 */
static inline int
weft_future_status(const struct weft_future *f)
{
	const struct weft_future_vtable *vt = f->vtable;
	int status = 0;

	if (vt && vt->output_size >= sizeof(int))
		memcpy(&status, (const char *)f + vt->output_offset,
		       sizeof(status));
	return status;
}

/**
 * How try_join reads a finished child's status: negative means it failed.
 * Called once per child, when it is ready and before it is dropped, on the
 * polling thread, with the arg given at init.
 */
typedef int (*weft_status_fn)(const struct weft_future *child, void *arg);

/**
 * A weft_status_fn for children whose output begins with an int status:
 * weft_future_status(child); arg is unused.
 */
int weft_status_output(const struct weft_future *child, void *arg);

/**
 * A weft_status_fn for children that keep their status in an int at a byte
 * offset of their struct, given as arg: WEFT_STATUS_OFFSET(type, member).
 */
int weft_status_at(const struct weft_future *child, void *arg);

/** The arg of weft_status_at for the int member `member` of `type`. */
#define WEFT_STATUS_OFFSET(type, member)                                       \
	((void *)(uintptr_t)offsetof(type, member))

/** Children the variadic initialisers keep inline. */
#define WEFT_COMBINATOR_INLINE 8

/* ------------------------------------------------------------------ */
/* join and try_join                                                   */
/* ------------------------------------------------------------------ */

/**
 * Polls every child until all are ready (join), or until one reports a
 * negative status through the status function (try: the first error wins
 * and every other child is dropped at once — cancelled).  Children are polled
 * in order on each poll; a NULL entry or an empty slot counts as already
 * finished.
 *
 * Output `status`: 0 when all succeeded (join: always 0); for try_join the
 * first error, with `failed` the index of the child that reported it
 * (-1 when none failed).
 */
struct weft_join_all {
	struct weft_future base;       /**< the future's vtable */
	struct weft_future **children; /**< borrowed array, or NULL: inline */
	/** the children of the variadic initialisers */
	struct weft_future *inline_[WEFT_COMBINATOR_INLINE];
	size_t n;    /**< number of children */
	size_t left; /**< children not finished yet */
	bool try_;   /**< true for try_join: the first error wins */
	weft_status_fn status_fn; /**< try_join: reads a child's status */
	void *status_arg;         /**< passed to status_fn */
	int status;               /**< output: 0, or try_join's first error */
	int failed; /**< output: index of the failed child, or -1 */
};

/** join_all / try_join_all over a borrowed array of n child pointers. */
void weft_join_all_init(struct weft_join_all *j, struct weft_future **children,
                        size_t n);
/**
 * try_join_all over a borrowed array of n child pointers; status(child,
 * arg) tells a failed child (weft_status_output, weft_status_at or the
 * caller's own).  A NULL status makes it a plain join_all.
 */
void weft_try_join_all_init(struct weft_join_all *j,
                            struct weft_future **children, size_t n,
                            weft_status_fn status, void *arg);

/**
 * join!(...) / try_join!(...): n child pointers (at most
 * WEFT_COMBINATOR_INLINE) follow n.  Returns -E2BIG, leaving *j empty and
 * the children untouched, when n is too large.
 */
int weft_join_init(struct weft_join_all *j, size_t n, ...);
/** try_join!(...): as weft_join_init, with status and arg as try_join_all. */
int weft_try_join_init(struct weft_join_all *j, weft_status_fn status,
                       void *arg, size_t n, ...);

/* ------------------------------------------------------------------ */
/* select                                                              */
/* ------------------------------------------------------------------ */

/** Flags for select. */
#define WEFT_SELECT_BIASED 0x1u /**< poll in order, first listed first */
#define WEFT_SELECT_BORROW 0x2u /**< do not drop the branches: the caller */
                                /**< keeps them (tokio's `&mut fut`) */

/**
 * `winner` of struct weft_select and `index` of struct weft_select_loop
 * when every branch was disabled: select's else branch.  The fiber forms
 * weft_select_await and weft_select_all_await (<weft/await.h>) return n
 * instead, since their -1 would be -EPERM.
 */
#define WEFT_SELECT_ELSE (-1)

/**
 * Polls the branches until one is ready; that one wins and every other is
 * dropped (cancelled) at once, unless WEFT_SELECT_BORROW was given, in
 * which case select drops nothing and the caller keeps every branch — to
 * poll again in the next round of a loop, as with fused futures.
 *
 * A branch is disabled — tokio's `, if cond` — when its pointer is NULL,
 * its slot is empty, or it is a fused future that has already finished
 * (weft_fuse_is_terminated).  When all are disabled, select is ready at
 * once with winner = WEFT_SELECT_ELSE.
 *
 * Fairness: by default each poll starts at a random branch, so that a
 * branch that is always ready cannot starve the others; with
 * WEFT_SELECT_BIASED the branches are polled in the order given (tokio's
 * `biased;`), which makes the first branch a priority.
 *
 * Output `winner`: the index of the branch that finished (its output is in
 * its own storage), or WEFT_SELECT_ELSE.
 *
 * This is the one-shot select!: for a select in a loop, whose branches
 * stay in place across rounds, see weft_select_loop.
 */
struct weft_select {
	struct weft_future base;       /**< the future's vtable */
	struct weft_future **branches; /**< borrowed array, or NULL: inline */
	/** the branches of weft_select_init */
	struct weft_future *inline_[WEFT_COMBINATOR_INLINE];
	size_t n;       /**< number of branches */
	unsigned flags; /**< WEFT_SELECT_BIASED, WEFT_SELECT_BORROW */
	uint32_t rng;   /**< state of the random starting branch */
	int winner;     /**< output: the winning index, or WEFT_SELECT_ELSE */
};

/** select over a borrowed array of n branch pointers. */
void weft_select_all_init(struct weft_select *s, unsigned flags,
                          struct weft_future **branches, size_t n);

/** n branch pointers (NULL allowed: disabled) follow n.  -E2BIG as join. */
int weft_select_init(struct weft_select *s, unsigned flags, size_t n, ...);

/* ------------------------------------------------------------------ */
/* select in a loop                                                    */
/* ------------------------------------------------------------------ */

/**
 * The select of a loop, tokio's `loop { select! { ... } }` over pinned
 * futures: the branches are named once, stay in place from one round to
 * the next, and the code that handles the winner is plain if/else, where
 * WEFT_AWAIT may sit (a `switch` of the caller's may not enclose one).
 *
 *     // once
 *     weft_signal_init(&e->ctrl_c, WEFT_SIGNAL_BIT(SIGINT));
 *     weft_mpsc_recv_init(&e->recv, e->rx, &e->msg);
 *     weft_sleep_init(&e->idle, 30 * WEFT_SEC);
 *     weft_select_loop_init(&e->sel, WEFT_SELECT_BIASED, 3,
 *                           &e->ctrl_c.base, &e->recv.base, &e->idle.base);
 *     for (;;) {
 *             WEFT_AWAIT(&e->co, cx, weft_select_loop_next(&e->sel));
 *             if (weft_select_loop_won(&e->sel, &e->ctrl_c)) {
 *                     break;
 *             } else if (weft_select_loop_won(&e->sel, &e->recv)) {
 *                     if (e->recv.status < 0)
 *                             continue;  // closed: left disarmed
 *                     WEFT_AWAIT(&e->co, cx, ...handle e->msg...);
 *                     weft_sleep_reset(&e->idle, now + 30 * WEFT_SEC);
 *                     weft_mpsc_recv_init(&e->recv, e->rx, &e->msg);
 *             } else if (weft_select_loop_won(&e->sel, &e->idle)) {
 *                     break;
 *             } else {  // every branch disarmed or disabled
 *                     break;
 *             }
 *     }
 *     weft_select_loop_drop(&e->sel);  // and in the future's drop
 *
 * Each round (weft_select_loop_next, awaited) polls the armed, enabled
 * branches until one is ready.  That one wins: the round drops it, so its
 * output is readable in its own storage (F4) and its slot is empty, which
 * disarms it.  The caller re-arms it by initialising it again in the same
 * storage, or leaves it disarmed (a channel that closed).  The others lose
 * nothing: they stay as they are, pending, for the next round — a timer
 * keeps its deadline (weft_sleep_reset moves it), a receive its place.
 *
 * A branch takes part in a round when its slot holds a future (not empty),
 * it is enabled (weft_select_loop_enable: tokio's `, if cond`) and it is
 * not a fused future that has finished.  When none does, the round is
 * ready at once with no winner (select's else branch).
 *
 * Ownership: the branches live in the caller's storage and belong to the
 * loop from init until weft_select_loop_drop, which drops every one still
 * armed; the caller must call it when it leaves the loop and from its own
 * drop.  Dropping a round (WEFT_AWAIT does when it is ready, or when the
 * caller is dropped mid-round) drops no branch.  Fairness as select: a
 * random first branch each round, unless WEFT_SELECT_BIASED.
 */
struct weft_select_loop {
	struct weft_future base;       /**< the current round (a future) */
	struct weft_future **branches; /**< borrowed array, or NULL: inline */
	/** the branches of weft_select_loop_init */
	struct weft_future *inline_[WEFT_COMBINATOR_INLINE];
	size_t n;          /**< number of branches, at most 64 */
	uint64_t disabled; /**< bit i: branch i switched off by the caller */
	unsigned flags;    /**< WEFT_SELECT_BIASED */
	uint32_t rng;      /**< state of the random first branch */
	/** output: the branch that won the last round; NULL for none */
	struct weft_future *winner;
	int index; /**< output: its index, or WEFT_SELECT_ELSE */
};

/**
 * A select loop over n branch pointers (at most WEFT_COMBINATOR_INLINE),
 * which follow n; the futures they point to may be armed later.  0, or
 * -E2BIG (l left empty, the branches untouched).  flags: 0 or
 * WEFT_SELECT_BIASED.
 */
int weft_select_loop_init(struct weft_select_loop *l, unsigned flags, size_t n,
                          ...);

/**
 * As weft_select_loop_init over a borrowed array of n (at most 64) branch
 * pointers, which must stay valid until weft_select_loop_drop.
 */
int weft_select_loop_all_init(struct weft_select_loop *l, unsigned flags,
                              struct weft_future **branches, size_t n);

/**
 * The next round, to await: starts a round when the last one has been
 * dropped (or none was started), and otherwise returns the round in
 * progress, so that a poll function that asks for it at every poll goes on
 * with one round until it is over.  WEFT_AWAIT and weft_await evaluate it
 * once and drop the round once it is ready; code that polls the round
 * itself drops it (weft_future_drop(&l->base)) after reading the winner.
 * Returns &l->base.
 */
struct weft_future *weft_select_loop_next(struct weft_select_loop *l);

/**
 * True when branch (the branch's future, or the struct it heads) won the
 * last round.  The else round (no winner) is !weft_select_loop_won for
 * every branch, and l->winner == NULL.
 */
static inline bool
weft_select_loop_won(const struct weft_select_loop *l, const void *branch)
{
	return l->winner != 0 && (const void *)l->winner == branch;
}

/**
 * Switches a branch (given by its future) on or off for the rounds that
 * follow, keeping its future as it is: tokio's `, if cond`.  0, or -ENOENT
 * when branch is not one of l's.
 */
int weft_select_loop_enable(struct weft_select_loop *l, const void *branch,
                            bool on);

/** Drops the round and every branch still armed.  A second call is a no-op. */
void weft_select_loop_drop(struct weft_select_loop *l);

/* ------------------------------------------------------------------ */
/* fuse                                                                */
/* ------------------------------------------------------------------ */

/**
 * Makes a future safe to poll after it has finished: the first time the
 * inner future is ready fuse drops it, records the inner status, and from
 * then on every poll is ready again at once without touching it.  Owns
 * inner.  select treats a finished fuse as a disabled branch, which is
 * what lets a loop select over the same futures until all have finished.
 *
 * Output `status`: the inner future's status (see the convention above).
 */
struct weft_fuse {
	struct weft_future base;   /**< the future's vtable */
	struct weft_future *inner; /**< the fused future, owned */
	bool done;                 /**< true once inner has finished */
	int status;                /**< output: the inner future's status */
};
/** Fuses inner, which f then owns. */
void weft_fuse_init(struct weft_fuse *f, struct weft_future *inner);

/** True once the fused future has finished. */
bool weft_fuse_is_terminated(const struct weft_future *f);

/* ------------------------------------------------------------------ */
/* ready, map, then                                                    */
/* ------------------------------------------------------------------ */

/** A small result: the status convention plus one scalar value. */
union weft_value {
	int64_t i;  /**< a signed integer */
	uint64_t u; /**< an unsigned integer */
	double d;   /**< a floating-point number */
	void *p;    /**< a pointer, not owned */
};

/** A status and a value: the output of ready, map and then. */
struct weft_result {
	int status; /**< 0 or positive: success; negative: an error */
	union weft_value value; /**< the value, when there is one */
};

/** Ready at the first poll with a given result: `async { 42 }`. */
struct weft_ready {
	struct weft_future base; /**< the future's vtable */
	struct weft_result out;  /**< output: the given result */
};
/** A future ready at once with status and value. */
void weft_ready_init(struct weft_ready *f, int status, union weft_value value);

/**
 * future.map(fn): when inner is ready, fn(inner, &out, arg) turns the
 * inner future (its output is readable through it) into the map's result;
 * out.status is preset to the inner status.  fn runs on the polling
 * thread, before inner is dropped.  Owns inner.
 */
typedef void (*weft_map_fn)(struct weft_future *inner, struct weft_result *out,
                            void *arg);

/** future.map(fn): see weft_map_fn. */
struct weft_map {
	struct weft_future base;   /**< the future's vtable */
	struct weft_future *inner; /**< the mapped future, owned */
	weft_map_fn fn;            /**< turns inner into the result */
	void *arg;                 /**< passed to fn */
	struct weft_result out;    /**< output: the result fn made */
};
/** Maps inner (owned) with fn(inner, &out, arg). */
void weft_map_init(struct weft_map *m, struct weft_future *inner,
                   weft_map_fn fn, void *arg);

/**
 * future.then(fn): when first is ready, fn(first, &out, arg) initialises
 * the next future — in storage the caller provides, typically next to
 * first in the parent struct — and returns it; `then` awaits it and owns
 * it.  fn may instead return NULL to finish at once with the result it put
 * in out (out.status is preset to first's status).  fn runs before first
 * is dropped, on the polling thread.  Owns first.
 *
 * Output `out`: status is the next future's status; its output is in its
 * own storage.
 */
typedef struct weft_future *(*weft_then_fn)(struct weft_future *first,
                                            struct weft_result *out, void *arg);

/** future.then(fn): see weft_then_fn. */
struct weft_then {
	struct weft_future base;   /**< the future's vtable */
	struct weft_future *first; /**< the first future, owned */
	/** the future fn returned (owned), NULL until then */
	struct weft_future *next;
	weft_then_fn fn;        /**< makes next from first */
	void *arg;              /**< passed to fn */
	struct weft_result out; /**< output: next's status, or what fn put */
};
/** Chains first (owned) and the future fn returns. */
void weft_then_init(struct weft_then *t, struct weft_future *first,
                    weft_then_fn fn, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_COMBINATOR_H */
