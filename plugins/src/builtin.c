/* SPDX-License-Identifier: MIT */
/*
 * Plugins linked into the program instead of loaded from a file.  A program
 * built with its executor and reactor inside (the static build, which the
 * benchmarks use to price the plugin boundary) registers each entry point
 * here; the loader then binds a plugin *name* to that entry before it looks
 * at plugin_path.  Paths always go to dlopen.
 *
 * The entry still negotiates and its descriptor is still checked in full:
 * only the dlopen is skipped.  The table is process-wide and append-only,
 * so a pointer read from it stays valid.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "plugins.h"

#define BUILTIN_MAX      32
#define BUILTIN_NAME_MAX 64

struct builtin {
	enum weft_plugin_kind kind;
	char name[BUILTIN_NAME_MAX];
	weft_plugin_entry_fn entry;
};

static pthread_mutex_t builtin_lock = PTHREAD_MUTEX_INITIALIZER;
static struct builtin builtins[BUILTIN_MAX];
static size_t builtin_count;


static struct builtin *
builtin_lookup(enum weft_plugin_kind kind, const char *name)
{
	size_t i;

	for (i = 0; i < builtin_count; i++)
		if (builtins[i].kind == kind &&
		    strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}


WEFT_EXPORT int
weft_plugin_add_builtin(enum weft_plugin_kind kind, const char *name,
                        weft_plugin_entry_fn entry)
{
	struct builtin *b;
	int rc = 0;

	if ((kind != WEFT_PLUGIN_EXECUTOR && kind != WEFT_PLUGIN_REACTOR) ||
	    !name || !entry || !weft__name_valid(name, strlen(name)) ||
	    strlen(name) >= BUILTIN_NAME_MAX)
		return -EINVAL;
	pthread_mutex_lock(&builtin_lock);
	b = builtin_lookup(kind, name);
	if (b) {
		/* Registering the same entry twice is harmless. */
		if (b->entry != entry)
			rc = -EEXIST;
	} else if (builtin_count == BUILTIN_MAX) {
		rc = -ENOSPC;
	} else {
		b = &builtins[builtin_count];
		b->kind = kind;
		strcpy(b->name, name);
		b->entry = entry;
		builtin_count++;
	}
	pthread_mutex_unlock(&builtin_lock);
	return rc;
}


weft_plugin_entry_fn
weft__builtin_find(enum weft_plugin_kind kind, const char *name)
{
	struct builtin *b;
	weft_plugin_entry_fn entry = NULL;

	pthread_mutex_lock(&builtin_lock);
	b = builtin_lookup(kind, name);
	if (b)
		entry = b->entry;
	pthread_mutex_unlock(&builtin_lock);
	return entry;
}
