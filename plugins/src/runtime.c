/* SPDX-License-Identifier: MIT */
/*
 * A runtime: one executor plugin and one reactor plugin, loaded and
 * checked, around one host driver.  Opening it is the moment the program's
 * runtime is chosen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct weft_runtime {
	struct weft__settings settings;
	struct weft__plugin executor_plugin;
	struct weft__plugin reactor_plugin;
	struct weft_reactor *reactor;
	struct weft__driver *driver;
	struct weft_executor *executor;
	bool shut;
};


static const struct weft_reactor_iface *
reactor_iface(struct weft_runtime *rt)
{
	return rt->reactor_plugin.desc->iface;
}


static const struct weft_executor_iface *
executor_iface(struct weft_runtime *rt)
{
	return rt->executor_plugin.desc->iface;
}


static unsigned
load_flags(struct weft_runtime *rt)
{
	return rt->settings.allow_writable ? WEFT__LOAD_ALLOW_WRITABLE : 0;
}


static int
runtime_start_reactor(struct weft_runtime *rt, char *err, size_t errlen)
{
	const struct weft_reactor_iface *ops = reactor_iface(rt);
	struct weft_reactor_params params = {
	    .version = WEFT_REACTOR_PARAMS_VERSION,
	    .max_events = 256,
	};
	int r;

	rt->reactor = calloc(1, ops->instance_size);
	if (!rt->reactor)
		return weft__fail(err, errlen, -ENOMEM,
		                  "out of memory for reactor %s",
		                  rt->reactor_plugin.path);
	rt->reactor->version = ops->version;
	rt->reactor->ops = ops;
	r = ops->init(rt->reactor, &params);
	if (r < 0) {
		free(rt->reactor);
		rt->reactor = NULL;
		return weft__fail(err, errlen, r, "%s: reactor init failed: %s",
		                  rt->reactor_plugin.path, weft_strerror(r));
	}
	r = weft__driver_new(&rt->driver, rt->reactor, ops->flags,
	                     rt->settings.blocking_threads, err, errlen);
	if (r < 0) {
		ops->fini(rt->reactor);
		free(rt->reactor);
		rt->reactor = NULL;
	}
	return r;
}


static int
runtime_start_executor(struct weft_runtime *rt, char *err, size_t errlen)
{
	const struct weft_executor_iface *ops = executor_iface(rt);
	struct weft_executor_params params = {
	    .version = WEFT_EXECUTOR_PARAMS_VERSION,
	    .workers = rt->settings.workers,
	    .driver = weft__driver_public(rt->driver),
	    .tasks = &weft__task_core,
	};
	int r;

	rt->executor = calloc(1, ops->instance_size);
	if (!rt->executor)
		return weft__fail(err, errlen, -ENOMEM,
		                  "out of memory for executor %s",
		                  rt->executor_plugin.path);
	rt->executor->version = ops->version;
	rt->executor->ops = ops;
	r = ops->init(rt->executor, &params);
	if (r < 0) {
		free(rt->executor);
		rt->executor = NULL;
		return weft__fail(err, errlen, r,
		                  "%s: executor init failed: %s",
		                  rt->executor_plugin.path, weft_strerror(r));
	}
	return 0;
}


WEFT_EXPORT int
weft_runtime_open(struct weft_runtime **out, const struct weft_config *cfg,
                  char *err, size_t errlen)
{
	struct weft_runtime *rt;
	int r;

	if (!out)
		return weft__fail(err, errlen, -EINVAL, "no runtime pointer");
	*out = NULL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return weft__fail(err, errlen, -ENOMEM,
		                  "out of memory for the runtime");
	r = weft__settings_resolve(&rt->settings, cfg, err, errlen);
	if (r < 0)
		goto fail;
	r = weft__plugin_load(&rt->executor_plugin, rt->settings.executor,
	                      WEFT_PLUGIN_EXECUTOR, load_flags(rt),
	                      rt->settings.plugin_path, err, errlen);
	if (r < 0)
		goto fail;
	r = weft__plugin_load(&rt->reactor_plugin, rt->settings.reactor,
	                      WEFT_PLUGIN_REACTOR, load_flags(rt),
	                      rt->settings.plugin_path, err, errlen);
	if (r < 0)
		goto fail_executor_plugin;
	r = runtime_start_reactor(rt, err, errlen);
	if (r < 0)
		goto fail_reactor_plugin;
	r = runtime_start_executor(rt, err, errlen);
	if (r < 0)
		goto fail_reactor;
	*out = rt;
	return 0;

fail_reactor:
	weft__driver_free(rt->driver);
	reactor_iface(rt)->fini(rt->reactor);
	free(rt->reactor);
fail_reactor_plugin:
	weft__plugin_unload(&rt->reactor_plugin);
fail_executor_plugin:
	weft__plugin_unload(&rt->executor_plugin);
fail:
	free(rt);
	return r;
}


WEFT_EXPORT int
weft_spawn(struct weft_runtime *rt, struct weft_future *fut,
           struct weft_join **join)
{
	if (!rt) {
		weft_future_drop(fut);
		return -EINVAL;
	}
	return weft_executor_spawn(rt->executor, fut, join);
}


WEFT_EXPORT int
weft_block_on(struct weft_runtime *rt, struct weft_future *fut)
{
	if (!rt || !fut)
		return -EINVAL;
	return weft_executor_block_on(rt->executor, fut);
}


WEFT_EXPORT void
weft_runtime_shutdown(struct weft_runtime *rt)
{
	if (!rt || rt->shut)
		return;
	weft_executor_shutdown(rt->executor);
	weft__driver_shutdown(rt->driver);
	rt->shut = true;
}


WEFT_EXPORT void
weft_runtime_close(struct weft_runtime *rt)
{
	if (!rt)
		return;
	weft_runtime_shutdown(rt);
	/* Tasks first: their futures' drops deregister from the driver. */
	executor_iface(rt)->fini(rt->executor);
	free(rt->executor);
	weft__driver_free(rt->driver);
	reactor_iface(rt)->fini(rt->reactor);
	free(rt->reactor);
	weft__plugin_unload(&rt->reactor_plugin);
	weft__plugin_unload(&rt->executor_plugin);
	free(rt);
}


