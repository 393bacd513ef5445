/* SPDX-License-Identifier: MIT */
/*
 * What config.c (keys, values, environment, settings) shares with
 * config_file.c (the `key = value` text format).  Private to libweft.
 */
#ifndef WEFT_CONFIG_PRIVATE_H
#define WEFT_CONFIG_PRIVATE_H

#include "plugins.h"

#define SETTING_SIZE(member) sizeof(((struct weft__settings *)0)->member)

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

/* The key named by n bytes of name, or -1. */
WEFT__HIDDEN int weft__config_key_find(const char *name, size_t n);

WEFT__HIDDEN const char *weft__config_key_name(int id);

/*
 * Sets key `id` from val (n bytes, which may hold anything).  `where`
 * prefixes the message ("weft.conf:3"), or is NULL.
 */
WEFT__HIDDEN int weft__config_apply(struct weft_config *cfg, int id,
                                    const char *val, size_t n,
                                    const char *where, char *err,
                                    size_t errlen);

/* s (n bytes) quoted for a message, cut short and with bytes escaped. */
WEFT__HIDDEN const char *weft__config_quote(char *out, size_t outlen,
                                            const char *s, size_t n);

#endif
