/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "pair.h"

struct weft_runtime *rt;
const char *test_executor;
const char *test_reactor;


bool
pair_is_sim(void)
{
	return test_executor && strcmp(test_executor, "sim") == 0;
}


int
rt_open_pair(struct weft_runtime **out)
{
	struct weft_config *cfg;
	const char *path = getenv("WEFT_PLUGIN_PATH");
	char err[256] = "";
	int r;

	if (weft_config_new(&cfg) < 0)
		return -1;
	/* The pair comes from the command line, never the environment. */
	weft_config_set(cfg, "use_env", "false", NULL, 0);
	weft_config_set(cfg, "executor", test_executor, NULL, 0);
	weft_config_set(cfg, "reactor", test_reactor, NULL, 0);
	if (path)
		weft_config_set(cfg, "plugin_path", path, NULL, 0);
	/* Completion I/O or readiness on a reactor that has both (D10). */
	if (getenv("WEFT_IO_COMPLETION") &&
	    weft_config_set(cfg, "io_completion", getenv("WEFT_IO_COMPLETION"),
	                    err, sizeof(err)) < 0)
		fprintf(stderr, "WEFT_IO_COMPLETION: %s\n", err);
	/*
	 * On the sim executor the run is `weft sim`'s: its seed, mode,
	 * faults and deadline come through the environment (WEFT_SIM_*).
	 */
	if (strcmp(test_executor, "sim") == 0) {
		static const char *const keys[][2] = {
		    {"sim_seed", "WEFT_SIM_SEED"},
		    {"sim_mode", "WEFT_SIM_MODE"},
		    {"sim_pct_depth", "WEFT_SIM_PCT_DEPTH"},
		    {"sim_faults", "WEFT_SIM_FAULTS"},
		    {"sim_timeout", "WEFT_SIM_TIMEOUT"},
		};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			const char *v = getenv(keys[i][1]);

			if (v && weft_config_set(cfg, keys[i][0], v, err,
			                         sizeof(err)) < 0)
				fprintf(stderr, "%s: %s\n", keys[i][1], err);
		}
	}
	r = weft_runtime_open(out, cfg, err, sizeof(err));
	weft_config_free(cfg);
	if (r < 0) {
		fprintf(stderr, "runtime %s/%s: %s\n", test_executor,
		        test_reactor, err);
		return -1;
	}
	return 0;
}


int
rt_open(void **state)
{
	(void)state;
	return rt_open_pair(&rt);
}


int
rt_close(void **state)
{
	(void)state;
	weft_runtime_close(rt);
	rt = NULL;
	return 0;
}


int
run_group(int argc, char **argv, const char *name,
          const struct CMUnitTest *tests, size_t n)
{
	char group[128];

	if (argc < 3) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR\n", argv[0]);
		return 2;
	}
	test_executor = argv[1];
	test_reactor = argv[2];
	snprintf(group, sizeof(group), "%s on %s/%s", name, test_executor,
	         test_reactor);
	return _cmocka_run_group_tests(group, tests, n, rt_open, rt_close);
}


int
run_fiber_opts(weft_fiber_fn fn, void *arg, const struct weft_fiber_opts *opts)
{
	struct weft_fiber f;
	int r;

	assert_int_equal(weft_fiber_init(&f, fn, arg, opts), 0);
	assert_int_equal(weft_block_on(rt, &f.base), 0);
	r = f.result;
	weft_future_drop(&f.base);
	return r;
}
