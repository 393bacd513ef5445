/* SPDX-License-Identifier: MIT */
/*
 * weft-conformance: checks an executor + reactor pair against the rules of
 * ABI.md.  Every test is named after the rule it checks (W1_..., R4_...).
 *
 *   weft-conformance [--executor NAME|PATH] [--reactor NAME|PATH]
 *                    [--filter GLOB] [--list]
 *
 * Without options the pair comes from the configuration as a host resolves
 * it (WEFT_CONFIG, WEFT_EXECUTOR, WEFT_REACTOR, defaults); options win.
 * Exit status: 0 when every test passed or was skipped, 1 otherwise.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const struct h_group *const groups[] = {
    &h_group_plugin,   &h_group_waker,        &h_group_future, &h_group_task,
    &h_group_executor, &h_group_lifecycle,    &h_group_driver, &h_group_batch,
    &h_group_reactor,  &h_group_reactor_caps,
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))


static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: weft-conformance [--executor NAME|PATH] "
	        "[--reactor NAME|PATH]\n"
	        "                        [--filter GLOB] [--list]\n"
	        "Checks a weft executor and reactor against the ABI rules.\n"
	        "--list prints each rule id and the tests that check it.\n");
}


static void
list_tests(void)
{
	size_t g, i;

	for (g = 0; g < NGROUPS; g++) {
		for (i = 0; i < groups[g]->count; i++) {
			const char *name = groups[g]->tests[i].name;
			const char *us = strchr(name, '_');
			int len = us ? (int)(us - name) : (int)strlen(name);

			printf("%.*s %s\n", len, name, name);
		}
	}
}


static int
copy_opt(char *dst, size_t n, const char *src)
{
	if (!src)
		return 0;
	if (strlen(src) >= n) {
		fprintf(stderr, "weft-conformance: value too long: %s\n", src);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}


/*
 * The pair as a host would resolve it: defaults, then the environment,
 * then the command line.  The tests then open runtimes with use_env off
 * and these values, so that every runtime in the run is the same pair.
 */
static int
resolve_pair(const char *executor, const char *reactor)
{
	struct weft_config *cfg;
	struct weft_runtime *rt;
	char err[1024] = "";
	int r;

	r = weft_config_new(&cfg);
	if (r < 0)
		return r;
	r = weft_config_load_env(cfg, err, sizeof(err));
	if (r == 0 && executor)
		r = weft_config_set(cfg, "executor", executor, err,
		                    sizeof(err));
	if (r == 0 && reactor)
		r = weft_config_set(cfg, "reactor", reactor, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "weft-conformance: %s\n", err);
		weft_config_free(cfg);
		return r;
	}
	if (copy_opt(h_opt.executor, sizeof(h_opt.executor),
	             weft_config_get(cfg, "executor")) < 0 ||
	    copy_opt(h_opt.reactor, sizeof(h_opt.reactor),
	             weft_config_get(cfg, "reactor")) < 0 ||
	    copy_opt(h_opt.plugin_path, sizeof(h_opt.plugin_path),
	             weft_config_get(cfg, "plugin_path")) < 0 ||
	    copy_opt(h_opt.workers, sizeof(h_opt.workers),
	             weft_config_get(cfg, "workers")) < 0) {
		weft_config_free(cfg);
		return -1;
	}
	r = weft_config_set(cfg, "use_env", "false", err, sizeof(err));
	if (r == 0)
		r = weft_runtime_open(&rt, cfg, err, sizeof(err));
	weft_config_free(cfg);
	if (r < 0) {
		/* The tests still run and fail one by one with this reason. */
		fprintf(stderr, "weft-conformance: cannot open %s + %s: %s\n",
		        h_opt.executor, h_opt.reactor, err);
		return 0;
	}
	copy_opt(h_opt.executor_path, sizeof(h_opt.executor_path),
	         weft_runtime_plugin_path(rt, WEFT_PLUGIN_EXECUTOR));
	copy_opt(h_opt.reactor_path, sizeof(h_opt.reactor_path),
	         weft_runtime_plugin_path(rt, WEFT_PLUGIN_REACTOR));
	h_opt.executor_flags =
	    ((const struct weft_executor_iface *)weft_runtime_plugin(
	         rt, WEFT_PLUGIN_EXECUTOR)
	         ->iface)
	        ->flags;
	h_opt.reactor_flags =
	    ((const struct weft_reactor_iface *)weft_runtime_plugin(
	         rt, WEFT_PLUGIN_REACTOR)
	         ->iface)
	        ->flags;
	h_opt.resolved = true;
	weft_runtime_close(rt);
	return 0;
}


int
main(int argc, char **argv)
{
	const char *executor = NULL, *reactor = NULL, *filter = NULL;
	bool list = false;
	int failed = 0, i;
	size_t g;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--list") == 0) {
			list = true;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (i + 1 < argc && strcmp(argv[i], "--executor") == 0) {
			executor = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--reactor") == 0) {
			reactor = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--filter") == 0) {
			filter = argv[++i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (list) {
		list_tests();
		return 0;
	}
	h_opt.slow = getenv("WEFT_UNDER_VALGRIND") != NULL;
	/* A write to a closed peer must fail with EPIPE, not end the run. */
	signal(SIGPIPE, SIG_IGN);
	if (resolve_pair(executor, reactor) < 0)
		return 2;
	printf("weft-conformance: executor %s (%s), reactor %s (%s)\n",
	       h_opt.executor,
	       h_opt.executor_path[0] ? h_opt.executor_path : "not loaded",
	       h_opt.reactor,
	       h_opt.reactor_path[0] ? h_opt.reactor_path : "not loaded");
	if (filter)
		cmocka_set_test_filter(filter);
	for (g = 0; g < NGROUPS; g++)
		failed +=
		    _cmocka_run_group_tests(groups[g]->name, groups[g]->tests,
		                            groups[g]->count, NULL, NULL);
	return failed ? 1 : 0;
}
