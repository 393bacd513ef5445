/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the weft_config object, its `key = value` text format, the
 * WEFT_* environment variables, and their resolution into the settings a
 * runtime is opened with.
 *
 * A weft_config holds every key as text and starts out holding the
 * defaults, so weft_config_get() always has an answer for a known key and
 * the layers (defaults < application < WEFT_CONFIG file < variables) are
 * simply applied in order on top of each other.  Every layer is applied to
 * a copy first and committed only when all of it is valid, so a bad file
 * never leaves a half-applied configuration behind.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#ifndef WEFT_PLUGINDIR
#error "WEFT_PLUGINDIR must name the installed plugin folder"
#endif

/* A worker count beyond this is a typo, not a machine. */
#define WORKERS_MAX 4096u

/* Plugin names must fit a descriptor name (see loader.c). */
#define NAME_MAX_LEN 63

/*
 * Checks a value and writes its canonical form into dst (dstlen bytes,
 * larger than the value).  Returns 0, or WEFT_ECONFIG with the reason in
 * why.
 */
typedef int (*check_fn)(const char *key, const char *val, char *dst,
                        size_t dstlen, char *why, size_t whylen);

struct key_desc {
	const char *name;
	size_t offset;
	size_t size;
	check_fn check;
};

/*
 * Writes s (n bytes) into out as a double-quoted string, with bytes that
 * are not printable ASCII escaped and long values shortened, so that a
 * message quoting arbitrary input stays one readable line.
 */
const char *
weft__config_quote(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = 0;
	size_t i;

	out[o++] = '"';
	for (i = 0; i < n && o + 8 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o +=
			    (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	if (i < n)
		o += (size_t)snprintf(out + o, outlen - o, "...");
	out[o++] = '"';
	out[o] = '\0';
	return out;
}


static int
check_plugin(const char *key, const char *val, char *dst, size_t dstlen,
             char *why, size_t whylen)
{
	char q[96];
	size_t n = strlen(val);
	size_t i;

	/*
	 * A value with a '/' is a path and is loaded as given.  Anything else
	 * is a name, and names are restricted so that one can never walk out
	 * of the plugin folders ("../x") or be mistaken for a path.
	 */
	if (!strchr(val, '/')) {
		for (i = 0; i < n; i++) {
			char c = val[i];

			/* Not islower(): a locale must not widen the set. */
			if (!((c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '_' || c == '-'))
				break;
		}
		if (i < n || n > NAME_MAX_LEN)
			return weft__fail(
			    why, whylen, WEFT_ECONFIG,
			    "invalid %s name %s: a name is 1 to %d of "
			    "a-z, 0-9, '_' and '-'; a path must contain "
			    "'/'",
			    key, weft__config_quote(q, sizeof(q), val, n),
			    NAME_MAX_LEN);
	}
	snprintf(dst, dstlen, "%s", val);
	return 0;
}


static int
check_workers(const char *key, const char *val, char *dst, size_t dstlen,
              char *why, size_t whylen)
{
	char q[96];
	unsigned long n = 0;
	const char *p;

	for (p = val; *p; p++) {
		if (!isdigit((unsigned char)*p) || n > WORKERS_MAX)
			break;
		n = n * 10 + (unsigned long)(*p - '0');
	}
	if (*p || n > WORKERS_MAX)
		return weft__fail(
		    why, whylen, WEFT_ECONFIG,
		    "%s must be a whole number from 0 to %u, "
		    "not %s",
		    key, WORKERS_MAX,
		    weft__config_quote(q, sizeof(q), val, strlen(val)));
	snprintf(dst, dstlen, "%lu", n);
	return 0;
}


static int
check_bool(const char *key, const char *val, char *dst, size_t dstlen,
           char *why, size_t whylen)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	char q[96];
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcmp(val, yes[i]) == 0) {
			snprintf(dst, dstlen, "true");
			return 0;
		}
		if (strcmp(val, no[i]) == 0) {
			snprintf(dst, dstlen, "false");
			return 0;
		}
	}
	return weft__fail(why, whylen, WEFT_ECONFIG,
	                  "%s must be \"true\" or \"false\", not %s", key,
	                  weft__config_quote(q, sizeof(q), val, strlen(val)));
}


