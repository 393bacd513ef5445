/* SPDX-License-Identifier: MIT */
/*
 * Loader tests: every defect a plugin can have is planted in one mock
 * plugin (see mock_plugin.c), and each load must fail with the right code
 * and with a message that names both the file and the reason.
 *
 * The tests that give the loader a FIFO set an alarm first: a loader that
 * opened one would wait for a writer forever, and the alarm turns that
 * into a failure.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugins.h"

/* weft__plugin_load() with kind 0 accepts either kind (scan does this). */
#define KIND_ANY ((enum weft_plugin_kind)0)

/* Seconds a test that could hang on a FIFO may take. */
#define HANG_LIMIT 20

static void
mock_path(char *out, size_t outlen, const char *file)
{
	snprintf(out, outlen, "%s/%s", MOCK_DIR, file);
}


/* Loads a mock by path and expects it to fail with code and reason. */
static void
expect_fail(const char *file, enum weft_plugin_kind kind, int code,
            const char *reason)
{
	struct weft__plugin p;
	char path[4096];
	char err[1024] = "";
	int rc;

	mock_path(path, sizeof(path), file);
	rc = weft__plugin_load(&p, path, kind, 0, NULL, err, sizeof(err));
	if (rc != code || !strstr(err, path) || !strstr(err, reason))
		print_error("%s: rc %d (want %d), error: %s\n", file, rc, code,
		            err);
	assert_int_equal(rc, code);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, reason));
	assert_null(p.handle);
	assert_null(p.desc);
}


static void
test_good_executor_by_path(void **state)
{
	struct weft__plugin p;
	char path[4096];
	char err[1024] = "";

	(void)state;
	mock_path(path, sizeof(path), "weft-executor-good.so");
	assert_int_equal(weft__plugin_load(&p, path, WEFT_PLUGIN_EXECUTOR, 0,
	                                   NULL, err, sizeof(err)),
	                 0);
	assert_non_null(p.handle);
	assert_string_equal(p.path, path);
	assert_string_equal(p.desc->name, "good");
	assert_int_equal(p.desc->kind, WEFT_PLUGIN_EXECUTOR);
	assert_int_equal(p.abi_chosen, WEFT_ABI_VERSION);
	weft__plugin_unload(&p);
	assert_null(p.handle);
	/* Unloading twice, or a plugin that never loaded, is harmless. */
	weft__plugin_unload(&p);
}


static void
test_good_by_name(void **state)
{
	struct weft__plugin p;
	char err[1024] = "";
	char path[4096];

	(void)state;
	/* Empty and missing folders in the path are skipped. */
	snprintf(path, sizeof(path), "::/nonexistent/folder:%s:", MOCK_DIR);
	assert_int_equal(weft__plugin_load(&p, "good", WEFT_PLUGIN_REACTOR, 0,
	                                   path, err, sizeof(err)),
	                 0);
	assert_int_equal(p.desc->kind, WEFT_PLUGIN_REACTOR);
	assert_non_null(strstr(p.path, "/weft-reactor-good.so"));
	weft__plugin_unload(&p);

	assert_int_equal(weft__plugin_load(&p, "good", WEFT_PLUGIN_EXECUTOR, 0,
	                                   path, err, sizeof(err)),
	                 0);
	assert_int_equal(p.desc->kind, WEFT_PLUGIN_EXECUTOR);
	assert_non_null(strstr(p.path, "/weft-executor-good.so"));
	weft__plugin_unload(&p);
}


static void
test_name_not_found(void **state)
{
	struct weft__plugin p;
	char err[1024] = "";

	(void)state;
	assert_int_equal(weft__plugin_load(&p, "nosuch", WEFT_PLUGIN_EXECUTOR,
	                                   0, MOCK_DIR, err, sizeof(err)),
	                 -ENOENT);
	assert_non_null(strstr(err, "weft-executor-nosuch.so"));
	assert_non_null(strstr(err, MOCK_DIR));
	assert_null(p.handle);
}


