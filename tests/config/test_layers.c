/* SPDX-License-Identifier: MIT */
/*
 * The configuration layers in the standard places: precedence across all
 * of them, the order of drop-ins, [program NAME] sections by name and by
 * glob, and each key's origin.  test_layers_trust.c has the files refused
 * as untrusted, broken files and use_env = false.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "layers_fixture.h"


/*
 * Every layer sets the keys below it in precedence too, so that each key
 * is decided by a different layer and each origin names the winner.
 */
static void
test_precedence(void **state)
{
	struct weft_config *cfg;
	char drop[4400];
	char udrop[4400];
	char path[4400];
	char err[1024] = "";

	(void)state;
	snprintf(drop, sizeof(drop), "%s/weft.conf.d", sysdir);
	snprintf(udrop, sizeof(udrop), "%s/weft.conf.d", userdir);
	put(sysdir, "weft.conf",
	    "executor = sys\nreactor = sys\nworkers = 2\n"
	    "blocking_threads = 2\nplugin_path = /sys\n");
	put(drop, "10-a.conf",
	    "executor = sysd\nreactor = sysd\nworkers = 3\n"
	    "blocking_threads = 3\n");
	put(userdir, "weft.conf",
	    "executor = user\nreactor = user\n"
	    "workers = 4\n");
	put(udrop, "x.conf", "executor = userd\nreactor = userd\n");
	put(tmpdir, "env.conf", "executor = envfile\n");
	snprintf(path, sizeof(path), "%s/env.conf", tmpdir);

	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_set(cfg, "allow_writable_plugins", "yes",
	                                 err, sizeof(err)),
	                 0);
	assert_int_equal(
	    weft_config_set(cfg, "executor", "app", err, sizeof(err)), 0);
	setenv("WEFT_CONFIG", path, 1);
	setenv("WEFT_REACTOR", "var", 1);
	assert_int_equal(
	    weft_config_load_env_explain(cfg, record, NULL, err, sizeof(err)),
	    0);
	expect_key(cfg, "reactor", "var", "WEFT_REACTOR");
	expect_key(cfg, "executor", "envfile", at("env.conf", 1));
	expect_key(cfg, "workers", "4", at("xdg/weft/weft.conf", 3));
	expect_key(cfg, "blocking_threads", "3",
	           at("etc/weft.conf.d/10-a.conf", 4));
	expect_key(cfg, "plugin_path", "/sys", at("etc/weft.conf", 5));
	expect_key(cfg, "allow_writable_plugins", "true", "application");
	expect_key(cfg, "use_env", "true", "default");
	weft_config_free(cfg);

	/* Peeling off the top layers lets the ones below show through. */
	unsetenv("WEFT_REACTOR");
	unsetenv("WEFT_CONFIG");
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)), 0);
	expect_key(cfg, "executor", "userd",
	           at("xdg/weft/weft.conf.d/x.conf", 1));
	expect_key(cfg, "reactor", "userd",
	           at("xdg/weft/weft.conf.d/x.conf", 2));
	weft_config_free(cfg);

	/* Without XDG_CONFIG_HOME, the user's folder is ~/.config/weft. */
	unsetenv("XDG_CONFIG_HOME");
	snprintf(path, sizeof(path), "%s/home", tmpdir);
	setenv("HOME", path, 1);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/home/.config", tmpdir);
	mkdir(path, 0755);
	strcat(path, "/weft");
	put(path, "weft.conf", "workers = 6\n");
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)), 0);
	expect_key(cfg, "workers", "6", at("home/.config/weft/weft.conf", 1));
	expect_key(cfg, "executor", "sysd", at("etc/weft.conf.d/10-a.conf", 1));
	/* ... and so it is when XDG_CONFIG_HOME is relative. */
	setenv("XDG_CONFIG_HOME", "relative/path", 1);
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)), 0);
	expect_key(cfg, "workers", "6", at("home/.config/weft/weft.conf", 1));
	weft_config_free(cfg);
}


