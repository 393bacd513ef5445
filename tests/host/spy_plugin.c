/* SPDX-License-Identifier: MIT */
/*
 * Plugins for test_runtime_sim: a reactor that writes what its init read
 * through the settings (P8) into its own description, where the test
 * reads it back, and keeps a virtual clock (R12); built again with
 * SPY_NO_NOW (a clock claimed without now) and SPY_EXECUTOR_DET_MULTI (an
 * executor that claims DETERMINISTIC and MULTI_THREAD), which the host
 * must refuse.
 */
#include <errno.h>
#include <stdio.h>
#include <weft/abi.h>

#ifdef SPY_EXECUTOR_DET_MULTI

static int
ex_init(struct weft_executor *self, const struct weft_executor_params *p)
{
	(void)self;
	(void)p;
	return 0;
}


static int
ex_spawn(struct weft_executor *self, struct weft_future *f,
         struct weft_join **join)
{
	(void)self;
	(void)join;
	weft_future_drop(f);
	return WEFT_ECLOSED;
}


static int
ex_block_on(struct weft_executor *self, struct weft_future *f)
{
	(void)self;
	(void)f;
	return WEFT_ECLOSED;
}


static void
ex_shutdown(struct weft_executor *self)
{
	(void)self;
}


static const struct weft_executor_iface iface = {
    .version = WEFT_EXECUTOR_IFACE_VERSION,
    .flags = WEFT_EXECUTOR_DETERMINISTIC | WEFT_EXECUTOR_MULTI_THREAD,
    .instance_size = sizeof(struct weft_executor),
    .init = ex_init,
    .spawn = ex_spawn,
    .block_on = ex_block_on,
    .shutdown = ex_shutdown,
    .fini = ex_shutdown,
};
#define KIND WEFT_PLUGIN_EXECUTOR
static char record[] = "an executor that claims too much";

#else

static char record[256] = "not initialised";

struct spy {
	struct weft_reactor head;
	uint64_t now;
};


static const char *
read_setting(const struct weft_reactor_params *p, const char *key)
{
	const char *v = p->setting(p->setting_ctx, key);

	return v ? v : "(null)";
}


static int
spy_init(struct weft_reactor *self, const struct weft_reactor_params *p)
{
	if (p->version < 2 || !p->setting)
		snprintf(record, sizeof(record), "version=%u", p->version);
	else
		snprintf(record, sizeof(record),
		         "version=%u seed=%s faults=%s mode=%s unknown=%s",
		         p->version, read_setting(p, "sim_seed"),
		         read_setting(p, "sim_faults"),
		         read_setting(p, "sim_mode"),
		         read_setting(p, "no_such_key"));
	((struct spy *)self)->now = 5000;
	return 0;
}


static int
spy_ctl(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	(void)self;
	(void)fd;
	(void)interest;
	(void)token;
	return -EPERM;
}


static int
spy_del(struct weft_reactor *self, int fd)
{
	(void)self;
	(void)fd;
	return -ENOENT;
}


static int
spy_wait(struct weft_reactor *self, struct weft_reactor_event *ev, uint32_t cap,
         int64_t timeout_ns)
{
	(void)ev;
	(void)cap;
	if (timeout_ns > 0)
		((struct spy *)self)->now += (uint64_t)timeout_ns;
	return 0;
}


static int
spy_wakeup(struct weft_reactor *self)
{
	(void)self;
	return 0;
}


static void
spy_fini(struct weft_reactor *self)
{
	(void)self;
}


static __attribute__((unused)) uint64_t
spy_now(struct weft_reactor *self)
{
	return ((struct spy *)self)->now;
}


static int
spy_advance(struct weft_reactor *self, uint64_t ns)
{
	((struct spy *)self)->now += ns;
	return 0;
}


static const struct weft_reactor_iface iface = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .flags = WEFT_REACTOR_LEVEL | WEFT_REACTOR_CLOCK,
    .instance_size = sizeof(struct spy),
    .init = spy_init,
    .add = spy_ctl,
    .modify = spy_ctl,
    .del = spy_del,
    .wait = spy_wait,
    .wakeup = spy_wakeup,
    .fini = spy_fini,
#ifndef SPY_NO_NOW
    .now = spy_now,
#endif
    .advance = spy_advance,
};
#define KIND WEFT_PLUGIN_REACTOR
#endif

static const struct weft_plugin_descriptor descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = KIND,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 0, 1),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "hostspy",
    .description = record,
    .iface = &iface,
};


WEFT_EXPORT int
WEFT_PLUGIN_ENTRY(struct weft_negotiate *neg, uint32_t index,
                  const struct weft_plugin_descriptor **out)
{
	int r = weft_negotiate_pick(neg, WEFT_ABI_VERSION);

	if (r < 0)
		return r;
	if (index > 0)
		return 0;
	*out = &descriptor;
	return 1;
}