static int
check_any(const char *key, const char *val, char *dst, size_t dstlen, char *why,
          size_t whylen)
{
	(void)key;
	(void)why;
	(void)whylen;
	snprintf(dst, dstlen, "%s", val);
	return 0;
}


#define KEY(id, field, fn)                                                     \
	[id] = {#field, offsetof(struct weft_config, field),                   \
	        sizeof(((struct weft_config *)0)->field), fn}

static const struct key_desc keys[KEY_COUNT] = {
    KEY(KEY_EXECUTOR, executor, check_plugin),
    KEY(KEY_REACTOR, reactor, check_plugin),
    KEY(KEY_WORKERS, workers, check_workers),
    KEY(KEY_PLUGIN_PATH, plugin_path, check_any),
    KEY(KEY_USE_ENV, use_env, check_bool),
    KEY(KEY_BLOCKING_THREADS, blocking_threads, check_workers),
    KEY(KEY_ALLOW_WRITABLE, allow_writable_plugins, check_bool),
};

int
weft__config_key_find(const char *name, size_t n)
{
	int i;

	for (i = 0; i < KEY_COUNT; i++)
		if (strlen(keys[i].name) == n &&
		    memcmp(keys[i].name, name, n) == 0)
			return i;
	return -1;
}


const char *
weft__config_key_name(int id)
{
	return keys[id].name;
}


static void
config_defaults(struct weft_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->executor, sizeof(cfg->executor), "single");
	snprintf(cfg->reactor, sizeof(cfg->reactor), "epoll");
	snprintf(cfg->plugin_path, sizeof(cfg->plugin_path), "%s",
	         WEFT_PLUGINDIR);
	snprintf(cfg->workers, sizeof(cfg->workers), "0");
	snprintf(cfg->use_env, sizeof(cfg->use_env), "true");
	snprintf(cfg->blocking_threads, sizeof(cfg->blocking_threads), "0");
	snprintf(cfg->allow_writable_plugins,
	         sizeof(cfg->allow_writable_plugins), "false");
}


int
weft__config_apply(struct weft_config *cfg, int id, const char *val, size_t n,
                   const char *where, char *err, size_t errlen)
{
	const struct key_desc *k = &keys[id];
	char why[512];
	char buf[SETTING_SIZE(plugin_path)];
	size_t i;
	int rc;

	why[0] = '\0';
	if (n == 0) {
		rc = weft__fail(why, sizeof(why), WEFT_ECONFIG,
		                "empty value for \"%s\"", k->name);
		goto fail;
	}
	/* Canonical forms are never longer than what was given. */
	if (n >= k->size) {
		rc = weft__fail(why, sizeof(why), WEFT_ECONFIG,
		                "value of \"%s\" is too long (%zu bytes, at "
		                "most %zu)",
		                k->name, n, k->size - 1);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)val[i];

		if (c < 0x20 || c == 0x7f) {
			rc = weft__fail(
			    why, sizeof(why), WEFT_ECONFIG,
			    "value of \"%s\" contains %s (byte "
			    "0x%02x)",
			    k->name, c ? "a control character" : "a NUL byte",
			    c);
			goto fail;
		}
	}
	memcpy(buf, val, n);
	buf[n] = '\0';
	rc = k->check(k->name, buf, (char *)cfg + k->offset, k->size, why,
	              sizeof(why));
	if (rc == 0)
		return 0;
fail:
	if (where)
		return weft__fail(err, errlen, rc, "%s: %s", where, why);
	return weft__fail(err, errlen, rc, "%s", why);
}


WEFT_EXPORT int
weft_config_new(struct weft_config **cfg)
{
	if (!cfg)
		return -EINVAL;
	*cfg = malloc(sizeof(**cfg));
	if (!*cfg)
		return -ENOMEM;
	config_defaults(*cfg);
	return 0;
}


WEFT_EXPORT void
weft_config_free(struct weft_config *cfg)
{
	free(cfg);
}


