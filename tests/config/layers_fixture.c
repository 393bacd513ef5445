/* SPDX-License-Identifier: MIT */
/* The shared fixture of the configuration layer tests (layers_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "layers_fixture.h"

char tmpdir[] = "/tmp/weft-layers-XXXXXX";
char sysdir[4096];
char xdgdir[4096];
char userdir[4200];
char seen[16384];


void
record(const struct weft_config_file *f, void *data)
{
	static const char *const names[] = {"read", "missing", "skipped",
	                                    "ignored", "broken"};
	size_t n = strlen(seen);

	(void)data;
	assert_true(f->size >= sizeof(*f));
	assert_true(f->status >= 0 && f->status <= 4);
	snprintf(seen + n, sizeof(seen) - n, "%s %s %s%s%s\n", names[f->status],
	         f->layer, f->path, f->reason ? ": " : "",
	         f->reason ? f->reason : "");
}


void
put(const char *dir, const char *name, const char *text)
{
	char path[8192];
	FILE *f;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
}


void
run(const char *cmd)
{
	assert_int_equal(system(cmd), 0);
}


static void
clean_tree(void)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd),
	         "chmod -R u+rwx '%s'; rm -rf '%s/etc' '%s/xdg' '%s/home'",
	         tmpdir, tmpdir, tmpdir, tmpdir);
	run(cmd);
	mkdir(sysdir, 0755);
	mkdir(xdgdir, 0755);
	mkdir(userdir, 0755);
}


static void
clear_env(void)
{
	static const char *const vars[] = {
	    "WEFT_CONFIG",           "WEFT_EXECUTOR",
	    "WEFT_REACTOR",          "WEFT_WORKERS",
	    "WEFT_BLOCKING_THREADS", "WEFT_PLUGIN_PATH",
	    "XDG_CONFIG_HOME",       "HOME",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}


int
setup(void **state)
{
	(void)state;
	clear_env();
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sysdir, sizeof(sysdir), "%s/etc", tmpdir);
	snprintf(xdgdir, sizeof(xdgdir), "%s/xdg", tmpdir);
	snprintf(userdir, sizeof(userdir), "%s/weft", xdgdir);
	setenv("WEFT_SYSTEM_CONFIG_DIR", sysdir, 1);
	setenv("XDG_CONFIG_HOME", xdgdir, 1);
	return 0;
}


int
teardown(void **state)
{
	char cmd[8400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", tmpdir,
	         tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}


int
fresh(void **state)
{
	(void)state;
	clear_env();
	setenv("WEFT_SYSTEM_CONFIG_DIR", sysdir, 1);
	setenv("XDG_CONFIG_HOME", xdgdir, 1);
	clean_tree();
	seen[0] = '\0';
	return 0;
}


void
expect_key(const struct weft_config *cfg, const char *key, const char *val,
           const char *origin)
{
	const char *v = weft_config_get(cfg, key);
	const char *o = weft_config_origin(cfg, key);

	if (strcmp(v, val) != 0 || strcmp(o, origin) != 0)
		print_error("%s = %s from %s; wanted %s from %s\n", key, v, o,
		            val, origin);
	assert_string_equal(v, val);
	assert_string_equal(o, origin);
}


void
expect_seen(const char *line)
{
	const char *hit = strstr(seen, line);

	/* print_error's format is checked; a NULL hit is the failure. */
	if (!hit)
		print_error("no line \"%.*s\" in what the visitor saw:\n%s",
		            (int)strlen(line), line, seen);
	assert_non_null(hit);
}


const char *
at(const char *rel, int line)
{
	static char buf[8][4400];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s:%d", tmpdir, rel, line);
	return buf[i];
}


int
load(struct weft_config *cfg, char *err, size_t errlen)
{
	seen[0] = '\0';
	return weft_config_load_env_explain(cfg, record, NULL, err, errlen);
}
