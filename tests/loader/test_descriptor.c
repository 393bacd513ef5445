/* SPDX-License-Identifier: MIT */
/*
 * The loader's checks of a descriptor and its interface, one defect at a
 * time, on descriptors built in this file (the mock plugins of
 * test_loader.c cover the same checks through dlopen); the loader's
 * arguments, names and plugin paths at their limits; and the scan over a
 * plugin path with relative, empty and overlong folders.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins.h"

#define KIND_ANY ((enum weft_plugin_kind)0)

/* ---- interfaces whose methods are never called --------------------- */

static int
ex_init(struct weft_executor *self, const struct weft_executor_params *p)
{
	(void)self;
	(void)p;
	return -ENOSYS;
}

static int
ex_spawn(struct weft_executor *self, struct weft_future *f,
         struct weft_join **join)
{
	(void)self;
	(void)f;
	(void)join;
	return -ENOSYS;
}

static int
ex_block_on(struct weft_executor *self, struct weft_future *f)
{
	(void)self;
	(void)f;
	return -ENOSYS;
}

static void
ex_shutdown(struct weft_executor *self)
{
	(void)self;
}

static int
re_init(struct weft_reactor *self, const struct weft_reactor_params *p)
{
	(void)self;
	(void)p;
	return -ENOSYS;
}

static int
re_add(struct weft_reactor *self, int fd, uint32_t interest, uint64_t token)
{
	(void)self;
	(void)fd;
	(void)interest;
	(void)token;
	return -ENOSYS;
}

static int
re_del(struct weft_reactor *self, int fd)
{
	(void)self;
	(void)fd;
	return -ENOSYS;
}

static int
re_wait(struct weft_reactor *self, struct weft_reactor_event *events,
        uint32_t capacity, int64_t timeout_ns)
{
	(void)self;
	(void)events;
	(void)capacity;
	(void)timeout_ns;
	return -ENOSYS;
}

static int
re_wakeup(struct weft_reactor *self)
{
	(void)self;
	return -ENOSYS;
}

static void
re_fini(struct weft_reactor *self)
{
	(void)self;
}

static const struct weft_executor_iface good_ex = {
    .version = WEFT_EXECUTOR_IFACE_VERSION,
    .instance_size = sizeof(struct weft_executor) + 16,
    .init = ex_init,
    .spawn = ex_spawn,
    .block_on = ex_block_on,
    .shutdown = ex_shutdown,
    .fini = ex_shutdown,
};

static int
re_submit(struct weft_reactor *self, const struct weft_reactor_op *op)
{
	(void)self;
	(void)op;
	return -EINVAL;
}


static int
re_cancel(struct weft_reactor *self, uint64_t token)
{
	(void)self;
	(void)token;
	return -ENOENT;
}


static const struct weft_reactor_iface good_re = {
    .version = WEFT_REACTOR_IFACE_VERSION,
    .instance_size = sizeof(struct weft_reactor) + 16,
    .init = re_init,
    .add = re_add,
    .modify = re_add,
    .del = re_del,
    .wait = re_wait,
    .wakeup = re_wakeup,
    .fini = re_fini,
};

static struct weft_negotiate
negotiated(void)
{
	return (struct weft_negotiate){
	    .version = WEFT_NEGOTIATE_VERSION,
	    .host_min = WEFT_ABI_MAKE(1, 0),
	    .host_max = WEFT_ABI_VERSION,
	    .chosen = WEFT_ABI_VERSION,
	};
}

static struct weft_plugin_descriptor
descriptor(uint32_t kind, const void *iface)
{
	return (struct weft_plugin_descriptor){
	    .version = WEFT_PLUGIN_DESCRIPTOR_VERSION,
	    .magic = WEFT_PLUGIN_MAGIC,
	    .abi_major = WEFT_ABI_MAJOR,
	    .abi_minor = WEFT_ABI_MINOR,
	    .kind = kind,
	    .signature = WEFT_ABI_SIGNATURE,
	    .name = "made",
	    .iface = iface,
	};
}

