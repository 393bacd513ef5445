/* SPDX-License-Identifier: MIT */
/*
 * What the configuration layers refuse: files another user could have
 * written or that cannot be read (skipped, with the reason), broken files
 * (an error naming the line, nothing applied), a WEFT_CONFIG that cannot
 * be loaded, and use_env = false switching off the layers after it.
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
 * Files another user could have written are skipped with the reason, as
 * plugin files are refused; the rest of the layers still apply.
 */
static void
test_untrusted(void **state)
{
	struct weft_config *cfg;
	char drop[4400];
	char path[4400];
	char err[1024] = "";

	(void)state;
	snprintf(drop, sizeof(drop), "%s/weft.conf.d", sysdir);
	put(sysdir, "weft.conf", "workers = 1\n");
	put(drop, "a.conf", "blocking_threads = 2\n");
	put(userdir, "weft.conf", "reactor = user\n");
	assert_int_equal(weft_config_new(&cfg), 0);

	/* Writable by others: the file. */
	snprintf(path, sizeof(path), "%s/weft.conf", sysdir);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_seen("etc/weft.conf: refusing a configuration file other users "
	            "may write (mode 666)");
	expect_seen("skipped system ");
	expect_key(cfg, "workers", "0", "default");
	expect_key(cfg, "blocking_threads", "2",
	           at("etc/weft.conf.d/a.conf", 1));
	expect_key(cfg, "reactor", "user", at("xdg/weft/weft.conf", 1));
	assert_int_equal(chmod(path, 0644), 0);

	/* Writable by others: the folder, unless it has the sticky bit. */
	assert_int_equal(chmod(drop, 0777), 0);
	weft_config_free(cfg);
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_seen("a.conf: refusing a configuration in folder ");
	expect_seen("which other users may write (mode 777)");
	expect_key(cfg, "blocking_threads", "0", "default");
	expect_key(cfg, "workers", "1", at("etc/weft.conf", 1));
	assert_int_equal(chmod(drop, 01777), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_key(cfg, "blocking_threads", "2",
	           at("etc/weft.conf.d/a.conf", 1));
	assert_int_equal(chmod(drop, 0755), 0);

	/* Not a regular file. */
	snprintf(path, sizeof(path), "%s/weft.conf", userdir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0644), 0);
	weft_config_free(cfg);
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_seen("skipped user ");
	expect_seen("xdg/weft/weft.conf: not a regular file: a FIFO");
	expect_key(cfg, "reactor", "epoll", "default");
	assert_int_equal(unlink(path), 0);

	/* Unreadable: root reads anything, so only others can see this. */
	put(userdir, "weft.conf", "reactor = user\n");
	if (geteuid() != 0) {
		assert_int_equal(chmod(path, 0), 0);
		assert_int_equal(load(cfg, err, sizeof(err)), 0);
		expect_seen(
		    "xdg/weft/weft.conf: cannot open: Permission denied");
		expect_key(cfg, "reactor", "epoll", "default");
		assert_int_equal(chmod(path, 0644), 0);
	} else {
		/* Owned by someone else: only root can make such a file. */
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(load(cfg, err, sizeof(err)), 0);
		expect_seen("xdg/weft/weft.conf: refusing a configuration file "
		            "owned by user 65534, who is neither root nor this "
		            "process's user");
		expect_key(cfg, "reactor", "epoll", "default");
		assert_int_equal(chown(path, 0, 0), 0);
	}
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_key(cfg, "reactor", "user", at("xdg/weft/weft.conf", 1));
	weft_config_free(cfg);
}


/*
 * A broken line in any file is an error naming the file and the line, and
 * the configuration stays as it was: a typo in /etc must not silently run
 * the program another way.
 */
