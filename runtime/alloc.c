/* SPDX-License-Identifier: MIT */
/*
 * The process-wide default allocator (see weft.h).  It is published with
 * release/acquire so that a thread that sees the flag also sees the
 * functions; changing it while objects live is the caller's risk, as the
 * header says.
 */
#include <errno.h>
#include <stdatomic.h>

#include "alloc.h"
#include "internal.h"

struct weft__mem_default_slot weft__mem_default_slot;


WEFT_EXPORT int
weft_set_default_allocator(const struct weft_allocator *a)
{
	struct weft__mem_default_slot *d = &weft__mem_default_slot;

	if (!a) {
		atomic_store_explicit(&d->set, false, memory_order_release);
		return 0;
	}
	if (a->version < 1 || !a->alloc || !a->free)
		return -EINVAL;
	atomic_store_explicit(&d->set, false, memory_order_release);
	d->alloc = *a;
	d->alloc.version = WEFT_ALLOCATOR_VERSION;
	atomic_store_explicit(&d->set, true, memory_order_release);
	return 0;
}


WEFT_EXPORT void *
weft_alloc(size_t size)
{
	return weft__mem_alloc(weft__mem_default(), size);
}


WEFT_EXPORT void *
weft_calloc(size_t n, size_t size)
{
	return weft__mem_calloc(weft__mem_default(), n, size);
}


WEFT_EXPORT void *
weft_realloc(void *p, size_t old_size, size_t size)
{
	return weft__mem_grow(weft__mem_default(), p, old_size, size);
}


WEFT_EXPORT void
weft_free(void *p)
{
	weft__mem_free(weft__mem_default(), p);
}