static char err[1024];

/* Checks d as kind; the error must hold part. */
static int
check(const struct weft_plugin_descriptor *d, enum weft_plugin_kind kind,
      const char *part)
{
	struct weft_negotiate neg = negotiated();
	int rc;

	err[0] = '\0';
	rc = weft__check_descriptor("made.so", d, &neg, kind, err, sizeof(err));
	if (part && !strstr(err, part))
		print_error("no \"%s\" in \"%s\"\n", part, err);
	if (part)
		assert_non_null(strstr(err, part));
	return rc;
}


static void
test_executor_methods(void **state)
{
	static const char *const names[] = {"init", "spawn", "block_on",
	                                    "shutdown", "fini"};
	struct weft_plugin_descriptor d;
	struct weft_executor_iface ops;
	char want[64];
	size_t i;

	(void)state;
	d = descriptor(WEFT_PLUGIN_EXECUTOR, &good_ex);
	assert_int_equal(check(&d, WEFT_PLUGIN_EXECUTOR, NULL), 0);
	assert_int_equal(check(&d, KIND_ANY, NULL), 0);
	d.iface = &ops;
	for (i = 0; i < 5; i++) {
		ops = good_ex;
		switch (i) {
		case 0:
			ops.init = NULL;
			break;
		case 1:
			ops.spawn = NULL;
			break;
		case 2:
			ops.block_on = NULL;
			break;
		case 3:
			ops.shutdown = NULL;
			break;
		default:
			ops.fini = NULL;
			break;
		}
		snprintf(want, sizeof(want), "lacks required method %s",
		         names[i]);
		assert_int_equal(check(&d, WEFT_PLUGIN_EXECUTOR, want),
		                 WEFT_EPLUGIN);
	}
}


static void
test_reactor_iface(void **state)
{
	static const char *const names[] = {"init", "add",    "modify", "del",
	                                    "wait", "wakeup", "fini"};
	struct weft_plugin_descriptor d;
	struct weft_reactor_iface ops;
	char want[64];
	size_t i;

	(void)state;
	d = descriptor(WEFT_PLUGIN_REACTOR, &good_re);
	assert_int_equal(check(&d, WEFT_PLUGIN_REACTOR, NULL), 0);
	d.iface = &ops;
	ops = good_re;
	ops.version = 0;
	assert_int_equal(
	    check(&d, WEFT_PLUGIN_REACTOR, "reactor interface version 0"),
	    WEFT_EABI);
	ops = good_re;
	ops.instance_size = sizeof(struct weft_reactor) - 1;
	assert_int_equal(check(&d, WEFT_PLUGIN_REACTOR,
	                       "is smaller than struct weft_reactor"),
	                 WEFT_EABI);
	for (i = 0; i < 7; i++) {
		ops = good_re;
		switch (i) {
		case 0:
			ops.init = NULL;
			break;
		case 1:
			ops.add = NULL;
			break;
		case 2:
			ops.modify = NULL;
			break;
		case 3:
			ops.del = NULL;
			break;
		case 4:
			ops.wait = NULL;
			break;
		case 5:
			ops.wakeup = NULL;
			break;
		default:
			ops.fini = NULL;
			break;
		}
		snprintf(want, sizeof(want), "lacks required method %s",
		         names[i]);
		assert_int_equal(check(&d, WEFT_PLUGIN_REACTOR, want),
		                 WEFT_EPLUGIN);
	}
	/* R13: the completion flag needs interface 3, submit and cancel. */
	ops = good_re;
	ops.flags |= WEFT_REACTOR_COMPLETION;
	ops.submit = re_submit;
	ops.cancel = re_cancel;
	assert_int_equal(check(&d, WEFT_PLUGIN_REACTOR, NULL), 0);
	ops.version = 2;
	assert_int_equal(
	    check(&d, WEFT_PLUGIN_REACTOR, "lacks required method submit"),
	    WEFT_EPLUGIN);
	ops.version = 3;
	ops.submit = NULL;
	assert_int_equal(
	    check(&d, WEFT_PLUGIN_REACTOR, "lacks required method submit"),
	    WEFT_EPLUGIN);
	ops.submit = re_submit;
	ops.cancel = NULL;
	assert_int_equal(
	    check(&d, WEFT_PLUGIN_REACTOR, "lacks required method cancel"),
	    WEFT_EPLUGIN);
}


