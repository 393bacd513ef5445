/* SPDX-License-Identifier: MIT */
/*
 * P8: settings reach plugins through their params (ABI 1.2), and a plugin
 * still starts from params of version 1, as a 1.1 host passes them.  The
 * plugins of the pair are initialised here by hand, the way a host does
 * it.  An executor needs the host's driver and task core, which a spy
 * executor, registered as a built-in plugin, catches from its own init;
 * where libweft does not export weft_plugin_add_builtin (it is meant for
 * the static build), only the reactor is checked.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

/* ---- the spy: an executor that only remembers its params ------------ */

static struct weft_executor_params spy_params;

static int
spy_init(struct weft_executor *self, const struct weft_executor_params *p)
{
	(void)self;
	spy_params = *p;
	return 0;
}


static int
spy_spawn(struct weft_executor *self, struct weft_future *f,
          struct weft_join **join)
{
	(void)self;
	(void)join;
	weft_future_drop(f);
	return WEFT_ECLOSED;
}


static int
spy_block_on(struct weft_executor *self, struct weft_future *f)
{
	(void)self;
	(void)f;
	return WEFT_ECLOSED;
}


static void
spy_shutdown(struct weft_executor *self)
{
	(void)self;
}


static const struct weft_executor_iface spy_iface = {
    .version = 1,
    .instance_size = sizeof(struct weft_executor),
    .init = spy_init,
    .spawn = spy_spawn,
    .block_on = spy_block_on,
    .shutdown = spy_shutdown,
    .fini = spy_shutdown,
};

static const struct weft_plugin_descriptor spy_descriptor = {
    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
    .magic = WEFT_PLUGIN_MAGIC,
    .abi_major = WEFT_ABI_MAJOR,
    .abi_minor = WEFT_ABI_MINOR,
    .kind = WEFT_PLUGIN_EXECUTOR,
    .plugin_version = WEFT_PLUGIN_VERSION(0, 0, 1),
    .signature = WEFT_ABI_SIGNATURE,
    .name = "conformance_spy",
    .description = "catches the host's driver and task core",
    .iface = &spy_iface,
};


static int
spy_entry(struct weft_negotiate *neg, uint32_t index,
          const struct weft_plugin_descriptor **out)
{
	int r = weft_negotiate_pick(neg, WEFT_ABI_VERSION);

	if (r < 0)
		return r;
	if (index > 0)
		return 0;
	*out = &spy_descriptor;
	return 1;
}


typedef int (*add_builtin_fn)(enum weft_plugin_kind, const char *,
                              weft_plugin_entry_fn);


/*
 * A runtime on the spy and the pair's reactor: the host's parts.  NULL
 * when built-in plugins cannot be added to this libweft.
 */
static struct weft_runtime *
spy_open(void)
{
	char err[1024] = "";
	struct weft_runtime *rt;
	add_builtin_fn add;
	int r;

	*(void **)&add = dlsym(RTLD_DEFAULT, "weft_plugin_add_builtin");
	if (!add) {
		printf("note: libweft does not export weft_plugin_add_builtin: "
		       "only the reactor is checked\n");
		return NULL;
	}
	r = add(WEFT_PLUGIN_EXECUTOR, "conformance_spy", spy_entry);
	if (r < 0)
		fail_msg("cannot register the spy executor: %s",
		         weft_strerror(r));
	rt = h_rt_try_open("conformance_spy", NULL, NULL, err, sizeof(err));
	if (!rt)
		fail_msg("cannot open a runtime on the spy: %s", err);
	assert_non_null(spy_params.tasks);
	assert_non_null(spy_params.driver);
	return rt;
}


/* ---- params at the very end of the readable memory ------------------ */

/*
 * A host of 1.1 passes a struct that ends where version 1 ends; what
 * follows is not the plugin's to read.  The copy here ends at a page
 * that cannot be read, so that reading `setting` from it crashes.
 */
struct fenced {
	void *map;
	size_t len;
};


