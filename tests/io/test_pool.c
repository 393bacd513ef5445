/* SPDX-License-Identifier: MIT */
/*
 * Name resolution and regular files, the I/O that runs on the blocking
 * pool, at their edges on the pair under test.  Resolution stays offline:
 * numeric addresses, "localhost" (from the hosts file), and names the
 * resolver refuses before asking any server (not valid host names, or
 * numeric ones of the wrong family).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

/* ---- resolve ------------------------------------------------------------ */

static void
resolve_numeric(void **state)
{
	struct weft_resolve r;
	char text[64];
	(void)state;

	weft_resolve_init(&r, "127.0.0.1", 80, AF_INET);
	run_bounded(&r.base, 30);
	assert_int_equal(r.status, 1);
	assert_int_equal(r.count, 1);
	assert_string_equal(weft_addr_format(&r.addrs[0], text, sizeof(text)),
	                    "127.0.0.1:80");
	weft_resolve_init(&r, "::1", 443, AF_UNSPEC);
	run_bounded(&r.base, 30);
	assert_int_equal(r.status, 1);
	assert_string_equal(weft_addr_format(&r.addrs[0], text, sizeof(text)),
	                    "[::1]:443");
	weft_resolve_init(&r, "localhost", 7, AF_INET);
	run_bounded(&r.base, 30);
	assert_true(r.status >= 1);
	assert_string_equal(weft_addr_format(&r.addrs[0], text, sizeof(text)),
	                    "127.0.0.1:7");
}

static void
resolve_fails(void **state)
{
	struct weft_resolve r;
	(void)state;

	/* Not a host name: refused without a query. */
	weft_resolve_init(&r, "bad name!", 80, AF_UNSPEC);
	run_bounded(&r.base, 30);
	assert_int_equal(r.status, -ENOENT);
	assert_int_equal(r.gai, EAI_NONAME);
	assert_int_equal(r.count, 0);
	weft_resolve_init(&r, "", 80, AF_UNSPEC);
	run_bounded(&r.base, 30);
	assert_int_equal(r.status, -ENOENT);
	/* An IPv6 address asked for as IPv4: no such address either. */
	weft_resolve_init(&r, "::1", 80, AF_INET);
	run_bounded(&r.base, 30);
	assert_int_equal(r.status, -ENOENT);
	assert_int_not_equal(r.gai, 0);
	/* A family that is not for streams over IP. */
	weft_resolve_init(&r, "127.0.0.1", 80, AF_UNIX);
	run_bounded(&r.base, 30);
	assert_int_equal(r.status, -EINVAL);
	assert_int_equal(r.gai, EAI_FAMILY);
}

static void
resolve_out_of_memory(void **state)
{
	struct weft_resolve r;
	(void)state;

	/* The arguments, then the pool's job: each is -ENOMEM. */
	fault_arm(1);
	weft_resolve_init(&r, "127.0.0.1", 80, AF_INET);
	assert_true(fault_fired());
	run_bounded(&r.base, 10);
	assert_int_equal(r.status, -ENOMEM);
	fault_arm(2);
	weft_resolve_init(&r, "127.0.0.1", 80, AF_INET);
	assert_true(fault_fired());
	run_bounded(&r.base, 10);
	assert_int_equal(r.status, -ENOMEM);
	assert_int_equal(r.count, 0);
	/* Dropped before it ever ran: everything it held is freed. */
	weft_resolve_init(&r, "127.0.0.1", 80, AF_INET);
	weft_future_drop(&r.base);
}

/* ---- files ----------------------------------------------------------------
 */

struct tmpfile {
	char path[40];
	int fd;
};

static void
tmpfile_make(struct tmpfile *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/weft-pool-XXXXXX");
	t->fd = mkstemp(t->path);
	assert_true(t->fd >= 0);
}

static void
tmpfile_remove(struct tmpfile *t)
{
	close(t->fd);
	unlink(t->path);
}

