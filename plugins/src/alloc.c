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

static struct weft_allocator default_alloc;
static atomic_bool default_set;

const struct weft_allocator *
weft__mem_default(void)
{
	if (!atomic_load_explicit(&default_set, memory_order_acquire))
		return NULL;
	return &default_alloc;
}


WEFT_EXPORT int
weft_set_default_allocator(const struct weft_allocator *a)
{
	if (!a) {
		atomic_store_explicit(&default_set, false,
		                      memory_order_release);
		return 0;
	}
	if (a->version < 1 || !a->alloc || !a->free)
		return -EINVAL;
	atomic_store_explicit(&default_set, false, memory_order_release);
	default_alloc = *a;
	default_alloc.version = WEFT_ALLOCATOR_VERSION;
	atomic_store_explicit(&default_set, true, memory_order_release);
	return 0;
}