static void *
fenced_copy(struct fenced *f, const void *src, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *p;

	f->len = 2 * (size_t)page;
	f->map = mmap(NULL, f->len, PROT_READ | PROT_WRITE,
	              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->map == MAP_FAILED)
		fail_msg("mmap failed");
	p = (unsigned char *)f->map + page;
	if (mprotect(p, (size_t)page, PROT_NONE) < 0)
		fail_msg("mprotect failed");
	memcpy(p - size, src, size);
	return p - size;
}


static void
fenced_free(struct fenced *f)
{
	munmap(f->map, f->len);
}


/* ---- a host's settings --------------------------------------------- */

#define P8_KEYS 16

struct settings_probe {
	char asked[P8_KEYS][64];
	int nasked;
	const char *bad_key; /* answered with an invalid value */
	bool outside_init;   /* set once init has returned */
	bool late;           /* setting called after init returned */
};


static const char *
settings_probe_get(void *ctx, const char *key)
{
	struct settings_probe *sp = ctx;
	int i;

	if (sp->outside_init)
		sp->late = true;
	if (!key)
		return NULL;
	for (i = 0; i < sp->nasked; i++)
		if (strcmp(sp->asked[i], key) == 0)
			break;
	if (i == sp->nasked && sp->nasked < P8_KEYS)
		snprintf(sp->asked[sp->nasked++], sizeof(sp->asked[0]), "%s",
		         key);
	if (sp->bad_key && strcmp(sp->bad_key, key) == 0)
		return "\x7f?not a value of any setting?";
	return NULL;
}


/* ---- the plugins, made by hand ------------------------------------- */

struct made {
	struct h_plugin plugin;
	void *instance;
	bool executor;
};


/*
 * Initialises the pair's executor or reactor with params of `version`
 * (1: fenced at the end of version 1) and, from 2, the probe's settings.
 * Returns init's result; on success the instance stays in m.
 */
static int
made_init(struct made *m, bool executor, uint32_t version,
          struct settings_probe *sp)
{
	struct weft_executor_params ep = spy_params;
	struct weft_reactor_params rp = {.max_events = 64};
	struct fenced fence = {0};
	const void *params;
	size_t size, isize;
	uint32_t iversion;
	int r;

	memset(m, 0, sizeof(*m));
	m->executor = executor;
	h_plugin_load(&m->plugin,
	              executor ? h_opt.executor_path : h_opt.reactor_path,
	              executor ? WEFT_PLUGIN_EXECUTOR : WEFT_PLUGIN_REACTOR);
	ep.version = rp.version = version;
	ep.workers = 1;
	ep.setting = rp.setting = version >= 2 ? settings_probe_get : NULL;
	ep.setting_ctx = rp.setting_ctx = version >= 2 ? sp : NULL;
	if (executor) {
		const struct weft_executor_iface *ops = m->plugin.desc->iface;

		size = version >= 2
		           ? sizeof(ep)
		           : offsetof(struct weft_executor_params, setting);
		params = fenced_copy(&fence, &ep, size);
		isize = ops->instance_size;
		iversion = ops->version;
	} else {
		const struct weft_reactor_iface *ops = m->plugin.desc->iface;

		size = version >= 2
		           ? sizeof(rp)
		           : offsetof(struct weft_reactor_params, setting);
		params = fenced_copy(&fence, &rp, size);
		isize = ops->instance_size;
		iversion = ops->version;
	}
	m->instance = calloc(1, isize);
	assert_non_null(m->instance);
	if (executor) {
		struct weft_executor *e = m->instance;
		const struct weft_executor_iface *ops = m->plugin.desc->iface;

		e->version = iversion;
		e->ops = ops;
		r = ops->init(e, params);
	} else {
		struct weft_reactor *re = m->instance;
		const struct weft_reactor_iface *ops = m->plugin.desc->iface;

		re->version = iversion;
		re->ops = ops;
		r = ops->init(re, params);
	}
	if (sp)
		sp->outside_init = true;
	fenced_free(&fence);
	if (r < 0) {
		free(m->instance);
		m->instance = NULL;
		h_plugin_unload(&m->plugin);
	}
	return r;
}


