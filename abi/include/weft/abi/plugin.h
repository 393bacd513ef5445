/* SPDX-License-Identifier: MIT */
/**
 * @file
 * Plugins and loading (P rules): the descriptor, the version negotiation and
 * the entry symbol a plugin exports.
 *
 * A part of <weft/abi.h>: the parts in weft/abi/ are that one header split
 * for reading, included by it in order.  A part relies on the parts before
 * it and is never included on its own.
 */
#ifndef WEFT_ABI_PLUGIN_H
#define WEFT_ABI_PLUGIN_H

#ifndef WEFT_ABI_H_INSIDE
#error "include <weft/abi.h>, not its parts"
#endif

/* ------------------------------------------------------------------ */
/* Plugins and loading (P rules)                                       */
/* ------------------------------------------------------------------ */

#define WEFT_PLUGIN_MAGIC 0x54464557u /**< "WEFT" in little-endian bytes */

/** What a plugin provides. */
enum weft_plugin_kind {
	WEFT_PLUGIN_EXECUTOR = 1,
	WEFT_PLUGIN_REACTOR = 2,
};

/** Packs a plugin's own version, for weft_plugin_descriptor. */
#define WEFT_PLUGIN_VERSION(major, minor, patch)                          \
	((uint32_t)(((major) << 16) | ((minor) << 8) | (patch)))

/**
 * @def WEFT_ABI_SIGNATURE
 * Layout signature: the facts of the build that must match between host
 * and plugin for any struct here to mean the same thing (P4).  The loader
 * refuses a plugin whose signature differs and names both values.  It uses
 * only layouts frozen for the whole 1.x series, never a growable struct.
 */
struct weft__align_probe {
	char c;
	uint64_t x;
};

#define WEFT_ABI_SIGNATURE                                               \
	((uint64_t)sizeof(void *) | ((uint64_t)sizeof(size_t) << 8) |     \
	 ((uint64_t)sizeof(int) << 16) |                                  \
	 ((uint64_t)sizeof(enum weft_poll) << 24) |                       \
	 ((uint64_t)offsetof(struct weft__align_probe, x) << 32) |        \
	 ((uint64_t)sizeof(struct weft_waker) << 40) |                    \
	 ((uint64_t)sizeof(struct weft_reactor_event) << 48) |            \
	 ((uint64_t)0x77 << 56))

/**
 * @struct weft_plugin_descriptor
 * What a plugin describes itself with.  Static, read-only, valid while the
 * plugin is loaded.  iface points to a struct weft_executor_iface or a
 * struct weft_reactor_iface according to kind.
 */
#define WEFT_PLUGIN_DESCRIPTOR_VERSION 1 /**< layout of the struct below */
struct weft_plugin_descriptor {
	uint32_t version; /**< WEFT_PLUGIN_DESCRIPTOR_VERSION */
	uint32_t magic; /**< WEFT_PLUGIN_MAGIC */
	uint32_t abi_major; /**< ABI major version built against */
	uint32_t abi_minor; /**< ABI minor version built against */
	uint32_t kind; /**< enum weft_plugin_kind */
	uint32_t plugin_version; /**< WEFT_PLUGIN_VERSION() of the plugin */
	uint64_t signature; /**< WEFT_ABI_SIGNATURE as built */
	const char *name; /**< the name configurations use */
	const char *description; /**< a one-line description */
	const void *iface; /**< the executor or reactor iface */
};

/**
 * @struct weft_negotiate
 * Version negotiation, in both directions (P3).  The host offers the range
 * of ABI versions it speaks [host_min, host_max] (WEFT_ABI_MAKE values); the
 * plugin writes the version it will use into `chosen`, or returns WEFT_EABI
 * if it speaks none of them.
 */
#define WEFT_NEGOTIATE_VERSION 1 /**< layout of the struct below */
struct weft_negotiate {
	uint32_t version; /**< WEFT_NEGOTIATE_VERSION */
	uint32_t host_min; /**< oldest ABI version the host speaks */
	uint32_t host_max; /**< newest ABI version the host speaks */
	uint32_t chosen; /**< out: the plugin's choice */
};

/**
 * The one symbol every plugin exports (P1).  Enumerates the plugin's
 * descriptors by index: returns 1 and sets *desc (got one), 0 (no more), or a
 * negative error.  Everything else in a plugin is static/hidden.
 *
 * A build that links several plugins into one program defines
 * WEFT_PLUGIN_ENTRY to a name of its own per plugin and hands each entry to
 * weft_plugin_add_builtin(); the dlopen path always looks up
 * WEFT_PLUGIN_ENTRY_NAME.
 */
#ifndef WEFT_PLUGIN_ENTRY
#define WEFT_PLUGIN_ENTRY weft_plugin_entry
#endif
/** The symbol the loader looks up in a plugin. */
#define WEFT_PLUGIN_ENTRY_NAME "weft_plugin_entry"
/** The type of a plugin's entry point (WEFT_PLUGIN_ENTRY). */
typedef int (*weft_plugin_entry_fn)(struct weft_negotiate *neg, uint32_t index,
				    const struct weft_plugin_descriptor **desc);

#if defined(__GNUC__) || defined(__clang__)
/** Marks a symbol visible outside its shared object. */
#define WEFT_EXPORT __attribute__((visibility("default")))
#else
#define WEFT_EXPORT /**< marks a symbol visible outside its object */
#endif

/**
 * The negotiation a 1.x plugin does: pick the newest version both sides
 * speak.  `mine` is the version the plugin was built against.
 */
static inline int
weft_negotiate_pick(struct weft_negotiate *neg, uint32_t mine)
{
	uint32_t pick;
	if (!neg || neg->version < 1)
		return WEFT_EABI;
	pick = mine < neg->host_max ? mine : neg->host_max;
	if (pick < neg->host_min ||
	    WEFT_ABI_GET_MAJOR(pick) != WEFT_ABI_GET_MAJOR(mine))
		return WEFT_EABI;
	neg->chosen = pick;
	return 0;
}

/**
 * Defines the entry symbol of a plugin with exactly one descriptor, `desc`
 * (the usual case: one plugin per .so), negotiating as above.
 */
#define WEFT_PLUGIN_DEFINE_ENTRY(desc)                                     \
	WEFT_EXPORT int WEFT_PLUGIN_ENTRY(                                 \
		struct weft_negotiate *neg, uint32_t index,                 \
		const struct weft_plugin_descriptor **out)                  \
	{                                                                  \
		int r_ = weft_negotiate_pick(neg, WEFT_ABI_VERSION);        \
		if (r_ < 0)                                                 \
			return r_;                                          \
		if (index > 0)                                              \
			return 0;                                           \
		*out = &(desc);                                             \
		return 1;                                                   \
	}                                                                  \
	typedef int weft__plugin_entry_defined /**< the caller's ';' ends it */

#endif /* WEFT_ABI_PLUGIN_H */
