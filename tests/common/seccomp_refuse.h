/* SPDX-License-Identifier: MIT */
/*
 * For tests: refuses one system call in the calling process (and what it
 * execs) with -code, as an old kernel (ENOSYS) or a container's seccomp
 * profile (EPERM) does, and allows every other.  no_new_privs first, so no
 * privilege is needed.  WEFT_TEST_SECCOMP is 0 where the architecture is
 * not known here; test_refuse_syscall then answers -ENOSYS.
 */
#ifndef WEFT_TEST_SECCOMP_REFUSE_H
#define WEFT_TEST_SECCOMP_REFUSE_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define WEFT_TEST_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define WEFT_TEST_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef WEFT_TEST_ARCH
#define WEFT_TEST_SECCOMP 1
#else
#define WEFT_TEST_SECCOMP 0
#endif

/* 0, or -errno of the prctl or seccomp call that failed. */
static inline int
test_refuse_syscall(long nr, int code)
{
#if WEFT_TEST_SECCOMP
	struct sock_filter prog[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	             offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WEFT_TEST_ARCH, 1, 0),
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
#else
	(void)nr;
	(void)code;
	return -ENOSYS;
#endif
}

#endif /* WEFT_TEST_SECCOMP_REFUSE_H */
