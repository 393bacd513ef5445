/* SPDX-License-Identifier: MIT */
/*
 * A runtime: one executor plugin and one reactor plugin, loaded and
 * checked, around one host driver.  Opening it is the moment the program's
 * runtime is chosen.
 */
/* Defines a spawn call that weft.h wraps in a macro. */
#define WEFT_NO_SPAWN_LABELS 1
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "console.h"
#include "internal.h"
#include "observe.h"
#include "plugins.h"

struct weft_runtime {
	struct weft__settings settings;
	struct weft__plugin executor_plugin;
	struct weft__plugin reactor_plugin;
	struct weft_reactor *reactor;
	struct weft__driver *driver;
	struct weft_executor *executor;
	bool shut;
	struct weft__observe *obs;     /* metrics, task facts, slow polls */
	struct weft__console *console; /* console = on: weft top's server */
	/*
	 * Every host allocation of this runtime goes through here (NULL:
	 * libc); it points at settings.alloc, which lives as long as rt.
	 */
	const struct weft_allocator *alloc;
	/*
	 * How each plugin was chosen from a fallback list ("from \"io_uring,
	 * epoll\"; io_uring refused: ..."), [0] the executor's, [1] the
	 * reactor's; "" when the key named one plugin.
	 */
	char choice[2][WEFT__CHOICE_LEN];
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


/*
 * P8: what a plugin's init reads: the runtime's resolved configuration,
 * sim_seed a number even when the operator asked for "random".
 */
static const char *
runtime_setting(void *ctx, const char *key)
{
	return weft_config_get(ctx, key);
}


static int
runtime_start_reactor(struct weft_runtime *rt, char *err, size_t errlen)
{
	const struct weft_reactor_iface *ops = reactor_iface(rt);
	struct weft_reactor_params params = {
	    .version = WEFT_REACTOR_PARAMS_VERSION,
	    .max_events = 256,
	    .setting = runtime_setting,
	    .setting_ctx = rt->settings.config,
	};
	int r;

	rt->reactor = weft__mem_calloc(rt->alloc, 1, ops->instance_size);
	if (!rt->reactor)
		return weft__fail(err, errlen, -ENOMEM,
		                  "out of memory for reactor %s",
		                  rt->reactor_plugin.path);
	rt->reactor->version = ops->version;
	rt->reactor->ops = ops;
	r = ops->init(rt->reactor, &params);
	if (r < 0) {
		weft__mem_free(rt->alloc, rt->reactor);
		rt->reactor = NULL;
		/*
		 * EPERM and ENOSYS: the system refused what the reactor is
		 * built on (a sysctl, a seccomp profile, a kernel without it);
		 * the plugin's description is the only text of its own the
		 * ABI carries, so it comes along to say what that is.
		 */
		if (r == -EPERM || r == -ENOSYS)
			return weft__fail(err, errlen, r,
			                  "%s: reactor init failed: %s, refused "
			                  "by the system (%s: %s)",
			                  rt->reactor_plugin.path, weft_strerror(r),
			                  rt->reactor_plugin.desc->name,
			                  rt->reactor_plugin.desc->description);
		return weft__fail(err, errlen, r, "%s: reactor init failed: %s",
		                  rt->reactor_plugin.path, weft_strerror(r));
	}
	r = weft__driver_new_with(&rt->driver, rt->reactor, ops->flags,
	                          rt->settings.blocking_threads, rt->alloc, err,
	                          errlen);
	if (r < 0) {
		ops->fini(rt->reactor);
		weft__mem_free(rt->alloc, rt->reactor);
		rt->reactor = NULL;
		return r;
	}
	/* The same seed as the plugins', so a run's faults replay (D9). */
	weft__driver_set_faults(rt->driver, rt->settings.sim_seed,
	                        rt->settings.sim_faults);
	/* io_completion = false: readiness even on a completion reactor. */
	weft__driver_set_completion(rt->driver, rt->settings.io_completion);
	return 0;
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
	    .setting = runtime_setting,
	    .setting_ctx = rt->settings.config,
	};
	const struct weft_allocator *hint;
	struct weft__observe *obs_hint;
	int r;

