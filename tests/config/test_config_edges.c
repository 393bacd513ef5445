/* SPDX-License-Identifier: MIT */
/*
 * The configuration at its edges: NULL arguments of the public calls,
 * names and sections at their limits, files that are not regular ones or
 * are too large, a drop-in folder that is a file or holds more drop-ins
 * than are read, a broken drop-in before others, and the standard places
 * when the variables that name them are unset or relative.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "layers_fixture.h"

static void
test_null_arguments(void **state)
{
	struct weft_config *cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(weft_config_new(NULL), -EINVAL);
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(
	    weft_config_set(cfg, "workers", NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "weft_config_set: NULL argument"));
	assert_int_equal(
	    weft_config_load_env_explain(NULL, record, NULL, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(
	    weft_config_load_string(NULL, "", "s", err, sizeof(err)), -EINVAL);
	assert_int_equal(
	    weft_config_load_string(cfg, NULL, "s", err, sizeof(err)), -EINVAL);
	assert_int_equal(weft_config_load_file(NULL, "/x", err, sizeof(err)),
	                 -EINVAL);
	assert_int_equal(weft_config_load_file(cfg, NULL, err, sizeof(err)),
	                 -EINVAL);
	assert_int_equal(weft__settings_resolve(NULL, cfg, err, sizeof(err)),
	                 -EINVAL);

	assert_null(weft_config_get(NULL, "workers"));
	assert_null(weft_config_get(cfg, NULL));
	assert_null(weft_config_origin(NULL, "workers"));
	assert_null(weft_config_origin(cfg, NULL));
	assert_null(weft_config_origin(cfg, "no_such_key"));
	assert_string_equal(weft_config_origin(cfg, "workers"), "default");
	assert_int_equal(weft_config_set_program(NULL, "x"), -EINVAL);
	assert_null(weft_config_program(NULL));
	weft_config_free(cfg);
}


static void
test_program_name_limits(void **state)
{
	struct weft_config *cfg;
	char name[PROGRAM_LEN + 1];
	char text[PROGRAM_LEN + 64];
	char err[512] = "";

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	memset(name, 'p', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	/* One byte too long for the name, and as a section's pattern. */
	assert_int_equal(weft_config_set_program(cfg, name), -EINVAL);
	assert_string_equal(weft_config_program(cfg), "test_config_edges");
	name[PROGRAM_LEN - 1] = '\0';
	assert_int_equal(weft_config_set_program(cfg, name), 0);
	assert_string_equal(weft_config_program(cfg), name);
	snprintf(text, sizeof(text), "[program %sp]\nworkers = 2\n", name);
	assert_int_equal(
	    weft_config_load_string(cfg, text, "s", err, sizeof(err)),
	    WEFT_ECONFIG);
	assert_non_null(strstr(err, "s:1: program name is too long"));
	snprintf(text, sizeof(text), "[program %s]\nworkers = 2\n", name);
	assert_int_equal(
	    weft_config_load_string(cfg, text, "s", err, sizeof(err)), 0);
	assert_string_equal(weft_config_get(cfg, "workers"), "2");

	/* Only "program" opens a section, and only as a whole word. */
	assert_int_equal(
	    weft_config_load_string(cfg, "[programx]\n", "s", err, sizeof(err)),
	    WEFT_ECONFIG);
	assert_non_null(strstr(err, "s:1: unknown section \"programx\""));
	assert_int_equal(
	    weft_config_load_string(cfg, "[prog]\n", "s", err, sizeof(err)),
	    WEFT_ECONFIG);
	assert_non_null(strstr(err, "s:1: unknown section \"prog\""));
	assert_int_equal(weft_config_load_string(cfg, "[progran x]\n", "s", err,
	                                         sizeof(err)),
	                 WEFT_ECONFIG);
	weft_config_free(cfg);
}


static void
test_set_allocator(void **state)
{
	struct weft_allocator a = {.version = WEFT_ALLOCATOR_VERSION};
	struct weft__settings s;
	struct weft_config *cfg;
	char err[256] = "";

	(void)state;
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_set_allocator(NULL, &a), -EINVAL);
	/* Without both functions, or of version 0: refused. */
	assert_int_equal(weft_config_set_allocator(cfg, &a), -EINVAL);
	a.alloc = (void *(*)(void *, size_t))1;
	assert_int_equal(weft_config_set_allocator(cfg, &a), -EINVAL);
	a.alloc = NULL;
	a.free = (void (*)(void *, void *))1;
	assert_int_equal(weft_config_set_allocator(cfg, &a), -EINVAL);
	a.alloc = (void *(*)(void *, size_t))1;
	a.version = 0;
	assert_int_equal(weft_config_set_allocator(cfg, &a), -EINVAL);
	/* Accepted, resolved into the settings, then cleared. */
	a.version = WEFT_ALLOCATOR_VERSION;
	assert_int_equal(weft_config_set_allocator(cfg, &a), 0);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)), 0);
	assert_true(s.alloc.alloc == a.alloc && s.alloc.free == a.free);
	assert_int_equal(weft_config_set_allocator(cfg, NULL), 0);
	assert_int_equal(weft__settings_resolve(&s, cfg, err, sizeof(err)), 0);
	assert_null(s.alloc.alloc);
	assert_null(s.alloc.free);
	weft_config_free(cfg);
}


