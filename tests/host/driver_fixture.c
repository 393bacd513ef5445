/* SPDX-License-Identifier: MIT */
/* The driver tests' fixture: see driver_fixture.h. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "driver_fixture.h"

/* ---- a counting waker ---------------------------------------------- */


static void
counter_wake(const void *data)
{
	struct counter *c = (struct counter *)data;

	/*
	 * The clone is gone before the wake shows, so a test that saw the
	 * wake may check refs and let the counter go out of scope.
	 */
	atomic_fetch_sub(&c->refs, 1);
	atomic_fetch_add(&c->wakes, 1);
}


static void
counter_wake_by_ref(const void *data)
{
	atomic_fetch_add(&((struct counter *)data)->wakes, 1);
}


static void
counter_drop(const void *data)
{
	atomic_fetch_sub(&((struct counter *)data)->refs, 1);
}


static const struct weft_waker_vtable counter_vtable = {
    .version = WEFT_WAKER_VTABLE_VERSION,
    .clone = counter_clone,
    .wake = counter_wake,
    .wake_by_ref = counter_wake_by_ref,
    .drop = counter_drop,
};

struct weft_waker
counter_clone(const void *data)
{
	atomic_fetch_add(&((struct counter *)data)->refs, 1);
	return (struct weft_waker){&counter_vtable, data};
}


/* A context whose borrowed waker wakes c, as an executor would build. */
struct weft_context
context_of(struct counter *c, struct weft_driver *d)
{
	struct weft_context cx;

	weft_context_init(&cx, (struct weft_waker){&counter_vtable, c}, NULL,
	                  d);
	return cx;
}


/* ---- a wrapper reactor: injects events, records interest changes ---- */


static int
wrap_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t tok)
{
	struct wrap *w = (struct wrap *)self;

	w->last_interest = interest;
	return weft_reactor_add(w->inner, fd, interest, tok);
}


static int
wrap_modify(struct weft_reactor *self, int fd, uint32_t interest, uint64_t tok)
{
	struct wrap *w = (struct wrap *)self;

	w->last_interest = interest;
	w->modifies++;
	return weft_reactor_modify(w->inner, fd, interest, tok);
}


static int
wrap_del(struct weft_reactor *self, int fd)
{
	return weft_reactor_del(((struct wrap *)self)->inner, fd);
}


static int
wrap_wait(struct weft_reactor *self, struct weft_reactor_event *ev,
          uint32_t cap, int64_t timeout_ns)
{
	struct wrap *w = (struct wrap *)self;
	uint32_t n = w->n_inject;
	int got;

	memcpy(ev, w->inject, n * sizeof(*ev));
	w->n_inject = 0;
	got = weft_reactor_wait(w->inner, ev + n, cap - n, n ? 0 : timeout_ns);
	return got < 0 ? got : got + (int)n;
}


static int
wrap_wakeup(struct weft_reactor *self)
{
	return weft_reactor_wakeup(((struct wrap *)self)->inner);
}


static const struct weft_reactor_iface wrap_iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .instance_size = sizeof(struct wrap),
    .add = wrap_add,
    .modify = wrap_modify,
    .del = wrap_del,
    .wait = wrap_wait,
    .wakeup = wrap_wakeup,
};

/* ---- fixture -------------------------------------------------------- */


struct fixture fx;

int
load_reactor(void **state)
{
	const char *path = getenv("WEFT_TEST_REACTOR");
	const struct weft_plugin_descriptor *desc = NULL;
	struct weft_negotiate neg = {1, WEFT_ABI_VERSION, WEFT_ABI_VERSION, 0};
	weft_plugin_entry_fn entry;

	(void)state;
	if (!path)
		return -1;
	fx.so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!fx.so)
		return -1;
	*(void **)&entry = dlsym(fx.so, WEFT_PLUGIN_ENTRY_NAME);
	if (!entry || entry(&neg, 0, &desc) != 1 ||
	    desc->kind != WEFT_PLUGIN_REACTOR)
		return -1;
	fx.iface = desc->iface;
	return 0;
}


int
unload_reactor(void **state)
{
	(void)state;
	if (fx.so && !getenv("WEFT_NO_DLCLOSE"))
		dlclose(fx.so);
	return 0;
}


/*
 * A fresh epoll instance and a driver over it, or over the wrapper when
 * wrapped; flags are the reactor flags the driver is told.
 */
void
open_driver(bool wrapped, uint32_t flags)
{
	struct weft_reactor_params params = {
	    .version = WEFT_REACTOR_PARAMS_VERSION, .max_events = 256};
	char err[256] = "";

	fx.epoll = calloc(1, fx.iface->instance_size);
	assert_non_null(fx.epoll);
	fx.epoll->version = fx.iface->version;
	fx.epoll->ops = fx.iface;
	assert_int_equal(fx.iface->init(fx.epoll, &params), 0);
	fx.wrap = (struct wrap){.head = {1, &wrap_iface}, .inner = fx.epoll};
	assert_int_equal(weft__driver_new(&fx.drv,
	                                  wrapped ? &fx.wrap.head : fx.epoll,
	                                  flags, 0, err, sizeof(err)),
	                 0);
	fx.d = weft__driver_public(fx.drv);
}


int
open_edge(void **state)
{
	(void)state;
	open_driver(false, fx.iface->flags);
	return 0;
}


/* As open_edge, but the driver must interrupt a wait to change the set. */
int
open_serial(void **state)
{
	(void)state;
	open_driver(false, fx.iface->flags & ~WEFT_REACTOR_CONCURRENT_CTL);
	return 0;
}


int
close_driver(void **state)
{
	(void)state;
	weft__driver_free(fx.drv);
	fx.iface->fini(fx.epoll);
	free(fx.epoll);
	fx.drv = NULL;
	return 0;
}


int64_t
elapsed_since(uint64_t start)
{
	return (int64_t)(weft_driver_now(fx.d) - start);
}


void
socket_pair(int sv[2])
{
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}


void
drain(int fd)
{
	char buf[256];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}
