/* SPDX-License-Identifier: MIT */
/*
 * A reactor built only from the frozen 1.0 header (include-1.0/): a
 * level-triggered epoll with an eventfd for wakeups.  It exists to prove
 * that a plugin compiled against ABI 1.0 keeps loading and passing the
 * conformance suite in every later 1.x host; it is deliberately plain.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <weft/abi.h>

/* Never a host token: the host's tokens are registration ids, never 0. */
#define WAKE_TOKEN 0

struct abi10 {
	struct weft_reactor pub; /* first, as the ABI requires */
	int epfd;
	int wakefd;
	uint32_t cap;
	struct epoll_event *buf;
};

static int
abi10_init(struct weft_reactor *self, const struct weft_reactor_params *p)
{
	struct abi10 *r = (struct abi10 *)self;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TOKEN};
	int err;

	r->cap = p && p->max_events ? p->max_events : 64;
	r->buf = calloc(r->cap, sizeof(*r->buf));
	if (!r->buf)
		return -ENOMEM;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		goto fail_buf;
	r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wakefd < 0)
		goto fail_ep;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &ev) < 0)
		goto fail_wake;
	return 0;

fail_wake:
	err = -errno;
	close(r->wakefd);
	close(r->epfd);
	free(r->buf);
	r->buf = NULL;
	return err;
fail_ep:
	err = -errno;
	close(r->epfd);
	free(r->buf);
	r->buf = NULL;
	return err;
fail_buf:
	err = -errno;
	free(r->buf);
	r->buf = NULL;
	return err;
}

static uint32_t
abi10_events(uint32_t interest)
{
	return EPOLLRDHUP | (interest & WEFT_READABLE ? EPOLLIN : 0u) |
	       (interest & WEFT_WRITABLE ? EPOLLOUT : 0u);
}

static int
abi10_ctl(struct weft_reactor *self, int op, int fd, uint32_t interest,
          uint64_t token)
{
	struct abi10 *r = (struct abi10 *)self;
	struct epoll_event ev = {.events = abi10_events(interest),
	                         .data.u64 = token};

	if (token == WAKE_TOKEN)
		return -EINVAL;
	return epoll_ctl(r->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static int
abi10_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	return abi10_ctl(self, EPOLL_CTL_ADD, fd, interest, token);
}

static int
abi10_modify(struct weft_reactor *self, int fd, uint32_t interest,
             uint64_t token)
{
	return abi10_ctl(self, EPOLL_CTL_MOD, fd, interest, token);
}

static int
abi10_del(struct weft_reactor *self, int fd)
{
	struct abi10 *r = (struct abi10 *)self;

	return epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

static int
abi10_wait(struct weft_reactor *self, struct weft_reactor_event *events,
           uint32_t capacity, int64_t timeout_ns)
{
	struct abi10 *r = (struct abi10 *)self;
	uint32_t max = capacity < r->cap ? capacity : r->cap;
	int64_t ms = -1;
	uint64_t drained;
	int n, i, out = 0;

	if (max == 0)
		return -EINVAL;
	/* Rounded up: a wait must never end before its timeout. */
	if (timeout_ns >= 0) {
		ms = timeout_ns / 1000000 + (timeout_ns % 1000000 != 0);
		if (ms > INT32_MAX)
			ms = INT32_MAX;
	}
	n = epoll_wait(r->epfd, r->buf, (int)max, (int)ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		uint32_t e = r->buf[i].events;

		if (r->buf[i].data.u64 == WAKE_TOKEN) {
			if (read(r->wakefd, &drained, sizeof(drained)) < 0)
				(void)0; /* another wait drained it */
			continue;
		}
		events[out].token = r->buf[i].data.u64;
		events[out].ready =
		    (e & EPOLLIN ? WEFT_READABLE : 0u) |
		    (e & EPOLLOUT ? WEFT_WRITABLE : 0u) |
		    (e & (EPOLLHUP | EPOLLRDHUP) ? WEFT_HUP : 0u) |
		    (e & EPOLLERR ? WEFT_ERROR : 0u);
		events[out].reserved = 0;
		out++;
	}
	return out;
}

static int
abi10_wakeup(struct weft_reactor *self)
{
	struct abi10 *r = (struct abi10 *)self;
	uint64_t one = 1;

	while (write(r->wakefd, &one, sizeof(one)) < 0) {
		/* A full counter already holds a pending wakeup. */
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static void
abi10_fini(struct weft_reactor *self)
{
	struct abi10 *r = (struct abi10 *)self;

	if (!r->buf)
		return;
	close(r->wakefd);
	close(r->epfd);
	free(r->buf);
	r->buf = NULL;
}

static const struct weft_reactor_iface abi10_iface = {
    .version = 1,
    .flags = WEFT_REACTOR_LEVEL,
    .instance_size = sizeof(struct abi10),
    .init = abi10_init,
    .add = abi10_add,
    .modify = abi10_modify,
    .del = abi10_del,
    .wait = abi10_wait,
    .wakeup = abi10_wakeup,
    .fini = abi10_fini,
};

static const struct weft_plugin_descriptor abi10_descriptor = {
    .version = 1,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = 1,
    .abi_minor = 0,
    .kind = WEFT_PLUGIN_REACTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(1, 0, 0),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "abi10",
    .description = "fixture built from the frozen ABI 1.0 header",
    .iface = &abi10_iface,
};

WEFT_PLUGIN_DEFINE_ENTRY(abi10_descriptor);
