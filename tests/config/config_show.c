/* SPDX-License-Identifier: MIT */
/*
 * Prints whether this process is privileged (AT_SECURE), then every file
 * the configuration layers considered and every key with its origin, as
 * `key = value from origin` lines.  test_privileged.sh runs it with and
 * without the set-group-ID bit.  Built with the configuration sources
 * compiled in and WEFT_SYSCONFDIR pointing into the build tree, because a
 * privileged process must not be redirected by the environment.
 */
#include <stdio.h>
#include <sys/auxv.h>

#include "config.h"

static void
show_file(const struct weft_config_file *f, void *data)
{
	(void)data;
	printf("file %d %s %s%s%s\n", f->status, f->layer, f->path,
	       f->reason ? ": " : "", f->reason ? f->reason : "");
}


int
main(void)
{
	struct weft_config *cfg;
	char err[1024];
	int i;

	printf("secure %lu\n", getauxval(AT_SECURE));
	if (weft_config_new(&cfg) < 0)
		return 1;
	if (weft_config_load_env_explain(cfg, show_file, NULL, err,
	                                 sizeof(err)) < 0) {
		fprintf(stderr, "config-show: %s\n", err);
		weft_config_free(cfg);
		return 1;
	}
	for (i = 0; i < KEY_COUNT; i++)
		printf("%s = %s from %s\n", weft__config_key_name(i),
		       weft_config_get(cfg, weft__config_key_name(i)),
		       weft_config_origin(cfg, weft__config_key_name(i)));
	weft_config_free(cfg);
	return 0;
}
