/* SPDX-License-Identifier: MIT */
/*
 * Plugins opened the way a host opens them (dlopen, the entry symbol,
 * negotiation), reactor instances made the way a host makes them, and the
 * wait helpers of the reactor tests.  Nothing of libweft's loader is
 * reused, so a defect there cannot hide one in a plugin.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rtest.h"

/* ---- plugins ------------------------------------------------------- */

void
h_plugin_load(struct h_plugin *p, const char *path, enum weft_plugin_kind kind)
{
	weft_plugin_entry_fn entry;
	const struct weft_plugin_descriptor *d;
	uint32_t i;
	int r;

	memset(p, 0, sizeof(*p));
	if (!path || !path[0])
		fail_msg("no %s plugin path (the runtime did not open)",
		         kind == WEFT_PLUGIN_EXECUTOR ? "executor" : "reactor");
	p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle)
		fail_msg("P1: dlopen %s: %s", path, dlerror());
	*(void **)&entry = dlsym(p->handle, WEFT_PLUGIN_ENTRY_NAME);
	if (!entry) {
		dlclose(p->handle);
		fail_msg("P1: %s exports no " WEFT_PLUGIN_ENTRY_NAME, path);
	}
	p->neg = (struct weft_negotiate){
	    .version = WEFT_NEGOTIATE_VERSION,
	    .host_min = WEFT_ABI_MAKE(WEFT_ABI_MAJOR, 0),
	    .host_max = WEFT_ABI_VERSION,
	};
	/* Bounded: a plugin with more descriptors than this is broken. */
	for (i = 0; i < 64; i++) {
		d = NULL;
		r = entry(&p->neg, i, &d);
		if (r <= 0)
			break;
		if (d && d->kind == (uint32_t)kind) {
			p->desc = d;
			return;
		}
	}
	dlclose(p->handle);
	fail_msg("P1: %s offers no descriptor of kind %d (entry returned %d)",
	         path, (int)kind, r);
}


void
h_plugin_unload(struct h_plugin *p)
{
	if (p->handle && !getenv("WEFT_NO_DLCLOSE"))
		dlclose(p->handle);
	p->handle = NULL;
}


void
h_reactor_open(struct h_reactor *hr, uint32_t max_events)
{
	struct weft_reactor_params params = {
	    .version = WEFT_REACTOR_PARAMS_VERSION,
	    .max_events = max_events,
	};
	int r;

	h_plugin_load(&hr->plugin, h_opt.reactor_path, WEFT_PLUGIN_REACTOR);
	hr->ops = hr->plugin.desc->iface;
	/* As a host does: zeroed memory, public head filled, then init. */
	hr->r = calloc(1, hr->ops->instance_size);
	if (!hr->r)
		fail_msg("out of memory");
	hr->r->version = hr->ops->version;
	hr->r->ops = hr->ops;
	r = hr->ops->init(hr->r, &params);
	if (r < 0) {
		free(hr->r);
		h_plugin_unload(&hr->plugin);
		fail_msg("reactor init failed: %s", weft_strerror(r));
	}
}


void
h_reactor_close(struct h_reactor *hr)
{
	if (!hr->r)
		return;
	hr->ops->fini(hr->r);
	free(hr->r);
	hr->r = NULL;
	h_plugin_unload(&hr->plugin);
}


uint64_t
reactor_time(struct h_reactor *hr)
{
	return h_virtual_clock() && weft_reactor_has_clock(hr->r)
	           ? hr->ops->now(hr->r)
	           : h_now();
}


/* One wait; folds the events into *s and checks the array bounds (R1). */
int
wait_into(struct h_reactor *hr, struct seen *s, uint32_t capacity,
          int64_t timeout_ns)
{
	struct weft_reactor_event ev[CAP + 2];
	int n, i;

	for (i = 0; i < CAP + 2; i++)
		ev[i] = (struct weft_reactor_event){SENTINEL, 0, 0};
	n = weft_reactor_wait(hr->r, ev, capacity, timeout_ns);
	if (n < 0)
		fail_msg("R3: wait failed: %s", weft_strerror(n));
	if ((uint32_t)n > capacity)
		fail_msg("R1: wait returned %d events for capacity %u", n,
		         capacity);
	for (i = (int)capacity; i < CAP + 2; i++)
		if (ev[i].token != SENTINEL)
			fail_msg("R1: wait wrote past capacity %u", capacity);
	for (i = 0; i < n; i++) {
		uint64_t k = ev[i].token - BASE;

		if (k < CAP)
			s->ready[k] |= ev[i].ready;
		else
			s->foreign++;
	}
	s->count += n;
	return n;
}


void
add_or_fail(struct h_reactor *hr, int fd, uint32_t interest, uint64_t token)
{
	int r = weft_reactor_add(hr->r, fd, interest, token);

	if (r < 0)
		fail_msg("R2: add(fd %d) failed: %s", fd, weft_strerror(r));
}