static void
test_invalid_names(void **state)
{
	static const char *const bad[] = {
	    "Good", "good.so", "..", "a b", "x\\y", "", "caf\xc3\xa9",
	};
	struct weft__plugin p;
	char err[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(weft__plugin_load(&p, bad[i],
		                                   WEFT_PLUGIN_EXECUTOR, 0,
		                                   MOCK_DIR, err, sizeof(err)),
		                 WEFT_ECONFIG);
		assert_non_null(strstr(err, "executor"));
	}
	err[0] = '\0';
	assert_int_equal(weft__plugin_load(&p, NULL, WEFT_PLUGIN_REACTOR, 0,
	                                   MOCK_DIR, err, sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "no reactor plugin configured"));
}


static void
test_not_a_shared_object(void **state)
{
	char dir[] = "/tmp/weft-loader-XXXXXX";
	char path[4096];
	struct weft__plugin p;
	char err[1024] = "";
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/weft-executor-text.so", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("executor = single\n", f);
	fclose(f);
	assert_int_equal(weft__plugin_load(&p, "text", WEFT_PLUGIN_EXECUTOR, 0,
	                                   dir, err, sizeof(err)),
	                 WEFT_EPLUGIN);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "cannot load"));
	unlink(path);
	rmdir(dir);
}


/* Copies the good executor mock into dir; returns its path in out. */
static void
copy_good(const char *dir, char *out, size_t outlen)
{
	char src[4096], buf[65536];
	FILE *in, *to;
	size_t n;

	mock_path(src, sizeof(src), "weft-executor-good.so");
	snprintf(out, outlen, "%s/weft-executor-good.so", dir);
	in = fopen(src, "rb");
	assert_non_null(in);
	to = fopen(out, "wb");
	assert_non_null(to);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, to), n);
	fclose(in);
	fclose(to);
	assert_int_equal(chmod(out, 0755), 0);
}


/* P-rule hardening: another user could swap a writable plugin. */
static void
test_writable_plugin_refused(void **state)
{
	char dir[] = "/tmp/weft-loader-XXXXXX";
	char path[4096];
	struct weft__plugin p;
	char err[1024] = "";

	(void)state;
	assert_non_null(mkdtemp(dir));
	copy_good(dir, path, sizeof(path));
	assert_int_equal(chmod(path, 0757), 0);
	assert_int_equal(weft__plugin_load(&p, path, WEFT_PLUGIN_EXECUTOR, 0,
	                                   NULL, err, sizeof(err)),
	                 -EPERM);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "other users may write"));
	assert_null(p.handle);
	/* The configuration may allow it explicitly. */
	assert_int_equal(weft__plugin_load(&p, path, WEFT_PLUGIN_EXECUTOR,
	                                   WEFT__LOAD_ALLOW_WRITABLE, NULL, err,
	                                   sizeof(err)),
	                 0);
	weft__plugin_unload(&p);

	/* A folder others may write (without the sticky bit) is refused. */
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(weft__plugin_load(&p, path, WEFT_PLUGIN_EXECUTOR, 0,
	                                   NULL, err, sizeof(err)),
	                 -EPERM);
	assert_non_null(strstr(err, "folder"));
	/* With the sticky bit, others cannot replace our file. */
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(weft__plugin_load(&p, path, WEFT_PLUGIN_EXECUTOR, 0,
	                                   NULL, err, sizeof(err)),
	                 0);
	weft__plugin_unload(&p);
	unlink(path);
	rmdir(dir);
}


