/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the weft_config object, its keys and values, the WEFT_*
 * environment variables, the order of the layers, and their resolution
 * into the settings a runtime is opened with.
 *
 * A weft_config holds every key as text and starts out holding the
 * defaults, so weft_config_get() always has an answer for a known key and
 * the layers (defaults < application < system files < user files <
 * WEFT_CONFIG file < variables) are simply applied in order on top of each
 * other.  Every layer is applied to a copy first and committed only when
 * all of it is valid, so a bad file never leaves a half-applied
 * configuration behind.  Each key remembers the layer that set it, for
 * weft info --explain.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"

#ifndef WEFT_SYSCONFDIR
#error "WEFT_SYSCONFDIR must name the installed configuration folder"
#endif

WEFT_EXPORT int
weft_config_new(struct weft_config **cfg)
{
	if (!cfg)
		return -EINVAL;
	*cfg = malloc(sizeof(**cfg));
	if (!*cfg)
		return -ENOMEM;
	weft__config_defaults(*cfg);
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
	return weft__config_apply(cfg, id, value, strlen(value), NULL,
	                          "application", err, errlen);
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
    {"WEFT_SIM_SEED", KEY_SIM_SEED},
    {"WEFT_SIM_MODE", KEY_SIM_MODE},
    {"WEFT_SIM_PCT_DEPTH", KEY_SIM_PCT_DEPTH},
    {"WEFT_SIM_FAULTS", KEY_SIM_FAULTS},
    {"WEFT_SIM_TIMEOUT", KEY_SIM_TIMEOUT},
    {"WEFT_SLOW_POLL_MS", KEY_SLOW_POLL_MS},
    {"WEFT_CONSOLE", KEY_CONSOLE},
    {"WEFT_IO_COMPLETION", KEY_IO_COMPLETION},
};


static int
use_env(const struct weft_config *cfg)
{
	return strcmp(cfg->use_env, "true") == 0;
}


/* Reports the layers a use_env = false left out, and why. */
static void
report_off(const struct weft__config_report *r, const struct weft_config *cfg,
           const char *layer, const char *path)
{
	char why[ORIGIN_LEN + 64];

	snprintf(why, sizeof(why), "use_env = false (%s)",
	         cfg->origin[KEY_USE_ENV]);
	weft__config_report(r, WEFT_CONFIG_FILE_IGNORED, layer, path, why);
}


/*
 * The system folder: $(sysconfdir)/weft, or WEFT_SYSTEM_CONFIG_DIR, which
 * secure_getenv() hides from a privileged process, so that only those who
 * could run the program with any configuration anyway can point it
 * elsewhere (the tests do).
 */
static void
system_dir(char *out, size_t outlen)
{
	const char *v = secure_getenv("WEFT_SYSTEM_CONFIG_DIR");

	if (v && v[0] == '/')
		snprintf(out, outlen, "%s", v);
	else
		snprintf(out, outlen, "%s/weft", WEFT_SYSCONFDIR);
}


/*
 * The user's folder, $XDG_CONFIG_HOME/weft or else ~/.config/weft; the XDG
 * base directory rules ignore a relative XDG_CONFIG_HOME.  0, or -ENOENT
 * when neither variable names a folder.
 */
static int
user_dir(char *out, size_t outlen)
{
	const char *v = secure_getenv("XDG_CONFIG_HOME");

	if (v && v[0] == '/') {
		snprintf(out, outlen, "%s/weft", v);
		return 0;
	}
	v = secure_getenv("HOME");
	if (v && v[0] == '/') {
		snprintf(out, outlen, "%s/.config/weft", v);
		return 0;
	}
	return -ENOENT;
}


/* WEFT_CONFIG: named by the operator, so every failure is an error. */
static int
load_env_file(struct weft_config *work, const struct weft__config_report *r,
              char *err, size_t errlen)
{
	const char *v = secure_getenv("WEFT_CONFIG");
	int fatal;
	int rc;

	if (!v || !*v)
		return 0;
	rc = weft__config_load_path(work, v, 0, &fatal, err, errlen);
	weft__config_report(r,
	                    rc == 0 ? WEFT_CONFIG_FILE_READ
	                    : fatal ? WEFT_CONFIG_FILE_BROKEN
	                            : WEFT_CONFIG_FILE_SKIPPED,
	                    "WEFT_CONFIG", v, rc == 0 ? NULL : err);
	return rc;
}


