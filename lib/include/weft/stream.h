/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Streams: futures that yield many items, one poll_next at a time — the C
 * face of Rust's `Stream` trait — and the adapters filter, map, take and
 * collect.
 *
 * A stream is any struct whose first member is a `struct weft_stream`.  Its
 * items are fixed-size byte blobs: item_size sits in the stream header (not
 * in the vtable) because it is often known only at run time — a channel
 * receiver's element size, a map adapter's output type.  poll_next copies
 * one item into a buffer of item_size bytes that the caller provides.
 *
 * Ownership follows the futures' rules: an adapter owns the stream it wraps
 * (it drops it when it is dropped itself), the wrapped stream lives in the
 * caller's struct and is pinned from the first poll until drop.  Streams are
 * polled by one task at a time; like futures they may be dropped from any
 * thread that owns them, but never concurrently with a poll.
 *
 *     struct weft_stream_range src;       // 0, 1, 2, ... 19 (int64_t)
 *     struct weft_stream_filter even;
 *     struct weft_stream_map square;
 *     struct weft_stream_take first5;
 *     struct weft_stream_collect all;     // a future
 *
 *     weft_stream_range_init(&src, 0, 20);
 *     weft_stream_filter_init(&even, &src.base, is_even, NULL);
 *     weft_stream_map_init(&square, &even.base, sizeof(int64_t), sq, NULL);
 *     weft_stream_take_init(&first5, &square.base, 5);
 *     weft_stream_collect_init(&all, &first5.base);
 *     WEFT_AWAIT(&co, cx, &all);         // all.out.vec: 0 4 16 36 64
 */
#ifndef WEFT_STREAM_H
#define WEFT_STREAM_H

#include <weft/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * What poll_next returns.  WEFT_PENDING (0) is pending, as for futures.
 *
 * WEFT_STREAM_ITEM:  one item was written to the caller's buffer.
 * WEFT_STREAM_END:   the stream has ended; it is not polled again (the
 *                    stream analogue of F2).
 * negative:          an error item: nothing was written.  Whether the
 *                    stream can go on is its own business (a lagging
 *                    broadcast receiver can; a broken one answers
 *                    WEFT_STREAM_END next).  Adapters pass errors through
 *                    unchanged; collect stops at the first one.
 */
#define WEFT_STREAM_ITEM 1
#define WEFT_STREAM_END  2 /**< the stream has ended */

struct weft_stream;

/**
 * @struct weft_stream_vtable
 * poll_next: advances the stream; returns one of the codes above.  On
 *            WEFT_PENDING it has arranged for cx->waker (or a clone) to be
 *            woken when an item, the end or an error is available.  `item`
 *            points to item_size writable bytes (it may be NULL only when
 *            item_size is 0).  Thread of the polling task.
 * drop:      releases everything the stream holds, including any stream it
 *            wraps.  Called exactly once (weft_stream_drop makes a second
 *            call a no-op).  May be NULL.
 */
#define WEFT_STREAM_VTABLE_VERSION 1 /**< layout of the struct below */
struct weft_stream_vtable {
	uint32_t version; /**< WEFT_STREAM_VTABLE_VERSION */
	uint32_t flags; /**< reserved, 0 */
	/** advances the stream: one of the codes above */
	int (*poll_next)(struct weft_stream *self, struct weft_context *cx,
	                 void *item);
	/** releases what it holds, once; may be NULL */
	void (*drop)(struct weft_stream *self);
};

/**
 * The head of every stream.  A zeroed head (vtable NULL) is an empty slot:
 * dropping it does nothing.
 */
struct weft_stream {
	/** NULL: an empty slot, or dropped */
	const struct weft_stream_vtable *vtable;
	size_t item_size; /**< bytes of each item */
};

/** Polls s once; WEFT_ENOTSUP for an empty slot or no poll_next. */
static inline int
weft_stream_poll_next(struct weft_stream *s, struct weft_context *cx,
                      void *item)
{
	if (!s || !s->vtable || !s->vtable->poll_next)
		return WEFT_ENOTSUP;
	return s->vtable->poll_next(s, cx, item);
}

/** Drops the stream once; a second call, or an empty slot, is a no-op. */
static inline void
weft_stream_drop(struct weft_stream *s)
{
	const struct weft_stream_vtable *vt = s ? s->vtable : 0;

	if (vt) {
		s->vtable = 0;
		if (vt->drop)
			vt->drop(s);
	}
}

/** True for NULL, an empty slot or a dropped stream. */
static inline bool
weft_stream_is_empty(const struct weft_stream *s)
{
	return !s || s->vtable == 0;
}

/* ------------------------------------------------------------------ */
/* A growable array: what collect fills                                */
/* ------------------------------------------------------------------ */

/** Items of item_size bytes, contiguous.  Zero-initialise before use. */
struct weft_vec {
	void *data; /**< the items, owned; NULL before the first push */
	size_t len; /**< items held */
	size_t cap; /**< items data has room for */
	size_t item_size; /**< bytes of each item */
};

/** Appends one item (copied).  0, or -ENOMEM (the vector is unchanged). */
int weft_vec_push(struct weft_vec *v, const void *item);

/** Frees the storage; the vector is empty (and reusable) afterwards. */
void weft_vec_free(struct weft_vec *v);

/** The address of item i; i must be below len. */
static inline void *
weft_vec_at(const struct weft_vec *v, size_t i)
{
	return (char *)v->data + i * v->item_size;
}

/* ------------------------------------------------------------------ */
/* Sources                                                             */
/* ------------------------------------------------------------------ */

