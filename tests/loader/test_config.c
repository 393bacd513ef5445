/* SPDX-License-Identifier: MIT */
/*
 * Configuration tests: the file format, every kind of bad line, the
 * precedence of the layers and the environment switch.
 *
 * The tests that give the reader a FIFO set an alarm first: a reader that
 * waited for a writer would hang forever, and the alarm turns that into a
 * failure.
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

#include "plugins.h"

static char tmpdir[] = "/tmp/weft-config-XXXXXX";

/* Seconds a test that could hang on a FIFO may take. */
#define HANG_LIMIT 20

/* Writes len bytes into a file under tmpdir; returns its path. */
static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}


static void
clear_env(void)
{
	unsetenv("WEFT_CONFIG");
	unsetenv("WEFT_EXECUTOR");
	unsetenv("WEFT_REACTOR");
	unsetenv("WEFT_WORKERS");
	unsetenv("WEFT_PLUGIN_PATH");
}


static int
setup(void **state)
{
	(void)state;
	clear_env();
	return mkdtemp(tmpdir) ? 0 : -1;
}


static int
teardown(void **state)
{
	char cmd[4200];

	(void)state;
	clear_env();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}


static void
test_defaults(void **state)
{
	struct weft_config *cfg;
	struct weft__settings s;

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_string_equal(weft_config_get(cfg, "executor"), "single");
	assert_string_equal(weft_config_get(cfg, "reactor"), "epoll");
	assert_string_equal(weft_config_get(cfg, "workers"), "0");
	assert_string_equal(weft_config_get(cfg, "plugin_path"),
	                    WEFT_PLUGINDIR);
	assert_string_equal(weft_config_get(cfg, "use_env"), "true");
	assert_null(weft_config_get(cfg, "exector"));
	weft_config_free(cfg);

	assert_int_equal(weft__settings_resolve(&s, NULL, NULL, 0), 0);
	assert_string_equal(s.executor, "single");
	assert_string_equal(s.reactor, "epoll");
	assert_string_equal(s.plugin_path, WEFT_PLUGINDIR);
	assert_int_equal(s.workers, 0);
	assert_true(s.use_env);
}


static void
test_good_text(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "\n"
	    "   executor=multi   \r\n"
	    "\treactor = \"/opt/x y/weft-reactor-io_uring.so\"  # quoted\n"
	    "workers = 007 # trailing comment\n"
	    "plugin_path = '/a:/b#c'\n"
	    "use_env = no\n"
	    "   # indented comment";
	struct weft_config *cfg;
	char err[256] = "";
	const char *path;

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(
	    weft_config_load_string(cfg, text, "mem", err, sizeof(err)), 0);
	assert_string_equal(weft_config_get(cfg, "executor"), "multi");
	assert_string_equal(weft_config_get(cfg, "reactor"),
	                    "/opt/x y/weft-reactor-io_uring.so");
	assert_string_equal(weft_config_get(cfg, "workers"), "7");
	assert_string_equal(weft_config_get(cfg, "plugin_path"), "/a:/b#c");
	assert_string_equal(weft_config_get(cfg, "use_env"), "false");

	/* The same from a file, and an empty file changes nothing. */
	path = write_file("good.conf", text, sizeof(text) - 1);
	assert_int_equal(weft_config_load_file(cfg, path, err, sizeof(err)), 0);
	path = write_file("empty.conf", "", 0);
	assert_int_equal(weft_config_load_file(cfg, path, err, sizeof(err)), 0);
	assert_string_equal(weft_config_get(cfg, "executor"), "multi");
	weft_config_free(cfg);
}


struct bad_case {
	const char *text;
	size_t len; /* 0: strlen(text) */
	const char *want;
};