static void
open_edges(void **state)
{
	char *path = malloc(PATH_MAX + 1);
	struct weft_file_open o;
	struct tmpfile t;
	(void)state;

	/* Longer than any path: refused before any job. */
	assert_non_null(path);
	memset(path, 'a', PATH_MAX);
	path[PATH_MAX] = '\0';
	weft_file_open_init(&o, path, O_RDONLY, 0);
	run_bounded(&o.base, 10);
	assert_int_equal(o.status, -ENAMETOOLONG);
	free(path);

	tmpfile_make(&t);
	fault_arm(1);
	weft_file_open_init(&o, t.path, O_RDONLY, 0);
	assert_true(fault_fired());
	run_bounded(&o.base, 10);
	assert_int_equal(o.status, -ENOMEM);
	fault_arm(2);
	weft_file_open_init(&o, t.path, O_RDONLY, 0);
	assert_true(fault_fired());
	run_bounded(&o.base, 10);
	assert_int_equal(o.status, -ENOMEM);
	/* Dropped before it ran: no fd was made, its arguments are freed. */
	weft_file_open_init(&o, t.path, O_RDONLY, 0);
	weft_future_drop(&o.base);
	/* A directory is not opened for writing. */
	weft_file_open_init(&o, "/tmp", O_WRONLY, 0);
	run_bounded(&o.base, 10);
	assert_int_equal(o.status, -EISDIR);
	tmpfile_remove(&t);
}

static void
rw_at_position(void **state)
{
	struct weft_file_rw rw;
	struct tmpfile t;
	char buf[16];
	(void)state;

	tmpfile_make(&t);
	/* Offset -1: at the file position, which moves. */
	weft_file_write_init(&rw, t.fd, "hello ", 6, -1);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, 6);
	weft_file_write_init(&rw, t.fd, "world", 5, -1);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, 5);
	assert_int_equal(rw.done, 5);
	assert_int_equal(lseek(t.fd, 0, SEEK_CUR), 11);
	assert_int_equal(lseek(t.fd, 6, SEEK_SET), 6);
	memset(buf, 0, sizeof(buf));
	weft_file_read_init(&rw, t.fd, buf, sizeof(buf), -1);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, 5);
	assert_string_equal(buf, "world");
	/* At the end: 0.  Nothing asked: 0 at once. */
	weft_file_read_init(&rw, t.fd, buf, sizeof(buf), -1);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, 0);
	weft_file_read_init(&rw, t.fd, buf, 0, 0);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, 0);
	/* At an offset, the position stays. */
	weft_file_read_init(&rw, t.fd, buf, 5, 0);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(lseek(t.fd, 0, SEEK_CUR), 11);
	tmpfile_remove(&t);
}

static void
rw_errors(void **state)
{
	struct weft_file_rw rw;
	struct tmpfile t;
	char buf[8];
	int ro, wo;
	(void)state;

	tmpfile_make(&t);
	ro = open(t.path, O_RDONLY);
	wo = open(t.path, O_WRONLY);
	assert_true(ro >= 0 && wo >= 0);
	/* The wrong direction for the fd: the system's error. */
	weft_file_write_init(&rw, ro, "x", 1, 0);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, -EBADF);
	assert_int_equal(rw.done, 0);
	weft_file_read_init(&rw, wo, buf, sizeof(buf), -1);
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, -EBADF);
	/* No room for the chunk, then none for the pool's job. */
	fault_arm(1);
	weft_file_write_init(&rw, wo, "x", 1, 0);
	assert_true(fault_fired());
	run_bounded(&rw.base, 10);
	assert_int_equal(rw.status, -ENOMEM);
	/* On completion I/O no job is made: the driver's record is reused. */
	weft_file_write_init(&rw, wo, "x", 1, 0);
	if (io_completion_on()) {
		weft_future_drop(&rw.base);
	} else {
		assert_true(run_failing(&rw.base, 1, 10));
		assert_int_equal(rw.status, -ENOMEM);
		assert_int_equal(rw.done, 0);
	}
	/* Nothing was written by either. */
	assert_int_equal(lseek(wo, 0, SEEK_END), 0);
	close(ro);
	close(wo);
	tmpfile_remove(&t);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(resolve_numeric),
	    cmocka_unit_test(resolve_fails),
	    cmocka_unit_test(resolve_out_of_memory),
	    cmocka_unit_test(open_edges),
	    cmocka_unit_test(rw_at_position),
	    cmocka_unit_test(rw_errors),
	};

	fault_install();
	return run_group(argc, argv, "io-pool", tests,
	                 sizeof(tests) / sizeof(tests[0]));
}
