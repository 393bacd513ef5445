/* SPDX-License-Identifier: MIT */
/*
 * Fallback lists: `reactor = io_uring, epoll` (and the same for executor)
 * opens the first entry that loads and whose init succeeds, and keeps why
 * each earlier one was refused (weft_runtime_plugin_choice, `weft info`).
 *
 *   test_fallback lists WEFT_TOOL     the lists on the real plugins and on
 *                                     the mock ones, whose init fails;
 *                                     the config's errors; weft info
 *   test_fallback io_uring WEFT_TOOL  `weft info` with reactor = io_uring,
 *                                     epoll under a seccomp filter that
 *                                     refuses io_uring_setup: it resolves
 *                                     to epoll and shows why (skipped, 77,
 *                                     where the io_uring plugin is absent
 *                                     or io_uring is refused already)
 *
 * WEFT_PLUGIN_PATH names the built plugins; MOCK_DIR the mock ones.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <weft/weft.h>

#ifndef MOCK_DIR
#error "MOCK_DIR must name the mock plugins' folder"
#endif

#include "../common/seccomp_refuse.h"

#if WEFT_TEST_SECCOMP
#define ARCH 1
#endif

#define BAD_REACTOR  MOCK_DIR "/weft-reactor-good.so"  /* init: -ENOSYS */
#define BAD_EXECUTOR MOCK_DIR "/weft-executor-good.so" /* init: -ENOSYS */

static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fprintf(stderr, "\n");                                 \
			failures++;                                            \
		}                                                              \
	} while (0)

#define CHECK_IN(text, part)                                                   \
	CHECK(strstr((text), (part)) != NULL, "no '%s' in: %s", (part), (text))


static struct weft_config *
config_of(const char *executor, const char *reactor)
{
	struct weft_config *cfg = NULL;
	char err[512];

	if (weft_config_new(&cfg) < 0)
		abort();
	if (weft_config_set(cfg, "use_env", "false", err, sizeof(err)) < 0 ||
	    weft_config_set(cfg, "plugin_path", getenv("WEFT_PLUGIN_PATH"), err,
	                    sizeof(err)) < 0 ||
	    weft_config_set(cfg, "executor", executor, err, sizeof(err)) < 0 ||
	    weft_config_set(cfg, "reactor", reactor, err, sizeof(err)) < 0) {
		fprintf(stderr, "FAIL: config %s/%s: %s\n", executor, reactor,
		        err);
		exit(1);
	}
	return cfg;
}


/* Opens executor/reactor; the result, err filled on failure. */
static int
open_with(struct weft_runtime **rt, const char *executor, const char *reactor,
          char *err, size_t errlen)
{
	struct weft_config *cfg = config_of(executor, reactor);
	int r;

	err[0] = '\0';
	*rt = NULL;
	r = weft_runtime_open(rt, cfg, err, errlen);
	weft_config_free(cfg);
	return r;
}


/* Opens the pair, expects it to pick the named plugins, and closes it. */
static void
expect_pick(const char *executor, const char *reactor, const char *want_ex,
            const char *want_re, const char *ex_note, const char *re_note)
{
	struct weft_runtime *rt;
	char err[2048];
	int r;

	r = open_with(&rt, executor, reactor, err, sizeof(err));
	CHECK(r == 0, "%s / %s did not open: %s", executor, reactor, err);
	if (r < 0)
		return;
	CHECK(strcmp(weft_runtime_plugin(rt, WEFT_PLUGIN_EXECUTOR)->name,
	             want_ex) == 0,
	      "executor %s, not %s",
	      weft_runtime_plugin(rt, WEFT_PLUGIN_EXECUTOR)->name, want_ex);
	CHECK(strcmp(weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR)->name,
	             want_re) == 0,
	      "reactor %s, not %s",
	      weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR)->name, want_re);
	CHECK_IN(weft_runtime_plugin_choice(rt, WEFT_PLUGIN_EXECUTOR), ex_note);
	CHECK_IN(weft_runtime_plugin_choice(rt, WEFT_PLUGIN_REACTOR), re_note);
	/* A runtime picked from a list runs like any other. */
	CHECK(weft_time_advance(rt, 1) == WEFT_ENOTSUP, "time_advance");
	weft_runtime_close(rt);
}


static void
test_picks(void)
{
	/* One name: no note, as before lists existed. */
	expect_pick("single", "epoll", "single", "epoll", "", "");
	CHECK(weft_runtime_plugin_choice(NULL, WEFT_PLUGIN_REACTOR) == NULL,
	      "choice of a NULL runtime");
	/* The first entry is not installed: a refusal, not an error. */
	expect_pick("single", "nosuch, epoll", "single", "epoll", "",
	            "from \"nosuch, epoll\"; nosuch refused: not in the plugin "
	            "path");
	/* The first entry loads, but its init fails. */
	expect_pick("single", BAD_REACTOR ", epoll", "single", "epoll", "",
	            "weft-reactor-good.so refused: ");
	expect_pick("single", BAD_REACTOR ", epoll", "single", "epoll", "",
	            "reactor init failed: Function not implemented");
	/* The first entry works: the list is named, nothing refused. */
	expect_pick("single", "epoll, nosuch", "single", "epoll", "",
	            "from \"epoll, nosuch\"");
	/* Executors too, with both kinds of refusal before the one used. */
	expect_pick("nosuch, " BAD_EXECUTOR ", multi", "epoll", "multi",
	            "epoll", "nosuch refused: not in the plugin path; ", "");
	expect_pick("nosuch, " BAD_EXECUTOR ", multi", "epoll", "multi",
	            "epoll", "executor init failed: Function not implemented",
	            "");
	/* A plugin of the other kind is a refusal as well. */
	expect_pick("single", BAD_EXECUTOR ", epoll", "single", "epoll", "",
	            "is an executor plugin, not a reactor plugin");
}