static void
test_bad_lines(void **state)
{
	static const struct bad_case cases[] = {
	    {"executor = single\n\nexector = x\n", 0,
	     "bad.conf:3: unknown key \"exector\""},
	    {"executor single\n", 0, "bad.conf:1: missing '='"},
	    {" = x\n", 0, "bad.conf:1: missing key before '='"},
	    {"reactor =\n", 0, "bad.conf:1: empty value for \"reactor\""},
	    {"reactor = \"\"\n", 0, "bad.conf:1: empty value"},
	    {"reactor = # nothing\n", 0, "bad.conf:1: empty value"},
	    {"workers = many\n", 0,
	     "bad.conf:1: workers must be a whole number from 0 to 4096, "
	     "not \"many\""},
	    {"workers = -1\n", 0, "bad.conf:1: workers must be"},
	    {"workers = 99999999999999999999999\n", 0,
	     "bad.conf:1: value of \"workers\" is too long"},
	    {"workers = 99999999999999\n", 0, "bad.conf:1: workers must be"},
	    {"workers = 4097\n", 0, "bad.conf:1: workers must be"},
	    {"use_env = maybe\n", 0,
	     "bad.conf:1: use_env must be \"true\" or \"false\""},
	    {"executor = a\nexecutor = b\n", 0,
	     "bad.conf:2: duplicate key \"executor\" (already set on line "
	     "1)"},
	    {"executor = \"single\n", 0, "bad.conf:1: unterminated quote"},
	    {"executor = \"single\" x\n", 0,
	     "bad.conf:1: unexpected text after the closing quote"},
	    {"executor = Single\n", 0,
	     "bad.conf:1: invalid executor name \"Single\""},
	    {"reactor = ../epoll\n", 0, ""},
	    {"reactor = ep\x01oll\n", 0,
	     "bad.conf:1: value of \"reactor\" contains a control "
	     "character"},
	    {"reactor = epoll\nexecutor = si\0ngle\n", 35,
	     "bad.conf:2: line contains a NUL byte"},
	    {"\xff\xfe=\n", 0, "bad.conf:1: unknown key \"\\xff\\xfe\""},
	};
	struct weft_config *cfg;
	char err[512];
	const char *path;
	size_t i;
	int rc;

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len =
		    cases[i].len ? cases[i].len : strlen(cases[i].text);

		path = write_file("bad.conf", cases[i].text, len);
		err[0] = '\0';
		rc = weft_config_load_file(cfg, path, err, sizeof(err));
		/* "../epoll" has a '/', so it is a (relative) path: fine. */
		if (!*cases[i].want) {
			assert_int_equal(rc, 0);
			continue;
		}
		if (rc != WEFT_ECONFIG || !strstr(err, cases[i].want))
			print_error("case %zu: rc %d, error: %s\n", i, rc, err);
		assert_int_equal(rc, WEFT_ECONFIG);
		assert_non_null(strstr(err, cases[i].want));
		assert_non_null(strstr(err, path));
	}
	weft_config_free(cfg);
}


static void
test_overlong(void **state)
{
	struct weft_config *cfg;
	char text[6000];
	char err[512] = "";

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	memcpy(text, "plugin_path = ", 14);
	memset(text + 14, 'a', 5000);
	text[5014] = '\0';
	assert_int_equal(
	    weft_config_load_string(cfg, text, "long.conf", err, sizeof(err)),
	    WEFT_ECONFIG);
	assert_non_null(strstr(err, "long.conf:1: value of \"plugin_path\" "
	                            "is too long (5000 bytes, at most 4095)"));
	/* A long unknown key is quoted in part only. */
	memset(text, 'k', 5000);
	strcpy(text + 5000, " = 1");
	assert_int_equal(
	    weft_config_load_string(cfg, text, NULL, err, sizeof(err)),
	    WEFT_ECONFIG);
	assert_non_null(strstr(err, "<string>:1: unknown key \"kkkk"));
	assert_true(strlen(err) < 200);
	weft_config_free(cfg);
}


