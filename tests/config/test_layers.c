/* SPDX-License-Identifier: MIT */
/*
 * The configuration layers in the standard places: precedence across all
 * of them, the order of drop-ins, [program NAME] sections by name and by
 * glob, files refused as untrusted with the reason, broken files as
 * errors, use_env = false, and each key's origin.
 *
 * The system folder is pointed at a temporary one with
 * WEFT_SYSTEM_CONFIG_DIR, which this unprivileged process may do; the
 * user's with XDG_CONFIG_HOME and HOME.  The real /etc and ~/.config are
 * never read.
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

#include "config.h"

static char tmpdir[] = "/tmp/weft-layers-XXXXXX";
static char sysdir[4096];  /* stands for $(sysconfdir)/weft */
static char xdgdir[4096];  /* $XDG_CONFIG_HOME */
static char userdir[4200]; /* $XDG_CONFIG_HOME/weft */

/* What the visitor was told, one "status layer path: reason" a line. */
static char seen[16384];

static void
record(const struct weft_config_file *f, void *data)
{
	static const char *const names[] = {"read", "missing", "skipped",
	                                    "ignored", "broken"};
	size_t n = strlen(seen);

	(void)data;
	assert_true(f->size >= sizeof(*f));
	assert_true(f->status >= 0 && f->status <= 4);
	snprintf(seen + n, sizeof(seen) - n, "%s %s %s%s%s\n", names[f->status],
	         f->layer, f->path, f->reason ? ": " : "",
	         f->reason ? f->reason : "");
}


/* Writes text into dir/name (mode 0644), making dir first. */
static void
put(const char *dir, const char *name, const char *text)
{
	char path[8192];
	FILE *f;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
}


static void
run(const char *cmd)
{
	assert_int_equal(system(cmd), 0);
}


static void
clean_tree(void)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/etc' '%s/xdg' '%s/home'", tmpdir,
	         tmpdir, tmpdir);
	run(cmd);
	mkdir(sysdir, 0755);
	mkdir(xdgdir, 0755);
	mkdir(userdir, 0755);
}


static void
clear_env(void)
{
	static const char *const vars[] = {
	    "WEFT_CONFIG",           "WEFT_EXECUTOR",
	    "WEFT_REACTOR",          "WEFT_WORKERS",
	    "WEFT_BLOCKING_THREADS", "WEFT_PLUGIN_PATH",
	    "XDG_CONFIG_HOME",       "HOME",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}


static int
setup(void **state)
{
	(void)state;
	clear_env();
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sysdir, sizeof(sysdir), "%s/etc", tmpdir);
	snprintf(xdgdir, sizeof(xdgdir), "%s/xdg", tmpdir);
	snprintf(userdir, sizeof(userdir), "%s/weft", xdgdir);
	setenv("WEFT_SYSTEM_CONFIG_DIR", sysdir, 1);
	setenv("XDG_CONFIG_HOME", xdgdir, 1);
	return 0;
}


static int
teardown(void **state)
{
	char cmd[8400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", tmpdir,
	         tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}


/* A fresh tree, the environment of setup(), nothing recorded. */
static int
fresh(void **state)
{
	(void)state;
	clear_env();
	setenv("WEFT_SYSTEM_CONFIG_DIR", sysdir, 1);
	setenv("XDG_CONFIG_HOME", xdgdir, 1);
	clean_tree();
	seen[0] = '\0';
	return 0;
}


static void
expect_key(const struct weft_config *cfg, const char *key, const char *val,
           const char *origin)
{
	const char *v = weft_config_get(cfg, key);
	const char *o = weft_config_origin(cfg, key);

	if (strcmp(v, val) != 0 || strcmp(o, origin) != 0)
		print_error("%s = %s from %s; wanted %s from %s\n", key, v, o,
		            val, origin);
	assert_string_equal(v, val);
	assert_string_equal(o, origin);
}


static void
expect_seen(const char *line)
{
	if (!strstr(seen, line))
		print_error("no \"%s\" in what the visitor saw:\n%s", line,
		            seen);
	assert_non_null(strstr(seen, line));
}


/* origin of a file under the temporary tree: "<tmpdir>/rel:line". */
static const char *
at(const char *rel, int line)
{
	static char buf[8][4400];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s:%d", tmpdir, rel, line);
	return buf[i];
}


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


/* Loads with a fresh record; returns what load_env_explain returned. */
static int
load(struct weft_config *cfg, char *err, size_t errlen)
{
	seen[0] = '\0';
	return weft_config_load_env_explain(cfg, record, NULL, err, errlen);
}


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
	    cmocka_unit_test_setup(test_precedence, fresh),
	    cmocka_unit_test_setup(test_dropin_order, fresh),
	    cmocka_unit_test_setup(test_program_sections, fresh),
	    cmocka_unit_test_setup(test_untrusted, fresh),
	    cmocka_unit_test_setup(test_broken, fresh),
	    cmocka_unit_test_setup(test_use_env_false, fresh),
	    cmocka_unit_test_setup(test_weft_config_errors, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
