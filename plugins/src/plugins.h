/* SPDX-License-Identifier: MIT */
/*
 * Interfaces of the plugin side of libweft (this folder): the settings a
 * runtime is opened with (config.c), finding, checking and loading plugin
 * files (loader.c), and plugins linked into the program (builtin.c).  Not
 * installed; hidden from the library's exported symbols.
 */
#ifndef WEFT_PLUGINS_H
#define WEFT_PLUGINS_H

#include "internal.h"

/* ---- config.c ----------------------------------------------------- */

/* The effective settings a runtime is opened with. */
struct weft__settings {
	char executor[256];
	char reactor[256];
	char plugin_path[4096];
	unsigned workers;
	unsigned blocking_threads; /* 0: the pool's default */
	int use_env;
	int allow_writable; /* load plugins that other users could replace */
	unsigned slow_poll_ms; /* the slow-poll detector's threshold; 0: off */
	int console; /* console = on: serve weft top (runtime/console.c) */
	struct weft_allocator alloc; /* version 0: none configured */
	uint64_t sim_seed; /* sim_seed, drawn below 2^60 when "random" */
	double sim_faults; /* the probability of an injected fault (D9) */
	/*
	 * The resolved configuration, its sim_seed the number above, for the
	 * plugins' setting (P8): only from weft__settings_resolve_config,
	 * which allocates it through alloc; freed by weft__settings_release.
	 */
	struct weft_config *config;
};

/*
 * Resolves cfg (may be NULL) into settings: defaults, then cfg, then
 * WEFT_CONFIG and the WEFT_* variables unless use_env is false.
 */
WEFT__HIDDEN int weft__settings_resolve(struct weft__settings *out,
					const struct weft_config *cfg,
					char *err, size_t errlen);

/*
 * The same, keeping the resolved configuration in out->config.  out->alloc
 * is the configured allocator, else *fallback (NULL: libc's).
 */
WEFT__HIDDEN int
weft__settings_resolve_config(struct weft__settings *out,
			      const struct weft_config *cfg,
			      const struct weft_allocator *fallback, char *err,
			      size_t errlen);

/* Frees what weft__settings_resolve_config kept; idempotent. */
WEFT__HIDDEN void weft__settings_release(struct weft__settings *s);

/* ---- loader.c ----------------------------------------------------- */

/* A loaded and checked plugin. */
struct weft__plugin {
	void *handle; /* from dlopen */
	char path[4096];
	const struct weft_plugin_descriptor *desc;
	uint32_t abi_chosen;
};

/*
 * Resolves `spec` (a plugin name searched in the absolute folders of
 * plugin_path, or an absolute path), refuses a file or folder that other
 * users may write unless flags allow it, dlopens it, negotiates, and checks magic, ABI major,
 * minor, signature, kind, sizes and required methods.  On failure nothing
 * stays loaded and err names the file and the reason.
 */
/* Flags of weft__plugin_load. */
#define WEFT__LOAD_ALLOW_WRITABLE 0x1u

WEFT__HIDDEN int weft__plugin_load(struct weft__plugin *p, const char *spec,
				   enum weft_plugin_kind kind, unsigned flags,
				   const char *plugin_path, char *err,
				   size_t errlen);

/* A plugin name: a-z, 0-9, '_' and '-', not empty. */
WEFT__HIDDEN int weft__name_valid(const char *s, size_t n);

/* ---- builtin.c ---------------------------------------------------- */

/* The entry registered for (kind, name), or NULL. */
WEFT__HIDDEN weft_plugin_entry_fn weft__builtin_find(enum weft_plugin_kind kind,
                                                     const char *name);

/* dlcloses unless WEFT_NO_DLCLOSE is set (keeps Valgrind stacks). */
WEFT__HIDDEN void weft__plugin_unload(struct weft__plugin *p);

/* ---- checks the fuzzers reach (loader.c) -------------------------- */

/*
 * The descriptor and interface checks weft__plugin_load runs after the
 * entry point answered neg: 0 or the refusal, named in err.
 */
WEFT__HIDDEN int
weft__check_descriptor(const char *path,
		       const struct weft_plugin_descriptor *desc,
		       const struct weft_negotiate *neg,
		       enum weft_plugin_kind kind, char *err, size_t errlen);

#endif /* WEFT_PLUGINS_H */