static void
test_atomic_and_io_errors(void **state)
{
	struct weft_config *cfg;
	char err[512] = "";

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	/* A bad line anywhere means none of the file applies. */
	assert_int_equal(weft_config_load_string(cfg,
	                                         "executor = multi\nbogus\n",
	                                         "x", err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_string_equal(weft_config_get(cfg, "executor"), "single");

	assert_int_equal(weft_config_load_file(cfg, "/nonexistent/weft.conf",
	                                       err, sizeof(err)),
	                 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/weft.conf: cannot open"));
	assert_int_equal(weft_config_load_file(cfg, tmpdir, err, sizeof(err)),
	                 -EISDIR);
	assert_non_null(strstr(err, tmpdir));

	/* set() takes the same values, and names the key it refuses. */
	assert_int_equal(weft_config_set(cfg, "exector", "x", err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_string_equal(err, "unknown key \"exector\"");
	assert_int_equal(weft_config_set(cfg, "workers", "x", err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_int_equal(weft_config_set(cfg, "workers", "4", NULL, 0), 0);
	assert_string_equal(weft_config_get(cfg, "workers"), "4");
	assert_int_equal(weft_config_set(NULL, "workers", "4", NULL, 0),
	                 -EINVAL);
	weft_config_free(cfg);
}


/*
 * Expects path to be refused, through the API and through WEFT_CONFIG, as
 * a file that is not a regular one, of the given type; cfg stays as it
 * was.
 */
static void
expect_not_regular(struct weft_config *cfg, const char *path, int code,
                   const char *type)
{
	struct weft__settings s;
	char err[512] = "";
	char want[128];

	snprintf(want, sizeof(want), "%s: not a regular file: %s", path, type);
	assert_int_equal(weft_config_load_file(cfg, path, err, sizeof(err)),
	                 code);
	if (!strstr(err, want))
		print_error("error: %s\nwanted: %s\n", err, want);
	assert_non_null(strstr(err, want));
	setenv("WEFT_CONFIG", path, 1);
	err[0] = '\0';
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)),
	                 code);
	assert_non_null(strstr(err, want));
	err[0] = '\0';
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)), code);
	assert_non_null(strstr(err, want));
	unsetenv("WEFT_CONFIG");
	assert_string_equal(weft_config_get(cfg, "executor"), "single");
}


/* A FIFO, a device or a folder as the configuration file. */
static void
test_not_regular(void **state)
{
	struct weft_config *cfg;
	char fifo[4096];
	char link[4096];

	(void)state;
	alarm(HANG_LIMIT);
	snprintf(fifo, sizeof(fifo), "%s/fifo.conf", tmpdir);
	snprintf(link, sizeof(link), "%s/link.conf", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink(fifo, link), 0);
	assert_int_equal(weft_config_new(&cfg), 0);
	expect_not_regular(cfg, fifo, -EINVAL, "a FIFO");
	/* Links are followed: the refusal says what the link leads to. */
	expect_not_regular(cfg, link, -EINVAL, "a FIFO");
	expect_not_regular(cfg, "/dev/null", -EINVAL, "a character device");
	expect_not_regular(cfg, "/dev/zero", -EINVAL, "a character device");
	expect_not_regular(cfg, tmpdir, -EISDIR, "a directory");
	weft_config_free(cfg);
	unlink(link);
	unlink(fifo);
	alarm(0);
}


static void
test_precedence(void **state)
{
	struct weft_config *cfg;
	struct weft__settings s;
	char err[512] = "";
	const char *path;

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_load_string(cfg,
	                                         "executor = app\n"
	                                         "reactor = app\n"
	                                         "workers = 1\n",
	                                         "app", err, sizeof(err)),
	                 0);
	path = write_file("env.conf", "executor = file\nreactor = file\n", 31);
	setenv("WEFT_CONFIG", path, 1);
	setenv("WEFT_EXECUTOR", "var", 1);
	setenv("WEFT_PLUGIN_PATH", "/p1:/p2", 1);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)), 0);
	assert_string_equal(s.executor, "var");
	assert_string_equal(s.reactor, "file");
	assert_int_equal(s.workers, 1);
	assert_string_equal(s.plugin_path, "/p1:/p2");
	/* Resolving does not change the application's configuration. */
	assert_string_equal(weft_config_get(cfg, "executor"), "app");

	/* An empty variable counts as unset. */
	setenv("WEFT_EXECUTOR", "", 1);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)), 0);
	assert_string_equal(s.executor, "file");
	unsetenv("WEFT_CONFIG");
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)), 0);
	assert_string_equal(s.executor, "app");
	assert_string_equal(s.reactor, "app");

	/* load_env applies the same layers to the object itself. */
	setenv("WEFT_WORKERS", "3", 1);
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)), 0);
	assert_string_equal(weft_config_get(cfg, "workers"), "3");

	/* Bad variables are errors that name the variable. */
	setenv("WEFT_WORKERS", "lots", 1);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "environment variable WEFT_WORKERS: "
	                            "workers must be"));
	setenv("WEFT_REACTOR", "../../evil", 1);
	setenv("WEFT_WORKERS", "2", 1);
	setenv("WEFT_EXECUTOR", "../evil", 1);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)), 0);
	setenv("WEFT_EXECUTOR", "Evil.so", 1);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "WEFT_EXECUTOR"));

	/* A bad WEFT_CONFIG file is named in the error. */
	unsetenv("WEFT_EXECUTOR");
	path = write_file("broken.conf", "workers = x\n", 12);
	setenv("WEFT_CONFIG", path, 1);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "broken.conf:1: workers must be"));
	clear_env();
	weft_config_free(cfg);
}


