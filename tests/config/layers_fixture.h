/* SPDX-License-Identifier: MIT */
/*
 * What the configuration layer tests share: a temporary tree standing for
 * the standard places, the visitor that records what it was told, and
 * helpers that check a key's value and origin.
 *
 * The system folder is pointed at a temporary one with
 * WEFT_SYSTEM_CONFIG_DIR, which an unprivileged process may do; the user's
 * with XDG_CONFIG_HOME and HOME.  The real /etc and ~/.config are never
 * read.
 */
#ifndef WEFT_TEST_LAYERS_FIXTURE_H
#define WEFT_TEST_LAYERS_FIXTURE_H

#include <stddef.h>

#include "config.h"

extern char tmpdir[];      /* the temporary tree, made by setup() */
extern char sysdir[4096];  /* stands for $(sysconfdir)/weft */
extern char xdgdir[4096];  /* $XDG_CONFIG_HOME */
extern char userdir[4200]; /* $XDG_CONFIG_HOME/weft */

/* What the visitor was told, one "status layer path: reason" a line. */
extern char seen[16384];

/* The visitor of weft_config_load_env_explain() that fills seen. */
void record(const struct weft_config_file *f, void *data);
/* Writes text into dir/name (mode 0644), making dir first. */
void put(const char *dir, const char *name, const char *text);
/* Runs a shell command that must succeed. */
void run(const char *cmd);

/* cmocka group fixtures: the tree and the environment, then removal. */
int setup(void **state);
int teardown(void **state);
/* Per test: a fresh tree, the environment of setup(), nothing recorded. */
int fresh(void **state);

void expect_key(const struct weft_config *cfg, const char *key, const char *val,
                const char *origin);
/* Fails unless line is part of what the visitor saw. */
void expect_seen(const char *line);
/* The origin of a file under the tree: "<tmpdir>/rel:line". */
const char *at(const char *rel, int line);
/* Loads with a fresh record; returns what load_env_explain returned. */
int load(struct weft_config *cfg, char *err, size_t errlen);

#endif
