/* SPDX-License-Identifier: MIT */
/*
 * The console's security model and lifetime, as root (77 otherwise):
 * the socket is 0600 in a 0700 folder of ours; a process of another user
 * cannot connect (the folder and the socket stop it), and one that gets
 * past the file checks (fsuid 0, euid nobody) is refused by its peer
 * credentials and counted; a folder that is a symlink, too open or not
 * ours is refused; a second runtime gets <pid>-2.sock; idle clients cannot
 * hold the server; close removes the socket.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <weft/weft.h>

#define NOBODY 65534

static int failures;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
			        __LINE__, #cond);                              \
			failures++;                                            \
		}                                                              \
	} while (0)

static char base[64]; /* XDG_RUNTIME_DIR for this test */

static int
open_console(struct weft_runtime **rt, char *err, size_t errlen)
{
	struct weft_config *cfg;
	int r;

	if (weft_config_new(&cfg) < 0)
		return -ENOMEM;
	r = weft_config_set(cfg, "console", "on", err, errlen);
	if (r == 0)
		r = weft_runtime_open(rt, cfg, err, errlen);
	weft_config_free(cfg);
	return r;
}

static int
dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Reads to EOF (5 s at most); the bytes read, or -errno. */
static long
read_all(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0)
			return -errno;
		if (n == 0 || len + (size_t)n == size - 1) {
			len += (size_t)n;
			buf[len] = '\0';
			return (long)len;
		}
		len += (size_t)n;
	}
}

static long
snapshot(const char *path, char *buf, size_t size)
{
	long n;
	int fd = dial(path);

	if (fd < 0)
		return fd;
	n = write(fd, "snapshot\n", 9) == 9 ? read_all(fd, buf, size) : -EIO;
	close(fd);
	return n;
}

/* In a child: exits 0 when the connection was refused as expected. */
static void
as_nobody(const char *path, int keep_fs_root)
{
	char buf[256];
	int fd;

	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0)
		_exit(3);
	if (keep_fs_root) {
		/* euid nobody, saved uid 0: may set fsuid back to 0, which
		 * passes the file checks, but SO_PEERCRED says nobody. */
		if (setresuid(NOBODY, NOBODY, 0) < 0)
			_exit(3);
		setfsuid(0);
		if ((unsigned)setfsuid((uid_t)-1) != 0)
			_exit(3);
	} else if (setresuid(NOBODY, NOBODY, NOBODY) < 0) {
		_exit(3);
	}
	fd = dial(path);
	if (!keep_fs_root)
		_exit(fd == -EACCES ? 0 : 1);
	if (fd < 0)
		_exit(2); /* should have passed the file checks */
	if (send(fd, "snapshot\n", 9, MSG_NOSIGNAL) != 9)
		_exit(0); /* closed on us already */
	/* Closed unanswered: EOF or a reset, never a byte. */
	_exit(read_all(fd, buf, sizeof(buf)) <= 0 ? 0 : 1);
}

static int
child_status(const char *path, int keep_fs_root)
{
	int st;
	pid_t pid = fork();

	if (pid == 0)
		as_nobody(path, keep_fs_root);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* A folder that the console must refuse, named by why in err. */
static void
expect_refused(const char *why)
{
	struct weft_runtime *rt = NULL;
	char err[512] = "";
	int r = open_console(&rt, err, sizeof(err));

	CHECK(r < 0 && rt == NULL);
	if (r == 0)
		weft_runtime_close(rt);
	if (!strstr(err, why)) {
		fprintf(stderr, "expected \"%s\" in: %s\n", why, err);
		failures++;
	}
}

static void
bad_folders(void)
{
	char dir[128], other[128];

	snprintf(dir, sizeof(dir), "%s/weft", base);
	snprintf(other, sizeof(other), "%s/elsewhere", base);
	/* Each while no console of ours uses the folder. */
	CHECK(mkdir(other, 0700) == 0);
	CHECK(rmdir(dir) == 0);
	CHECK(symlink(other, dir) == 0);
	expect_refused("symlink");
	CHECK(unlink(dir) == 0);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(chmod(dir, 0755) == 0);
	expect_refused("not 0700");
	CHECK(chmod(dir, 0700) == 0);
	CHECK(chown(dir, NOBODY, NOBODY) == 0);
	expect_refused("owned by uid");
	CHECK(chown(dir, 0, 0) == 0);
	CHECK(rmdir(other) == 0);
}

int
main(void)
{
	struct weft_runtime *rt, *rt2;
	char err[512], dir[128], path[160], path2[160], buf[1 << 16];
	struct stat st;
	int idle[4], i;
	long n;

	if (geteuid() != 0) {
		puts("SKIP: dropping privileges needs root");
		return 77;
	}
	snprintf(base, sizeof(base), "/tmp/weft-console-peer-XXXXXX");
	if (!mkdtemp(base))
		return 1;
	setenv("XDG_RUNTIME_DIR", base, 1);
	snprintf(dir, sizeof(dir), "%s/weft", base);
	snprintf(path, sizeof(path), "%s/%ld.sock", dir, (long)getpid());
	snprintf(path2, sizeof(path2), "%s/%ld-2.sock", dir, (long)getpid());

	if (open_console(&rt, err, sizeof(err)) < 0) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	CHECK(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	      (st.st_mode & 07777) == 0700 && st.st_uid == 0);
	CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	      (st.st_mode & 07777) == 0600 && st.st_uid == 0);

	/* Another user: stopped by the file modes before any credentials. */
	CHECK(child_status(path, 0) == 0);
	/* Past the file checks: refused by SO_PEERCRED, and counted. */
	CHECK(child_status(path, 1) == 0);
	n = snapshot(path, buf, sizeof(buf));
	CHECK(n > 0 && strstr(buf, "\"version\":1"));
	CHECK(n > 0 && strstr(buf, "\"refused\":1,"));

	/* A second runtime of the process gets a name of its own. */
	CHECK(open_console(&rt2, err, sizeof(err)) == 0);
	CHECK(lstat(path2, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(snapshot(path2, buf, sizeof(buf)) > 0);
	weft_runtime_close(rt2);
	CHECK(lstat(path2, &st) < 0 && errno == ENOENT);

	/* Clients that say nothing fill every slot, then time out: a
	 * snapshot behind them is still answered. */
	for (i = 0; i < 4; i++)
		idle[i] = dial(path);
	n = snapshot(path, buf, sizeof(buf));
	CHECK(n > 0 && strstr(buf, "\"tasks\":["));
	for (i = 0; i < 4; i++) {
		CHECK(idle[i] >= 0);
		if (idle[i] >= 0) {
			CHECK(read_all(idle[i], buf, sizeof(buf)) == 0);
			close(idle[i]);
		}
	}
	/* A request the console does not know gets an error document. */
	i = dial(path);
	CHECK(i >= 0 && write(i, "bogus\n", 6) == 6);
	CHECK(read_all(i, buf, sizeof(buf)) > 0 &&
	      strstr(buf, "\"error\":\"unknown request\""));
	close(i);

	weft_runtime_close(rt);
	CHECK(lstat(path, &st) < 0 && errno == ENOENT);
	bad_folders();
	rmdir(dir);
	rmdir(base);
	if (failures)
		fprintf(stderr, "%d checks failed\n", failures);
	else
		puts("ok");
	return failures ? 1 : 0;
}