/**
 * An iterator as a stream.  next(state, item) writes one item and returns
 * 1, returns 0 at the end, or a negative error item.  It is called on the
 * polling thread and never blocks; each item spends one unit of budget, so
 * a long iterator still lets other tasks run.  state is borrowed.
 */
typedef int (*weft_iter_fn)(void *state, void *item);

/** A stream of the items next(state, item) writes: see weft_iter_fn. */
struct weft_stream_iter {
	struct weft_stream base; /**< the stream's vtable and item size */
	weft_iter_fn next; /**< writes the next item */
	void *state; /**< passed to next, borrowed */
	int ended; /**< set once next has returned 0 */
};
/** A stream of item_size items from next(state, item). */
void weft_stream_iter_init(struct weft_stream_iter *s, size_t item_size,
                           weft_iter_fn next, void *state);

/** The integers [start, end) as int64_t items, in order. */
struct weft_stream_range {
	struct weft_stream base; /**< the stream's vtable and item size */
	int64_t next; /**< the next integer to yield */
	int64_t end; /**< the first integer not yielded */
};
/** The stream of start, start + 1, ... end - 1. */
void weft_stream_range_init(struct weft_stream_range *s, int64_t start,
                            int64_t end);

/* ------------------------------------------------------------------ */
/* Adapters: each owns the stream it wraps                             */
/* ------------------------------------------------------------------ */

/** Keeps the items for which keep(item, arg) is true.  Same item size. */
typedef bool (*weft_stream_pred_fn)(const void *item, void *arg);

/** The items of inner that keep accepts: see weft_stream_pred_fn. */
struct weft_stream_filter {
	struct weft_stream base; /**< the stream's vtable and item size */
	struct weft_stream *inner; /**< the filtered stream, owned */
	weft_stream_pred_fn keep; /**< true for the items kept */
	void *arg; /**< passed to keep */
};
/** Filters inner (owned) with keep(item, arg). */
void weft_stream_filter_init(struct weft_stream_filter *s,
                             struct weft_stream *inner,
                             weft_stream_pred_fn keep, void *arg);

/**
 * Turns each item into another, of out_size bytes: fn(in, out, arg).  The
 * inner item is read into a buffer of the adapter's (inline when it fits
 * WEFT_STREAM_MAP_INLINE bytes, else allocated on first poll; -ENOMEM is
 * then reported as an error item).
 */
typedef void (*weft_stream_map_fn)(const void *in, void *out, void *arg);

/** Inner item bytes a map adapter holds without allocating. */
#define WEFT_STREAM_MAP_INLINE 64
/** Each item of inner turned into another: see weft_stream_map_fn. */
struct weft_stream_map {
	struct weft_stream base; /**< the stream's vtable and out_size */
	struct weft_stream *inner; /**< the mapped stream, owned */
	weft_stream_map_fn fn; /**< turns an inner item into an item */
	void *arg; /**< passed to fn */
	void *heap; /**< the inner item's buffer when too big for buf */
	union {
		long double align_ld;
		uint64_t align_u64;
		void *align_ptr;
		unsigned char bytes[WEFT_STREAM_MAP_INLINE];
	} buf; /**< the inner item's buffer when it fits */
};
/** Maps inner (owned) to out_size items with fn(in, out, arg). */
void weft_stream_map_init(struct weft_stream_map *s, struct weft_stream *inner,
                          size_t out_size, weft_stream_map_fn fn, void *arg);

/**
 * The first n items, then the end.  The inner stream is not polled again
 * once n items have passed (it is dropped when the adapter is).
 */
struct weft_stream_take {
	struct weft_stream base; /**< the stream's vtable and item size */
	struct weft_stream *inner; /**< the stream taken from, owned */
	uint64_t left; /**< items still to pass */
};
/** The first n items of inner (owned). */
void weft_stream_take_init(struct weft_stream_take *s,
                           struct weft_stream *inner, uint64_t n);

/* ------------------------------------------------------------------ */
/* Futures over streams                                                */
/* ------------------------------------------------------------------ */

/**
 * Awaits the next item of a stream it BORROWS (the stream outlives it: use
 * it in a loop or a select, as `stream.next().await`).  Output: status 1
 * (an item was written to `item`), 0 (end of stream) or a negative error.
 */
struct weft_stream_next {
	struct weft_future base; /**< the future's vtable */
	struct weft_stream *stream; /**< the stream, borrowed */
	void *item; /**< where the item is written (item_size bytes) */
	int status; /**< output: 1 item, 0 end, or a negative error */
};
/** A future for the next item of stream, written to item. */
void weft_stream_next_init(struct weft_stream_next *f,
                           struct weft_stream *stream, void *item);

/**
 * Collects every item into a weft_vec, until the end.  Owns the stream
 * (drops it when done).  Output `out`: status 0, or the first error item
 * (-ENOMEM included), which ends collection; vec holds the items collected
 * so far.  Once ready the vector belongs to the caller (weft_vec_free);
 * dropping the future before it is ready frees it.
 */
struct weft_stream_collect_out {
	int status; /**< 0 or the first error item */
	/** the items collected; the caller's once ready */
	struct weft_vec vec;
};

/** The future that collects a stream: see weft_stream_collect_out. */
struct weft_stream_collect {
	struct weft_future base; /**< the future's vtable */
	struct weft_stream *stream; /**< the stream, owned */
	int done; /**< set once ready, the stream dropped */
	struct weft_stream_collect_out out; /**< output: status and the items */
};
/** A future that collects stream (owned) into a weft_vec. */
void weft_stream_collect_init(struct weft_stream_collect *f,
                              struct weft_stream *stream);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_STREAM_H */