static int
load_env_vars(struct weft_config *work, char *err, size_t errlen)
{
	char where[64];
	const char *v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(env_keys) / sizeof(env_keys[0]); i++) {
		v = secure_getenv(env_keys[i].var);
		if (!v || !*v)
			continue;
		snprintf(where, sizeof(where), "environment variable %s",
		         env_keys[i].var);
		rc = weft__config_apply(work, env_keys[i].id, v, strlen(v),
		                        where, env_keys[i].var, err, errlen);
		if (rc < 0)
			return rc;
	}
	return 0;
}


/*
 * The layers above the application's, in order.  The application's
 * use_env = false keeps all of them out; a layer that sets it keeps out
 * the ones after it.  A privileged process reads only the system files:
 * the user's files and the environment belong to its caller.
 * secure_getenv() already hides the variables from it; the user's files
 * need saying.
 */
static int
load_layers(struct weft_config *work, const struct weft__config_report *r,
            char *err, size_t errlen)
{
	int privileged = weft__config_privileged();
	unsigned flags =
	    WEFT__CONFIG_TRUSTED | (privileged ? WEFT__CONFIG_PRIVILEGED : 0);
	char dir[4096];
	int rc;

	if (!use_env(work)) {
		report_off(r, work, "all", "files and WEFT_* variables");
		return 0;
	}
	system_dir(dir, sizeof(dir));
	rc = weft__config_load_dir(work, dir, "system", flags, r, err, errlen);
	if (rc < 0)
		return rc;
	if (!use_env(work)) {
		report_off(r, work, "user", "user files");
		report_off(r, work, "environment",
		           "WEFT_CONFIG, WEFT_* variables");
		return 0;
	}
	if (privileged) {
		weft__config_report(r, WEFT_CONFIG_FILE_IGNORED, "user",
		                    "user files", "privileged process");
		weft__config_report(r, WEFT_CONFIG_FILE_IGNORED, "environment",
		                    "WEFT_CONFIG, WEFT_* variables",
		                    "privileged process");
		return 0;
	}
	if (user_dir(dir, sizeof(dir)) < 0)
		weft__config_report(r, WEFT_CONFIG_FILE_IGNORED, "user",
		                    "user files",
		                    "neither XDG_CONFIG_HOME nor HOME is set");
	else if ((rc = weft__config_load_dir(work, dir, "user", flags, r, err,
	                                     errlen)) < 0)
		return rc;
	if (!use_env(work)) {
		report_off(r, work, "environment",
		           "WEFT_CONFIG, WEFT_* variables");
		return 0;
	}
	rc = load_env_file(work, r, err, errlen);
	if (rc < 0)
		return rc;
	/*
	 * The file named by WEFT_CONFIG belongs to the operator too, so its
	 * use_env = false switches off the variables below.
	 */
	if (!use_env(work)) {
		report_off(r, work, "environment", "WEFT_* variables");
		return 0;
	}
	return load_env_vars(work, err, errlen);
}


WEFT_EXPORT int
weft_config_load_env_explain(struct weft_config *cfg, weft_config_file_fn fn,
                             void *data, char *err, size_t errlen)
{
	struct weft__config_report r = {fn, data};
	struct weft_config *work;
	int rc;

	if (!cfg)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft_config_load_env: NULL argument");
	/* The work copy is large; keep it off small thread stacks. */
	work = malloc(sizeof(*work));
	if (!work)
		return weft__fail(err, errlen, -ENOMEM,
		                  "configuration: out of memory");
	*work = *cfg;
	rc = load_layers(work, &r, err, errlen);
	if (rc == 0)
		*cfg = *work;
	free(work);
	return rc;
}


WEFT_EXPORT int
weft_config_load_env(struct weft_config *cfg, char *err, size_t errlen)
{
	return weft_config_load_env_explain(cfg, NULL, NULL, err, errlen);
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
	return weft__config_value((struct weft_config *)cfg, id);
}


WEFT_EXPORT const char *
weft_config_origin(const struct weft_config *cfg, const char *key)
{
	int id;

	if (!cfg || !key)
		return NULL;
	id = weft__config_key_find(key, strlen(key));
	if (id < 0)
		return NULL;
	return cfg->origin[id];
}