static void
test_broken(void **state)
{
	struct weft_config *cfg;
	struct weft__settings s;
	char drop[4400];
	char err[1024] = "";

	(void)state;
	snprintf(drop, sizeof(drop), "%s/weft.conf.d", sysdir);
	put(sysdir, "weft.conf", "workers = 2\n");
	put(drop, "50-bad.conf", "# comment\nreactor = epoll\nworkers 3\n");
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), WEFT_ECONFIG);
	assert_non_null(strstr(err, "etc/weft.conf.d/50-bad.conf:3: missing "
	                            "'='"));
	expect_seen("read system ");
	expect_seen("broken system drop-in ");
	/* Nothing after the broken file was looked at. */
	assert_null(strstr(seen, " user "));
	expect_key(cfg, "workers", "0", "default");
	/* runtime_open resolves the same way, and fails the same way. */
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "50-bad.conf:3"));

	/* So is a broken user file, and a bad value. */
	put(drop, "50-bad.conf", "reactor = epoll\n");
	put(userdir, "weft.conf", "workers = -1\n");
	assert_int_equal(load(cfg, err, sizeof(err)), WEFT_ECONFIG);
	assert_non_null(strstr(err, "xdg/weft/weft.conf:1: workers must be"));
	expect_seen("broken user ");
	put(userdir, "weft.conf", "\n");
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)), 0);
	assert_int_equal(s.workers, 2);
	weft_config_free(cfg);
}


static void
test_use_env_false(void **state)
{
	struct weft_config *cfg;
	char drop[4400];
	char err[1024] = "";

	(void)state;
	snprintf(drop, sizeof(drop), "%s/weft.conf.d", sysdir);
	put(sysdir, "weft.conf", "workers = 2\n");
	put(userdir, "weft.conf", "reactor = user\n");
	setenv("WEFT_EXECUTOR", "var", 1);

	/* The program's use_env = false: no file, no variable. */
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(
	    weft_config_set(cfg, "use_env", "false", err, sizeof(err)), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_key(cfg, "workers", "0", "default");
	expect_key(cfg, "reactor", "epoll", "default");
	expect_key(cfg, "executor", "single", "default");
	expect_seen("ignored all files and WEFT_* variables: use_env = false "
	            "(application)");
	weft_config_free(cfg);

	/* A system file's: its own drop-ins still apply, nothing after. */
	put(sysdir, "weft.conf", "workers = 2\nuse_env = no\n");
	put(drop, "a.conf", "blocking_threads = 3\n");
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_key(cfg, "workers", "2", at("etc/weft.conf", 1));
	expect_key(cfg, "use_env", "false", at("etc/weft.conf", 2));
	expect_key(cfg, "blocking_threads", "3",
	           at("etc/weft.conf.d/a.conf", 1));
	expect_key(cfg, "reactor", "epoll", "default");
	expect_key(cfg, "executor", "single", "default");
	expect_seen("ignored user user files: use_env = false (");
	weft_config_free(cfg);

	/* A user file's: WEFT_CONFIG and the variables are left out. */
	put(sysdir, "weft.conf", "workers = 2\n");
	put(userdir, "weft.conf", "use_env = off\n");
	setenv("WEFT_CONFIG", "/nonexistent/weft.conf", 1);
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_key(cfg, "executor", "single", "default");
	expect_key(cfg, "blocking_threads", "3",
	           at("etc/weft.conf.d/a.conf", 1));
	expect_seen("ignored environment WEFT_CONFIG, WEFT_* variables");
	weft_config_free(cfg);
}


/* A missing WEFT_CONFIG is still an error, as it always was. */
static void
test_weft_config_errors(void **state)
{
	struct weft_config *cfg;
	char err[1024] = "";

	(void)state;
	setenv("WEFT_CONFIG", "/nonexistent/weft.conf", 1);
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/weft.conf: cannot open"));
	expect_seen("skipped WEFT_CONFIG /nonexistent/weft.conf: cannot open");
	setenv("WEFT_CONFIG", tmpdir, 1);
	assert_int_equal(load(cfg, err, sizeof(err)), -EISDIR);
	weft_config_free(cfg);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_untrusted, fresh),
	    cmocka_unit_test_setup(test_broken, fresh),
	    cmocka_unit_test_setup(test_use_env_false, fresh),
	    cmocka_unit_test_setup(test_weft_config_errors, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
