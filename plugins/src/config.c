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

#include "internal.h"

#ifndef WEFT_PLUGINDIR
#error "WEFT_PLUGINDIR must name the installed plugin folder"
#endif

#define SETTING_SIZE(member) sizeof(((struct weft__settings *)0)->member)

/* A worker count beyond this is a typo, not a machine. */
#define WORKERS_MAX 4096u

/* Configuration files are a few lines; anything larger is a mistake. */
#define FILE_MAX (1u << 20)

/* Plugin names must fit a descriptor name (see loader.c). */
#define NAME_MAX_LEN 63

struct weft_config {
	char executor[SETTING_SIZE(executor)];
	char reactor[SETTING_SIZE(reactor)];
	char plugin_path[SETTING_SIZE(plugin_path)];
	char workers[16];
	char use_env[8];
	char blocking_threads[16];
	char allow_writable_plugins[8];
	/* Not a key: set by weft_config_set_allocator; version 0 = none. */
	struct weft_allocator alloc;
};

enum key_id {
	KEY_EXECUTOR,
	KEY_REACTOR,
	KEY_WORKERS,
	KEY_PLUGIN_PATH,
	KEY_USE_ENV,
	KEY_BLOCKING_THREADS,
	KEY_ALLOW_WRITABLE,
	KEY_COUNT,
};

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
static const char *
quote(char *out, size_t outlen, const char *s, size_t n)
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
			    key, quote(q, sizeof(q), val, n), NAME_MAX_LEN);
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
		return weft__fail(why, whylen, WEFT_ECONFIG,
		                  "%s must be a whole number from 0 to %u, "
		                  "not %s",
		                  key, WORKERS_MAX,
		                  quote(q, sizeof(q), val, strlen(val)));
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
	                  quote(q, sizeof(q), val, strlen(val)));
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

static int
key_find(const char *name, size_t n)
{
	int i;

	for (i = 0; i < KEY_COUNT; i++)
		if (strlen(keys[i].name) == n &&
		    memcmp(keys[i].name, name, n) == 0)
			return i;
	return -1;
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


/*
 * Sets key `id` from val (n bytes, which may hold anything).  `where`
 * prefixes the message ("weft.conf:3"), or is NULL.
 */
static int
config_apply(struct weft_config *cfg, int id, const char *val, size_t n,
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


static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}


static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_blank(**s))
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]))
		(*e)--;
}


/*
 * Splits the value part of a line (s..e, already trimmed) into the value
 * itself: quoted with "..." or '...' (no escapes, so that Windows-style and
 * odd paths survive), or bare up to a '#' comment.
 */
static int
parse_value(const char **s, const char **e, char *why, size_t whylen)
{
	const char *close;
	const char *rest;

	if (*s < *e && (**s == '"' || **s == '\'')) {
		close = memchr(*s + 1, **s, (size_t)(*e - *s - 1));
		if (!close)
			return weft__fail(why, whylen, WEFT_ECONFIG,
			                  "unterminated quote");
		rest = close + 1;
		while (rest < *e && is_blank(*rest))
			rest++;
		if (rest < *e && *rest != '#')
			return weft__fail(why, whylen, WEFT_ECONFIG,
			                  "unexpected text after the closing "
			                  "quote");
		(*s)++;
		*e = close;
		return 0;
	}
	close = memchr(*s, '#', (size_t)(*e - *s));
	if (close)
		*e = close;
	trim(s, e);
	return 0;
}


static int
parse_line(struct weft_config *cfg, const char *s, const char *e,
           const char *where, unsigned *seen, unsigned line, char *err,
           size_t errlen)
{
	const char *eq;
	const char *ks;
	const char *ke;
	char why[128];
	char q[96];
	int id;

	if (memchr(s, '\0', (size_t)(e - s)))
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: line contains a NUL byte", where);
	trim(&s, &e);
	if (s == e || *s == '#')
		return 0;
	eq = memchr(s, '=', (size_t)(e - s));
	if (!eq)
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: missing '=' (expected key = value)",
		                  where);
	ks = s;
	ke = eq;
	trim(&ks, &ke);
	if (ks == ke)
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: missing key before '='", where);
	id = key_find(ks, (size_t)(ke - ks));
	if (id < 0)
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: unknown key %s", where,
		                  quote(q, sizeof(q), ks, (size_t)(ke - ks)));
	if (seen[id])
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: duplicate key \"%s\" (already set on "
		                  "line %u)",
		                  where, keys[id].name, seen[id]);
	seen[id] = line;
	s = eq + 1;
	trim(&s, &e);
	if (parse_value(&s, &e, why, sizeof(why)) < 0)
		return weft__fail(err, errlen, WEFT_ECONFIG, "%s: %s", where,
		                  why);
	return config_apply(cfg, id, s, (size_t)(e - s), where, err, errlen);
}


/* Parses len bytes of text, which may contain anything. */
static int
config_parse(struct weft_config *cfg, const char *text, size_t len,
             const char *origin, char *err, size_t errlen)
{
	struct weft_config work = *cfg;
	unsigned seen[KEY_COUNT] = {0};
	const char *p = text;
	const char *end = text + len;
	char where[512];
	unsigned line = 1;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		snprintf(where, sizeof(where), "%s:%u", origin, line);
		rc = parse_line(&work, p, eol, where, seen, line, err, errlen);
		if (rc < 0)
			return rc;
		p = eol + 1;
		line++;
	}
	*cfg = work;
	return 0;
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
	id = key_find(key, strlen(key));
	if (id < 0)
		return weft__fail(err, errlen, WEFT_ECONFIG, "unknown key %s",
		                  quote(q, sizeof(q), key, strlen(key)));
	return config_apply(cfg, id, value, strlen(value), NULL, err, errlen);
}


WEFT_EXPORT int
weft_config_load_string(struct weft_config *cfg, const char *text,
                        const char *origin, char *err, size_t errlen)
{
	if (!cfg || !text)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft_config_load_string: NULL argument");
	return config_parse(cfg, text, strlen(text),
	                    origin ? origin : "<string>", err, errlen);
}


/* Reads all of path into a new buffer; *len excludes the added NUL. */
static int
read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;
	int rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		return weft__fail(err, errlen, rc, "%s: cannot open: %s", path,
		                  weft_strerror(rc));
	}
	buf = malloc(FILE_MAX + 1);
	if (!buf) {
		rc =
		    weft__fail(err, errlen, -ENOMEM, "%s: out of memory", path);
		goto out_close;
	}
	for (;;) {
		r = read(fd, buf + n, FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			weft__fail(err, errlen, rc, "%s: cannot read: %s", path,
			           weft_strerror(rc));
			goto out_free;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > FILE_MAX) {
			rc = weft__fail(err, errlen, WEFT_ECONFIG,
			                "%s: file is larger than %u bytes",
			                path, FILE_MAX);
			goto out_free;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	close(fd);
	return 0;

out_free:
	free(buf);
out_close:
	close(fd);
	return rc;
}


WEFT_EXPORT int
weft_config_load_file(struct weft_config *cfg, const char *path, char *err,
                      size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!cfg || !path)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft_config_load_file: NULL argument");
	rc = read_file(path, &text, &len, err, errlen);
	if (rc < 0)
		return rc;
	rc = config_parse(cfg, text, len, path, err, errlen);
	free(text);
	return rc;
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
		rc = config_apply(&work, env_keys[i].id, v, strlen(v), where,
		                  err, errlen);
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
	id = key_find(key, strlen(key));
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