static void
made_fini(struct made *m)
{
	if (!m->instance)
		return;
	if (m->executor) {
		struct weft_executor *e = m->instance;

		weft_executor_shutdown(e);
		e->ops->fini(e);
	} else {
		struct weft_reactor *re = m->instance;

		re->ops->fini(re);
	}
	free(m->instance);
	m->instance = NULL;
	h_plugin_unload(&m->plugin);
}


/* The instance works: an executor runs a task, a reactor waits. */
static void
made_use(struct made *m)
{
	if (m->executor) {
		struct weft_executor *e = m->instance;
		struct h_probe probe = {0};
		struct weft_join_future jf;
		struct weft_join *join = NULL;
		struct h_fut f;

		h_fut_init(&f, &probe, H_FUT_YIELD, 2, 0);
		assert_int_equal(weft_executor_spawn(e, &f.base, &join), 0);
		assert_non_null(join);
		weft_join_future_init(&jf, join, NULL, 0);
		assert_int_equal(weft_executor_block_on(e, &jf.base), 0);
		weft_future_drop(&jf.base);
		assert_int_equal(atomic_load(&probe.polls), 3);
	} else {
		struct weft_reactor *re = m->instance;
		struct weft_reactor_event ev[4];

		assert_true(weft_reactor_wakeup(re) == 0);
		assert_true(weft_reactor_wait(re, ev, 4, 10 * WEFT_MSEC) >= 0);
	}
}


static void
P8_init_without_settings(void **state)
{
	struct weft_runtime *spy = spy_open();
	struct made m;
	int r, k;

	(void)state;
	for (k = spy ? 0 : 1; k < 2; k++) {
		r = made_init(&m, k == 0, 1, NULL);
		if (r < 0)
			fail_msg("P8: the %s's init with params of version 1 "
			         "(a 1.1 host's) failed: %s",
			         k == 0 ? "executor" : "reactor",
			         weft_strerror(r));
		made_use(&m);
		made_fini(&m);
	}
	if (spy)
		weft_runtime_close(spy);
	H_NO_VIOLATIONS();
}


/*
 * Asks each plugin of the pair which settings it reads (init with every
 * setting unset), then gives each of those an invalid value in turn: init
 * must fail with WEFT_ECONFIG or, for a setting any string suits, succeed.
 * A plugin that reads no setting, or takes anything, is skipped.
 */
static void
P8_bad_setting_is_econfig(void **state)
{
	struct weft_runtime *spy = spy_open();
	struct settings_probe sp, one;
	struct made m;
	int r, k, i, refused = 0, read = 0;

	(void)state;
	for (k = spy ? 0 : 1; k < 2; k++) {
		const char *what = k == 0 ? "executor" : "reactor";

		memset(&sp, 0, sizeof(sp));
		r = made_init(&m, k == 0, 2, &sp);
		if (r < 0)
			fail_msg("P8: the %s's init with no setting set "
			         "failed: %s",
			         what, weft_strerror(r));
		made_fini(&m);
		if (sp.late)
			fail_msg("P8: the %s read a setting after init", what);
		read += sp.nasked;
		for (i = 0; i < sp.nasked; i++) {
			memset(&one, 0, sizeof(one));
			one.bad_key = sp.asked[i];
			r = made_init(&m, k == 0, 2, &one);
			if (r == 0) {
				printf("note: the %s takes any value of %s\n",
				       what, sp.asked[i]);
				made_fini(&m);
			} else if (r != WEFT_ECONFIG) {
				fail_msg("P8: an invalid %s made the %s's "
				         "init fail with %s, not WEFT_ECONFIG",
				         sp.asked[i], what, weft_strerror(r));
			} else {
				refused++;
			}
		}
	}
	if (spy)
		weft_runtime_close(spy);
	if (!read)
		skip(); /* neither plugin reads a setting */
	if (!refused)
		skip(); /* every setting read takes any string */
	H_NO_VIOLATIONS();
}


static const struct CMUnitTest tests[] = {
    H_TEST(P8_init_without_settings),
    H_TEST(P8_bad_setting_is_econfig),
};

H_GROUP(h_group_settings, "settings", tests);