/* Loads path as a file; the error must hold part. */
static void
expect_file_error(const char *path, int code, const char *part)
{
	struct weft_config *cfg;
	char err[1024] = "";

	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_load_file(cfg, path, err, sizeof(err)),
	                 code);
	if (!strstr(err, part))
		print_error("no \"%s\" in \"%s\"\n", part, err);
	assert_non_null(strstr(err, part));
	/* Nothing was applied. */
	assert_string_equal(weft_config_origin(cfg, "workers"), "default");
	weft_config_free(cfg);
}


static void
test_file_kinds(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[4400];
	FILE *f;
	size_t i;
	int fd;

	(void)state;
	expect_file_error("/dev/null", -EINVAL,
	                  "/dev/null: not a regular file: a character device");

	/* A socket in the tree. */
	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	expect_file_error(path, -EINVAL, "not a regular file: a socket");
	close(fd);
	unlink(path);

	/* A file larger than any configuration: refused, never parsed. */
	snprintf(path, sizeof(path), "%s/huge.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < (1u << 20) / 16 + 1; i++)
		assert_true(fputs("# fifteen bytes\n", f) >= 0);
	assert_int_equal(fclose(f), 0);
	expect_file_error(path, WEFT_ECONFIG, "file is larger than 1048576");
	unlink(path);
}


/* Counts the drop-ins read; seen would overflow with this many. */
static void
count_read(const struct weft_config_file *f, void *data)
{
	if (f->status == WEFT_CONFIG_FILE_READ &&
	    strcmp(f->layer, "system drop-in") == 0)
		(*(int *)data)++;
}


static void
test_dropin_folder(void **state)
{
	struct weft_config *cfg;
	char drop[4400];
	char err[1024] = "";

	(void)state;
	snprintf(drop, sizeof(drop), "%s/weft.conf.d", sysdir);
	/* A file where the folder should be: skipped with the reason. */
	put(sysdir, "weft.conf.d", "workers = 3\n");
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_seen("skipped system drop-in ");
	expect_seen("weft.conf.d: Not a directory");
	expect_key(cfg, "workers", "0", "default");
	assert_int_equal(unlink(drop), 0);

	/*
	 * A broken drop-in stops the ones after it, which are not read;
	 * names too short to be NAME.conf are no drop-ins.
	 */
	put(drop, "10-bad.conf", "workers = none\n");
	put(drop, "20-good.conf", "workers = 2\n");
	put(drop, "conf", "workers = 4\n");
	assert_int_equal(load(cfg, err, sizeof(err)), WEFT_ECONFIG);
	assert_non_null(strstr(err, "10-bad.conf:1: workers must be"));
	expect_seen("broken system drop-in ");
	assert_null(strstr(seen, "20-good.conf"));
	assert_null(strstr(seen, "/conf"));
	expect_key(cfg, "workers", "0", "default");
	weft_config_free(cfg);
}


/* More drop-ins than the limit: the rest is refused, not read. */
static void
test_dropin_limit(void **state)
{
	struct weft_config *cfg;
	char drop[4400];
	char name[32];
	char err[1024] = "";
	int nread = 0;
	int i;

	(void)state;
	snprintf(drop, sizeof(drop), "%s/weft.conf.d", sysdir);
	for (i = 0; i < 1030; i++) {
		snprintf(name, sizeof(name), "%04d.conf", i);
		put(drop, name, "\n");
	}
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(weft_config_load_env_explain(cfg, count_read, &nread,
	                                              err, sizeof(err)),
	                 0);
	assert_int_equal(nread, 1024);
	weft_config_free(cfg);
}


/*
 * Without XDG_CONFIG_HOME or HOME naming a folder (a relative HOME does
 * not), there is no user folder, and the report says why.
 */
static void
test_no_user_folder(void **state)
{
	struct weft_config *cfg;
	char err[1024] = "";

	(void)state;
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "relative/home", 1);
	assert_int_equal(weft_config_new(&cfg), 0);
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_seen("ignored user user files: neither XDG_CONFIG_HOME nor "
	            "HOME is set");
	unsetenv("HOME");
	assert_int_equal(load(cfg, err, sizeof(err)), 0);
	expect_seen("ignored user user files: neither XDG_CONFIG_HOME nor "
	            "HOME is set");
	weft_config_free(cfg);
}


/* A relative WEFT_SYSTEM_CONFIG_DIR is not taken: the built-in folder is. */
static void
test_relative_system_folder(void **state)
{
	struct weft_config *cfg;
	char err[1024] = "";

	(void)state;
	setenv("WEFT_SYSTEM_CONFIG_DIR", "relative/etc", 1);
	assert_int_equal(weft_config_new(&cfg), 0);
	/* The machine's own folder may hold anything: only the path counts. */
	(void)load(cfg, err, sizeof(err));
	expect_seen(" system " WEFT_SYSCONFDIR "/weft/weft.conf");
	assert_null(strstr(seen, "relative/etc"));
	weft_config_free(cfg);
}


int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_null_arguments, fresh),
	    cmocka_unit_test_setup(test_program_name_limits, fresh),
	    cmocka_unit_test_setup(test_set_allocator, fresh),
	    cmocka_unit_test_setup(test_file_kinds, fresh),
	    cmocka_unit_test_setup(test_dropin_folder, fresh),
	    cmocka_unit_test_setup(test_dropin_limit, fresh),
	    cmocka_unit_test_setup(test_no_user_folder, fresh),
	    cmocka_unit_test_setup(test_relative_system_folder, fresh),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
