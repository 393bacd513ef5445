/* SPDX-License-Identifier: MIT */
/*
 * Where io_uring is refused, the io_uring reactor fails to start with a
 * message that says why.  Each case runs in a child that installs a
 * seccomp filter answering io_uring_setup with an errno (as a container's
 * profile or kernel.io_uring_disabled does), then opens a runtime on
 * io_uring, or runs `weft info` on it; the parent checks the outcome.
 * First, without a filter, the same runtime must open: otherwise the
 * refusal below would prove nothing.
 *
 * Usage: test_io_uring_refused WEFT_COMMAND (WEFT_PLUGIN_PATH set).
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

#include "../common/seccomp_refuse.h"

#if WEFT_TEST_SECCOMP
#define ARCH 1
#endif

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


/* io_uring_setup answers -code; every other call is allowed. */
static int
refuse_io_uring(int code)
{
	return test_refuse_syscall(__NR_io_uring_setup, code);
}


/* Opens single + io_uring; the result, with err filled on failure. */
static int
open_io_uring(char *err, size_t errlen)
{
	struct weft_runtime *rt;
	struct weft_config *cfg;
	int r;

	err[0] = '\0';
	if (weft_config_new(&cfg) < 0)
		return -ENOMEM;
	weft_config_set(cfg, "use_env", "false", NULL, 0);
	weft_config_set(cfg, "executor", "single", NULL, 0);
	weft_config_set(cfg, "reactor", "io_uring", NULL, 0);
	weft_config_set(cfg, "plugin_path", getenv("WEFT_PLUGIN_PATH"), NULL,
	                0);
	r = weft_runtime_open(&rt, cfg, err, errlen);
	weft_config_free(cfg);
	if (r == 0)
		weft_runtime_close(rt);
	return r;
}


/*
 * In a child: io_uring_setup refused with code, a runtime on io_uring
 * must fail with -code and a message naming io_uring, the error and the
 * likely causes.
 */
static void
child_open(int code)
{
	char err[2048];
	int r;

	if (refuse_io_uring(code) < 0) {
		perror("seccomp");
		_exit(2);
	}
	r = open_io_uring(err, sizeof(err));
	printf("refused with %s: %d: %s\n", strerror(code), r, err);
	CHECK(r == -code, "open returned %d, not %d", r, -code);
	CHECK(strstr(err, "weft-reactor-io_uring"), "no plugin in: %s", err);
	CHECK(strstr(err, strerror(code)), "no '%s' in: %s", strerror(code),
	      err);
	CHECK(strstr(err, "kernel.io_uring_disabled or a seccomp profile"),
	      "no cause in: %s", err);
	fflush(stdout);
	_exit(failures ? 1 : 0);
}


/* In a child: `weft info` on io_uring under the filter. */
static void
child_info(const char *weft, int errfd)
{
	if (refuse_io_uring(EPERM) < 0)
		_exit(2);
	dup2(errfd, STDERR_FILENO);
	dup2(errfd, STDOUT_FILENO);
	setenv("WEFT_EXECUTOR", "single", 1);
	setenv("WEFT_REACTOR", "io_uring", 1);
	setenv("WEFT_CONFIG", "", 1);
	execl(weft, weft, "info", (char *)NULL);
	_exit(127);
}


static int
wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}


static void
check_info(const char *weft)
{
	char out[4096];
	size_t used = 0;
	ssize_t n;
	int p[2], rc;
	pid_t pid;

	if (pipe(p) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child_info(weft, p[1]);
	}
	close(p[1]);
	while (used + 1 < sizeof(out) &&
	       (n = read(p[0], out + used, sizeof(out) - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(p[0]);
	rc = wait_child(pid);
	printf("weft info under the filter (exit %d):\n%s", rc, out);
	CHECK(rc == 1, "weft info exited %d, not 1", rc);
	CHECK(strstr(out, "Operation not permitted"), "no EPERM in: %s", out);
	CHECK(strstr(out, "kernel.io_uring_disabled or a seccomp profile"),
	      "no cause in: %s", out);
}


int
main(int argc, char **argv)
{
	static const int codes[] = {EPERM, ENOSYS};
	char err[2048];
	size_t i;
	pid_t pid;
	int r;

#ifndef ARCH
	(void)argc;
	(void)argv;
	printf("SKIP: no seccomp architecture constant for this machine\n");
	return 77;
#else
	if (argc != 2) {
		fprintf(stderr, "usage: %s WEFT_COMMAND\n", argv[0]);
		return 2;
	}
	/* Valgrind does not let a program install a seccomp filter. */
	if (getenv("WEFT_UNDER_VALGRIND")) {
		printf("SKIP: no seccomp filters under Valgrind\n");
		return 77;
	}
	/* The control: without a filter, io_uring starts. */
	r = open_io_uring(err, sizeof(err));
	if (r == -EPERM || r == -ENOSYS) {
		printf("SKIP: io_uring is refused here already: %s\n", err);
		return 77;
	}
	CHECK(r == 0, "io_uring did not start without a filter: %s", err);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			child_open(codes[i]);
		r = wait_child(pid);
		CHECK(r == 0, "the child refused with %s failed (%d)",
		      strerror(codes[i]), r);
	}
	fflush(stdout);
	check_info(argv[1]);
	/* The filter stayed in the children: here io_uring still starts. */
	r = open_io_uring(err, sizeof(err));
	CHECK(r == 0, "io_uring did not start after the children: %s", err);
	printf("%s\n", failures ? "FAILED" : "passed");
	return failures ? 1 : 0;
#endif
}