WEFT_EXPORT int
weft_config_set_program(struct weft_config *cfg, const char *name)
{
	if (!cfg)
		return -EINVAL;
	if (!name) {
		cfg->program[0] = '\0';
		return 0;
	}
	if (!*name || strlen(name) >= sizeof(cfg->program))
		return -EINVAL;
	snprintf(cfg->program, sizeof(cfg->program), "%s", name);
	return 0;
}


const char *
weft__config_program(const struct weft_config *cfg)
{
	if (cfg->program[0])
		return cfg->program;
	/* glibc and musl set it from argv[0] before main(). */
	return program_invocation_short_name ? program_invocation_short_name
	                                     : "";
}


WEFT_EXPORT const char *
weft_config_program(const struct weft_config *cfg)
{
	return cfg ? weft__config_program(cfg) : NULL;
}


/*
 * A seed for sim_seed = random: from the kernel, below 2^60 so that it
 * reads well and fits any parser of the key.  Without getrandom (an old
 * kernel, a seccomp filter) the clock and the pid stand in: the seed only
 * has to differ between runs, and it is reported so that a run replays.
 */
static uint64_t
draw_seed(void)
{
	uint64_t seed = 0;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(seed)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		seed =
		    ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) *
		    0x9e3779b97f4a7c15ull;
		seed ^= (uint64_t)getpid() << 32;
	}
	return seed & ((1ull << 60) - 1);
}


/*
 * The simulation's settings, with sim_seed made a number in work too, so
 * that the plugins (through setting) and the host see the same one.
 */
static void
resolve_sim(struct weft__settings *out, struct weft_config *work)
{
	/* check_seed() stores "random" or a number below UINT64_MAX / 10. */
	if (strcmp(work->sim_seed, "random") == 0) {
		out->sim_seed = draw_seed();
		snprintf(work->sim_seed, sizeof(work->sim_seed), "%llu",
		         (unsigned long long)out->sim_seed);
	} else {
		out->sim_seed = strtoull(work->sim_seed, NULL, 10);
	}
	/* check_probability() stores a number from 0 to 1. */
	out->sim_faults = strtod(work->sim_faults, NULL);
}


/* Resolves cfg into out, and into *keep (may be NULL) as a configuration. */
static int
resolve(struct weft__settings *out, const struct weft_config *cfg,
        struct weft_config *keep, char *err, size_t errlen)
{
	struct weft_config work;
	int rc;

	if (!out)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft__settings_resolve: NULL argument");
	if (cfg)
		work = *cfg;
	else
		weft__config_defaults(&work);
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
	out->slow_poll_ms = (unsigned)strtoul(work.slow_poll_ms, NULL, 10);
	out->console = strcmp(work.console, "true") == 0;
	out->io_completion = strcmp(work.io_completion, "true") == 0;
	out->alloc = work.alloc;
	resolve_sim(out, &work);
	if (keep)
		*keep = work;
	return 0;
}


int
weft__settings_resolve(struct weft__settings *out,
                       const struct weft_config *cfg, char *err, size_t errlen)
{
	return resolve(out, cfg, NULL, err, errlen);
}


int
weft__settings_resolve_config(struct weft__settings *out,
                              const struct weft_config *cfg,
                              const struct weft_allocator *fallback, char *err,
                              size_t errlen)
{
	const struct weft_allocator *a;
	struct weft_config *keep;
	int rc;

	/*
	 * The allocator is only known once the layers are applied, so the
	 * configuration is resolved into libc's memory, then moved.
	 */
	keep = malloc(sizeof(*keep));
	if (!keep)
		return weft__fail(err, errlen, -ENOMEM,
		                  "out of memory for the configuration");
	rc = resolve(out, cfg, keep, err, errlen);
	if (rc == 0) {
		if (!weft__mem_custom(&out->alloc) && fallback)
			out->alloc = *fallback;
		a = weft__mem_custom(&out->alloc) ? &out->alloc : NULL;
		out->config = weft__mem_alloc(a, sizeof(*keep));
		if (out->config)
			memcpy(out->config, keep, sizeof(*keep));
		else
			rc = weft__fail(err, errlen, -ENOMEM,
			                "out of memory for the configuration");
	}
	free(keep);
	return rc;
}


void
weft__settings_release(struct weft__settings *s)
{
	if (!s || !s->config)
		return;
	weft__mem_free(weft__mem_custom(&s->alloc) ? &s->alloc : NULL,
	               s->config);
	s->config = NULL;
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