/* Names never resolve through the current directory. */
static void
test_relative_paths_refused(void **state)
{
	struct weft__plugin p;
	char err[1024] = "";
	char cwd[4096];

	(void)state;
	assert_int_equal(weft__plugin_load(&p, "./weft-executor-good.so",
	                                   WEFT_PLUGIN_EXECUTOR, 0, NULL, err,
	                                   sizeof(err)),
	                 WEFT_ECONFIG);
	assert_non_null(strstr(err, "relative"));
	/* From inside the mock folder, "." in the path finds nothing. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(MOCK_DIR), 0);
	assert_int_equal(weft__plugin_load(&p, "good", WEFT_PLUGIN_EXECUTOR, 0,
	                                   ".:tests/loader", err, sizeof(err)),
	                 -ENOENT);
	assert_non_null(strstr(err, "relative folders are ignored"));
	assert_int_equal(chdir(cwd), 0);
}


static void
test_missing_file(void **state)
{
	(void)state;
	expect_fail("weft-executor-absent.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EPLUGIN, "cannot load");
}


static void
test_no_entry(void **state)
{
	(void)state;
	expect_fail("weft-executor-noentry.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EPLUGIN, "no entry symbol weft_plugin_entry");
}


static void
test_entry_errors(void **state)
{
	(void)state;
	expect_fail("weft-executor-nodesc.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EPLUGIN, "entry point returned no descriptor");
	expect_fail("weft-executor-entryerr.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EABI, "entry point failed");
	expect_fail("weft-executor-nulldesc.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EPLUGIN, "NULL descriptor");
}


static void
test_descriptor_version(void **state)
{
	(void)state;
	expect_fail("weft-executor-descv0.so", WEFT_PLUGIN_EXECUTOR, WEFT_EABI,
	            "descriptor version 0");
}


static void
test_bad_magic(void **state)
{
	(void)state;
	expect_fail("weft-executor-badmagic.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EPLUGIN, "bad magic 0x12345678 (expected 0x54464557)");
}


static void
test_abi_major(void **state)
{
	(void)state;
	expect_fail("weft-executor-abi2.so", WEFT_PLUGIN_EXECUTOR, WEFT_EABI,
	            "built for ABI major 2, this host speaks major 1");
}


static void
test_chosen_out_of_range(void **state)
{
	(void)state;
	expect_fail("weft-executor-chosen.so", WEFT_PLUGIN_EXECUTOR, WEFT_EABI,
	            "negotiated ABI 1.9 is outside the host's range");
}


static void
test_signature(void **state)
{
	char want[64];

	(void)state;
	snprintf(want, sizeof(want), "0x%016llx",
	         (unsigned long long)WEFT_ABI_SIGNATURE);
	expect_fail("weft-executor-badsig.so", WEFT_PLUGIN_EXECUTOR, WEFT_EABI,
	            "ABI signature 0x0000000000001234 does not match");
	expect_fail("weft-executor-badsig.so", WEFT_PLUGIN_EXECUTOR, WEFT_EABI,
	            want);
}


static void
test_wrong_kind(void **state)
{
	struct weft__plugin p;
	char err[1024] = "";

	(void)state;
	expect_fail("weft-executor-good.so", WEFT_PLUGIN_REACTOR, WEFT_EPLUGIN,
	            "is an executor plugin, not a reactor plugin");
	expect_fail("weft-reactor-good.so", WEFT_PLUGIN_EXECUTOR, WEFT_EPLUGIN,
	            "is a reactor plugin, not an executor plugin");
	expect_fail("weft-executor-badkind.so", KIND_ANY, WEFT_EPLUGIN,
	            "unknown plugin kind 7");
	/* An executor in a file named like a reactor, looked up by name. */
	assert_int_equal(weft__plugin_load(&p, "liar", WEFT_PLUGIN_REACTOR, 0,
	                                   MOCK_DIR, err, sizeof(err)),
	                 WEFT_EPLUGIN);
	assert_non_null(strstr(err, "weft-reactor-liar.so"));
	assert_non_null(strstr(err, "not a reactor plugin"));
}


static void
test_names(void **state)
{
	(void)state;
	expect_fail("weft-executor-longname.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EPLUGIN, "not NUL-terminated within 64 bytes");
	expect_fail("weft-executor-badname.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EPLUGIN, "invalid plugin name \"Bad_Name\"");
}


static void
test_iface(void **state)
{
	(void)state;
	expect_fail("weft-executor-noiface.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EPLUGIN, "iface is NULL");
	expect_fail("weft-executor-iface0.so", WEFT_PLUGIN_EXECUTOR, WEFT_EABI,
	            "executor interface version 0");
	expect_fail("weft-executor-small.so", WEFT_PLUGIN_EXECUTOR, WEFT_EABI,
	            "executor instance_size 4 is smaller than struct "
	            "weft_executor");
	expect_fail("weft-executor-nullmethod.so", WEFT_PLUGIN_EXECUTOR,
	            WEFT_EPLUGIN, "lacks required method block_on");
	expect_fail("weft-reactor-nullmethod.so", WEFT_PLUGIN_REACTOR,
	            WEFT_EPLUGIN, "lacks required method wakeup");
}


/*
 * Loads path as kind and expects the refusal of a file that is not a
 * regular one: code, the path, and "not a regular file: <type>", without
 * the advice about allow_writable_plugins, which would not help.
 */
static void
expect_not_regular(const char *path, enum weft_plugin_kind kind, unsigned flags,
                   int code, const char *type)
{
	struct weft__plugin p;
	char err[1024] = "";
	char want[128];
	int rc;

	snprintf(want, sizeof(want), "not a regular file: %s", type);
	rc = weft__plugin_load(&p, path, kind, flags, NULL, err, sizeof(err));
	if (rc != code || !strstr(err, path) || !strstr(err, want))
		print_error("%s: rc %d (want %d), error: %s\n", path, rc, code,
		            err);
	assert_int_equal(rc, code);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, want));
	assert_null(strstr(err, "allow_writable_plugins"));
	assert_null(p.handle);
	assert_null(p.desc);
}


