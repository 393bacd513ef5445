/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the loader's checks of a plugin's descriptor and interface,
 * the last line of defence before the host calls into a plugin.  The
 * input is read as a descriptor, its interface and the negotiation
 * result; fields that must hold one exact value to pass (magic,
 * signature) are XORed with it, so that a zero byte means "valid" and the
 * fuzzer reaches the later checks quickly.  The name sits in a buffer of
 * exactly NAME_BYTES, which the sanitizer bounds: a check that read past
 * an unterminated name would be caught.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins.h"

#define NAME_BYTES 64

struct reader {
	const uint8_t *p;
	size_t left;
};

static uint64_t
take(struct reader *r, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		v |= (uint64_t)(r->left ? *r->p : 0) << (8 * i);
		if (r->left) {
			r->p++;
			r->left--;
		}
	}
	return v;
}

static int
dummy_init(void *self, const void *params)
{
	(void)self;
	(void)params;
	return 0;
}

/* A non-NULL method, or NULL when bit `i` of mask is set. */
#define METHOD(mask, i, type)                                                  \
	(((mask) >> (i)) & 1 ? NULL : (type)(void (*)(void))dummy_init)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = {data, size};
	struct weft_plugin_descriptor d;
	struct weft_executor_iface ex;
	struct weft_reactor_iface re;
	struct weft_negotiate neg;
	enum weft_plugin_kind kind;
	char err[512];
	uint64_t flags, mask;
	char *name;

	memset(&d, 0, sizeof(d));
	flags = take(&r, 1);
	d.version = (uint32_t)take(&r, 1);
	d.magic = WEFT_PLUGIN_MAGIC ^ (uint32_t)take(&r, 4);
	d.abi_major = WEFT_ABI_MAJOR ^ (uint32_t)take(&r, 1);
	d.abi_minor = (uint32_t)take(&r, 2);
	d.kind = (uint32_t)take(&r, 1);
	d.plugin_version = (uint32_t)take(&r, 4);
	d.signature = WEFT_ABI_SIGNATURE ^ take(&r, 8);
	neg.version = WEFT_NEGOTIATE_VERSION;
	neg.host_min = WEFT_ABI_MAKE(1, 0);
	neg.host_max = WEFT_ABI_VERSION;
	neg.chosen = WEFT_ABI_VERSION ^ (uint32_t)take(&r, 4);
	kind = (enum weft_plugin_kind)take(&r, 1);
	mask = take(&r, 2);

	memset(&ex, 0, sizeof(ex));
	ex.version = (uint32_t)take(&r, 1);
	ex.instance_size = (size_t)take(&r, 2);
	ex.init = METHOD(mask, 0,
	                 int (*)(struct weft_executor *,
	                         const struct weft_executor_params *));
	ex.spawn = METHOD(mask, 1,
	                  int (*)(struct weft_executor *, struct weft_future *,
	                          struct weft_join **));
	ex.block_on = METHOD(
	    mask, 2, int (*)(struct weft_executor *, struct weft_future *));
	ex.shutdown = METHOD(mask, 3, void (*)(struct weft_executor *));
	ex.fini = METHOD(mask, 4, void (*)(struct weft_executor *));
	memset(&re, 0, sizeof(re));
	re.version = ex.version;
	re.instance_size = ex.instance_size;
	re.init = METHOD(
	    mask, 5,
	    int (*)(struct weft_reactor *, const struct weft_reactor_params *));
	re.add = METHOD(
	    mask, 6, int (*)(struct weft_reactor *, int, uint32_t, uint64_t));
	re.modify = METHOD(
	    mask, 7, int (*)(struct weft_reactor *, int, uint32_t, uint64_t));
	re.del = METHOD(mask, 8, int (*)(struct weft_reactor *, int));
	re.wait =
	    METHOD(mask, 9,
	           int (*)(struct weft_reactor *, struct weft_reactor_event *,
	                   uint32_t, int64_t));
	re.wakeup = METHOD(mask, 10, int (*)(struct weft_reactor *));
	re.fini = METHOD(mask, 11, void (*)(struct weft_reactor *));

	/* What is left is the name: NAME_BYTES at most, maybe no NUL. */
	name = malloc(NAME_BYTES);
	if (!name)
		return 0;
	memset(name, 0, NAME_BYTES);
	memcpy(name, r.p, r.left < NAME_BYTES ? r.left : NAME_BYTES);
	d.name = flags & 1 ? NULL : name;
	d.description = "fuzzed";
	if (!(flags & 2))
		d.iface = d.kind == WEFT_PLUGIN_REACTOR ? (const void *)&re
		                                        : (const void *)&ex;
	weft__check_descriptor("fuzz.so", flags & 4 ? NULL : &d, &neg, kind,
	                       err, sizeof(err));
	free(name);
	return 0;
}
