/* SPDX-License-Identifier: MIT */
/*
 * Allocation through a struct weft_allocator (see weft.h).  A NULL
 * allocator, or one without functions, means libc.  The helpers are
 * inline so that the host sources the unit tests compile one by one need
 * nothing else; the library (lib/) includes this header too, for the
 * process default, which is its one link to the host.
 */
#ifndef WEFT_ALLOC_H
#define WEFT_ALLOC_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <weft/weft.h>

static inline int
weft__mem_custom(const struct weft_allocator *a)
{
	return a && a->alloc && a->free;
}

static inline void *
weft__mem_alloc(const struct weft_allocator *a, size_t n)
{
	/* malloc(0) may return NULL, which would look like a failure. */
	if (n == 0)
		n = 1;
	return weft__mem_custom(a) ? a->alloc(a->ud, n) : malloc(n);
}

static inline void *
weft__mem_calloc(const struct weft_allocator *a, size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	if (!weft__mem_custom(a))
		return calloc(n ? n : 1, size ? size : 1);
	p = weft__mem_alloc(a, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

static inline void
weft__mem_free(const struct weft_allocator *a, void *p)
{
	if (!p)
		return;
	if (weft__mem_custom(a))
		a->free(a->ud, p);
	else
		free(p);
}

/*
 * realloc for an allocator that has none: moves the first `old` bytes.
 * On failure p is untouched and still owned by the caller.
 */
static inline void *
weft__mem_grow(const struct weft_allocator *a, void *p, size_t old, size_t n)
{
	void *q;

	if (!weft__mem_custom(a))
		return realloc(p, n ? n : 1);
	q = weft__mem_alloc(a, n);
	if (q && p) {
		memcpy(q, p, old < n ? old : n);
		weft__mem_free(a, p);
	}
	return q;
}

/*
 * The process default (alloc.c).  Read on every allocation and free of the
 * library, so the check is inline: one load when it is libc's.
 */
struct weft__mem_default_slot {
	atomic_bool set;
	struct weft_allocator alloc;
};

extern struct weft__mem_default_slot weft__mem_default_slot
    __attribute__((visibility("hidden")));

/* The process default, or NULL while it is libc's. */
static inline const struct weft_allocator *
weft__mem_default(void)
{
	if (!atomic_load_explicit(&weft__mem_default_slot.set,
	                          memory_order_acquire))
		return NULL;
	return &weft__mem_default_slot.alloc;
}

#endif /* WEFT_ALLOC_H */
