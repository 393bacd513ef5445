/* SPDX-License-Identifier: MIT */
/*
 * The runtime's side of simulation, through libweft's public calls: the
 * settings reach a plugin's init with sim_seed a concrete number (P8),
 * weft_runtime_seed reports that number, the driver's faults replay from
 * it (D9), weft_time_advance moves a reactor's clock and is refused on a
 * real reactor (D8), and the plugins that claim what they cannot keep are
 * refused at open (E13, R12).  The spy plugins are spy_plugin.c, named by
 * path in SPY_REACTOR, SPY_NO_NOW and SPY_DET_MULTI.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <weft/weft.h>

static struct weft_runtime *
open_with(const char *executor, const char *reactor, const char *seed,
          const char *faults, char *err, size_t errlen)
{
	struct weft_config *cfg;
	struct weft_runtime *rt = NULL;

	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(
	    weft_config_set(cfg, "executor", executor, err, errlen), 0);
	assert_int_equal(weft_config_set(cfg, "reactor", reactor, err, errlen),
	                 0);
	if (seed)
		assert_int_equal(
		    weft_config_set(cfg, "sim_seed", seed, err, errlen), 0);
	if (faults)
		assert_int_equal(
		    weft_config_set(cfg, "sim_faults", faults, err, errlen), 0);
	err[0] = '\0';
	if (weft_runtime_open(&rt, cfg, err, errlen) < 0)
		rt = NULL;
	weft_config_free(cfg);
	return rt;
}


static const char *
spy(const char *which)
{
	const char *path = getenv(which);

	assert_non_null(path);
	return path;
}


/* What the spy reactor's init read, from its description. */
static const char *
record(struct weft_runtime *rt)
{
	return weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR)->description;
}


static void
test_random_seed_is_concrete(void **state)
{
	char err[512], want[160];
	struct weft_runtime *rt;
	uint64_t seed;

	(void)state;
	rt = open_with("single", spy("SPY_REACTOR"), NULL, NULL, err,
	               sizeof(err));
	assert_non_null(rt);
	seed = weft_runtime_seed(rt);
	assert_true(seed < (1ull << 60));
	snprintf(want, sizeof(want),
	         "version=2 seed=%" PRIu64
	         " faults=0 mode=random unknown=(null)",
	         seed);
	assert_string_equal(record(rt), want);
	weft_runtime_close(rt);
}


static void
test_given_seed_reaches_init(void **state)
{
	char err[512];
	struct weft_runtime *rt;

	(void)state;
	rt = open_with("single", spy("SPY_REACTOR"), "1234", "0.25", err,
	               sizeof(err));
	assert_non_null(rt);
	assert_int_equal(weft_runtime_seed(rt), 1234);
	assert_string_equal(record(rt), "version=2 seed=1234 faults=0.25 "
	                                "mode=random unknown=(null)");
	weft_runtime_close(rt);
}


/* The same seed gives the same faults; faults off give none. */
static void
test_faults_follow_the_seed(void **state)
{
	unsigned char a[500], b[500];
	struct weft_runtime *rt;
	unsigned hits = 0;
	char err[512];
	int run, i;

	(void)state;
	for (run = 0; run < 2; run++) {
		rt =
		    open_with("single", "epoll", "77", "0.5", err, sizeof(err));
		assert_non_null(rt);
		for (i = 0; i < 500; i++)
			(run ? b : a)[i] = (unsigned char)weft_driver_fault(
			    weft_runtime_driver(rt), WEFT_FAULT_SPURIOUS);
		weft_runtime_close(rt);
	}
	assert_memory_equal(a, b, sizeof(a));
	for (i = 0; i < 500; i++)
		hits += a[i];
	assert_in_range(hits, 150, 350);
	rt = open_with("single", "epoll", "77", NULL, err, sizeof(err));
	assert_non_null(rt);
	for (i = 0; i < 500; i++)
		assert_int_equal(weft_driver_fault(weft_runtime_driver(rt),
		                                   WEFT_FAULT_RESET),
		                 0);
	weft_runtime_close(rt);
}


static void
test_time_advance(void **state)
{
	struct weft_driver *d;
	struct weft_runtime *rt;
	char err[512];

	(void)state;
	rt = open_with("single", spy("SPY_REACTOR"), NULL, NULL, err,
	               sizeof(err));
	assert_non_null(rt);
	d = weft_runtime_driver(rt);
	assert_int_equal(weft_driver_now(d), 5000);
	assert_int_equal(weft_time_advance(rt, 25), 0);
	assert_int_equal(weft_driver_now(d), 5025);
	weft_runtime_close(rt);

	rt = open_with("single", "epoll", NULL, NULL, err, sizeof(err));
	assert_non_null(rt);
	assert_int_equal(weft_time_advance(rt, 25), WEFT_ENOTSUP);
	weft_runtime_close(rt);
	assert_int_equal(weft_time_advance(NULL, 1), -EINVAL);
	assert_int_equal(weft_runtime_seed(NULL), 0);
}


static void
test_refusals(void **state)
{
	char err[512];

	(void)state;
	assert_null(open_with(spy("SPY_DET_MULTI"), "epoll", NULL, NULL, err,
	                      sizeof(err)));
	assert_non_null(strstr(err, "DETERMINISTIC"));
	assert_non_null(strstr(err, "MULTI_THREAD"));
	assert_null(open_with("single", spy("SPY_NO_NOW"), NULL, NULL, err,
	                      sizeof(err)));
	assert_non_null(strstr(err, "lacks required method now"));
}


/* A bad seed is refused with what it may be. */
static void
test_bad_seed(void **state)
{
	struct weft_config *cfg;
	char err[512] = "";

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_true(weft_config_set(cfg, "sim_seed", "soon", err, sizeof(err)) <
	            0);
	assert_non_null(strstr(err, "\"random\" or a whole number"));
	weft_config_free(cfg);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_seed_is_concrete),
	    cmocka_unit_test(test_given_seed_reaches_init),
	    cmocka_unit_test(test_faults_follow_the_seed),
	    cmocka_unit_test(test_time_advance),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_bad_seed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
