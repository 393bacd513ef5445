/* SPDX-License-Identifier: MIT */
/**
 * @file
 * weft — the application API of libweft, the host.
 *
 * An application opens a runtime from configuration (a file, environment
 * variables, or calls), spawns futures on it and blocks on a root future.
 * Which executor and reactor run underneath is decided when the runtime is
 * opened, by loading their plugins.
 *
 * Conventions: functions return 0 (or a non-negative value) on success and a
 * negative code on failure (-errno or a WEFT_E* code from <weft/abi.h>);
 * weft_strerror() names it.  Functions that can fail for a reason worth a
 * sentence take `char *err, size_t errlen` and write that sentence there
 * (err may be NULL).  Nothing in libweft aborts or exits the process.
 */
#ifndef WEFT_WEFT_H
#define WEFT_WEFT_H

#include <weft/abi.h>
#include <weft/coro.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_NSEC 1ull /**< a nanosecond, the unit of every weft duration */
#define WEFT_USEC 1000ull /**< a microsecond in nanoseconds */
#define WEFT_MSEC 1000000ull /**< a millisecond in nanoseconds */
#define WEFT_SEC 1000000000ull /**< a second in nanoseconds */

/** The text for an error code: -errno or a WEFT_E* code.  Never NULL. */
const char *weft_strerror(int code);

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

/**
 * Keys:
 *   executor     plugin name ("single") or path to a .so ("/x/y.so")
 *   reactor      plugin name ("epoll") or path to a .so
 *   workers      worker threads for threaded executors (0 = default)
 *   plugin_path  ':'-separated folders searched for plugin names
 *   use_env      "true"/"false": whether WEFT_* variables override
 *   blocking_threads  most threads of the spawn_blocking pool (0 = 64)
 *   allow_writable_plugins  "true": load plugins other users may write
 *
 * Precedence, lowest first: the embedded defaults (executor = single,
 * reactor = epoll, plugin_path = the installed plugin folder), then what
 * the application set (weft_config_set / weft_config_load_file), then
 * $(sysconfdir)/weft/weft.conf and $(sysconfdir)/weft/weft.conf.d/ *.conf
 * (in name order), then $XDG_CONFIG_HOME/weft/weft.conf (default
 * ~/.config) and its weft.conf.d/, then the file named by WEFT_CONFIG, then
 * WEFT_EXECUTOR, WEFT_REACTOR, WEFT_WORKERS, WEFT_BLOCKING_THREADS and
 * WEFT_PLUGIN_PATH.  When the application sets use_env = false, none of
 * the files or variables is read; a file that sets it switches off the
 * layers after its own.  A privileged process (AT_SECURE: set-user-ID or
 * set-group-ID) reads only the system files.  A `[program PATTERN]` line
 * in a file starts a section that applies only when the program's name
 * (weft_config_set_program(), else the executable's) matches PATTERN, an
 * fnmatch(3) glob.  The operator's files and environment win so that the
 * runtime is chosen at load time.  See weft.conf(5).
 */
struct weft_config;

/** A new configuration holding the defaults.  Returns 0 or -ENOMEM. */
int weft_config_new(struct weft_config **cfg);
/** Frees a configuration; NULL does nothing. */
void weft_config_free(struct weft_config *cfg);

/** Unknown keys and malformed values are errors (WEFT_ECONFIG). */
int weft_config_set(struct weft_config *cfg, const char *key,
		    const char *value, char *err, size_t errlen);

/**
 * Reads `key = value` lines; '#' starts a comment; blank lines are
 * ignored.  An error names the file, the line and the reason.
 */
int weft_config_load_file(struct weft_config *cfg, const char *path,
			  char *err, size_t errlen);

/** Same syntax, from memory; `origin` names it in error messages. */
int weft_config_load_string(struct weft_config *cfg, const char *text,
			    const char *origin, char *err, size_t errlen);

/**
 * Applies the configuration files in the standard places, WEFT_CONFIG and
 * the WEFT_* variables, as runtime_open does.  A missing, unreadable or
 * untrusted file is skipped; a file with a broken line is an error that
 * names the file and the line, and leaves cfg as it was.
 */
int weft_config_load_env(struct weft_config *cfg, char *err, size_t errlen);

/** The current value of a key, or NULL if unset/unknown.  Borrowed. */
const char *weft_config_get(const struct weft_config *cfg, const char *key);

