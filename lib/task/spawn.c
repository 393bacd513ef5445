/* SPDX-License-Identifier: MIT */
/*
 * spawn in one call: the executor's spawn and the join future over its
 * handle, so that a failed spawn is just a handle that completes with the
 * error, and the caller has one thing to await, abort or drop.
 */
/* Defines a spawn call that weft.h wraps in a macro. */
#define WEFT_NO_SPAWN_LABELS 1
#include <weft/task.h>
#include <weft/weft.h>


WEFT_EXPORT int
weft_spawn_join(struct weft_executor *ex, struct weft_future *fut,
                struct weft_join_future *handle, void *out, size_t out_size)
{
	struct weft_join *join = NULL;
	int r = weft_executor_spawn(ex, fut, &join);

	if (r < 0)
		join = NULL; /* spawn dropped fut and made no handle */
	weft_join_future_init(handle, join, out, out_size);
	if (r < 0)
		handle->status = r; /* what awaiting it reports */
	return r < 0 ? r : 0;
}


WEFT_EXPORT void
weft_join_future_abort(struct weft_join_future *handle)
{
	/* join is NULL after a failed spawn and once the handle is dropped. */
	if (!weft_future_is_empty(&handle->base))
		weft_join_abort(handle->join);
}
