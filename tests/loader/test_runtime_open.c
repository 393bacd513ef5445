/* SPDX-License-Identifier: MIT */
/*
 * The runtime's public entry points on bad input and on failure: each
 * step of weft_runtime_open() that can fail (the configuration, either
 * plugin, either init) comes back as its error with the runtime undone;
 * NULL arguments are -EINVAL or NULL, never a crash; weft_run() reports a
 * runtime it cannot open and still drops its root; and the process default
 * allocator is checked and used.
 *
 * Linked with libweft itself.  The mock plugins' init fails (-ENOSYS);
 * the real plugins are found through WEFT_PLUGIN_PATH.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <weft/weft.h>

/* ---- a future that counts its polls and drops ---------------------- */

struct probe {
	struct weft_future base;
	int polls;
	int drops;
	int *drop_count; /* also counts here, for a copy moved elsewhere */
	int out;
};

static weft_poll
probe_poll(struct weft_future *f, struct weft_context *cx)
{
	struct probe *p = (struct probe *)f;

	(void)cx;
	p->polls++;
	p->out = 42;
	return WEFT_READY;
}

static void
probe_drop(struct weft_future *f)
{
	struct probe *p = (struct probe *)f;

	p->drops++;
	if (p->drop_count && p->drop_count != &p->drops)
		(*p->drop_count)++;
}

static const struct weft_future_vtable probe_vtable = {
    .version = WEFT_FUTURE_VTABLE_VERSION,
    .size = sizeof(struct probe),
    .output_offset = offsetof(struct probe, out),
    .output_size = sizeof(int),
    .poll = probe_poll,
    .drop = probe_drop,
};

static void
probe_init(struct probe *p)
{
	memset(p, 0, sizeof(*p));
	p->base.vtable = &probe_vtable;
}


/* ---- a counting allocator ------------------------------------------ */

static unsigned long allocs;
static unsigned long frees;

static void *
count_alloc(void *ud, size_t n)
{
	(void)ud;
	allocs++;
	return malloc(n);
}

static void
count_free(void *ud, void *p)
{
	(void)ud;
	frees++;
	free(p);
}

static const struct weft_allocator counting = {
    .version = WEFT_ALLOCATOR_VERSION,
    .alloc = count_alloc,
    .free = count_free,
};


/* Opens a runtime on the named plugins; returns what open returned. */
static int
open_with(struct weft_runtime **rt, const char *executor, const char *reactor,
          char *err, size_t errlen)
{
	struct weft_config *cfg;
	int r;

	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(
	    weft_config_set(cfg, "executor", executor, err, errlen), 0);
	assert_int_equal(weft_config_set(cfg, "reactor", reactor, err, errlen),
	                 0);
	r = weft_runtime_open(rt, cfg, err, errlen);
	weft_config_free(cfg);
	return r;
}


static void
expect_in(const char *text, const char *part)
{
	if (!strstr(text, part))
		print_error("no \"%s\" in \"%s\"\n", part, text);
	assert_non_null(strstr(text, part));
}


static void
test_open_failures(void **state)
{
	struct weft_runtime *rt = (struct weft_runtime *)&rt;
	char err[512] = "";

	(void)state;
	assert_int_equal(weft_runtime_open(NULL, NULL, err, sizeof(err)),
	                 -EINVAL);
	expect_in(err, "no runtime pointer");

	/* The configuration's own error, and no runtime. */
	setenv("WEFT_CONFIG", "/nonexistent/weft.conf", 1);
	assert_int_equal(weft_runtime_open(&rt, NULL, err, sizeof(err)),
	                 -ENOENT);
	assert_null(rt);
	expect_in(err, "/nonexistent/weft.conf: cannot open");
	unsetenv("WEFT_CONFIG");

	/* Each plugin missing in turn. */
	assert_int_equal(open_with(&rt, "nosuch", "epoll", err, sizeof(err)),
	                 -ENOENT);
	expect_in(err, "no executor plugin named \"nosuch\"");
	assert_null(rt);
	assert_int_equal(open_with(&rt, "single", "nosuch", err, sizeof(err)),
	                 -ENOENT);
	expect_in(err, "no reactor plugin named \"nosuch\"");
	assert_null(rt);

	/* A plugin of the wrong kind where the other is wanted. */
	assert_int_equal(open_with(&rt, MOCK_DIR "/weft-reactor-good.so",
	                           "epoll", err, sizeof(err)),
	                 WEFT_EPLUGIN);
	expect_in(err, "is a reactor plugin, not an executor plugin");
	assert_null(rt);
}


/* Loaded and checked, but its init fails: the runtime is undone. */
static void
test_init_failures(void **state)
{
	struct weft_runtime *rt;
	char err[512] = "";

	(void)state;
	assert_int_equal(open_with(&rt, "single",
	                           MOCK_DIR "/weft-reactor-good.so", err,
	                           sizeof(err)),
	                 -ENOSYS);
	expect_in(err, "weft-reactor-good.so: reactor init failed");
	assert_null(rt);

	assert_int_equal(open_with(&rt, MOCK_DIR "/weft-executor-good.so",
	                           "epoll", err, sizeof(err)),
	                 -ENOSYS);
	expect_in(err, "weft-executor-good.so: executor init failed");
	assert_null(rt);

	/* With the runtime's memory counted: all of it given back. */
	allocs = frees = 0;
	assert_int_equal(weft_set_default_allocator(&counting), 0);
	assert_int_equal(open_with(&rt, MOCK_DIR "/weft-executor-good.so",
	                           "epoll", err, sizeof(err)),
	                 -ENOSYS);
	assert_int_equal(weft_set_default_allocator(NULL), 0);
	assert_true(allocs > 0);
	assert_int_equal(allocs, frees);
}


