/* SPDX-License-Identifier: MIT */
/*
 * A reactor built outside weft's tree, against the installed headers only:
 * poll(2), level-triggered.  It is small on purpose, and it shows what a
 * third-party plugin needs: one exported entry point, a descriptor, and an
 * interface whose instance the host allocates.
 *
 * The fd table is an array searched linearly: poll(2) is O(n) anyway.  The
 * wakeup pipe sits in slot 0 of the pollfd array that wait builds.
 */
#define _GNU_SOURCE /* pipe2, POLLRDHUP */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <weft/abi.h>

struct entry {
	int fd;
	uint32_t interest;
	uint64_t token;
};

struct impl {
	struct weft_reactor base; /* first: the host's public head */
	struct entry *entries;
	size_t count;
	size_t cap;
	struct pollfd *pfds; /* wait's scratch array, cap + 1 long */
	size_t next;         /* where the next report starts, for fairness */
	int wake[2];         /* the wakeup pipe: read end, write end */
};

static int
impl_init(struct weft_reactor *self, const struct weft_reactor_params *params)
{
	struct impl *r = (struct impl *)self;

	(void)params;
	r->entries = NULL;
	r->pfds = NULL;
	r->count = r->cap = r->next = 0;
	if (pipe2(r->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	return 0;
}


static struct entry *
impl_find(struct impl *r, int fd)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		if (r->entries[i].fd == fd)
			return &r->entries[i];
	return NULL;
}


static int
impl_grow(struct impl *r)
{
	size_t cap = r->cap ? r->cap * 2 : 16;
	struct entry *e;
	struct pollfd *p;

	e = realloc(r->entries, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	r->entries = e;
	p = realloc(r->pfds, (cap + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->pfds = p;
	r->cap = cap;
	return 0;
}


static int
impl_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	struct impl *r = (struct impl *)self;
	struct stat st;
	int rc;

	/*
	 * poll(2) accepts any fd, but a regular file is always "ready" and
	 * epoll refuses it with EPERM; refusing it here too keeps reactors
	 * interchangeable.
	 */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return -EPERM;
	if (impl_find(r, fd))
		return -EEXIST;
	if (r->count == r->cap) {
		rc = impl_grow(r);
		if (rc < 0)
			return rc;
	}
	r->entries[r->count].fd = fd;
	r->entries[r->count].interest = interest;
	r->entries[r->count].token = token;
	r->count++;
	return 0;
}


static int
impl_modify(struct weft_reactor *self, int fd, uint32_t interest,
            uint64_t token)
{
	struct entry *e = impl_find((struct impl *)self, fd);

	if (!e)
		return -ENOENT;
	e->interest = interest;
	e->token = token;
	return 0;
}


static int
impl_del(struct weft_reactor *self, int fd)
{
	struct impl *r = (struct impl *)self;
	struct entry *e = impl_find(r, fd);

	if (!e)
		return -ENOENT;
	*e = r->entries[--r->count];
	return 0;
}


/* Rounds up so that a wait never ends before its timeout. */
static int
impl_timeout_ms(int64_t timeout_ns)
{
	int64_t ms;

	if (timeout_ns < 0)
		return -1;
	ms = (timeout_ns + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}


static void
impl_drain(struct impl *r)
{
	char buf[64];

	while (read(r->wake[0], buf, sizeof(buf)) > 0)
		;
}


static int
impl_wait(struct weft_reactor *self, struct weft_reactor_event *events,
          uint32_t capacity, int64_t timeout_ns)
{
	struct impl *r = (struct impl *)self;
	struct pollfd wake = {.fd = r->wake[0], .events = POLLIN};
	struct pollfd *pfds = r->pfds ? r->pfds : &wake;
	uint32_t n = 0;
	size_t i;
	size_t k;
	int rc;

	pfds[0] = wake;
	for (i = 0; i < r->count; i++) {
		pfds[i + 1].fd = r->entries[i].fd;
		pfds[i + 1].events =
		    (short)(((r->entries[i].interest & WEFT_READABLE)
		                 ? POLLIN | POLLRDHUP
		                 : 0) |
		            ((r->entries[i].interest & WEFT_WRITABLE) ? POLLOUT
		                                                      : 0));
		pfds[i + 1].revents = 0;
	}
	rc = poll(pfds, r->count + 1, impl_timeout_ms(timeout_ns));
	if (rc < 0)
		return errno == EINTR ? 0 : -errno;
	if (pfds[0].revents)
		impl_drain(r);
	/*
	 * Start where the last full batch stopped, so that with a small
	 * capacity every ready fd gets its turn.
	 */
	for (k = 0; k < r->count && n < capacity; k++) {
		size_t j = (r->next + k) % r->count;
		short rev = pfds[j + 1].revents;
		uint32_t ready = 0;

		if (rev & POLLIN)
			ready |= WEFT_READABLE;
		if (rev & POLLOUT)
			ready |= WEFT_WRITABLE;
		if (rev & (POLLHUP | POLLRDHUP))
			ready |= WEFT_HUP;
		if (rev & (POLLERR | POLLNVAL))
			ready |= WEFT_ERROR;
		if (!ready)
			continue;
		events[n].token = r->entries[j].token;
		events[n].ready = ready;
		events[n].reserved = 0;
		n++;
		if (n == capacity)
			r->next = j + 1;
	}
	return (int)n;
}


static int
impl_wakeup(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;
	char one = 1;

	/* A full pipe already holds a pending wakeup: nothing is lost. */
	if (write(r->wake[1], &one, 1) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}


static void
impl_fini(struct weft_reactor *self)
{
	struct impl *r = (struct impl *)self;

	close(r->wake[1]);
	close(r->wake[0]);
	free(r->pfds);
	free(r->entries);
}


static const struct weft_reactor_iface impl_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .flags = WEFT_REACTOR_LEVEL,
    .instance_size = sizeof(struct impl),
    .init = impl_init,
    .add = impl_add,
    .modify = impl_modify,
    .del = impl_del,
    .wait = impl_wait,
    .wakeup = impl_wakeup,
    .fini = impl_fini,
};

static const struct weft_plugin_descriptor impl_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_REACTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 1, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "poll",
    .description = "poll(2), level-triggered, built out of tree",
    .iface = &impl_iface,
};

WEFT_EXPORT int
WEFT_PLUGIN_ENTRY(struct weft_negotiate *neg, uint32_t index,
                  const struct weft_plugin_descriptor **desc)
{
	int rc = weft_negotiate_pick(neg, WEFT_ABI_VERSION);

	if (rc < 0)
		return rc;
	if (index > 0)
		return 0;
	*desc = &impl_descriptor;
	return 1;
}