/* Each kind of plugin, with and without allow_writable_plugins. */
static void
expect_not_regular_all(const char *path, int code, const char *type)
{
	expect_not_regular(path, WEFT_PLUGIN_EXECUTOR, 0, code, type);
	expect_not_regular(path, WEFT_PLUGIN_REACTOR, 0, code, type);
	expect_not_regular(path, WEFT_PLUGIN_EXECUTOR,
	                   WEFT__LOAD_ALLOW_WRITABLE, code, type);
	expect_not_regular(path, WEFT_PLUGIN_REACTOR, WEFT__LOAD_ALLOW_WRITABLE,
	                   code, type);
}


/* A FIFO, a device or a folder given as a plugin path. */
static void
test_not_regular_path(void **state)
{
	char dir[] = "/tmp/weft-loader-XXXXXX";
	char fifo[4096];
	char link[4096];

	(void)state;
	alarm(HANG_LIMIT);
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/weft-executor-fifo.so", dir);
	snprintf(link, sizeof(link), "%s/weft-executor-link.so", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink(fifo, link), 0);
	expect_not_regular_all(fifo, -EINVAL, "a FIFO");
	/* Links are followed: the refusal says what the link leads to. */
	expect_not_regular_all(link, -EINVAL, "a FIFO");
	expect_not_regular_all("/dev/null", -EINVAL, "a character device");
	expect_not_regular_all("/dev/zero", -EINVAL, "a character device");
	expect_not_regular_all(dir, -EISDIR, "a directory");
	unlink(link);
	unlink(fifo);
	rmdir(dir);
	alarm(0);
}


/* Found by name in the plugin path, it is refused as what it is. */
static void
test_not_regular_by_name(void **state)
{
	char dir[] = "/tmp/weft-loader-XXXXXX";
	char fifo[4096];
	char sub[4096];
	struct weft__plugin p;
	char err[1024] = "";

	(void)state;
	alarm(HANG_LIMIT);
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/weft-executor-x.so", dir);
	snprintf(sub, sizeof(sub), "%s/weft-reactor-d.so", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(weft__plugin_load(&p, "x", WEFT_PLUGIN_EXECUTOR, 0,
	                                   dir, err, sizeof(err)),
	                 -EINVAL);
	assert_non_null(strstr(err, fifo));
	assert_non_null(strstr(err, "not a regular file: a FIFO"));
	assert_int_equal(weft__plugin_load(&p, "d", WEFT_PLUGIN_REACTOR, 0, dir,
	                                   err, sizeof(err)),
	                 -EISDIR);
	assert_non_null(strstr(err, sub));
	assert_non_null(strstr(err, "not a regular file: a directory"));
	rmdir(sub);
	unlink(fifo);
	rmdir(dir);
	alarm(0);
}


struct scan_result {
	int seen;
	int good;
	int bad;
	int liar_seen;
};

static void
visit(const struct weft_plugin_info *info, void *data)
{
	struct scan_result *r = data;

	r->seen++;
	assert_int_equal(info->size, sizeof(*info));
	assert_non_null(info->path);
	assert_non_null(strstr(info->path, MOCK_DIR "/weft-"));
	if (info->status == 0) {
		r->good++;
		assert_null(info->error);
		assert_string_equal(info->name, "good");
		assert_int_equal(info->plugin_version,
		                 WEFT_PLUGIN_VERSION(1, 2, 3));
		assert_int_equal(info->abi_major, WEFT_ABI_MAJOR);
		assert_non_null(info->description);
	} else {
		r->bad++;
		assert_non_null(info->error);
		assert_non_null(strstr(info->error, info->path));
	}
	if (strstr(info->path, "weft-reactor-liar.so")) {
		r->liar_seen = 1;
		assert_int_equal(info->status, WEFT_EPLUGIN);
		assert_int_equal(info->kind, WEFT_PLUGIN_REACTOR);
	}
}


static void
test_scan(void **state)
{
	struct weft_config *cfg;
	struct scan_result r = {0};
	char err[256];

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_set(cfg, "plugin_path",
	                                 "/nonexistent:" MOCK_DIR, err,
	                                 sizeof(err)),
	                 0);
	assert_int_equal(
	    weft_config_set(cfg, "use_env", "false", err, sizeof(err)), 0);
	assert_int_equal(weft_plugins_scan(cfg, visit, &r), MOCK_COUNT);
	assert_int_equal(r.seen, MOCK_COUNT);
	assert_int_equal(r.good, 2);
	assert_int_equal(r.bad, MOCK_COUNT - 2);
	assert_true(r.liar_seen);
	weft_config_free(cfg);
}