static void
test_null_arguments(void **state)
{
	struct weft_executor_stats stats;
	struct weft_runtime *rt;
	struct probe p;
	char err[512] = "";

	(void)state;
	/* A spawn refused for want of a runtime still drops the future. */
	probe_init(&p);
	assert_int_equal(weft_spawn(NULL, &p.base, NULL), -EINVAL);
	assert_int_equal(p.drops, 1);
	assert_int_equal(p.polls, 0);

	probe_init(&p);
	assert_int_equal(weft_block_on(NULL, &p.base), -EINVAL);
	assert_int_equal(p.polls, 0);
	assert_int_equal(weft_runtime_shutdown_timeout(NULL, 0), -EINVAL);
	assert_int_equal(weft_runtime_close_timeout(NULL, 0), -EINVAL);
	weft_runtime_shutdown(NULL);
	weft_runtime_close(NULL);
	assert_null(weft_runtime_executor(NULL));
	assert_null(weft_runtime_driver(NULL));
	assert_null(weft_runtime_plugin(NULL, WEFT_PLUGIN_EXECUTOR));
	assert_null(weft_runtime_plugin_path(NULL, WEFT_PLUGIN_REACTOR));
	assert_int_equal(weft_runtime_stats(NULL, &stats), -EINVAL);

	assert_int_equal(open_with(&rt, "single", "epoll", err, sizeof(err)),
	                 0);
	assert_int_equal(weft_block_on(rt, NULL), -EINVAL);
	assert_int_equal(weft_runtime_stats(rt, NULL), -EINVAL);
	assert_non_null(weft_runtime_executor(rt));
	assert_non_null(weft_runtime_driver(rt));
	assert_string_equal(weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR)->name,
	                    "epoll");
	/* The future still runs after all that. */
	probe_init(&p);
	assert_int_equal(weft_block_on(rt, &p.base), 0);
	assert_int_equal(p.out, 42);
	weft_future_drop(&p.base);
	/* Shut down with a limit, then again without: nothing to wait for. */
	assert_int_equal(weft_runtime_shutdown_timeout(rt, 1000000000u), 0);
	weft_runtime_shutdown(rt);
	assert_int_equal(weft_runtime_shutdown_timeout(rt, 0), 0);
	/*
	 * A spawn after shutdown is refused, and drops its future: the copy
	 * moved into the task, which counts into the original's counter.
	 */
	probe_init(&p);
	p.drop_count = &p.drops;
	assert_true(weft_spawn(rt, &p.base, NULL) < 0);
	assert_int_equal(p.drops, 1);
	assert_int_equal(p.polls, 0);
	weft_runtime_close(rt);
}


/* weft_run() that cannot open a runtime says so and drops the root. */
static void
test_run_cannot_open(void **state)
{
	struct probe p;

	(void)state;
	probe_init(&p);
	setenv("WEFT_EXECUTOR", "nosuch", 1);
	assert_int_equal(weft_run(&p.base), 1);
	unsetenv("WEFT_EXECUTOR");
	assert_int_equal(p.polls, 0);
	assert_int_equal(p.drops, 1);

	/* And one that can runs the root to completion. */
	probe_init(&p);
	assert_int_equal(weft_run_timeout(&p.base, 1000000000u), 0);
	assert_int_equal(p.polls, 1);
	assert_int_equal(p.drops, 1);
}


static void
test_default_allocator(void **state)
{
	struct weft_allocator bad = counting;
	struct weft_runtime *rt;
	char err[512] = "";
	void *p;

	(void)state;
	bad.version = 0;
	assert_int_equal(weft_set_default_allocator(&bad), -EINVAL);
	bad = counting;
	bad.alloc = NULL;
	assert_int_equal(weft_set_default_allocator(&bad), -EINVAL);
	bad = counting;
	bad.free = NULL;
	assert_int_equal(weft_set_default_allocator(&bad), -EINVAL);

	/* Nothing was installed by the refused calls: libc's still. */
	allocs = frees = 0;
	p = weft_alloc(16);
	assert_non_null(p);
	weft_free(p);
	assert_int_equal(allocs, 0);

	/* n * size that overflows is refused, default or not. */
	assert_null(weft_calloc(SIZE_MAX / 2 + 1, 4));
	assert_int_equal(weft_set_default_allocator(&counting), 0);
	assert_null(weft_calloc(SIZE_MAX / 2 + 1, 4));
	assert_int_equal(allocs, 0);

	/* A runtime without an allocator of its own uses the default. */
	assert_int_equal(open_with(&rt, "single", "epoll", err, sizeof(err)),
	                 0);
	assert_true(allocs > 0);
	weft_runtime_close(rt);
	assert_int_equal(allocs, frees);

	/* weft_realloc through the default keeps the old bytes. */
	p = weft_calloc(2, 8);
	assert_non_null(p);
	memset(p, 7, 16);
	p = weft_realloc(p, 16, 64);
	assert_non_null(p);
	assert_int_equal(((unsigned char *)p)[15], 7);
	weft_free(p);
	assert_int_equal(weft_set_default_allocator(NULL), 0);
	assert_int_equal(allocs, frees);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_failures),
	    cmocka_unit_test(test_init_failures),
	    cmocka_unit_test(test_null_arguments),
	    cmocka_unit_test(test_run_cannot_open),
	    cmocka_unit_test(test_default_allocator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
