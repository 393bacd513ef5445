/* SPDX-License-Identifier: MIT */
/*
 * The console: a thread that answers `weft tasks` and `weft top` on an
 * owner-only Unix socket while the runtime runs (console = on).  See
 * docs/observability.md for the protocol and the security model.
 */
#ifndef WEFT_CONSOLE_H
#define WEFT_CONSOLE_H

#include "internal.h"

struct weft__console;

/*
 * Creates the socket ($XDG_RUNTIME_DIR/weft/<pid>.sock, or
 * /tmp/weft-<uid>/<pid>.sock; <pid>-2.sock ... for a process's further
 * runtimes) and starts the thread that serves rt.  alloc (NULL: libc)
 * must outlive the console.  0, or a negative error with a sentence in err.
 */
WEFT__HIDDEN int weft__console_start(struct weft__console **out,
                                     struct weft_runtime *rt,
                                     const struct weft_allocator *alloc,
                                     char *err, size_t errlen);

/* Stops and joins the thread, removes the socket and frees c (NULL: no-op).
 * Call it before the runtime's executor goes away. */
WEFT__HIDDEN void weft__console_stop(struct weft__console *c);

/*
 * The answer to one request line (console_json.c): for "snapshot", the
 * JSON snapshot of rt, with refused the count of peers turned away; for
 * anything else an error document.  *out (of *len bytes, allocated
 * through alloc) is the caller's to free.  0 or -ENOMEM.
 */
WEFT__HIDDEN int weft__console_answer(struct weft_runtime *rt, uint64_t refused,
                                      const char *request,
                                      const struct weft_allocator *alloc,
                                      char **out, size_t *len);

#endif /* WEFT_CONSOLE_H */
