/* SPDX-License-Identifier: MIT */
/*
 * The checks that the configuration reader and the plugin loader make
 * before they read a file: it must be a regular file, since reading a FIFO
 * blocks until a writer comes, a device may never end, and neither is
 * what an operator meant; and no other user may be able to change it.
 * Private to libweft; defined in config_file.c.
 */
#ifndef WEFT_FILETYPE_H
#define WEFT_FILETYPE_H

#include <sys/stat.h>

#include "plugins.h"

/* What st_mode names, for a message: "a FIFO", "a directory", ... */
WEFT__HIDDEN const char *weft__file_type(mode_t mode);

/*
 * 0 if st describes a regular file.  Otherwise "<path>: not a regular
 * file: a FIFO" (or whatever it is) in err, and -EISDIR for a directory
 * or -EINVAL for any other kind.
 */
WEFT__HIDDEN int weft__check_regular(const char *path, const struct stat *st,
                                     char *err, size_t errlen);

/*
 * Refuses, with -EPERM, a file that users other than its owner could
 * replace: st (the file's) is writable by others, or the folder holding
 * path is writable by others without the sticky bit.  Reading it would
 * let them choose what this process does.  The message says "refusing
 * <what> file other users may write" or "refusing <what> in folder ...",
 * followed by fix (advice, or "").
 */
WEFT__HIDDEN int weft__check_writable(const char *path, const struct stat *st,
                                      const char *what, const char *fix,
                                      char *err, size_t errlen);

#endif