/**
 * Where the current value of a key came from, or NULL for an unknown key:
 * "default", "application" (weft_config_set), "PATH:LINE" for a file
 * (followed by " [program PATTERN]" inside a section), or the name of the
 * environment variable ("WEFT_WORKERS").  Borrowed from cfg.
 */
const char *weft_config_origin(const struct weft_config *cfg,
			       const char *key);

/**
 * Names the program for `[program PATTERN]` sections, as g_set_prgname
 * does for GLib; NULL goes back to the executable's name.  Set it before
 * loading files.  Returns 0, or -EINVAL for an empty name or one of 256
 * bytes or more.
 */
int weft_config_set_program(struct weft_config *cfg, const char *name);

/** The name `[program PATTERN]` sections are matched against. Borrowed. */
const char *weft_config_program(const struct weft_config *cfg);

/** How weft_config_load_env_explain() treated a file. */
enum weft_config_file_status {
	WEFT_CONFIG_FILE_READ = 0, /**< read and applied */
	WEFT_CONFIG_FILE_MISSING = 1, /**< does not exist, which is fine */
	WEFT_CONFIG_FILE_SKIPPED = 2, /**< refused or unreadable: see reason */
	WEFT_CONFIG_FILE_IGNORED = 3, /**< not looked at: see reason */
	WEFT_CONFIG_FILE_BROKEN = 4, /**< a bad line: the load fails */
};

/** One file (or folder of drop-ins) the configuration layers considered. */
struct weft_config_file {
	uint32_t size; /**< sizeof this struct as libweft built it */
	int status; /**< enum weft_config_file_status */
	const char *layer; /**< "system", "user", "WEFT_CONFIG", ... */
	const char *path; /**< the file or folder */
	const char *reason; /**< why it was not read, or NULL */
};

/** Called by weft_config_load_env_explain() for every file considered. */
typedef void (*weft_config_file_fn)(const struct weft_config_file *file,
				    void *data);

/**
 * weft_config_load_env(), telling fn (if not NULL) about every file it
 * read, found missing, skipped or ignored, in the order of precedence.
 * The pointers in *file live only during the call.
 */
