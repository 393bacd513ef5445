/* SPDX-License-Identifier: MIT */
/*
 * Interfaces between libweft's own modules.  Not installed; names use the
 * weft__ prefix and are hidden from the library's exported symbols.
 */
#ifndef WEFT_INTERNAL_H
#define WEFT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <weft/weft.h>

#define WEFT__HIDDEN __attribute__((visibility("hidden")))

/* ---- error.c ------------------------------------------------------ */

/* printf into err/errlen (either may be NULL/0); returns code. */
WEFT__HIDDEN int weft__fail(char *err, size_t errlen, int code,
			    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

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
	struct weft_allocator alloc; /* version 0: none configured */
};

/*
 * Resolves cfg (may be NULL) into settings: defaults, then cfg, then
 * WEFT_CONFIG and the WEFT_* variables unless use_env is false.
 */
WEFT__HIDDEN int weft__settings_resolve(struct weft__settings *out,
					const struct weft_config *cfg,
					char *err, size_t errlen);

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

/* ---- driver.c ----------------------------------------------------- */

struct weft__driver; /* starts with a struct weft_driver */

/* The reactor stays owned by the caller and must outlive the driver. */
/* blocking_threads bounds the blocking pool (0: its default). */
WEFT__HIDDEN int weft__driver_new(struct weft__driver **out,
				  struct weft_reactor *reactor,
				  uint32_t reactor_flags,
				  unsigned blocking_threads, char *err,
				  size_t errlen);
/* The same, allocating through alloc (NULL: libc), which must outlive it. */
WEFT__HIDDEN int weft__driver_new_with(struct weft__driver **out,
				       struct weft_reactor *reactor,
				       uint32_t reactor_flags,
				       unsigned blocking_threads,
				       const struct weft_allocator *alloc,
				       char *err, size_t errlen);
WEFT__HIDDEN struct weft_driver *weft__driver_public(struct weft__driver *d);

/*
 * At runtime shutdown, after the executor's: closes the blocking pool, so
 * that later blocking calls fail with WEFT_ECLOSED and no pool thread
 * outlives the runtime's tasks.
 */
WEFT__HIDDEN void weft__driver_shutdown(struct weft__driver *d);

/*
 * Frees the driver.  Registrations and timers still alive are freed and
 * their wakers dropped unwoken.
 */
WEFT__HIDDEN void weft__driver_free(struct weft__driver *d);

/* ---- blocking.c --------------------------------------------------- */

#define WEFT__BLOCKING_DEFAULT 64

struct weft__blocking;

/* max_threads 0: WEFT__BLOCKING_DEFAULT. */
WEFT__HIDDEN int weft__blocking_new(struct weft__blocking **out,
				    unsigned max_threads);

/* The same, allocating through alloc (NULL: libc). */
WEFT__HIDDEN int weft__blocking_new_with(struct weft__blocking **out,
					 unsigned max_threads,
					 const struct weft_allocator *alloc);

/* See weft_driver_ops.blocking. */
WEFT__HIDDEN int weft__blocking_spawn(struct weft__blocking *b,
				      void (*fn)(void *arg), void *arg,
				      struct weft_waker *done);

/*
 * Refuses new jobs (WEFT_ECLOSED), runs what is still queued and joins
 * every thread.  Idempotent.
 */
WEFT__HIDDEN void weft__blocking_close(struct weft__blocking *b);

/* Closes if needed, then frees. */
WEFT__HIDDEN void weft__blocking_free(struct weft__blocking *b);

/* ---- task.c ------------------------------------------------------- */

WEFT__HIDDEN extern const struct weft_task_core weft__task_core;

/*
 * The allocator that set_new gives the sets made on this thread (NULL:
 * libc).  The ABI's set_new takes no allocator, so the runtime names its
 * own around the executor's init, which is where executors make their set;
 * a set made elsewhere uses libc.  Returns the previous one.
 */
WEFT__HIDDEN const struct weft_allocator *
weft__task_alloc_hint(const struct weft_allocator *alloc);

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

#endif /* WEFT_INTERNAL_H */