static void
test_all_refused(void)
{
	struct weft_runtime *rt;
	char err[2048];
	int r;

	/* Opening fails with the last entry's error and every reason. */
	r = open_with(&rt, "single", "nosuch, " BAD_REACTOR, err, sizeof(err));
	CHECK(r == -ENOSYS, "open returned %d, not -ENOSYS", r);
	CHECK(rt == NULL, "a runtime after a failed open");
	CHECK_IN(err, "reactor \"nosuch, " BAD_REACTOR
	              "\": none of its 2 would start: ");
	CHECK_IN(err, "nosuch refused: not in the plugin path; ");
	CHECK_IN(err, BAD_REACTOR " refused: ");
	CHECK_IN(err, "reactor init failed: Function not implemented");
	/* An unknown name last: its own error, after the others'. */
	r = open_with(&rt, "single", BAD_REACTOR ", nosuch", err, sizeof(err));
	CHECK(r == -ENOENT, "open returned %d, not -ENOENT", r);
	CHECK_IN(err, "nosuch refused: not in the plugin path");
	/* The executor's list, after the reactor's was started and undone. */
	r = open_with(&rt, BAD_EXECUTOR ", nosuch", "nosuch, epoll", err,
	              sizeof(err));
	CHECK(r == -ENOENT, "open returned %d, not -ENOENT", r);
	CHECK_IN(err, "executor \"" BAD_EXECUTOR ", nosuch\": none of its 2");
	CHECK_IN(err, "executor init failed: Function not implemented");
}


/* Config errors name the key and the reason; canonical form ", ". */
static void
test_config(void)
{
	static const struct {
		const char *value;
		const char *why;
	} bad[] = {
	    {"epoll,,kqueue", "reactor: entry 2 of \"epoll,,kqueue\" is empty"},
	    {", epoll", "reactor: entry 1 of \", epoll\" is empty"},
	    {"epoll,", "reactor: entry 2 of \"epoll,\" is empty"},
	    {"epoll, Bad", "invalid reactor name \"Bad\""},
	    {"a,b,c,d,e,f,g,h,i", "reactor lists more than 8 plugins"},
	    {"epoll, x y", "invalid reactor name \"x y\""},
	};
	struct weft_config *cfg;
	char err[512];
	size_t i;
	int r;

	if (weft_config_new(&cfg) < 0)
		abort();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		r = weft_config_set(cfg, "reactor", bad[i].value, err,
		                    sizeof(err));
		CHECK(r == WEFT_ECONFIG, "%s: %d", bad[i].value, r);
		CHECK_IN(err, bad[i].why);
		/* A refused value leaves the key as it was. */
		CHECK(strcmp(weft_config_get(cfg, "reactor"), "epoll") == 0,
		      "reactor became %s", weft_config_get(cfg, "reactor"));
	}
	CHECK(weft_config_set(cfg, "reactor", "a,b,c,d,e,f,g,h", err,
	                      sizeof(err)) == 0,
	      "eight entries: %s", err);
	CHECK(weft_config_set(cfg, "reactor", " io_uring ,  epoll ", err,
	                      sizeof(err)) == 0,
	      "blanks: %s", err);
	CHECK(strcmp(weft_config_get(cfg, "reactor"), "io_uring, epoll") == 0,
	      "canonical: %s", weft_config_get(cfg, "reactor"));
	CHECK(weft_config_set(cfg, "executor", "worksteal,single", err,
	                      sizeof(err)) == 0,
	      "executor list: %s", err);
	CHECK(strcmp(weft_config_get(cfg, "executor"), "worksteal, single") ==
	          0,
	      "canonical: %s", weft_config_get(cfg, "executor"));
	/* The variable takes the same syntax. */
	setenv("WEFT_REACTOR", "nosuch,epoll", 1);
	CHECK(weft_config_load_env(cfg, err, sizeof(err)) == 0, "env: %s", err);
	CHECK(strcmp(weft_config_get(cfg, "reactor"), "nosuch, epoll") == 0,
	      "from WEFT_REACTOR: %s", weft_config_get(cfg, "reactor"));
	setenv("WEFT_REACTOR", "epoll,,", 1);
	CHECK(weft_config_load_env(cfg, err, sizeof(err)) == WEFT_ECONFIG,
	      "WEFT_REACTOR=epoll,, accepted");
	CHECK_IN(err, "WEFT_REACTOR");
	CHECK_IN(err, "entry 2 of \"epoll,,\" is empty");
	unsetenv("WEFT_REACTOR");
	weft_config_free(cfg);
}


