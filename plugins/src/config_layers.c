/* SPDX-License-Identifier: MIT */
/*
 * The configuration files of one folder in the standard places
 * ($(sysconfdir)/weft, ~/.config/weft): weft.conf, then the drop-ins
 * weft.conf.d/ *.conf in name order, each applied as a layer of its own.
 * What was read, missing, skipped or ignored is told to the visitor of
 * weft_config_load_env_explain(), so that `weft info --explain` can show
 * it.
 *
 * A file that is missing is no error: the places are optional.  One that
 * cannot be read or that another user could have written is skipped, with
 * the reason reported; trusting it would let that user pick the code this
 * process loads.  A file that was read but holds a broken line is an
 * error: a typo in a system file must not silently run the program with
 * another configuration.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "config.h"

/* More drop-ins than this in one folder is a mistake; the rest is refused. */
#define DROPINS_MAX 1024

int
weft__config_privileged(void)
{
	/* What secure_getenv() decides by: set-user-ID, set-group-ID, ... */
	return getauxval(AT_SECURE) != 0;
}


void
weft__config_report(const struct weft__config_report *r, int status,
                    const char *layer, const char *path, const char *reason)
{
	struct weft_config_file f;
	size_t n = strlen(path);

	if (!r || !r->fn)
		return;
	/* Messages start with the path, which the report names already. */
	if (reason && strncmp(reason, path, n) == 0 && reason[n] == ':' &&
	    reason[n + 1] == ' ')
		reason += n + 2;
	memset(&f, 0, sizeof(f));
	f.size = sizeof(f);
	f.status = status;
	f.layer = layer;
	f.path = path;
	f.reason = reason;
	r->fn(&f, r->data);
}


/* One file of a standard place: skipped when refused, an error if broken. */
static int
load_one(struct weft_config *cfg, const char *path, const char *layer,
         unsigned flags, const struct weft__config_report *r, char *err,
         size_t errlen)
{
	char why[1024];
	int fatal;
	int rc;

	why[0] = '\0';
	rc = weft__config_load_path(cfg, path, flags, &fatal, why, sizeof(why));
	if (rc == 0) {
		weft__config_report(r, WEFT_CONFIG_FILE_READ, layer, path,
		                    NULL);
		return 0;
	}
	if (fatal) {
		weft__config_report(r, WEFT_CONFIG_FILE_BROKEN, layer, path,
		                    why);
		return weft__fail(err, errlen, rc, "%s", why);
	}
	weft__config_report(r,
	                    rc == -ENOENT ? WEFT_CONFIG_FILE_MISSING
	                                  : WEFT_CONFIG_FILE_SKIPPED,
	                    layer, path, rc == -ENOENT ? NULL : why);
	return 0;
}


/* A drop-in: NAME.conf, not hidden (editors leave .x.conf.swp and such). */
static int
is_dropin(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}


static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}


/*
 * The drop-ins of folder d, in strcmp() order (bytes, not the locale, so
 * that every process sees the same order).  Returns how many, or -ENOMEM.
 */
static int
list_dropins(DIR *d, char ***out)
{
	char **names = NULL;
	struct dirent *de;
	size_t count = 0;
	size_t cap = 0;

	while ((de = readdir(d)) != NULL && count < DROPINS_MAX) {
		if (!is_dropin(de->d_name))
			continue;
		if (count == cap) {
			char **grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown)
				goto nomem;
			names = grown;
		}
		names[count] = strdup(de->d_name);
		if (!names[count])
			goto nomem;
		count++;
	}
	if (count > 1)
		qsort(names, count, sizeof(*names), cmp_str);
	*out = names;
	return (int)count;

nomem:
	while (count > 0)
		free(names[--count]);
	free(names);
	return -ENOMEM;
}


int
weft__config_load_dir(struct weft_config *cfg, const char *dir,
                      const char *layer, unsigned flags,
                      const struct weft__config_report *r, char *err,
                      size_t errlen)
{
	char path[4096 + 256];
	char layer_d[64];
	char **names = NULL;
	int count;
	int rc;
	int i;
	DIR *d;

	snprintf(path, sizeof(path), "%s/weft.conf", dir);
	rc = load_one(cfg, path, layer, flags, r, err, errlen);
	if (rc < 0)
		return rc;
	snprintf(layer_d, sizeof(layer_d), "%s drop-in", layer);
	snprintf(path, sizeof(path), "%s/weft.conf.d", dir);
	d = opendir(path);
	if (!d) {
		rc = -errno;
		weft__config_report(r,
		                    rc == -ENOENT ? WEFT_CONFIG_FILE_MISSING
		                                  : WEFT_CONFIG_FILE_SKIPPED,
		                    layer_d, path,
		                    rc == -ENOENT ? NULL : weft_strerror(rc));
		return 0;
	}
	count = list_dropins(d, &names);
	closedir(d);
	if (count < 0)
		return weft__fail(err, errlen, count, "%s: out of memory",
		                  path);
	rc = 0;
	for (i = 0; i < count; i++) {
		if (rc == 0) {
			snprintf(path, sizeof(path), "%s/weft.conf.d/%s", dir,
			         names[i]);
			rc =
			    load_one(cfg, path, layer_d, flags, r, err, errlen);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}