int weft_config_load_env_explain(struct weft_config *cfg,
				 weft_config_file_fn fn, void *data,
				 char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Plugins                                                             */
/* ------------------------------------------------------------------ */

/** What the loader learnt about one plugin file. */
struct weft_plugin_info {
	uint32_t size; /**< sizeof this struct as the host built it */
	uint32_t kind; /**< enum weft_plugin_kind, 0 if unknown */
	uint32_t abi_major; /**< ABI major version the plugin speaks */
	uint32_t abi_minor; /**< ABI minor version the plugin speaks */
	uint32_t plugin_version; /**< WEFT_PLUGIN_VERSION() of the plugin */
	int status; /**< 0 if it would load, else the error */
	const char *name; /**< the plugin's name, or NULL */
	const char *description; /**< its description, or NULL */
	const char *path; /**< the file */
	const char *error; /**< why it would not load, or NULL */
};

/** Called by weft_plugins_scan() once for every plugin file found. */
typedef void (*weft_plugin_visit_fn)(const struct weft_plugin_info *info,
				     void *data);

/**
 * Visits every weft-*.so in the configured plugin_path (cfg NULL: defaults
 * plus environment), loading and checking each.  Returns the number found.
 */
int weft_plugins_scan(const struct weft_config *cfg, weft_plugin_visit_fn fn,
		      void *data);

/**
 * Makes a plugin linked into this program loadable by name, without a file:
 * a configuration naming `name` for `kind` then binds to `entry` before
 * plugin_path is searched (a path still goes to dlopen).  The entry is
 * negotiated with and its descriptor checked exactly as for a file.  Build
 * each such plugin with `-DWEFT_PLUGIN_ENTRY=<a name of its own>`.  Returns 0
 * (also when the same entry is registered again), -EINVAL (bad kind or name,
 * NULL entry), -EEXIST (another entry has this name) or -ENOSPC (table
 * full; it holds 32).
 */
int weft_plugin_add_builtin(enum weft_plugin_kind kind, const char *name,
			    weft_plugin_entry_fn entry);

/**
 * Only in the static build (meson -Dstatic_plugins=true, weft_static_dep,
 * which defines WEFT_STATIC_PLUGINS): registers every plugin of the tree
 * with weft_plugin_add_builtin().  0 or a negative error.
 */
int weft_static_register(void);

/* ------------------------------------------------------------------ */
/* Runtime                                                             */
/* ------------------------------------------------------------------ */

struct weft_runtime;

/**
 * Loads and checks the executor and reactor plugins the configuration
 * names, and starts them.  cfg may be NULL (defaults and environment).
 */
int weft_runtime_open(struct weft_runtime **rt, const struct weft_config *cfg,
		      char *err, size_t errlen);

/** Spawns onto the runtime: see weft_executor_iface.spawn (consumes fut). */
int weft_spawn(struct weft_runtime *rt, struct weft_future *fut,
	       struct weft_join **join);

/** Runs fut to completion on this thread: see weft_executor_iface.block_on. */
int weft_block_on(struct weft_runtime *rt, struct weft_future *fut);

/** Drops every task still alive, exactly once.  Idempotent. */
void weft_runtime_shutdown(struct weft_runtime *rt);

/** Shuts down if needed, stops the plugins and unloads them. */
void weft_runtime_close(struct weft_runtime *rt);

/**
 * weft_runtime_shutdown, waiting at most timeout_ns for the blocking pool,
 * as tokio's Runtime::shutdown_timeout.  Every spawned future is dropped
 * exactly once, as by weft_runtime_shutdown.  A blocking job still running
 * when the time is up (one whose spawn_blocking future lost a timeout, say)
 * is left to finish on its detached thread, which then exits; its result is
 * dropped, and so are the jobs queued behind it after they have run.  Such a
 * thread touches only the pool and the job, which stay allocated until it
 * is done, never the runtime: closing the runtime afterwards does not wait.
 * A runtime allocator (weft_config_set_allocator) must then stay valid
 * until those threads are done.  Returns 0 when every blocking thread had
 * finished, WEFT_ETIMEDOUT when some were left running, -EINVAL for a NULL
 * runtime.  Only the first shutdown waits: a later call (or
 * weft_runtime_shutdown) reports what it settled.  UINT64_MAX: no limit.
 */
int weft_runtime_shutdown_timeout(struct weft_runtime *rt,
				  uint64_t timeout_ns);

/**
 * weft_runtime_shutdown_timeout, then weft_runtime_close: returns within
 * about timeout_ns plus the time the tasks take to drop.  Returns what the
 * shutdown returned.
 */
int weft_runtime_close_timeout(struct weft_runtime *rt, uint64_t timeout_ns);

/** The executor of an open runtime. */
struct weft_executor *weft_runtime_executor(struct weft_runtime *rt);
/** The driver of an open runtime: its I/O and timers. */
struct weft_driver *weft_runtime_driver(struct weft_runtime *rt);

/** Descriptor and resolved path of the loaded plugins. */
const struct weft_plugin_descriptor *
weft_runtime_plugin(struct weft_runtime *rt, enum weft_plugin_kind kind);
/** The path the loaded plugin of kind was loaded from. */
const char *weft_runtime_plugin_path(struct weft_runtime *rt,
				     enum weft_plugin_kind kind);

/**
 * How the plugin of kind was chosen when its key named a fallback list
 * (`reactor = io_uring, epoll`): `from "io_uring, epoll"`, then one
 * `; NAME refused: REASON` per entry tried before the one that was loaded.
 * "" when the key named one plugin; NULL for a NULL rt.  Valid until the
 * runtime is closed.
 */
const char *weft_runtime_plugin_choice(struct weft_runtime *rt,
				       enum weft_plugin_kind kind);

/** The executor's statistics: see weft_executor_iface.stats. */
int weft_runtime_stats(struct weft_runtime *rt,
		       struct weft_executor_stats *stats);

/**
 * The runtime's seed (the `sim_seed` key): the configured number, or the
 * one drawn at open when it is "random" (below 2^60).  The executor, the
 * reactor (through their settings) and the driver's fault generator all
 * use this number, so a run under a deterministic executor replays with
 * `sim_seed` set to it.  0 for a NULL rt.
 */
uint64_t weft_runtime_seed(struct weft_runtime *rt);

/**
 * Moves the runtime's virtual clock forward by ns and fires the timers
 * that became due, like tokio's time::advance (ABI rule D8): 0, -EINVAL,
 * or WEFT_ENOTSUP when the reactor keeps no clock (every real reactor).
 * Any thread.  Inside a task, weft_driver_clock_advance(cx->driver, ns)
 * does the same without the runtime.
 */
int weft_time_advance(struct weft_runtime *rt, uint64_t ns);

/* ------------------------------------------------------------------ */
/* Inside a running program (docs/observability.md)                    */
/* ------------------------------------------------------------------ */

/** A task's state, as weft_runtime_tasks reports it. */
enum weft_task_state {
	WEFT_TASK_IDLE = 0,      /**< waiting for a wake */
	WEFT_TASK_SCHEDULED = 1, /**< woken, queued for a poll */
	WEFT_TASK_RUNNING = 2,   /**< inside its poll now */
	WEFT_TASK_DONE = 3,      /**< completed, aborted or dropped */
};

/**
 * One task's facts, kept by the host's task core.  Filled like the
 * executor's statistics: the caller's size in, the bytes filled out.
 * Only id and state are kept unless the runtime observes (console
 * on, or a slow-poll threshold set): name, location, counters and
 * timings are zero then, so that a program that does not look pays no
 * memory for them and no clock reads.  wakes counts the wakes that led
 * to a poll.  The timings are estimated from sampled polls
 * (docs/observability.md gives their precision).  awaiting names what a
 * coroutine's last pending poll awaited ("expr file.c:12", from the
 * <weft/coro.h> await macros); "" for a hand-written future.
 */
struct weft_task_info {
	uint32_t size;         /**< in: sizeof the struct; out: bytes filled */
	uint32_t state;        /**< enum weft_task_state */
	uint64_t id;           /**< the task's number (ABI rule T6) */
	char name[32];         /**< given at spawn, or "" */
	char location[64];     /**< "file.c:123" of the spawn, or "" */
	char awaiting[48];     /**< what it awaits, where known, or "" */
	uint64_t polls;        /**< times polled */
	uint64_t wakes;        /**< times woken */
	uint64_t busy_ns;      /**< total time inside its poll (sampled) */
	uint64_t sched_ns;     /**< time from wakes to polls (sampled) */
	uint64_t max_poll_ns;  /**< its longest poll seen (sampled) */
	uint64_t age_ns;       /**< time since spawn */
};

/** Called once per live task; a non-zero return stops the walk. */
typedef int (*weft_task_visit_fn)(void *arg, const struct weft_task_info *t);

/**
 * Visits a snapshot of the runtime's live tasks, from any thread.  Each
 * task's facts are read without stopping it, so counters of a running task
 * may be a poll behind.  Returns 0, fn's non-zero return, -EINVAL, or
 * WEFT_ENOTSUP when the executor does not use the host's task core.
 */
int weft_runtime_tasks(struct weft_runtime *rt, weft_task_visit_fn fn,
		       void *arg);

/** Buckets of the poll-duration histogram: bucket i counts polls shorter
 * than 2^i microseconds (and not in a lower bucket); the last one counts
 * the rest. */
#define WEFT_POLL_HISTOGRAM_BUCKETS 16

/**
 * The runtime's facts: the executor's statistics and the host's own.
 * Filled like the executor's statistics (size in, bytes filled out).
 */
struct weft_runtime_metrics {
	uint32_t size;          /**< in: sizeof the struct; out: bytes filled */
	uint32_t workers;       /**< worker threads */
	uint64_t tasks_live;    /**< tasks spawned and not yet dropped */
	uint64_t spawned;       /**< tasks spawned */
	uint64_t completed;     /**< tasks completed */
	uint64_t polls;         /**< polls */
	uint64_t parks;         /**< times a worker parked */
	uint64_t steals;        /**< tasks stolen */
	uint64_t foreign_wakes; /**< wakes from outside the workers */
	uint64_t queue_depth;   /**< tasks queued now */
	uint64_t slow_polls;    /**< polls longer than slow_poll_ms */
	uint64_t uptime_ns;     /**< time since the runtime opened */
	uint64_t poll_histogram[WEFT_POLL_HISTOGRAM_BUCKETS]; /**< see above */
};

/** Fills m; 0 or a negative error. */
int weft_runtime_metrics(struct weft_runtime *rt,
			 struct weft_runtime_metrics *m);

/** One worker's statistics (ABI rule E12), or WEFT_ENOTSUP / -ENOENT. */
int weft_runtime_worker_stats(struct weft_runtime *rt, uint32_t worker,
			      struct weft_worker_stats *stats);

/**
 * Labels the next task this thread spawns: name (copied, at most 31 bytes
 * kept; NULL keeps a name set earlier for the same spawn) and the spawning
 * code's file and line (file: a string that outlives the task, such as
 * __FILE__).  Spawn goes through the executor plugin, whose ABI carries no
 * label, so the label waits in a thread-local until the host's task core
 * takes it at that spawn.  Kept only while the runtime observes (console
 * on or a slow-poll threshold set).  The spawn macros below call it.
 */
void weft_spawn_label(const char *name, const char *file, int line);

/**
 * Spawns with a name: WEFT_SPAWN_NAMED("worker", weft_spawn(rt, f, &j))
 * or around any other spawn call (weft_spawn_join, weft_fiber_spawn, ...).
 */
#define WEFT_SPAWN_NAMED(name, spawn_call)                                 \
	(weft_spawn_label((name), __FILE__, __LINE__), (spawn_call))

/*
 * The spawn calls remember where they were called from.  Define
 * WEFT_NO_SPAWN_LABELS before including weft headers to call the plain
 * functions (libweft itself does).
 */
#ifndef WEFT_NO_SPAWN_LABELS
#define WEFT__SPAWN_HERE(call)                                             \
	(weft_spawn_label(NULL, __FILE__, __LINE__), (call))
/** The function above, recording its call site for weft_runtime_tasks. */
#define weft_spawn(rt, fut, join) WEFT__SPAWN_HERE((weft_spawn)(rt, fut, join))
#endif

/**
 * The entry helper, in the spirit of #[tokio::main]: opens a runtime from
 * the defaults and environment, blocks on root, drops it (always; while the
 * runtime it may be registered with still exists), shuts down and closes.
 * root's output stays readable in its struct (F4).  Prints a one-line
 * error naming the cause to stderr on failure and returns 1; returns 0 on
 * success.
 */
int weft_run(struct weft_future *root);

/**
 * weft_run, whose close waits at most shutdown_timeout_ns for blocking jobs
 * still running (weft_runtime_close_timeout), so that a spawn_blocking job
 * that outlived its future cannot hold the program's exit.  Returns 0 or 1
 * as weft_run; a shutdown that left threads running is not a failure.
 */
int weft_run_timeout(struct weft_future *root, uint64_t shutdown_timeout_ns);

/* ------------------------------------------------------------------ */
/* Futures that come with the runtime                                  */
/* ------------------------------------------------------------------ */

/**
 * Awaits a join handle.  Owns the handle: drop releases (detaches) it.
 * Output: `status` — 0, or WEFT_ECANCELED and the like — and the task's
 * output copied into out.
 */
struct weft_join_future {
	struct weft_future base; /**< the future's vtable */
	struct weft_join *join; /**< the handle awaited, owned */
	void *out; /**< where the task's output is copied */
	size_t out_size; /**< bytes at out */
	int status; /**< output: 0 or a negative error */
};
/** Awaits join, copying the task's output into out (out_size bytes). */
void weft_join_future_init(struct weft_join_future *f, struct weft_join *join,
			   void *out, size_t out_size);

/**
 * Completes once its deadline has passed: never early.  status is 0, or
 * a negative error when no timer could be armed.
 */
struct weft_sleep {
	struct weft_future base; /**< the future's vtable */
	uint64_t duration; /**< ns from the first poll, if no deadline */
	uint64_t deadline; /**< on the driver's clock; 0 until known */
	uint64_t timer; /**< the driver's timer id once armed */
	struct weft_driver *driver; /**< the driver that holds the timer */
	int armed; /**< whether timer is armed */
	int status; /**< output: 0 or a negative error */
};
/** Sleeps for duration_ns from the first poll. */
void weft_sleep_init(struct weft_sleep *s, uint64_t duration_ns);
/** Sleeps until deadline_ns on the driver's clock (weft_driver_now). */
void weft_sleep_until_init(struct weft_sleep *s, uint64_t deadline_ns);

/**
 * Moves the sleep's deadline to deadline_ns on the driver's clock, earlier
 * or later, as tokio's Sleep::reset: no new init, and also after the sleep
 * has completed, which may then be polled again (the one exception to F2).
 * It is still never early: it completes once the new deadline has passed.
 * On libweft's own driver the armed timer moves with the waker it holds,
 * so the task is woken at the new deadline even if it does not poll the
 * sleep first; on another driver, and for a sleep that has completed, the
 * next poll stores the waker.  Call it from the task that owns the sleep,
 * between polls, never after the sleep was dropped.
 */
void weft_sleep_reset(struct weft_sleep *s, uint64_t deadline_ns);

/**
 * Runs *inner for at most duration_ns.  Takes ownership of *inner (it is
 * dropped when the timeout is, or as soon as the time is up), which must
 * stay at its address.  status: 0 when inner finished (its output is in
 * its own storage), WEFT_ETIMEDOUT when time ran out first.
 */
struct weft_timeout {
	struct weft_future base; /**< the future's vtable */
	struct weft_future *inner; /**< the future run, owned */
	struct weft_sleep sleep; /**< the time limit */
	int status; /**< output: 0 or WEFT_ETIMEDOUT */
};
/** Runs *inner for at most duration_ns. */
void weft_timeout_init(struct weft_timeout *t, struct weft_future *inner,
		       uint64_t duration_ns);
/**
 * Runs *inner until deadline_ns on the driver's clock (weft_driver_now),
 * as tokio's timeout_at; otherwise the same as weft_timeout_init.  A
 * deadline already past still polls inner once.
 */
void weft_timeout_at_init(struct weft_timeout *t, struct weft_future *inner,
			  uint64_t deadline_ns);

/** Returns pending once (after waking itself), then ready. */
struct weft_yield {
	struct weft_future base; /**< the future's vtable */
	int yielded; /**< whether it returned pending already */
};
/** A future that yields to the executor once. */
void weft_yield_init(struct weft_yield *y);

/* ------------------------------------------------------------------ */
/* Allocation                                                          */
/* ------------------------------------------------------------------ */

/**
 * @struct weft_allocator
 * Where libweft gets its memory.  Every allocation the host makes for a
 * runtime goes through the runtime's allocator: the runtime itself, the
 * executor and reactor instances, the driver, its timers and I/O
 * registrations, the task set and every task, and the blocking pool.
 * Objects of the library made outside any runtime (channels, sync
 * primitives, cancellation tokens, join sets, streams' buffers) use the
 * process-wide default.  Plugins' own internal memory (an executor's
 * queues, a reactor's kernel object) is theirs: the ABI gives them no
 * allocator.
 *
 * alloc:  returns size bytes aligned for any object (max_align_t), or NULL
 *         on failure, which weft reports as -ENOMEM and never turns into
 *         an abort.  size is never 0.  Any thread, concurrently.
 * free:   releases what alloc returned; never called with NULL.  Any
 *         thread, concurrently.
 * ud:     passed to both.
 *
 * The allocator must stay valid until everything it allocated has been
 * freed: for a runtime that includes join handles released after the
 * runtime was closed.  When a task is allocated by an allocator other than
 * libc's, its allocation carries a copy of the allocator (32 bytes more
 * than the usual 64-byte task header) so that its last release finds it.
 */
#define WEFT_ALLOCATOR_VERSION 1 /**< layout of the struct below */
struct weft_allocator {
	uint32_t version; /**< WEFT_ALLOCATOR_VERSION */
	/** size bytes, max_align_t aligned, or NULL */
	void *(*alloc)(void *ud, size_t size);
	void (*free)(void *ud, void *p); /**< releases what alloc returned */
	void *ud; /**< passed to alloc and free */
};

/**
 * The allocator of runtimes opened from cfg: *a is copied.  a NULL goes
 * back to the process default.  Returns -EINVAL when a lacks version 1
 * or a function.
 */
int weft_config_set_allocator(struct weft_config *cfg,
			      const struct weft_allocator *a);

/**
 * Sets the process-wide default (a copied; NULL: libc's malloc and free),
 * used by the library objects above and by runtimes whose configuration
 * names no allocator.  Call it before any weft object exists and before
 * other threads use weft: an object is freed by the default current at
 * its free, so changing it while objects live is only safe between
 * allocators that free each other's memory.  Returns -EINVAL as above.
 */
int weft_set_default_allocator(const struct weft_allocator *a);

/**
 * Allocation through the process default above: what the async library
 * itself uses for channels, locks, join sets and streams, and what a
 * library written on weft should use for objects that are not a
 * runtime's.  weft_realloc is told the old size, since an allocator need
 * not have a realloc of its own; on failure it returns NULL and p stays
 * the caller's.  weft_free(NULL) does nothing.
 */
void *weft_alloc(size_t size);
/** Allocates n zeroed objects of size bytes, or returns NULL. */
void *weft_calloc(size_t n, size_t size);
/** Resizes p from old_size to size bytes, or returns NULL. */
void *weft_realloc(void *p, size_t old_size, size_t size);
/** Frees what weft_alloc, weft_calloc or weft_realloc returned. */
void weft_free(void *p);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_WEFT_H */
