/* SPDX-License-Identifier: MIT */
/*
 * Fallback lists: `reactor = io_uring, epoll` opens the first entry that
 * loads and whose init succeeds.  A walk through the list loads entries
 * (weft__pick_load) and starts them through the runtime's own function
 * (weft__pick_start); each refusal, whether the file is missing, broken or
 * its init failed, is written into the runtime's note with its reason, so
 * that `weft info` can show why the entry used is not the first.  A key
 * naming one plugin is a list of one, and keeps the messages it had.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "plugins.h"

static const char *
kind_word(enum weft_plugin_kind kind)
{
	return kind == WEFT_PLUGIN_REACTOR ? "reactor" : "executor";
}


/* Appends to the note, cutting it short with "..." when it is full. */
static void
note_add(char *note, const char *fmt, const char *a, const char *b)
{
	size_t used = strlen(note);
	int n;

	if (used + 4 >= WEFT__CHOICE_LEN)
		return;
	n = snprintf(note + used, WEFT__CHOICE_LEN - used, fmt, a, b);
	if (n < 0 || (size_t)n >= WEFT__CHOICE_LEN - used)
		memcpy(note + WEFT__CHOICE_LEN - 4, "...", 4);
}


void
weft__pick_begin(struct weft__pick *pk, enum weft_plugin_kind kind,
                 const char *list, struct weft__plugin *plugin, unsigned flags,
                 const char *plugin_path, char *note)
{
	memset(pk, 0, sizeof(*pk));
	pk->kind = kind;
	pk->list = list;
	pk->cur = list;
	pk->plugin = plugin;
	pk->flags = flags;
	pk->plugin_path = plugin_path;
	pk->note = note;
	pk->r = WEFT_ECONFIG;
	snprintf(pk->why, sizeof(pk->why), "no %s configured", kind_word(kind));
	note[0] = '\0';
	if (strchr(list, ','))
		note_add(note, "from \"%s\"%s", list, "");
	pk->head = strlen(note);
}


/* The entry in pk->name was refused for pk->why: noted, and unloaded. */
static void
pick_refused(struct weft__pick *pk)
{
	/* Not installed: in a list, the loader's folder list says nothing. */
	if (pk->head && pk->r == -ENOENT && !strchr(pk->name, '/'))
		snprintf(pk->why, sizeof(pk->why), "not in the plugin path");
	note_add(pk->note, "; %s refused: %s", pk->name, pk->why);
}


int
weft__pick_load(struct weft__pick *pk)
{
	while (weft__plugin_list_next(&pk->cur, pk->name, sizeof(pk->name)) >=
	       0) {
		pk->tried++;
		pk->r = weft__plugin_load(pk->plugin, pk->name, pk->kind,
		                          pk->flags, pk->plugin_path, pk->why,
		                          sizeof(pk->why));
		if (pk->r == 0)
			return 0;
		pick_refused(pk);
	}
	return pk->r;
}


int
weft__pick_start(struct weft__pick *pk, weft__pick_start_fn start, void *ctx)
{
	for (;;) {
		pk->r = start(ctx, pk->why, sizeof(pk->why));
		if (pk->r == 0)
			return 0;
		weft__plugin_unload(pk->plugin);
		pick_refused(pk);
		if (weft__pick_load(pk) < 0)
			return pk->r;
	}
}


int
weft__pick_fail(const struct weft__pick *pk, char *err, size_t errlen)
{
	/* A list of one: its own message, as before lists existed. */
	if (pk->tried <= 1)
		return weft__fail(err, errlen, pk->r, "%s", pk->why);
	/* Every reason, each after "; ", follows the list in the note. */
	return weft__fail(
	    err, errlen, pk->r, "%s \"%s\": none of its %d would start: %s",
	    kind_word(pk->kind), pk->list, pk->tried, pk->note + pk->head + 2);
}
