/* SPDX-License-Identifier: MIT */
/*
 * A mock plugin for the loader tests.  meson builds this one file many
 * times, each with -D defines that plant exactly one defect, so that every
 * check of the loader has a plugin that fails it and only it.  With no
 * defines it is a good executor; MOCK_REACTOR makes it a good reactor.
 *
 * Only loading is tested: the methods exist so that the interface is
 * complete, and all of them fail.
 */
#include <errno.h>
#include <weft/abi.h>

#ifdef MOCK_REACTOR
#define MOCK_DEFAULT_KIND WEFT_PLUGIN_REACTOR
#else
#define MOCK_DEFAULT_KIND WEFT_PLUGIN_EXECUTOR
#endif
#ifndef MOCK_KIND
#define MOCK_KIND MOCK_DEFAULT_KIND
#endif
#ifndef MOCK_NAME
#define MOCK_NAME "good"
#endif
#ifndef MOCK_DESC_VERSION
#define MOCK_DESC_VERSION WEFT_PLUGIN_DESCRIPTOR_VERSION
#endif
#ifndef MOCK_MAGIC
#define MOCK_MAGIC WEFT_PLUGIN_MAGIC
#endif
#ifndef MOCK_ABI_MAJOR
#define MOCK_ABI_MAJOR WEFT_ABI_MAJOR
#endif
#ifndef MOCK_SIGNATURE
#define MOCK_SIGNATURE WEFT_ABI_SIGNATURE
#endif
#ifndef MOCK_IFACE_VERSION
#ifdef MOCK_REACTOR
#define MOCK_IFACE_VERSION WEFT_REACTOR_IFACE_VERSION
#else
#define MOCK_IFACE_VERSION WEFT_EXECUTOR_IFACE_VERSION
#endif
#endif
#ifndef MOCK_INSTANCE_SIZE
#define MOCK_INSTANCE_SIZE 64
#endif

/* Some defects leave a function or the interface unused. */
#define MOCK_UNUSED __attribute__((unused))

/* The method MOCK_NULL_METHOD leaves out. */
#ifdef MOCK_NULL_METHOD
#define MOCK_METHOD(fn) NULL
#else
#define MOCK_METHOD(fn) fn
#endif

#ifdef MOCK_REACTOR
static int
mock_init(struct weft_reactor *self, const struct weft_reactor_params *params)
{
	(void)self;
	(void)params;
	return -ENOSYS;
}


static int
mock_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	(void)self;
	(void)fd;
	(void)interest;
	(void)token;
	return -ENOSYS;
}


static int
mock_del(struct weft_reactor *self, int fd)
{
	(void)self;
	(void)fd;
	return -ENOSYS;
}


static int
mock_wait(struct weft_reactor *self, struct weft_reactor_event *events,
          uint32_t capacity, int64_t timeout_ns)
{
	(void)self;
	(void)events;
	(void)capacity;
	(void)timeout_ns;
	return -ENOSYS;
}


MOCK_UNUSED static int
mock_wakeup(struct weft_reactor *self)
{
	(void)self;
	return -ENOSYS;
}


static void
mock_fini(struct weft_reactor *self)
{
	(void)self;
}


MOCK_UNUSED static const struct weft_reactor_iface mock_iface = {
    .version = MOCK_IFACE_VERSION,
    .flags = WEFT_REACTOR_LEVEL,
    .instance_size = MOCK_INSTANCE_SIZE,
    .init = mock_init,
    .add = mock_add,
    .modify = mock_add,
    .del = mock_del,
    .wait = mock_wait,
    .wakeup = MOCK_METHOD(mock_wakeup),
    .fini = mock_fini,
};
#else
static int
mock_init(struct weft_executor *self, const struct weft_executor_params *params)
{
	(void)self;
	(void)params;
	return -ENOSYS;
}


static int
mock_spawn(struct weft_executor *self, struct weft_future *future,
           struct weft_join **join)
{
	(void)self;
	(void)join;
	weft_future_drop(future);
	return -ENOSYS;
}


MOCK_UNUSED static int
mock_block_on(struct weft_executor *self, struct weft_future *future)
{
	(void)self;
	(void)future;
	return -ENOSYS;
}


static void
mock_shutdown(struct weft_executor *self)
{
	(void)self;
}


MOCK_UNUSED static const struct weft_executor_iface mock_iface = {
    .version = MOCK_IFACE_VERSION,
    .flags = 0,
    .instance_size = MOCK_INSTANCE_SIZE,
    .init = mock_init,
    .spawn = mock_spawn,
    .block_on = MOCK_METHOD(mock_block_on),
    .shutdown = mock_shutdown,
    .fini = mock_shutdown,
    .stats = NULL,
};
#endif

#ifdef MOCK_LONG_NAME
/* Exactly 80 letters and no NUL: the loader must stop looking at 64. */
static const char mock_name[80] =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaa";
#else
static const char mock_name[] = MOCK_NAME;
#endif

static const struct weft_plugin_descriptor mock_descriptor = {
    .version = MOCK_DESC_VERSION,
    .magic = MOCK_MAGIC,
    .abi_major = MOCK_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = MOCK_KIND,
    .plugin_version = WEFT_PLUGIN_VERSION(1, 2, 3),
    .signature = MOCK_SIGNATURE,
    .name = mock_name,
    .description = "mock plugin for the loader tests",
#ifdef MOCK_NULL_IFACE
    .iface = NULL,
#else
    .iface = &mock_iface,
#endif
};

#ifdef MOCK_NO_ENTRY
/* Misspelt on purpose: the loader must not find an entry point. */
WEFT_EXPORT int
weft_plugin_entry_v2(struct weft_negotiate *neg, uint32_t index,
                     const struct weft_plugin_descriptor **desc)
#else
WEFT_EXPORT int
WEFT_PLUGIN_ENTRY(struct weft_negotiate *neg, uint32_t index,
                  const struct weft_plugin_descriptor **desc)
#endif
{
	int rc;

#ifdef MOCK_ENTRY_RESULT
	(void)neg;
	(void)index;
	(void)desc;
	return MOCK_ENTRY_RESULT;
#endif
	rc = weft_negotiate_pick(neg, WEFT_ABI_VERSION);
	if (rc < 0)
		return rc;
#ifdef MOCK_CHOSEN
	neg->chosen = MOCK_CHOSEN;
#endif
	if (index > 0)
		return 0;
#ifdef MOCK_NULL_DESC
	*desc = NULL;
	(void)mock_descriptor;
#else
	*desc = &mock_descriptor;
#endif
	return 1;
}