/* Runs argv with stdout and stderr into out; the exit status. */
static int
run(char *const argv[], void (*before)(void), char *out, size_t outlen)
{
	size_t used = 0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		if (before)
			before();
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (used + 1 < outlen &&
	       (n = read(p[0], out + used, outlen - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}


static void
test_info(const char *weft)
{
	char *const argv[] = {(char *)weft, "info", NULL};
	char *const argv_explain[] = {(char *)weft, "info", "--explain", NULL};
	char out[8192];
	int rc;

	setenv("WEFT_EXECUTOR", "single", 1);
	setenv("WEFT_REACTOR", "nosuch, " BAD_REACTOR ", epoll", 1);
	rc = run(argv, NULL, out, sizeof(out));
	printf("weft info, a list whose third entry starts (exit %d):\n%s", rc,
	       out);
	CHECK(rc == 0, "weft info exited %d", rc);
	CHECK_IN(out, "\nreactor      epoll ");
	CHECK_IN(
	    out,
	    "(from \"nosuch, " BAD_REACTOR
	    ", epoll\"; nosuch refused: not in the plugin path; " BAD_REACTOR
	    " refused: ");
	CHECK_IN(out, "reactor init failed: Function not implemented");
	/* --explain shows the list as the key's value, and the syntax. */
	rc = run(argv_explain, NULL, out, sizeof(out));
	CHECK(rc == 0, "weft info --explain exited %d", rc);
	CHECK_IN(out, "reactor                = nosuch, " BAD_REACTOR
	              ", epoll  from WEFT_REACTOR");
	CHECK_IN(out, "executor and reactor may be fallback lists");
	setenv("WEFT_REACTOR", "nosuch, " BAD_REACTOR, 1);
	rc = run(argv, NULL, out, sizeof(out));
	printf("weft info, a list none of which starts (exit %d):\n%s", rc,
	       out);
	CHECK(rc == 1, "weft info exited %d, not 1", rc);
	CHECK_IN(out, "none of its 2 would start: nosuch refused: ");
	setenv("WEFT_REACTOR", "epoll,,", 1);
	rc = run(argv, NULL, out, sizeof(out));
	printf("weft info, a broken list (exit %d):\n%s", rc, out);
	CHECK(rc == 1, "weft info exited %d, not 1", rc);
	CHECK_IN(out, "WEFT_REACTOR");
	CHECK_IN(out, "is empty");
	unsetenv("WEFT_REACTOR");
	unsetenv("WEFT_EXECUTOR");
}


#ifdef ARCH
/* In the child before exec: io_uring_setup answers EPERM. */
static void
refuse_io_uring(void)
{
	int rc = test_refuse_syscall(__NR_io_uring_setup, EPERM);

	if (rc < 0) {
		errno = -rc;
		perror("seccomp");
		_exit(126);
	}
}


static int
test_io_uring(const char *weft)
{
	char *const argv[] = {(char *)weft, "info", NULL};
	struct weft_runtime *rt;
	char out[8192];
	int rc;

	/* The control: without the filter io_uring must start. */
	rc = open_with(&rt, "single", "io_uring", out, sizeof(out));
	if (rc < 0) {
		printf("SKIP: io_uring does not start here: %s\n", out);
		return 77;
	}
	weft_runtime_close(rt);
	setenv("WEFT_EXECUTOR", "single", 1);
	setenv("WEFT_REACTOR", "io_uring, epoll", 1);
	rc = run(argv, NULL, out, sizeof(out));
	CHECK(rc == 0, "weft info without the filter exited %d", rc);
	CHECK_IN(out, "\nreactor      io_uring ");
	CHECK_IN(out, "(from \"io_uring, epoll\")");
	rc = run(argv, refuse_io_uring, out, sizeof(out));
	printf("weft info with io_uring_setup refused (exit %d):\n%s", rc, out);
	if (rc == 126 && strstr(out, "seccomp: Function not implemented")) {
		/* Valgrind does not install seccomp filters. */
		printf("SKIP: no seccomp filter here\n");
		return 77;
	}
	CHECK(rc == 0, "weft info exited %d", rc);
	CHECK_IN(out, "\nreactor      epoll ");
	CHECK_IN(out, "(from \"io_uring, epoll\"; io_uring refused: ");
	CHECK_IN(out, "Operation not permitted");
	unsetenv("WEFT_REACTOR");
	unsetenv("WEFT_EXECUTOR");
	return 0;
}
#endif


int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s lists|io_uring WEFT_TOOL\n",
		        argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "io_uring") == 0) {
#ifdef ARCH
		if (test_io_uring(argv[2]) == 77)
			return 77;
#else
		printf("SKIP: no seccomp architecture constant here\n");
		return 77;
#endif
	} else {
		test_picks();
		test_all_refused();
		test_config();
		test_info(argv[2]);
	}
	printf("%s\n", failures ? "FAILED" : "passed");
	return failures ? 1 : 0;
}
