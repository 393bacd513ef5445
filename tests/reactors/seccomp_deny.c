/* SPDX-License-Identifier: MIT */
/*
 * Runs a program with one system call refused, as an old kernel (ENOSYS)
 * or a container's seccomp profile (EPERM) refuses it:
 *
 *   seccomp-deny SYSCALL ERRNO PROGRAM [ARG...]
 *
 * SYSCALL is epoll_pwait2 or io_uring_setup, ERRNO is ENOSYS or EPERM.
 * The filter (no_new_privs, so no privilege is needed) answers that call
 * with -ERRNO and allows every other; it is checked to refuse before
 * PROGRAM is executed, so a test run under it cannot pass by accident.
 * Exits 77 (skipped) where the machine has no such call number or no
 * seccomp filters.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../common/seccomp_refuse.h"

#if WEFT_TEST_SECCOMP
#define ARCH 1
#endif

#define SKIP 77

static long
call_number(const char *name)
{
#ifdef __NR_epoll_pwait2
	if (strcmp(name, "epoll_pwait2") == 0)
		return __NR_epoll_pwait2;
#endif
#ifdef __NR_io_uring_setup
	if (strcmp(name, "io_uring_setup") == 0)
		return __NR_io_uring_setup;
#endif
	return -1;
}


#ifdef ARCH
static int
deny(long nr, int code)
{
	return test_refuse_syscall(nr, code);
}
#endif


int
main(int argc, char **argv)
{
	long nr;
	int code;

	if (argc < 4 ||
	    (strcmp(argv[2], "ENOSYS") != 0 && strcmp(argv[2], "EPERM") != 0)) {
		fprintf(stderr,
		        "usage: %s SYSCALL ENOSYS|EPERM PROGRAM [ARG...]\n",
		        argv[0]);
		return 2;
	}
	code = strcmp(argv[2], "ENOSYS") == 0 ? ENOSYS : EPERM;
	nr = call_number(argv[1]);
	if (nr < 0) {
		printf("SKIP: no call number for %s here\n", argv[1]);
		return SKIP;
	}
#ifndef ARCH
	(void)code;
	printf("SKIP: no seccomp architecture constant here\n");
	return SKIP;
#else
	if (deny(nr, code) < 0) {
		printf("SKIP: seccomp filter refused: %s\n", strerror(errno));
		return SKIP;
	}
	/* Arguments that would fail anyway; only the errno matters. */
	errno = 0;
	if (syscall(nr, -1, NULL, 0, NULL, NULL, 0) != -1 || errno != code) {
		fprintf(stderr, "%s: the filter does not refuse %s with %s\n",
		        argv[0], argv[1], argv[2]);
		return 1;
	}
	fflush(stdout);
	execv(argv[3], argv + 3);
	fprintf(stderr, "%s: cannot run %s: %s\n", argv[0], argv[3],
	        strerror(errno));
	return 127;
#endif
}
