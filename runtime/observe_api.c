/* SPDX-License-Identifier: MIT */
/*
 * The public calls that look inside a runtime (weft.h, "Inside a running
 * program"): thin over observe.c and the executor, apart from it so that
 * the task core's own tests build observe.c without the runtime.
 */
#include <errno.h>

#include "observe.h"


WEFT_EXPORT int
weft_runtime_tasks(struct weft_runtime *rt, weft_task_visit_fn fn, void *arg)
{
	if (!rt || !fn)
		return -EINVAL;
	return weft__observe_tasks(weft__runtime_observe(rt), fn, arg);
}


WEFT_EXPORT int
weft_runtime_metrics(struct weft_runtime *rt, struct weft_runtime_metrics *m)
{
	if (!rt || !m)
		return -EINVAL;
	return weft__observe_metrics(weft__runtime_observe(rt),
	                             weft_runtime_executor(rt), m);
}


WEFT_EXPORT int
weft_runtime_worker_stats(struct weft_runtime *rt, uint32_t worker,
                          struct weft_worker_stats *stats)
{
	if (!rt || !stats)
		return -EINVAL;
	return weft_executor_worker_stats(weft_runtime_executor(rt), worker,
	                                  stats);
}
