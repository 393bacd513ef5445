/* SPDX-License-Identifier: MIT */
/*
 * The console server.  One thread per runtime with console = on: it polls
 * a listening Unix socket and a wake-up pipe, takes at most CLIENTS_MAX
 * connections at a time, and answers each with one JSON snapshot built
 * from weft_runtime_metrics, weft_runtime_worker_stats and
 * weft_runtime_tasks, which are safe from any thread.  It never touches the
 * workers' queues or locks of its own that a worker could wait on, so a
 * slow or hostile client can delay only other clients, and only until its
 * deadline.
 *
 * Security: the folder is 0700 and ours (checked, never followed through
 * a symlink), the socket 0600, and the peer's uid (SO_PEERCRED) must be
 * ours; a refused peer is closed unanswered and counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "console.h"

#define CLIENTS_MAX 4
#define CLIENT_MS   2000 /* a client's whole exchange, read and write */
#define REQUEST_MAX 64
#define SLOTS       64    /* consoles in one process at a time */

/* Which socket names this process uses: slot i is <pid>.sock (i = 0) or
 * <pid>-<i+1>.sock.  A name not held here but present on disk is a stale
 * one from a dead process that had our pid. */
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t slots_used;

struct client {
	int fd;
	uint64_t deadline_ms;
	char in[REQUEST_MAX];
	size_t in_len;
	char *out; /* the answer once the request is read; owned */
	size_t out_len, out_off;
};