WEFT_EXPORT struct weft_executor *
weft_runtime_executor(struct weft_runtime *rt)
{
	return rt ? rt->executor : NULL;
}


WEFT_EXPORT struct weft_driver *
weft_runtime_driver(struct weft_runtime *rt)
{
	return rt ? weft__driver_public(rt->driver) : NULL;
}


WEFT_EXPORT const struct weft_plugin_descriptor *
weft_runtime_plugin(struct weft_runtime *rt, enum weft_plugin_kind kind)
{
	if (!rt)
		return NULL;
	return kind == WEFT_PLUGIN_EXECUTOR ? rt->executor_plugin.desc
	                                    : rt->reactor_plugin.desc;
}


WEFT_EXPORT const char *
weft_runtime_plugin_path(struct weft_runtime *rt, enum weft_plugin_kind kind)
{
	if (!rt)
		return NULL;
	return kind == WEFT_PLUGIN_EXECUTOR ? rt->executor_plugin.path
	                                    : rt->reactor_plugin.path;
}


WEFT_EXPORT int
weft_runtime_stats(struct weft_runtime *rt, struct weft_executor_stats *stats)
{
	if (!rt || !stats)
		return -EINVAL;
	return weft_executor_stats(rt->executor, stats);
}


WEFT_EXPORT int
weft_run(struct weft_future *root)
{
	struct weft_runtime *rt;
	char err[512];
	int r;

	r = weft_runtime_open(&rt, NULL, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "weft: %s\n", err);
		weft_future_drop(root);
		return 1;
	}
	r = weft_block_on(rt, root);
	if (r < 0)
		fprintf(stderr, "weft: block_on failed: %s\n",
		        weft_strerror(r));
	/*
	 * Drop root while its runtime still exists: its drop may release
	 * timers or I/O registrations.  Its output stays readable (F4).
	 */
	weft_future_drop(root);
	weft_runtime_close(rt);
	return r < 0 ? 1 : 0;
}
