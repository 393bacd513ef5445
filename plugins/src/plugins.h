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
	int io_completion; /* completion I/O where the reactor has it (D10) */
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

/* ---- config_values.c ---------------------------------------------- */

/* The most entries an executor or reactor fallback list may hold. */
#define WEFT__PLUGIN_LIST_MAX 8

/*
 * The next entry of an executor or reactor list ("io_uring, epoll"),
 * trimmed, copied into name (cut to namelen - 1 bytes); advances *cursor.
 * Returns the entry's full length, 0 for an empty entry, -1 at the end.
 */
WEFT__HIDDEN int weft__plugin_list_next(const char **cursor, char *name,
                                        size_t namelen);

/* ---- pick.c ------------------------------------------------------- */

/* The longest account of a fallback list's refusals that is kept. */
#define WEFT__CHOICE_LEN 2048

/* Starts the plugin just loaded: 0, or an error with its reason in err. */
typedef int (*weft__pick_start_fn)(void *ctx, char *err, size_t errlen);

/* A walk through an executor or reactor list; all of it the caller's. */
struct weft__pick {
	enum weft_plugin_kind kind;
	const char *list;        /* the key's value, as resolved */
	const char *cur;         /* the entries not tried yet */
	struct weft__plugin *plugin; /* where the entry tried is loaded */
	unsigned flags;          /* of weft__plugin_load */
	const char *plugin_path;
	char *note;  /* WEFT__CHOICE_LEN bytes: "from \"LIST\"; X refused: ..." */
	size_t head; /* the note's length before the first refusal */
	int tried;
	int r;         /* the last refusal's error */
	char name[256];  /* the entry tried */
	char why[1024];  /* the last refusal's reason */
};

WEFT__HIDDEN void weft__pick_begin(struct weft__pick *pk,
                                   enum weft_plugin_kind kind,
                                   const char *list,
                                   struct weft__plugin *plugin, unsigned flags,
                                   const char *plugin_path, char *note);

/*
 * Loads the next entry that loads into pk->plugin: 0, or once the list is
 * done the last refusal's error.  Each refusal is noted.
 */
WEFT__HIDDEN int weft__pick_load(struct weft__pick *pk);

/*
 * Starts the loaded entry with start(ctx, ...); when that fails, unloads
 * it, notes why, and goes on with the next entry that loads.  0, or the
 * last error once the list is done (nothing then stays loaded).
 */
WEFT__HIDDEN int weft__pick_start(struct weft__pick *pk,
                                  weft__pick_start_fn start, void *ctx);

/* The error of a list none of which started, every reason in err. */
WEFT__HIDDEN int weft__pick_fail(const struct weft__pick *pk, char *err,
                                 size_t errlen);

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