	rt->executor = weft__mem_calloc(rt->alloc, 1, ops->instance_size);
	if (!rt->executor ||
	    weft__observe_new(&rt->obs, rt->settings.slow_poll_ms,
	                      rt->settings.console, rt->alloc) < 0) {
		weft__mem_free(rt->alloc, rt->executor);
		rt->executor = NULL;
		return weft__fail(err, errlen, -ENOMEM,
		                  "out of memory for executor %s",
		                  rt->executor_plugin.path);
	}
	rt->executor->version = ops->version;
	rt->executor->ops = ops;
	/* An observed runtime's executor runs the observed task core. */
	params.tasks = weft__task_core_for(rt->obs);
	/* Executors make their task set in init: it takes our allocator. */
	/* E13: blocking jobs run at park, in the schedule's own order. */
	weft__driver_set_deterministic(
	    rt->driver, ops->flags & WEFT_EXECUTOR_DETERMINISTIC);
	hint = weft__task_alloc_hint(rt->alloc);
	obs_hint = weft__task_observe_hint(rt->obs);
	r = ops->init(rt->executor, &params);
	weft__task_observe_hint(obs_hint);
	weft__task_alloc_hint(hint);
	if (r < 0) {
		weft__observe_free(rt->obs);
		rt->obs = NULL;
		weft__mem_free(rt->alloc, rt->executor);
		rt->executor = NULL;
		return weft__fail(err, errlen, r,
		                  "%s: executor init failed: %s",
		                  rt->executor_plugin.path, weft_strerror(r));
	}
	return 0;
}


static int
start_reactor(void *rt, char *err, size_t errlen)
{
	return runtime_start_reactor(rt, err, errlen);
}


static int
start_executor(void *rt, char *err, size_t errlen)
{
	return runtime_start_executor(rt, err, errlen);
}


/*
 * Picks the executor and the reactor, each the first entry of its list
 * (pick.c) that loads and starts.  The executor is loaded first, so that
 * a missing one is reported before any reactor is tried, but started
 * last: its init takes the driver, which wraps the reactor.
 */
static int
runtime_pick(struct weft_runtime *rt, char *err, size_t errlen)
{
	struct weft__pick ex, re;
	int r;

	weft__pick_begin(&ex, WEFT_PLUGIN_EXECUTOR, rt->settings.executor,
	                 &rt->executor_plugin, load_flags(rt),
	                 rt->settings.plugin_path, rt->choice[0]);
	weft__pick_begin(&re, WEFT_PLUGIN_REACTOR, rt->settings.reactor,
	                 &rt->reactor_plugin, load_flags(rt),
	                 rt->settings.plugin_path, rt->choice[1]);
	if (weft__pick_load(&ex) < 0)
		return weft__pick_fail(&ex, err, errlen);
	if (weft__pick_load(&re) < 0 ||
	    weft__pick_start(&re, start_reactor, rt) < 0) {
		weft__plugin_unload(&rt->executor_plugin);
		return weft__pick_fail(&re, err, errlen);
	}
	if (weft__pick_start(&ex, start_executor, rt) < 0) {
		r = weft__pick_fail(&ex, err, errlen);
		weft__driver_free(rt->driver);
		reactor_iface(rt)->fini(rt->reactor);
		weft__mem_free(rt->alloc, rt->reactor);
		weft__plugin_unload(&rt->reactor_plugin);
		return r;
	}
	return 0;
}