struct odd_scan {
	int seen;
	int good;
	int fifo;
	int folder;
};

static void
visit_odd(const struct weft_plugin_info *info, void *data)
{
	struct odd_scan *r = data;

	r->seen++;
	if (info->status == 0) {
		r->good++;
		return;
	}
	assert_non_null(info->error);
	assert_non_null(strstr(info->error, info->path));
	if (strstr(info->path, "/weft-executor-x.so")) {
		r->fifo++;
		assert_int_equal(info->status, -EINVAL);
		assert_int_equal(info->kind, WEFT_PLUGIN_EXECUTOR);
		assert_non_null(
		    strstr(info->error, "not a regular file: a FIFO"));
	} else if (strstr(info->path, "/weft-reactor-d.so")) {
		r->folder++;
		assert_int_equal(info->status, -EISDIR);
		assert_non_null(
		    strstr(info->error, "not a regular file: a directory"));
	}
}


/* The listing reports a FIFO or a folder named like a plugin and goes on. */
static void
test_scan_not_regular(void **state)
{
	char dir[] = "/tmp/weft-loader-XXXXXX";
	char good[4096];
	char fifo[4096];
	char sub[4096];
	struct weft_config *cfg;
	struct odd_scan r = {0};
	char err[256];

	(void)state;
	alarm(HANG_LIMIT);
	assert_non_null(mkdtemp(dir));
	copy_good(dir, good, sizeof(good));
	snprintf(fifo, sizeof(fifo), "%s/weft-executor-x.so", dir);
	snprintf(sub, sizeof(sub), "%s/weft-reactor-d.so", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(
	    weft_config_set(cfg, "plugin_path", dir, err, sizeof(err)), 0);
	assert_int_equal(
	    weft_config_set(cfg, "use_env", "false", err, sizeof(err)), 0);
	assert_int_equal(weft_plugins_scan(cfg, visit_odd, &r), 3);
	assert_int_equal(r.seen, 3);
	assert_int_equal(r.good, 1);
	assert_int_equal(r.fifo, 1);
	assert_int_equal(r.folder, 1);
	weft_config_free(cfg);
	rmdir(sub);
	unlink(fifo);
	unlink(good);
	rmdir(dir);
	alarm(0);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_executor_by_path),
	    cmocka_unit_test(test_good_by_name),
	    cmocka_unit_test(test_name_not_found),
	    cmocka_unit_test(test_invalid_names),
	    cmocka_unit_test(test_not_a_shared_object),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_writable_plugin_refused),
	    cmocka_unit_test(test_relative_paths_refused),
	    cmocka_unit_test(test_no_entry),
	    cmocka_unit_test(test_entry_errors),
	    cmocka_unit_test(test_descriptor_version),
	    cmocka_unit_test(test_bad_magic),
	    cmocka_unit_test(test_abi_major),
	    cmocka_unit_test(test_chosen_out_of_range),
	    cmocka_unit_test(test_signature),
	    cmocka_unit_test(test_wrong_kind),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_iface),
	    cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_not_regular_path),
	    cmocka_unit_test(test_not_regular_by_name),
	    cmocka_unit_test(test_scan_not_regular),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