static void
test_use_env_false(void **state)
{
	struct weft_config *cfg;
	struct weft__settings s;
	char err[512] = "";
	const char *path;

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(
	    weft_config_set(cfg, "use_env", "false", err, sizeof(err)), 0);
	path = write_file("env.conf", "executor = file\n", 16);
	setenv("WEFT_CONFIG", path, 1);
	setenv("WEFT_EXECUTOR", "var", 1);
	setenv("WEFT_WORKERS", "garbage", 1);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)), 0);
	assert_string_equal(s.executor, "single");
	assert_int_equal(s.workers, 0);
	assert_false(s.use_env);
	assert_int_equal(weft_config_load_env(cfg, err, sizeof(err)), 0);
	assert_string_equal(weft_config_get(cfg, "executor"), "single");

	/* The operator's own file may switch the variables off too. */
	assert_int_equal(
	    weft_config_set(cfg, "use_env", "true", err, sizeof(err)), 0);
	path = write_file("env.conf", "executor = file\nuse_env = false\n", 32);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)), 0);
	assert_string_equal(s.executor, "file");
	assert_int_equal(s.workers, 0);
	clear_env();
	weft_config_free(cfg);
}


/* Arbitrary bytes must give 0 or an error, never a crash. */
static void
test_random_bytes(void **state)
{
	static const char alphabet[] = "=#\"' \t\r\nexcutorworkersuse_env01/\\";
	struct weft_config *cfg;
	char text[128];
	char err[256];
	unsigned seed = 12345;
	int i;
	int j;
	int rc;

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	for (i = 0; i < 20000; i++) {
		int n = 1 + (int)(rand_r(&seed) % (sizeof(text) - 1));

		for (j = 0; j < n - 1; j++) {
			unsigned r = (unsigned)rand_r(&seed);

			text[j] = (r & 1) ? alphabet[r % (sizeof(alphabet) - 1)]
			                  : (char)(1 + r % 255);
		}
		text[n - 1] = '\0';
		rc = weft_config_load_string(cfg, text, "fuzz", err,
		                             sizeof(err));
		assert_true(rc == 0 || rc == WEFT_ECONFIG);
		if (rc < 0)
			assert_non_null(strstr(err, "fuzz:"));
	}
	weft_config_free(cfg);
}


static void
test_strerror(void **state)
{
	int code;

	(void)state;
	assert_string_equal(weft_strerror(0), "Success");
	assert_non_null(strstr(weft_strerror(WEFT_ECONFIG), "configuration"));
	assert_non_null(strstr(weft_strerror(WEFT_EPLUGIN), "plugin"));
	assert_string_equal(weft_strerror(-ENOENT),
	                    "No such file or directory");
	for (code = -WEFT_EBASE - 20; code < 100; code++)
		assert_non_null(weft_strerror(code));
	assert_non_null(weft_strerror(-2147483647 - 1));
	assert_int_equal(weft__fail(NULL, 0, -5, "x %d", 1), -5);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_good_text),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_overlong),
	    cmocka_unit_test(test_atomic_and_io_errors),
	    cmocka_unit_test(test_not_regular),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_use_env_false),
	    cmocka_unit_test(test_random_bytes),
	    cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