WEFT_EXPORT int
weft_runtime_open(struct weft_runtime **out, const struct weft_config *cfg,
                  char *err, size_t errlen)
{
	struct weft__settings settings;
	const struct weft_allocator *alloc;
	struct weft_runtime *rt;
	int r;

	if (!out)
		return weft__fail(err, errlen, -EINVAL, "no runtime pointer");
	*out = NULL;
	/* The settings name the allocator the runtime itself comes from. */
	r = weft__settings_resolve_config(&settings, cfg, weft__mem_default(),
	                                  err, errlen);
	if (r < 0)
		return r;
	if (!weft__mem_custom(&settings.alloc) && weft__mem_default())
		settings.alloc = *weft__mem_default();
	alloc = weft__mem_custom(&settings.alloc) ? &settings.alloc : NULL;
	rt = weft__mem_calloc(alloc, 1, sizeof(*rt));
	if (!rt) {
		weft__settings_release(&settings);
		return weft__fail(err, errlen, -ENOMEM,
		                  "out of memory for the runtime");
	}
	rt->settings = settings;
	rt->alloc = alloc ? &rt->settings.alloc : NULL;
	r = runtime_pick(rt, err, errlen);
	if (r < 0)
		goto fail;
	if (rt->settings.console &&
	    (r = weft__console_start(&rt->console, rt, rt->alloc, err,
	                             errlen)) < 0)
		goto fail_executor;
	*out = rt;
	return 0;

fail_executor:
	executor_iface(rt)->fini(rt->executor);
	weft__mem_free(rt->alloc, rt->executor);
	weft__observe_free(rt->obs);
	weft__driver_free(rt->driver);
	reactor_iface(rt)->fini(rt->reactor);
	weft__mem_free(rt->alloc, rt->reactor);
	weft__plugin_unload(&rt->reactor_plugin);
	weft__plugin_unload(&rt->executor_plugin);
fail:
	weft__settings_release(&rt->settings);
	weft__mem_free(alloc, rt);
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


WEFT_EXPORT int
weft_runtime_shutdown_timeout(struct weft_runtime *rt, uint64_t timeout_ns)
{
	if (!rt)
		return -EINVAL;
	/* Tasks first: dropping them detaches their blocking futures. */
	if (!rt->shut)
		weft_executor_shutdown(rt->executor);
	rt->shut = true;
	/* Only the first call waits; later ones report what it settled. */
	return weft__driver_shutdown_timeout(rt->driver, timeout_ns);
}


WEFT_EXPORT void
weft_runtime_shutdown(struct weft_runtime *rt)
{
	if (rt && !rt->shut)
		weft_runtime_shutdown_timeout(rt, UINT64_MAX);
}


WEFT_EXPORT int
weft_runtime_close_timeout(struct weft_runtime *rt, uint64_t timeout_ns)
{
	int r;

	if (!rt)
		return -EINVAL;
	r = weft_runtime_shutdown_timeout(rt, timeout_ns);
	weft_runtime_close(rt);
	return r;
}


WEFT_EXPORT void
weft_runtime_close(struct weft_runtime *rt)
{
	struct weft_allocator settings_alloc;

	if (!rt)
		return;
	/* Joined while the executor it reads is still whole. */
	weft__console_stop(rt->console);
	weft_runtime_shutdown(rt);
	/* Tasks first: their futures' drops deregister from the driver. */
	executor_iface(rt)->fini(rt->executor);
	weft__mem_free(rt->alloc, rt->executor);
	weft__observe_free(rt->obs);
	weft__driver_free(rt->driver);
	reactor_iface(rt)->fini(rt->reactor);
	weft__mem_free(rt->alloc, rt->reactor);
	weft__plugin_unload(&rt->reactor_plugin);
	weft__plugin_unload(&rt->executor_plugin);
	weft__settings_release(&rt->settings);
	/* The allocator lives in rt: copy it before freeing rt with it. */
	settings_alloc = rt->settings.alloc;
	weft__mem_free(rt->alloc ? &settings_alloc : NULL, rt);
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


WEFT_EXPORT const char *
weft_runtime_plugin_choice(struct weft_runtime *rt, enum weft_plugin_kind kind)
{
	if (!rt)
		return NULL;
	return rt->choice[kind == WEFT_PLUGIN_REACTOR];
}


WEFT_EXPORT int
weft_runtime_stats(struct weft_runtime *rt, struct weft_executor_stats *stats)
{
	if (!rt || !stats)
		return -EINVAL;
	return weft_executor_stats(rt->executor, stats);
}


WEFT_EXPORT uint64_t
weft_runtime_seed(struct weft_runtime *rt)
{
	return rt ? rt->settings.sim_seed : 0;
}


WEFT_EXPORT int
weft_time_advance(struct weft_runtime *rt, uint64_t ns)
{
	if (!rt)
		return -EINVAL;
	return weft_driver_clock_advance(weft__driver_public(rt->driver), ns);
}


WEFT_EXPORT int
weft_run(struct weft_future *root)
{
	return weft_run_timeout(root, UINT64_MAX);
}


WEFT_EXPORT int
weft_run_timeout(struct weft_future *root, uint64_t shutdown_timeout_ns)
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
	weft_runtime_close_timeout(rt, shutdown_timeout_ns);
	return r < 0 ? 1 : 0;
}


struct weft__observe *
weft__runtime_observe(struct weft_runtime *rt)
{
	return rt->obs;
}