WEFT_EXPORT int
weft_config_set(struct weft_config *cfg, const char *key, const char *value,
                char *err, size_t errlen)
{
	char q[96];
	int id;

	if (!cfg || !key || !value)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft_config_set: NULL argument");
	id = weft__config_key_find(key, strlen(key));
	if (id < 0)
		return weft__fail(
		    err, errlen, WEFT_ECONFIG, "unknown key %s",
		    weft__config_quote(q, sizeof(q), key, strlen(key)));
	return weft__config_apply(cfg, id, value, strlen(value), NULL, err,
	                          errlen);
}


static const struct {
	const char *var;
	enum key_id id;
} env_keys[] = {
    {"WEFT_EXECUTOR", KEY_EXECUTOR},
    {"WEFT_REACTOR", KEY_REACTOR},
    {"WEFT_WORKERS", KEY_WORKERS},
    {"WEFT_BLOCKING_THREADS", KEY_BLOCKING_THREADS},
    {"WEFT_PLUGIN_PATH", KEY_PLUGIN_PATH},
};

WEFT_EXPORT int
weft_config_load_env(struct weft_config *cfg, char *err, size_t errlen)
{
	struct weft_config work;
	char where[64];
	const char *v;
	size_t i;
	int rc;

	if (!cfg)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft_config_load_env: NULL argument");
	if (strcmp(cfg->use_env, "true") != 0)
		return 0;
	work = *cfg;
	/*
	 * secure_getenv: a set-user-ID program must not let its caller pick
	 * the code it loads.  Empty variables count as unset, as is usual for
	 * search-path style variables.
	 */
	v = secure_getenv("WEFT_CONFIG");
	if (v && *v) {
		rc = weft_config_load_file(&work, v, err, errlen);
		if (rc < 0)
			return rc;
	}
	/*
	 * The file named by WEFT_CONFIG belongs to the operator too, so its
	 * use_env = false switches off the variables below.
	 */
	for (i = 0; strcmp(work.use_env, "true") == 0 &&
	            i < sizeof(env_keys) / sizeof(env_keys[0]);
	     i++) {
		v = secure_getenv(env_keys[i].var);
		if (!v || !*v)
			continue;
		snprintf(where, sizeof(where), "environment variable %s",
		         env_keys[i].var);
		rc = weft__config_apply(&work, env_keys[i].id, v, strlen(v),
		                        where, err, errlen);
		if (rc < 0)
			return rc;
	}
	*cfg = work;
	return 0;
}


WEFT_EXPORT const char *
weft_config_get(const struct weft_config *cfg, const char *key)
{
	int id;

	if (!cfg || !key)
		return NULL;
	id = weft__config_key_find(key, strlen(key));
	if (id < 0)
		return NULL;
	return (const char *)cfg + keys[id].offset;
}


int
weft__settings_resolve(struct weft__settings *out,
                       const struct weft_config *cfg, char *err, size_t errlen)
{
	struct weft_config work;
	int rc;

	if (!out)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft__settings_resolve: NULL argument");
	if (cfg)
		work = *cfg;
	else
		config_defaults(&work);
	rc = weft_config_load_env(&work, err, errlen);
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	memcpy(out->executor, work.executor, sizeof(out->executor));
	memcpy(out->reactor, work.reactor, sizeof(out->reactor));
	memcpy(out->plugin_path, work.plugin_path, sizeof(out->plugin_path));
	/* check_workers() only ever stores a number no larger than the cap. */
	out->workers = (unsigned)strtoul(work.workers, NULL, 10);
	out->blocking_threads =
	    (unsigned)strtoul(work.blocking_threads, NULL, 10);
	out->use_env = strcmp(work.use_env, "true") == 0;
	out->allow_writable = strcmp(work.allow_writable_plugins, "true") == 0;
	out->alloc = work.alloc;
	return 0;
}


WEFT_EXPORT int
weft_config_set_allocator(struct weft_config *cfg,
                          const struct weft_allocator *a)
{
	if (!cfg)
		return -EINVAL;
	if (!a) {
		memset(&cfg->alloc, 0, sizeof(cfg->alloc));
		return 0;
	}
	if (a->version < 1 || !a->alloc || !a->free)
		return -EINVAL;
	cfg->alloc = *a;
	cfg->alloc.version = WEFT_ALLOCATOR_VERSION;
	return 0;
}
