/* SPDX-License-Identifier: MIT */
/*
 * Builtin plugins: an entry point linked into the program and registered
 * with weft_plugin_add_builtin() loads by name with no file and no dlopen,
 * and goes through the same negotiation and descriptor checks as a file.
 * The good mock executor is compiled into this test with its entry renamed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plugins.h"

int mock_builtin_entry(struct weft_negotiate *neg, uint32_t index,
                       const struct weft_plugin_descriptor **desc);

static int
failing_entry(struct weft_negotiate *neg, uint32_t index,
              const struct weft_plugin_descriptor **desc)
{
	(void)neg, (void)index, (void)desc;
	return WEFT_EABI;
}

static int
liar_entry(struct weft_negotiate *neg, uint32_t index,
           const struct weft_plugin_descriptor **desc)
{
	/* The executor's descriptor, offered as a reactor below. */
	return mock_builtin_entry(neg, index, desc);
}


static void
test_builtin_loads_by_name(void **state)
{
	struct weft__plugin p;
	char err[1024] = "";

	(void)state;
	assert_int_equal(weft_plugin_add_builtin(WEFT_PLUGIN_EXECUTOR, "good",
	                                         mock_builtin_entry),
	                 0);
	/* No plugin_path at all: only the builtin table can answer. */
	assert_int_equal(weft__plugin_load(&p, "good", WEFT_PLUGIN_EXECUTOR, 0,
	                                   NULL, err, sizeof(err)),
	                 0);
	assert_null(p.handle);
	assert_non_null(p.desc);
	assert_string_equal(p.desc->name, "good");
	assert_string_equal(p.path, "builtin:executor-good");
	weft__plugin_unload(&p);
}


static void
test_builtin_register_errors(void **state)
{
	(void)state;
	assert_int_equal(weft_plugin_add_builtin(WEFT_PLUGIN_EXECUTOR, "good",
	                                         mock_builtin_entry),
	                 0); /* the same entry again is harmless */
	assert_int_equal(weft_plugin_add_builtin(WEFT_PLUGIN_EXECUTOR, "good",
	                                         failing_entry),
	                 -EEXIST);
	assert_int_equal(
	    weft_plugin_add_builtin(WEFT_PLUGIN_EXECUTOR, "Bad", failing_entry),
	    -EINVAL);
	assert_int_equal(
	    weft_plugin_add_builtin(WEFT_PLUGIN_EXECUTOR, "", failing_entry),
	    -EINVAL);
	assert_int_equal(
	    weft_plugin_add_builtin(WEFT_PLUGIN_EXECUTOR, "x/y", failing_entry),
	    -EINVAL);
	assert_int_equal(
	    weft_plugin_add_builtin(WEFT_PLUGIN_EXECUTOR, "x", NULL), -EINVAL);
	assert_int_equal(weft_plugin_add_builtin((enum weft_plugin_kind)7, "x",
	                                         failing_entry),
	                 -EINVAL);
}


static void
expect_refused(const char *name, enum weft_plugin_kind kind,
               weft_plugin_entry_fn entry, int code, const char *reason)
{
	struct weft__plugin p;
	char err[1024] = "";
	char path[128];
	int rc;

	assert_int_equal(weft_plugin_add_builtin(kind, name, entry), 0);
	rc = weft__plugin_load(&p, name, kind, 0, NULL, err, sizeof(err));
	snprintf(path, sizeof(path), "builtin:%s-%s",
	         kind == WEFT_PLUGIN_EXECUTOR ? "executor" : "reactor", name);
	if (rc != code || !strstr(err, path) || !strstr(err, reason))
		print_error("%s: rc %d (want %d), error: %s\n", name, rc, code,
		            err);
	assert_int_equal(rc, code);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, reason));
	assert_null(p.desc);
}


static void
test_builtin_checked_like_a_file(void **state)
{
	(void)state;
	expect_refused("fails", WEFT_PLUGIN_EXECUTOR, failing_entry, WEFT_EABI,
	               "entry point failed");
	expect_refused("liar", WEFT_PLUGIN_REACTOR, liar_entry, WEFT_EPLUGIN,
	               "executor");
}


static void
test_builtin_path_still_dlopens(void **state)
{
	struct weft__plugin p;
	char err[1024] = "";
	int rc;

	(void)state;
	/* A path is never a builtin, even when its name is one. */
	rc = weft__plugin_load(&p, "/nonexistent/weft-executor-good.so",
	                       WEFT_PLUGIN_EXECUTOR, 0, NULL, err, sizeof(err));
	assert_int_equal(rc, WEFT_EPLUGIN);
	assert_non_null(strstr(err, "/nonexistent/weft-executor-good.so"));
}


static void
test_builtin_table_is_bounded(void **state)
{
	char name[16];
	int i, rc = 0;

	(void)state;
	for (i = 0; i < 64 && rc == 0; i++) {
		snprintf(name, sizeof(name), "filler%d", i);
		rc = weft_plugin_add_builtin(WEFT_PLUGIN_REACTOR, name,
		                             failing_entry);
	}
	assert_int_equal(rc, -ENOSPC);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtin_loads_by_name),
	    cmocka_unit_test(test_builtin_register_errors),
	    cmocka_unit_test(test_builtin_checked_like_a_file),
	    cmocka_unit_test(test_builtin_path_still_dlopens),
	    cmocka_unit_test(test_builtin_table_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
