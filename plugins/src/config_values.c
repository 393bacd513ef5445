/* SPDX-License-Identifier: MIT */
/*
 * The configuration's keys: their names, defaults and the checks that turn
 * a value into its canonical form ("yes" into "true", "007" into "7"), and
 * applying one value with a note of where it came from.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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


/*
 * The next entry of a plugin list ("io_uring, epoll"), its blanks around
 * it trimmed, into name; advances *cursor past it and its comma.  Returns
 * the entry's length (0 for an empty one), or -1 at the end of the list.
 * An entry longer than namelen - 1 is cut; the caller sees the length.
 */
int
weft__plugin_list_next(const char **cursor, char *name, size_t namelen)
{
	const char *p = *cursor;
	const char *end;
	size_t n;

	if (!p)
		return -1;
	end = strchr(p, ',');
	*cursor = end ? end + 1 : NULL;
	if (!end)
		end = p + strlen(p);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - p);
	if (namelen) {
		size_t k = n < namelen - 1 ? n : namelen - 1;

		memcpy(name, p, k);
		name[k] = '\0';
	}
	return n > INT32_MAX ? INT32_MAX : (int)n;
}


/*
 * executor and reactor: one plugin, or a fallback list of up to
 * WEFT__PLUGIN_LIST_MAX tried in order when the runtime opens ("io_uring,
 * epoll"), each entry a name or a path (so a path cannot hold a comma).
 * The canonical form separates entries with ", ".
 */
static int
check_plugin_list(const char *key, const char *val, char *dst, size_t dstlen,
                  char *why, size_t whylen)
{
	char q[96];
	char entry[256];
	char one[256];
	const char *cur = val;
	size_t o = 0;
	int count = 0;
	int n;
	int rc;

	if (!strchr(val, ','))
		return check_plugin(key, val, dst, dstlen, why, whylen);
	while ((n = weft__plugin_list_next(&cur, entry, sizeof(entry))) >= 0) {
		if (++count > WEFT__PLUGIN_LIST_MAX)
			return weft__fail(
			    why, whylen, WEFT_ECONFIG,
			    "%s lists more than %d plugins in %s", key,
			    WEFT__PLUGIN_LIST_MAX,
			    weft__config_quote(q, sizeof(q), val, strlen(val)));
		if (n == 0)
			return weft__fail(
			    why, whylen, WEFT_ECONFIG,
			    "%s: entry %d of %s is empty (a fallback list is "
			    "names or paths separated by commas)",
			    key, count,
			    weft__config_quote(q, sizeof(q), val, strlen(val)));
		/* Canonical forms are never longer than what was given. */
		rc = check_plugin(key, entry, one, sizeof(one), why, whylen);
		if (rc < 0)
			return rc;
		o += (size_t)snprintf(dst + o, dstlen - o, "%s%s",
		                      count > 1 ? ", " : "", one);
		if (o >= dstlen)
			return weft__fail(
			    why, whylen, WEFT_ECONFIG,
			    "%s: the list %s is too long", key,
			    weft__config_quote(q, sizeof(q), val, strlen(val)));
	}
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


/* A whole number from lo to hi, written in canonical decimal. */
static int
check_range(const char *key, const char *val, uint64_t lo, uint64_t hi,
            char *dst, size_t dstlen, char *why, size_t whylen)
{
	char q[96];
	uint64_t n = 0;
	const char *p;

	/* hi <= UINT64_MAX / 10 - 1, so n * 10 + 9 cannot wrap. */
	for (p = val; *p; p++) {
		if (!isdigit((unsigned char)*p) || n > hi)
			break;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p || p == val || n < lo || n > hi)
		return weft__fail(
		    why, whylen, WEFT_ECONFIG,
		    "%s must be a whole number from %llu to %llu, not %s", key,
		    (unsigned long long)lo, (unsigned long long)hi,
		    weft__config_quote(q, sizeof(q), val, strlen(val)));
	snprintf(dst, dstlen, "%llu", (unsigned long long)n);
	return 0;
}


/* A seed: "random" (the runtime draws one and reports it) or a number. */
static int
check_seed(const char *key, const char *val, char *dst, size_t dstlen,
           char *why, size_t whylen)
{
	char q[96];

	if (strcmp(val, "random") == 0) {
		snprintf(dst, dstlen, "random");
		return 0;
	}
	if (check_range(key, val, 0, UINT64_MAX / 10 - 1, dst, dstlen, NULL,
	                0) == 0)
		return 0;
	return weft__fail(why, whylen, WEFT_ECONFIG,
	                  "%s must be \"random\" or a whole number from 0 to "
	                  "%llu, not %s",
	                  key, (unsigned long long)(UINT64_MAX / 10 - 1),
	                  weft__config_quote(q, sizeof(q), val, strlen(val)));
}


static int
check_sim_mode(const char *key, const char *val, char *dst, size_t dstlen,
               char *why, size_t whylen)
{
	char q[96];

	if (strcmp(val, "random") != 0 && strcmp(val, "pct") != 0)
		return weft__fail(
		    why, whylen, WEFT_ECONFIG,
		    "%s must be \"random\" or \"pct\", not %s", key,
		    weft__config_quote(q, sizeof(q), val, strlen(val)));
	snprintf(dst, dstlen, "%s", val);
	return 0;
}


/* PCT's priority-change points: the depth of the bugs it aims at. */
static int
check_pct_depth(const char *key, const char *val, char *dst, size_t dstlen,
                char *why, size_t whylen)
{
	return check_range(key, val, 1, 64, dst, dstlen, why, whylen);
}


/* A probability from 0 to 1: "0", "0.01", "1e-3". */
static int
check_probability(const char *key, const char *val, char *dst, size_t dstlen,
                  char *why, size_t whylen)
{
	char q[96];
	char *end = NULL;
	double p;

	errno = 0;
	p = strtod(val, &end);
	if (errno || end == val || *end || !(p >= 0.0 && p <= 1.0))
		return weft__fail(
		    why, whylen, WEFT_ECONFIG,
		    "%s must be a probability from 0 to 1, not %s", key,
		    weft__config_quote(q, sizeof(q), val, strlen(val)));
	snprintf(dst, dstlen, "%.6g", p);
	return 0;
}


/*
 * A duration: a whole number with a unit (ns, us, ms, s, m, h), or "0"
 * for none; written in canonical form as nanoseconds.
 */
static int
check_duration(const char *key, const char *val, char *dst, size_t dstlen,
               char *why, size_t whylen)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {{"ns", 1},
	             {"us", 1000},
	             {"ms", 1000000},
	             {"s", 1000000000ull},
	             {"m", 60000000000ull},
	             {"h", 3600000000000ull}};
	char q[96];
	uint64_t n = 0;
	const char *p;
	size_t i;

	for (p = val; isdigit((unsigned char)*p) && n < UINT64_MAX / 100; p++)
		n = n * 10 + (uint64_t)(*p - '0');
	if (p != val && *p == '\0' && n == 0) {
		snprintf(dst, dstlen, "0");
		return 0;
	}
	for (i = 0; p != val && i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].unit) == 0 &&
		    n <= UINT64_MAX / units[i].ns) {
			snprintf(dst, dstlen, "%lluns",
			         (unsigned long long)(n * units[i].ns));
			return 0;
		}
	return weft__fail(why, whylen, WEFT_ECONFIG,
	                  "%s must be 0 or a whole number with a unit (ns, us, "
	                  "ms, s, m, h), not %s",
	                  key,
	                  weft__config_quote(q, sizeof(q), val, strlen(val)));
}