static void
test_descriptor_fields(void **state)
{
	struct weft_plugin_descriptor d;
	struct weft_negotiate neg;

	(void)state;
	d = descriptor(WEFT_PLUGIN_EXECUTOR, &good_ex);
	d.name = NULL;
	assert_int_equal(check(&d, WEFT_PLUGIN_EXECUTOR, "plugin has no name"),
	                 WEFT_EPLUGIN);

	/* A reactor asked for as an executor, and the other way round. */
	d = descriptor(WEFT_PLUGIN_REACTOR, &good_re);
	assert_int_equal(check(&d, WEFT_PLUGIN_EXECUTOR,
	                       "is a reactor plugin, not an executor plugin"),
	                 WEFT_EPLUGIN);
	d = descriptor(WEFT_PLUGIN_EXECUTOR, &good_ex);
	assert_int_equal(check(&d, WEFT_PLUGIN_REACTOR,
	                       "is an executor plugin, not a reactor plugin"),
	                 WEFT_EPLUGIN);

	/* A version chosen below the host's range, and above it. */
	neg = negotiated();
	neg.chosen = WEFT_ABI_MAKE(0, 9);
	assert_int_equal(weft__check_descriptor("made.so", &d, &neg,
	                                        WEFT_PLUGIN_EXECUTOR, err,
	                                        sizeof(err)),
	                 WEFT_EABI);
	assert_non_null(strstr(err, "negotiated ABI 0.9 is outside"));
	neg.chosen = neg.host_max + 1;
	assert_int_equal(weft__check_descriptor("made.so", &d, &neg,
	                                        WEFT_PLUGIN_EXECUTOR, err,
	                                        sizeof(err)),
	                 WEFT_EABI);

	/* No path or no negotiation: the caller's mistake. */
	neg = negotiated();
	assert_int_equal(weft__check_descriptor(NULL, &d, &neg,
	                                        WEFT_PLUGIN_EXECUTOR, err,
	                                        sizeof(err)),
	                 -EINVAL);
	assert_int_equal(weft__check_descriptor("made.so", &d, NULL,
	                                        WEFT_PLUGIN_EXECUTOR, err,
	                                        sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "NULL argument"));
}


