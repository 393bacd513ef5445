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

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
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
	struct sock_filter prog[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	             offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	             offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K,
	             SECCOMP_RET_ERRNO | ((unsigned)code & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = {
	    .len = sizeof(prog) / sizeof(prog[0]),
	    .filter = prog,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return -errno;
	return 0;
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