/* Milliseconds for the slow-poll detector; 0 switches it off. */
static int
check_slow_poll(const char *key, const char *val, char *dst, size_t dstlen,
                char *why, size_t whylen)
{
	return check_range(key, val, 0, 3600000, dst, dstlen, why, whylen);
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
    KEY(KEY_EXECUTOR, executor, check_plugin_list),
    KEY(KEY_REACTOR, reactor, check_plugin_list),
    KEY(KEY_WORKERS, workers, check_workers),
    KEY(KEY_PLUGIN_PATH, plugin_path, check_any),
    KEY(KEY_USE_ENV, use_env, check_bool),
    KEY(KEY_BLOCKING_THREADS, blocking_threads, check_workers),
    KEY(KEY_ALLOW_WRITABLE, allow_writable_plugins, check_bool),
    KEY(KEY_SIM_SEED, sim_seed, check_seed),
    KEY(KEY_SIM_MODE, sim_mode, check_sim_mode),
    KEY(KEY_SIM_PCT_DEPTH, sim_pct_depth, check_pct_depth),
    KEY(KEY_SIM_FAULTS, sim_faults, check_probability),
    KEY(KEY_SIM_TIMEOUT, sim_timeout, check_duration),
    KEY(KEY_SLOW_POLL_MS, slow_poll_ms, check_slow_poll),
    KEY(KEY_CONSOLE, console, check_bool),
    KEY(KEY_IO_COMPLETION, io_completion, check_bool),
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


void
weft__config_defaults(struct weft_config *cfg)
{
	int i;

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
	snprintf(cfg->sim_seed, sizeof(cfg->sim_seed), "random");
	snprintf(cfg->sim_mode, sizeof(cfg->sim_mode), "random");
	snprintf(cfg->sim_pct_depth, sizeof(cfg->sim_pct_depth), "3");
	snprintf(cfg->sim_faults, sizeof(cfg->sim_faults), "0");
	snprintf(cfg->sim_timeout, sizeof(cfg->sim_timeout), "0");
	snprintf(cfg->slow_poll_ms, sizeof(cfg->slow_poll_ms), "0");
	snprintf(cfg->console, sizeof(cfg->console), "false");
	snprintf(cfg->io_completion, sizeof(cfg->io_completion), "true");
	for (i = 0; i < KEY_COUNT; i++)
		snprintf(cfg->origin[i], sizeof(cfg->origin[i]), "default");
}


int
weft__config_apply(struct weft_config *cfg, int id, const char *val, size_t n,
                   const char *where, const char *origin, char *err,
                   size_t errlen)
{
	const struct key_desc *k = &keys[id];
	char why[512];
	char buf[SETTING_SIZE(plugin_path)];
	char out[SETTING_SIZE(plugin_path)];
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
	rc = k->check(k->name, buf, out, k->size, why, sizeof(why));
	if (rc == 0) {
		if (cfg) {
			memcpy((char *)cfg + k->offset, out, strlen(out) + 1);
			snprintf(cfg->origin[id], sizeof(cfg->origin[id]), "%s",
			         origin ? origin : "application");
		}
		return 0;
	}
fail:
	if (where)
		return weft__fail(err, errlen, rc, "%s: %s", where, why);
	return weft__fail(err, errlen, rc, "%s", why);
}


char *
weft__config_value(struct weft_config *cfg, int id)
{
	return (char *)cfg + keys[id].offset;
}