struct weft__console {
	struct weft_runtime *rt;
	const struct weft_allocator *alloc;
	pthread_t thread;
	int listen_fd;
	int wake[2]; /* a byte in wake[1] stops the thread */
	int slot;
	pid_t
	    pid; /* the process whose thread serves; a fork's child has none */
	uint64_t refused; /* peers of another uid; the thread's own */
	struct client clients[CLIENTS_MAX];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- clients ------------------------------------------------------ */

static void
client_close(struct weft__console *c, struct client *cl)
{
	close(cl->fd);
	weft__mem_free(c->alloc, cl->out);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

static int
peer_is_us(int fd)
{
#ifdef SO_PEERCRED
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return cred.uid == geteuid();
#else
	uid_t uid;
	gid_t gid;

	return getpeereid(fd, &uid, &gid) == 0 && uid == geteuid();
#endif
}

static void
accept_clients(struct weft__console *c)
{
	for (;;) {
		struct client *cl = NULL;
		int fd, i;

		for (i = 0; i < CLIENTS_MAX && !cl; i++)
			if (c->clients[i].fd < 0)
				cl = &c->clients[i];
		if (!cl)
			return; /* the rest wait in the backlog */
		fd = accept4(c->listen_fd, NULL, NULL,
		             SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a peer that left: poll again */
		if (!peer_is_us(fd)) {
			close(fd);
			c->refused++;
			continue;
		}
		cl->fd = fd;
		cl->deadline_ms = now_ms() + CLIENT_MS;
	}
}

/* Reads what the client sent; at the newline, builds the answer. */
static void
client_read(struct weft__console *c, struct client *cl)
{
	char *nl;
	ssize_t n =
	    read(cl->fd, cl->in + cl->in_len, sizeof(cl->in) - 1 - cl->in_len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c, cl);
		return;
	}
	cl->in_len += (size_t)n;
	cl->in[cl->in_len] = '\0';
	nl = strchr(cl->in, '\n');
	if (!nl) {
		if (cl->in_len == sizeof(cl->in) - 1)
			client_close(c, cl); /* no request is this long */
		return;
	}
	*nl = '\0';
	if (weft__console_answer(c->rt, c->refused, cl->in, c->alloc, &cl->out,
	                         &cl->out_len) < 0) {
		client_close(c, cl);
		return;
	}
	cl->out_off = 0;
}

static void
client_write(struct weft__console *c, struct client *cl)
{
	ssize_t n = send(cl->fd, cl->out + cl->out_off,
	                 cl->out_len - cl->out_off, MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_close(c, cl);
		return;
	}
	cl->out_off += (size_t)n;
	if (cl->out_off == cl->out_len)
		client_close(c, cl); /* one answer per connection */
}

static void *
console_main(void *arg)
{
	struct weft__console *c = arg;

	for (;;) {
		struct pollfd pfd[2 + CLIENTS_MAX];
		struct client *who[2 + CLIENTS_MAX] = {0};
		uint64_t now = now_ms(), next = UINT64_MAX;
		nfds_t n = 0, i;
		int free_slot = 0, timeout;

		pfd[n++] = (struct pollfd){.fd = c->wake[0], .events = POLLIN};
		for (i = 0; i < CLIENTS_MAX; i++) {
			struct client *cl = &c->clients[i];

			if (cl->fd < 0) {
				free_slot = 1;
				continue;
			}
			if (cl->deadline_ms <= now) {
				client_close(c, cl); /* too slow: dropped */
				free_slot = 1;
				continue;
			}
			if (cl->deadline_ms < next)
				next = cl->deadline_ms;
			who[n] = cl;
			pfd[n++] = (struct pollfd){
			    .fd = cl->fd, .events = cl->out ? POLLOUT : POLLIN};
		}
		if (free_slot)
			pfd[n++] = (struct pollfd){.fd = c->listen_fd,
			                           .events = POLLIN};
		timeout = next == UINT64_MAX ? -1 : (int)(next - now);
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break; /* weft__console_stop */
		for (i = 1; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (!who[i])
				accept_clients(c);
			else if (who[i]->out)
				client_write(c, who[i]);
			else
				client_read(c, who[i]);
		}
	}
	return NULL;
}

/* ---- the socket's place ------------------------------------------- */

/* The folder: made 0700 if missing, else checked: ours, a real folder
 * (lstat: a symlink is refused, not followed), no access for others. */
static int
console_dir(char *dir, size_t size, char *err, size_t errlen)
{
	const char *xdg = secure_getenv("XDG_RUNTIME_DIR");
	struct stat st;
	int n;

	if (xdg && xdg[0] == '/')
		n = snprintf(dir, size, "%s/weft", xdg);
	else
		n = snprintf(dir, size, "/tmp/weft-%u", (unsigned)geteuid());
	if (n < 0 || (size_t)n >= size)
		return weft__fail(err, errlen, -ENAMETOOLONG,
		                  "console: the socket folder's name is too "
		                  "long");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return weft__fail(err, errlen, -errno,
		                  "console: cannot create %s: %s", dir,
		                  strerror(errno));
	if (lstat(dir, &st) < 0)
		return weft__fail(err, errlen, -errno, "console: %s: %s", dir,
		                  strerror(errno));
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
		return weft__fail(err, errlen, -EPERM,
		                  "console: refusing %s: not a folder (a "
		                  "symlink or a file is never followed)",
		                  dir);
	if (st.st_uid != geteuid())
		return weft__fail(err, errlen, -EPERM,
		                  "console: refusing %s: owned by uid %u, not "
		                  "by us (uid %u)",
		                  dir, (unsigned)st.st_uid,
		                  (unsigned)geteuid());
	if (st.st_mode & 077)
		return weft__fail(err, errlen, -EPERM,
		                  "console: refusing %s: mode %04o, not 0700",
		                  dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int
slot_take(void)
{
	int i;

	pthread_mutex_lock(&slots_lock);
	for (i = 0; i < SLOTS; i++)
		if (!(slots_used & (1ull << i))) {
			slots_used |= 1ull << i;
			break;
		}
	pthread_mutex_unlock(&slots_lock);
	return i < SLOTS ? i : -1;
}

static void
slot_give(int i)
{
	pthread_mutex_lock(&slots_lock);
	slots_used &= ~(1ull << i);
	pthread_mutex_unlock(&slots_lock);
}

static int
console_listen(struct weft__console *c, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)];
	struct stat st;
	mode_t mask;
	int r, n;

	if ((r = console_dir(dir, sizeof(dir), err, errlen)) < 0)
		return r;
	if (c->slot == 0)
		n = snprintf(c->path, sizeof(c->path), "%s/%ld.sock", dir,
		             (long)getpid());
	else
		n = snprintf(c->path, sizeof(c->path), "%s/%ld-%d.sock", dir,
		             (long)getpid(), c->slot + 1);
	if (n < 0 || (size_t)n >= sizeof(c->path))
		return weft__fail(err, errlen, -ENAMETOOLONG,
		                  "console: the socket's name is too long");
	/* Not ours in this process: left by a dead process with our pid. */
	if (lstat(c->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(c->path);
	c->listen_fd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return weft__fail(err, errlen, -errno, "console: socket: %s",
		                  strerror(errno));
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	/*
	 * The socket is born 0600: Linux takes the mode of the socket's
	 * inode (fchmod) and the umask, which is process-wide, so it is
	 * narrowed only around the bind (a file another thread creates in
	 * that instant is made more private, never less).
	 */
	fchmod(c->listen_fd, 0600);
	mask = umask(0177);
	r = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(mask);
	if (r < 0)
		return weft__fail(err, errlen, -errno, "console: bind %s: %s",
		                  c->path, strerror(errno));
	if (lstat(c->path, &st) < 0 || (st.st_mode & 077)) {
		unlink(c->path);
		return weft__fail(err, errlen, -EPERM,
		                  "console: %s is not owner-only", c->path);
	}
	if (listen(c->listen_fd, 8) < 0) {
		unlink(c->path);
		return weft__fail(err, errlen, -errno, "console: listen: %s",
		                  strerror(errno));
	}
	return 0;
}

static void
console_free(struct weft__console *c)
{
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->wake[0] >= 0) {
		close(c->wake[0]);
		close(c->wake[1]);
	}
	if (c->slot >= 0)
		slot_give(c->slot);
	weft__mem_free(c->alloc, c);
}

int
weft__console_start(struct weft__console **out, struct weft_runtime *rt,
                    const struct weft_allocator *alloc, char *err,
                    size_t errlen)
{
	struct weft__console *c;
	sigset_t all, old;
	int i, r;

	*out = NULL;
	c = weft__mem_calloc(alloc, 1, sizeof(*c));
	if (!c)
		return weft__fail(err, errlen, -ENOMEM,
		                  "console: out of memory");
	c->rt = rt;
	c->alloc = alloc;
	c->pid = getpid();
	c->listen_fd = c->wake[0] = c->wake[1] = -1;
	for (i = 0; i < CLIENTS_MAX; i++)
		c->clients[i].fd = -1;
	c->slot = slot_take();
	if (c->slot < 0) {
		console_free(c);
		return weft__fail(err, errlen, -EMFILE,
		                  "console: %d runtimes already have one",
		                  SLOTS);
	}
	if ((r = console_listen(c, err, errlen)) < 0) {
		console_free(c);
		return r;
	}
	if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		c->wake[0] = c->wake[1] = -1;
		goto fail;
	}
	/* The program's signals stay with the program's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&c->thread, NULL, console_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	unlink(c->path);
	console_free(c);
	return weft__fail(err, errlen, r, "console: cannot start: %s",
	                  strerror(-r));
}

void
weft__console_stop(struct weft__console *c)
{
	int i;

	if (!c)
		return;
	if (c->pid != getpid()) {
		/* A forked child: the thread and the socket are the parent's.
		 */
		c->slot = -1;
		console_free(c);
		return;
	}
	/* The pipe is empty and non-blocking: this write cannot block. */
	while (write(c->wake[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(c->thread, NULL);
	for (i = 0; i < CLIENTS_MAX; i++)
		if (c->clients[i].fd >= 0)
			client_close(c, &c->clients[i]);
	unlink(c->path);
	console_free(c);
}
