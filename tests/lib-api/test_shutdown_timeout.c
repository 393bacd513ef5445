/* SPDX-License-Identifier: MIT */
/*
 * weft_runtime_close_timeout and weft_run_timeout: a spawn_blocking job
 * whose future lost a timeout keeps running on its pool thread; closing
 * the runtime with a time limit returns before the job is done, every
 * spawned future is dropped exactly once, and the detached thread then
 * finishes, frees the pool and exits without touching the closed runtime
 * (which ASan and Valgrind would see).  A counting allocator shows the
 * runtime's memory is all given back once the thread is done.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <weft/task.h>

#include "../lib-core/common.h"

static atomic_int live; /* runtime allocations not yet freed */
static atomic_int job_started, job_done;

static void *
counting_alloc(void *ud, size_t size)
{
	(void)ud;
	atomic_fetch_add(&live, 1);
	return malloc(size);
}

static void
counting_free(void *ud, void *p)
{
	(void)ud;
	atomic_fetch_sub(&live, 1);
	free(p);
}

static const struct weft_allocator counting = {
    WEFT_ALLOCATOR_VERSION, counting_alloc, counting_free, NULL};

/* The blocking job: far longer than any limit below. */
static void
slow_job(void *data)
{
	(void)data;
	atomic_store(&job_started, 1);
	stall_ms(1500);
	atomic_store(&job_done, 1);
}

/* Waits up to 10 s for *v to become want; the bound keeps bugs finite. */
static bool
wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 1000 && atomic_load(v) != want; i++)
		stall_ms(10);
	return atomic_load(v) == want;
}

static struct weft_runtime *
open_counting(void)
{
	struct weft_config *cfg;
	struct weft_runtime *r = NULL;
	const char *path = getenv("WEFT_PLUGIN_PATH");
	char err[256] = "";

	assert_int_equal(weft_config_new(&cfg), 0);
	weft_config_set(cfg, "use_env", "false", NULL, 0);
	weft_config_set(cfg, "executor", test_executor, NULL, 0);
	weft_config_set(cfg, "reactor", test_reactor, NULL, 0);
	if (path)
		weft_config_set(cfg, "plugin_path", path, NULL, 0);
	assert_int_equal(weft_config_set_allocator(cfg, &counting), 0);
	if (weft_runtime_open(&r, cfg, err, sizeof(err)) < 0)
		fail_msg("runtime %s/%s: %s", test_executor, test_reactor, err);
	weft_config_free(cfg);
	return r;
}

/* spawn_blocking under a 20 ms timeout: the future gives up, the job not. */
struct lost_timeout {
	struct weft_blocking job;
	struct weft_timeout timeout;
};

static void
lost_timeout_init(struct lost_timeout *l)
{
	weft_blocking_init(&l->job, slow_job, NULL, 0, NULL);
	weft_timeout_init(&l->timeout, &l->job.base, 20 * WEFT_MSEC);
}

static void
close_timeout_returns_while_the_job_runs(void **state)
{
	struct weft_runtime *r;
	struct lost_timeout l;
	struct probe probes[8];
	atomic_int drops = 0;
	int i;

	(void)state;
	atomic_store(&live, 0);
	atomic_store(&job_started, 0);
	atomic_store(&job_done, 0);
	r = open_counting();
	/* Tasks that never finish: shutdown must drop each once. */
	for (i = 0; i < 8; i++) {
		probe_init(&probes[i], 3600 * 1000, 0, &drops, NULL);
		assert_int_equal(weft_spawn(r, &probes[i].base, NULL), 0);
	}
	lost_timeout_init(&l);
	assert_int_equal(weft_block_on(r, &l.timeout.base), 0);
	weft_future_drop(&l.timeout.base);
	assert_int_equal(l.timeout.status, WEFT_ETIMEDOUT);
	assert_true(wait_for(&job_started, 1));

	assert_int_equal(weft_runtime_close_timeout(r, 50 * WEFT_MSEC),
	                 WEFT_ETIMEDOUT);
	/* The job sleeps 1.5 s: close did not wait for it. */
	assert_int_equal(atomic_load(&job_done), 0);
	assert_int_equal(atomic_load(&drops), 8);
	/* What is left is the pool, which its thread holds. */
	assert_true(atomic_load(&live) > 0);
	assert_true(wait_for(&job_done, 1));
	assert_true(wait_for(&live, 0));
	assert_int_equal(atomic_load(&drops), 8);
}

static void
close_timeout_in_time_is_zero(void **state)
{
	struct weft_runtime *r;
	struct weft_blocking b;

	(void)state;
	atomic_store(&live, 0);
	atomic_store(&job_done, 0);
	r = open_counting();
	weft_blocking_init(&b, slow_job, NULL, 0, NULL);
	assert_int_equal(weft_block_on(r, &b.base), 0);
	weft_future_drop(&b.base);
	assert_int_equal(b.status, 0);
	assert_int_equal(atomic_load(&job_done), 1);
	/* The pool's thread is idle: it exits at once. */
	assert_int_equal(weft_runtime_shutdown_timeout(r, 10 * WEFT_SEC), 0);
	/* Settled: a later call reports the same without waiting. */
	assert_int_equal(weft_runtime_shutdown_timeout(r, 0), 0);
	weft_runtime_close(r);
	assert_int_equal(atomic_load(&live), 0);
	assert_int_equal(weft_runtime_shutdown_timeout(NULL, 0), -EINVAL);
}

static void
run_timeout_does_not_wait_for_the_job(void **state)
{
	struct lost_timeout l;

	(void)state;
	atomic_store(&job_started, 0);
	atomic_store(&job_done, 0);
	/* weft_run reads its runtime from the environment. */
	setenv("WEFT_EXECUTOR", test_executor, 1);
	setenv("WEFT_REACTOR", test_reactor, 1);
	lost_timeout_init(&l);
	assert_int_equal(weft_run_timeout(&l.timeout.base, 50 * WEFT_MSEC), 0);
	assert_int_equal(l.timeout.status, WEFT_ETIMEDOUT);
	assert_int_equal(atomic_load(&job_done), 0);
	/* Let the detached thread finish before the process exits. */
	assert_true(wait_for(&job_done, 1));
	stall_ms(50);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(close_timeout_returns_while_the_job_runs),
	    cmocka_unit_test(close_timeout_in_time_is_zero),
	    cmocka_unit_test(run_timeout_does_not_wait_for_the_job),
	};

	if (argc < 3) {
		fprintf(stderr, "usage: %s EXECUTOR REACTOR\n", argv[0]);
		return 2;
	}
	test_executor = argv[1];
	test_reactor = argv[2];
	/* Each test opens its own runtime: no group runtime. */
	return cmocka_run_group_tests_name("shutdown-timeout", tests, NULL,
	                                   NULL);
}