/* Drop-ins apply in byte order of their names; others are passed over. */
static void
test_dropin_order(void **state)
{
	struct weft_config *cfg;
	char drop[4400];
	char cmd[8400];
	char err[1024] = "";
	const char *a;
	const char *b;
	const char *c;

	(void)state;
	snprintf(drop, sizeof(drop), "%s/weft.conf.d", sysdir);
	put(drop, "9-b.conf", "workers = 9\nreactor = nine\n");
	put(drop, "10-a.conf", "workers = 10\nexecutor = ten\n");
	put(drop, "a.conf", "workers = 11\n");
	/* Not drop-ins: hidden, another suffix, a backup. */
	put(drop, ".hidden.conf", "workers = 99\n");
	put(drop, "z.conf.bak", "workers = 98\n");
	put(drop, "zz.txt", "this is not even valid\n");
	/* Named like one but a folder: skipped with the reason. */
	snprintf(cmd, sizeof(cmd), "mkdir '%s/b.conf'", drop);
	run(cmd);

	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(
	    weft_config_load_env_explain(cfg, record, NULL, err, sizeof(err)),
	    0);
	expect_key(cfg, "workers", "11", at("etc/weft.conf.d/a.conf", 1));
	expect_key(cfg, "executor", "ten", at("etc/weft.conf.d/10-a.conf", 2));
	expect_key(cfg, "reactor", "nine", at("etc/weft.conf.d/9-b.conf", 2));
	a = strstr(seen, "10-a.conf");
	b = strstr(seen, "9-b.conf");
	c = strstr(seen, "/a.conf");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
	assert_null(strstr(seen, "hidden"));
	assert_null(strstr(seen, ".bak"));
	assert_null(strstr(seen, "zz.txt"));
	expect_seen("missing system ");
	expect_seen("/etc/weft.conf\n");
	expect_seen("skipped system drop-in ");
	expect_seen("b.conf: not a regular file: a directory");
	expect_seen("missing user ");
	weft_config_free(cfg);
}


static void
test_program_sections(void **state)
{
	struct weft_config *cfg;
	char want[4700];
	char err[1024] = "";

	(void)state;
	put(sysdir, "weft.conf",
	    "workers = 1\n"
	    "[program other]\n"
	    "workers = 2\n"
	    "reactor = other\n"
	    "[program myapp]  # exact\n"
	    "workers = 3\n"
	    "[ program  my* ]\n"
	    "blocking_threads = 4\n"
	    "workers = 5\n"
	    "[program test_?ayers]\n"
	    "executor = glob\n");
	assert_int_equal(weft_config_new(&cfg), 0);
	/* The executable's own name, by default. */
	assert_string_equal(weft_config_program(cfg), "test_layers");
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)), 0);
	expect_key(cfg, "workers", "1", at("etc/weft.conf", 1));
	snprintf(want, sizeof(want), "%s [program test_?ayers]",
	         at("etc/weft.conf", 11));
	expect_key(cfg, "executor", "glob", want);
	expect_key(cfg, "reactor", "epoll", "default");
	weft_config_free(cfg);

	/* An explicit name: the exact section, then the glob one, in order. */
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_set_program(cfg, "myapp"), 0);
	assert_string_equal(weft_config_program(cfg), "myapp");
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)), 0);
	assert_string_equal(weft_config_get(cfg, "workers"), "5");
	assert_non_null(strstr(weft_config_origin(cfg, "workers"),
	                       "weft.conf:9 [program my*]"));
	assert_string_equal(weft_config_get(cfg, "blocking_threads"), "4");
	assert_string_equal(weft_config_get(cfg, "executor"), "single");
	assert_string_equal(weft_config_get(cfg, "reactor"), "epoll");
	/* Back to the executable's name. */
	assert_int_equal(weft_config_set_program(cfg, NULL), 0);
	assert_string_equal(weft_config_program(cfg), "test_layers");
	assert_int_equal(weft_config_set_program(cfg, ""), -EINVAL);
	weft_config_free(cfg);

	/* Another program's broken section is an error all the same. */
	put(sysdir, "weft.conf", "[program other]\nworkers = many\n");
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "etc/weft.conf:2: workers must be"));
	/* Bad section headers name the line. */
	put(sysdir, "weft.conf", "workers = 1\n[group x]\n");
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "etc/weft.conf:2: unknown section"));
	assert_int_equal(
	    weft_config_load_string(cfg, "[program]\n", "s", err, sizeof(err)),
	    WEFT_ECONFIG);
	assert_non_null(strstr(err, "s:1: missing program name"));
	assert_int_equal(
	    weft_config_load_string(cfg, "[program x\n", "s", err, sizeof(err)),
	    WEFT_ECONFIG);
	assert_non_null(strstr(err, "s:1: missing ']'"));
	assert_int_equal(weft_config_load_string(cfg, "[program x] y\n", "s",
	                                         err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "s:1: unexpected text after ']'"));
	/* A key may be set once per section, not twice in one. */
	assert_int_equal(weft_config_load_string(cfg,
	                                         "workers = 1\n[program x]\n"
	                                         "workers = 2\nworkers = 3\n",
	                                         "s", err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "s:4: duplicate key \"workers\""));
	/* Nothing of the failed loads was applied. */
	expect_key(cfg, "workers", "0", "default");
	weft_config_free(cfg);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_precedence, fresh),
	    cmocka_unit_test_setup(test_dropin_order, fresh),
	    cmocka_unit_test_setup(test_program_sections, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