static void
test_load_arguments(void **state)
{
	struct weft__plugin p;
	char name[80];
	char *path;
	char *plugin_path;

	(void)state;
	assert_int_equal(weft__plugin_load(NULL, "good", WEFT_PLUGIN_EXECUTOR,
	                                   0, MOCK_DIR, err, sizeof(err)),
	                 -EINVAL);
	/* A name alone says nothing of which file to look for. */
	assert_int_equal(weft__plugin_load(&p, "good", KIND_ANY, 0, MOCK_DIR,
	                                   err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, "a name needs a kind"));

	/* A name of valid bytes, but longer than a descriptor's may be. */
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(weft__plugin_load(&p, name, WEFT_PLUGIN_EXECUTOR, 0,
	                                   MOCK_DIR, err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "invalid executor name"));

	/* A path longer than the loader keeps. */
	path = malloc(sizeof(p.path) + 16);
	assert_non_null(path);
	memset(path, 'a', sizeof(p.path) + 15);
	path[0] = '/';
	path[sizeof(p.path) + 15] = '\0';
	assert_int_equal(weft__plugin_load(&p, path, WEFT_PLUGIN_EXECUTOR, 0,
	                                   NULL, err, sizeof(err)),
	                 -ENAMETOOLONG);
	assert_non_null(strstr(err, "executor plugin path is too long"));

	/* No plugin path at all: nothing is found, and the error says so. */
	assert_int_equal(weft__plugin_load(&p, "good", WEFT_PLUGIN_EXECUTOR, 0,
	                                   NULL, err, sizeof(err)),
	                 -ENOENT);
	assert_non_null(strstr(err, "is not in plugin path \"\""));

	/*
	 * A folder too long to name a file in is passed over; the next one
	 * is still searched.
	 */
	plugin_path = malloc(sizeof(p.path) + 16 + sizeof(MOCK_DIR));
	assert_non_null(plugin_path);
	snprintf(plugin_path, sizeof(p.path) + 16 + sizeof(MOCK_DIR), "%.*s:%s",
	         (int)(sizeof(p.path) - 8), path, MOCK_DIR);
	assert_int_equal(weft__plugin_load(&p, "good", WEFT_PLUGIN_EXECUTOR, 0,
	                                   plugin_path, err, sizeof(err)),
	                 0);
	assert_string_equal(p.path, MOCK_DIR "/weft-executor-good.so");
	weft__plugin_unload(&p);
	assert_null(p.handle);
	assert_null(p.desc);
	weft__plugin_unload(NULL);
	free(plugin_path);
	free(path);

	/* With WEFT_NO_DLCLOSE the library stays mapped, as for Valgrind. */
	assert_int_equal(weft__plugin_load(&p, "good", WEFT_PLUGIN_REACTOR, 0,
	                                   MOCK_DIR, err, sizeof(err)),
	                 0);
	setenv("WEFT_NO_DLCLOSE", "1", 1);
	weft__plugin_unload(&p);
	unsetenv("WEFT_NO_DLCLOSE");
	assert_null(p.handle);
}


static int
unused_entry(struct weft_negotiate *neg, uint32_t index,
             const struct weft_plugin_descriptor **desc)
{
	(void)neg;
	(void)index;
	(void)desc;
	return -ENOSYS;
}


/* A builtin's name is bounded like a plugin's. */
static void
test_builtin_name_limit(void **state)
{
	char name[200];

	(void)state;
	memset(name, 'b', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(
	    weft_plugin_add_builtin(WEFT_PLUGIN_EXECUTOR, name, unused_entry),
	    -EINVAL);
}


struct tally {
	int seen;
	int good;
};

static void
count(const struct weft_plugin_info *info, void *data)
{
	struct tally *t = data;

	t->seen++;
	if (info->status == 0)
		t->good++;
	/* Only the absolute folder is ever looked in. */
	assert_non_null(strstr(info->path, MOCK_DIR "/weft-"));
}


static void
test_scan_path(void **state)
{
	struct weft_config *cfg;
	struct tally t = {0};

	(void)state;
	assert_int_equal(weft_plugins_scan(NULL, NULL, NULL), -EINVAL);

	/* A broken configuration stops the scan with its error. */
	setenv("WEFT_WORKERS", "many", 1);
	assert_int_equal(weft_plugins_scan(NULL, count, &t), WEFT_ECONFIG);
	unsetenv("WEFT_WORKERS");
	assert_int_equal(t.seen, 0);

	/*
	 * Relative and empty folders are passed over; with
	 * allow_writable_plugins every file is still checked.
	 */
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_set(cfg, "plugin_path",
	                                 "relative/dir::" MOCK_DIR ":", err,
	                                 sizeof(err)),
	                 0);
	assert_int_equal(weft_config_set(cfg, "allow_writable_plugins", "true",
	                                 err, sizeof(err)),
	                 0);
	assert_int_equal(weft_plugins_scan(cfg, count, &t), MOCK_COUNT);
	assert_int_equal(t.seen, MOCK_COUNT);
	assert_int_equal(t.good, 2);
	weft_config_free(cfg);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_executor_methods),
	    cmocka_unit_test(test_reactor_iface),
	    cmocka_unit_test(test_descriptor_fields),
	    cmocka_unit_test(test_load_arguments),
	    cmocka_unit_test(test_builtin_name_limit),
	    cmocka_unit_test(test_scan_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
