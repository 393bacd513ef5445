/* SPDX-License-Identifier: MIT */
/*
 * What config.c (the object, the order of the layers, the environment,
 * settings), config_values.c (keys and values), config_file.c (the
 * `key = value` text format) and config_layers.c (the files of a folder
 * in the standard places) share.  Private to libweft.
 */
#ifndef WEFT_CONFIG_PRIVATE_H
#define WEFT_CONFIG_PRIVATE_H

#include "plugins.h"

#define SETTING_SIZE(member) sizeof(((struct weft__settings *)0)->member)

enum key_id {
	KEY_EXECUTOR,
	KEY_REACTOR,
	KEY_WORKERS,
	KEY_PLUGIN_PATH,
	KEY_USE_ENV,
	KEY_BLOCKING_THREADS,
	KEY_ALLOW_WRITABLE,
	KEY_SIM_SEED,
	KEY_SIM_MODE,
	KEY_SIM_PCT_DEPTH,
	KEY_SIM_FAULTS,
	KEY_SIM_TIMEOUT,
	KEY_SLOW_POLL_MS,
	KEY_CONSOLE,
	KEY_IO_COMPLETION,
	KEY_COUNT,
};

/* Where a key's value came from: "default", "/etc/x.conf:3", ... */
#define ORIGIN_LEN 800

/* The longest program name or [program PATTERN] kept. */
#define PROGRAM_LEN 256

struct weft_config {
	char executor[SETTING_SIZE(executor)];
	char reactor[SETTING_SIZE(reactor)];
	char plugin_path[SETTING_SIZE(plugin_path)];
	char workers[16];
	char use_env[8];
	char blocking_threads[16];
	char allow_writable_plugins[8];
	char sim_seed[24];
	char sim_mode[8];
	char sim_pct_depth[8];
	char sim_faults[24];
	char sim_timeout[24];
	char slow_poll_ms[16];
	char console[8];
	char io_completion[8];
	/* Not keys. */
	struct weft_allocator alloc; /* weft_config_set_allocator; 0: none */
	char program[PROGRAM_LEN];   /* weft_config_set_program; "": none */
	char origin[KEY_COUNT][ORIGIN_LEN];
};

/* cfg holding the defaults, each key's origin "default" (config_values.c). */
WEFT__HIDDEN void weft__config_defaults(struct weft_config *cfg);

/* The value of key id, in cfg. */
WEFT__HIDDEN char *weft__config_value(struct weft_config *cfg, int id);

/* The key named by n bytes of name, or -1. */
WEFT__HIDDEN int weft__config_key_find(const char *name, size_t n);

WEFT__HIDDEN const char *weft__config_key_name(int id);

/*
 * Sets key `id` from val (n bytes, which may hold anything) and records
 * origin as where it came from.  cfg NULL only checks the value.  `where`
 * prefixes the message ("weft.conf:3"), or is NULL.
 */
WEFT__HIDDEN int weft__config_apply(struct weft_config *cfg, int id,
                                    const char *val, size_t n,
                                    const char *where, const char *origin,
                                    char *err, size_t errlen);

/* s (n bytes) quoted for a message, cut short and with bytes escaped. */
WEFT__HIDDEN const char *weft__config_quote(char *out, size_t outlen,
                                            const char *s, size_t n);

/* The name [program PATTERN] sections are matched against. */
WEFT__HIDDEN const char *weft__config_program(const struct weft_config *cfg);

/* Flags of weft__config_load_path. */
#define WEFT__CONFIG_TRUSTED    0x1u /* refuse files others could change */
#define WEFT__CONFIG_PRIVILEGED 0x2u /* only root's files are trusted */

/*
 * Reads path and applies it to cfg, all of it or nothing.  With
 * WEFT__CONFIG_TRUSTED, a file owned by neither root nor this user (with
 * WEFT__CONFIG_PRIVILEGED: not by root), or one that other users may
 * change (loader rules, weft__check_writable), is refused with -EPERM.
 * *fatal is 0 for a file that was refused or could not be read, which a
 * standard place skips, and 1 for one that must stop the load: broken
 * text, too large, or out of memory.
 */
WEFT__HIDDEN int weft__config_load_path(struct weft_config *cfg,
                                        const char *path, unsigned flags,
                                        int *fatal, char *err, size_t errlen);

/* How layers report a file to weft_config_load_env_explain's visitor. */
struct weft__config_report {
	weft_config_file_fn fn; /* NULL: nobody asked */
	void *data;
};

WEFT__HIDDEN void weft__config_report(const struct weft__config_report *r,
                                      int status, const char *layer,
                                      const char *path, const char *reason);

/* Whether this process runs with privileges its caller lacks (AT_SECURE). */
WEFT__HIDDEN int weft__config_privileged(void);

/*
 * Applies dir/weft.conf, then dir/weft.conf.d/ *.conf in name order, each
 * a layer of its own.  A file that is missing, unreadable or untrusted is
 * skipped and reported; a broken one is an error.  layer names them in
 * reports ("system", "user").
 */
WEFT__HIDDEN int weft__config_load_dir(struct weft_config *cfg, const char *dir,
                                       const char *layer, unsigned flags,
                                       const struct weft__config_report *r,
                                       char *err, size_t errlen);

#endif
