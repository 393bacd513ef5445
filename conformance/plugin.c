/* SPDX-License-Identifier: MIT */
/*
 * P rules: the plugin files themselves, opened and asked the way a host
 * asks them, plus the frozen numbers and layouts of ABI 1.x.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "layout.h"

static const char *
path_of(enum weft_plugin_kind kind)
{
	return kind == WEFT_PLUGIN_EXECUTOR ? h_opt.executor_path
	                                    : h_opt.reactor_path;
}


static weft_plugin_entry_fn
open_entry(enum weft_plugin_kind kind, void **handle)
{
	weft_plugin_entry_fn entry;

	if (!h_opt.resolved)
		fail_msg("the pair did not open: no plugin to check");
	*handle = dlopen(path_of(kind), RTLD_NOW | RTLD_LOCAL);
	if (!*handle)
		fail_msg("P1: dlopen: %s", dlerror());
	*(void **)&entry = dlsym(*handle, WEFT_PLUGIN_ENTRY_NAME);
	if (!entry)
		fail_msg("P1: %s does not export " WEFT_PLUGIN_ENTRY_NAME,
		         path_of(kind));
	return entry;
}


static void
close_entry(void *handle)
{
	if (!getenv("WEFT_NO_DLCLOSE"))
		dlclose(handle);
}


static void
check_entry(enum weft_plugin_kind kind)
{
	struct weft_negotiate neg = {WEFT_NEGOTIATE_VERSION,
	                             WEFT_ABI_MAKE(1, 0), WEFT_ABI_VERSION, 0};
	const struct weft_plugin_descriptor *d, *first = NULL;
	weft_plugin_entry_fn entry;
	void *handle;
	int i, r, mine = 0;

	entry = open_entry(kind, &handle);
	for (i = 0; i < 64; i++) {
		d = NULL;
		r = entry(&neg, (uint32_t)i, &d);
		if (r == 0)
			break;
		assert_int_equal(r, 1);
		assert_non_null(d);
		if (i == 0)
			first = d;
		mine += d->kind == (uint32_t)kind;
	}
	/* Enumeration ends with 0, and again past the end. */
	assert_true(i >= 1 && i < 64);
	d = NULL;
	assert_int_equal(entry(&neg, (uint32_t)i + 100, &d), 0);
	assert_true(mine >= 1);
	/* Asking again gives the same static descriptor. */
	assert_int_equal(entry(&neg, 0, &d), 1);
	assert_ptr_equal(d, first);
	close_entry(handle);
}


static void
P1_entry_symbol_enumerates_descriptors(void **state)
{
	(void)state;
	check_entry(WEFT_PLUGIN_EXECUTOR);
	check_entry(WEFT_PLUGIN_REACTOR);
}


/*
 * The defined, exported symbols of a plugin file other than the entry,
 * read from its dynamic symbol table.  Returns how many there are (their
 * names go to out, comma separated), or -1 when the file is not a native
 * 64-bit ELF file this check can read.
 */
static int
extra_exports(const char *path, char *out, size_t outlen)
{
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	unsigned char *map;
	struct stat st;
	int fd, n = -1;
	size_t i, j;

	out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(*eh)) {
		close(fd);
		return -1;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	eh = (const Elf64_Ehdr *)map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(*sh) >
	        (size_t)st.st_size)
		goto out;
	sh = (const Elf64_Shdr *)(map + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++) {
		const Elf64_Sym *sym;
		const char *strs;

		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum)
			continue;
		sym = (const Elf64_Sym *)(map + sh[i].sh_offset);
		strs = (const char *)(map + sh[sh[i].sh_link].sh_offset);
		n = 0;
		for (j = 1; j < sh[i].sh_size / sizeof(*sym); j++) {
			const char *name = strs + sym[j].st_name;
			int bind = ELF64_ST_BIND(sym[j].st_info);
			int vis = ELF64_ST_VISIBILITY(sym[j].st_other);

			if (sym[j].st_shndx == SHN_UNDEF ||
			    (bind != STB_GLOBAL && bind != STB_WEAK) ||
			    (vis != STV_DEFAULT && vis != STV_PROTECTED) ||
			    strcmp(name, WEFT_PLUGIN_ENTRY_NAME) == 0)
				continue;
			n++;
			if (strlen(out) + strlen(name) + 3 < outlen) {
				if (out[0])
					strcat(out, ", ");
				strcat(out, name);
			}
		}
	}
out:
	munmap(map, (size_t)st.st_size);
	return n;
}


static void
P1_only_the_entry_symbol_is_exported(void **state)
{
	char names[512];
	int n;

	(void)state;
	if (!h_opt.resolved)
		fail_msg("the pair did not open: no plugin to check");
	n = extra_exports(h_opt.executor_path, names, sizeof(names));
	if (n < 0)
		skip(); /* not a file format this check reads */
	if (n > 0)
		fail_msg("P1: %s also exports %s", h_opt.executor_path, names);
	n = extra_exports(h_opt.reactor_path, names, sizeof(names));
	if (n < 0)
		skip();
	if (n > 0)
		fail_msg("P1: %s also exports %s", h_opt.reactor_path, names);
}


static void
check_descriptor(enum weft_plugin_kind kind)
{
	struct h_plugin p;
	const struct weft_plugin_descriptor *d;

	h_plugin_load(&p, path_of(kind), kind);
	d = p.desc;
	assert_true(d->version >= 1);
	assert_int_equal(d->magic, WEFT_PLUGIN_MAGIC);
	assert_non_null(d->name);
	assert_true(d->name[0] != '\0');
	assert_non_null(d->description);
	assert_non_null(d->iface);
	h_plugin_unload(&p);
}


static void
P2_descriptor_magic_and_version(void **state)
{
	(void)state;
	check_descriptor(WEFT_PLUGIN_EXECUTOR);
	check_descriptor(WEFT_PLUGIN_REACTOR);
}


static int
negotiate(weft_plugin_entry_fn entry, uint32_t version, uint32_t lo,
          uint32_t hi, uint32_t *chosen)
{
	struct weft_negotiate neg = {version, lo, hi, 0};
	const struct weft_plugin_descriptor *d = NULL;
	int r = entry(&neg, 0, &d);

	*chosen = neg.chosen;
	return r;
}


static void
check_negotiation(enum weft_plugin_kind kind)
{
	weft_plugin_entry_fn entry;
	void *handle;
	uint32_t chosen;

	entry = open_entry(kind, &handle);
	/* Exactly 1.0 offered: 1.0 chosen. */
	assert_int_equal(negotiate(entry, 1, WEFT_ABI_MAKE(1, 0),
	                           WEFT_ABI_MAKE(1, 0), &chosen),
	                 1);
	assert_int_equal(chosen, WEFT_ABI_MAKE(1, 0));
	/* A newer host: the plugin picks within range, major 1. */
	assert_int_equal(negotiate(entry, 1, WEFT_ABI_MAKE(1, 0),
	                           WEFT_ABI_MAKE(1, 99), &chosen),
	                 1);
	assert_true(chosen >= WEFT_ABI_MAKE(1, 0) &&
	            chosen <= WEFT_ABI_MAKE(1, 99));
	/* Only 2.x offered, or no negotiation struct: refused. */
	assert_int_equal(negotiate(entry, 1, WEFT_ABI_MAKE(2, 0),
	                           WEFT_ABI_MAKE(2, 5), &chosen),
	                 WEFT_EABI);
	assert_int_equal(negotiate(entry, 0, WEFT_ABI_MAKE(1, 0),
	                           WEFT_ABI_MAKE(1, 0), &chosen),
	                 WEFT_EABI);
	close_entry(handle);
}


static void
P3_negotiation_in_both_directions(void **state)
{
	(void)state;
	check_negotiation(WEFT_PLUGIN_EXECUTOR);
	check_negotiation(WEFT_PLUGIN_REACTOR);
}


static void
P4_layout_signature_matches(void **state)
{
	struct h_plugin p;

	(void)state;
	h_plugin_load(&p, path_of(WEFT_PLUGIN_EXECUTOR), WEFT_PLUGIN_EXECUTOR);
	assert_int_equal(p.desc->signature, WEFT_ABI_SIGNATURE);
	h_plugin_unload(&p);
	h_plugin_load(&p, path_of(WEFT_PLUGIN_REACTOR), WEFT_PLUGIN_REACTOR);
	assert_int_equal(p.desc->signature, WEFT_ABI_SIGNATURE);
	h_plugin_unload(&p);
}


static void
P5_abi_major_and_kind(void **state)
{
	struct h_plugin p;

	(void)state;
	h_plugin_load(&p, path_of(WEFT_PLUGIN_EXECUTOR), WEFT_PLUGIN_EXECUTOR);
	assert_int_equal(p.desc->abi_major, WEFT_ABI_MAJOR);
	assert_int_equal(p.desc->kind, WEFT_PLUGIN_EXECUTOR);
	h_plugin_unload(&p);
	h_plugin_load(&p, path_of(WEFT_PLUGIN_REACTOR), WEFT_PLUGIN_REACTOR);
	assert_int_equal(p.desc->abi_major, WEFT_ABI_MAJOR);
	assert_int_equal(p.desc->kind, WEFT_PLUGIN_REACTOR);
	h_plugin_unload(&p);
}


static void
P6_iface_version_size_and_methods(void **state)
{
	const struct weft_executor_iface *e;
	const struct weft_reactor_iface *r;
	struct h_plugin p;

	(void)state;
	h_plugin_load(&p, path_of(WEFT_PLUGIN_EXECUTOR), WEFT_PLUGIN_EXECUTOR);
	e = p.desc->iface;
	assert_true(e->version >= 1);
	assert_true(e->instance_size >= sizeof(struct weft_executor));
	/* Only the flags ABI 1.x defines (DETERMINISTIC: 1.2, E13). */
	assert_int_equal(e->flags & ~(WEFT_EXECUTOR_MULTI_THREAD |
	                              WEFT_EXECUTOR_DETERMINISTIC),
	                 0);
	assert_non_null(e->init);
	assert_non_null(e->spawn);
	assert_non_null(e->block_on);
	assert_non_null(e->shutdown);
	assert_non_null(e->fini);
	h_plugin_unload(&p);

	h_plugin_load(&p, path_of(WEFT_PLUGIN_REACTOR), WEFT_PLUGIN_REACTOR);
	r = p.desc->iface;
	assert_true(r->version >= 1);
	assert_true(r->instance_size >= sizeof(struct weft_reactor));
	assert_non_null(r->init);
	assert_non_null(r->add);
	assert_non_null(r->modify);
	assert_non_null(r->del);
	assert_non_null(r->wait);
	assert_non_null(r->wakeup);
	assert_non_null(r->fini);
	h_plugin_unload(&p);
}


static void
P7_constants_frozen(void **state)
{
	(void)state;
	assert_int_equal(WEFT_ABI_MAJOR, 1);
	assert_int_equal(WEFT_ABI_MAKE(1, 2), 0x10002);
	assert_int_equal(WEFT_PLUGIN_MAGIC, 0x54464557u);
	assert_string_equal(WEFT_PLUGIN_ENTRY_NAME, "weft_plugin_entry");
	assert_int_equal(WEFT_PLUGIN_EXECUTOR, 1);
	assert_int_equal(WEFT_PLUGIN_REACTOR, 2);
	assert_int_equal(WEFT_PENDING, 0);
	assert_int_equal(WEFT_READY, 1);
	assert_int_equal(WEFT_ENOTSUP, -10001);
	assert_int_equal(WEFT_ECLOSED, -10002);
	assert_int_equal(WEFT_ECANCELED, -10003);
	assert_int_equal(WEFT_ETIMEDOUT, -10004);
	assert_int_equal(WEFT_EABI, -10005);
	assert_int_equal(WEFT_EPLUGIN, -10006);
	assert_int_equal(WEFT_ECONFIG, -10007);
	assert_int_equal(WEFT_ELAGGED, -10008);
	assert_int_equal(WEFT_EBUSY, -10009);
	assert_int_equal(WEFT_ETAKEN, -10010);
	assert_int_equal(WEFT_READABLE, 1);
	assert_int_equal(WEFT_WRITABLE, 2);
	assert_int_equal(WEFT_HUP, 4);
	assert_int_equal(WEFT_ERROR, 8);
	assert_int_equal(WEFT_TIMEOUT_INFINITE, -1);
	assert_int_equal(WEFT_BUDGET_DEFAULT, 128);
	assert_int_equal(WEFT_EXECUTOR_MULTI_THREAD, 1);
	assert_int_equal(WEFT_REACTOR_EDGE, 1);
	assert_int_equal(WEFT_REACTOR_LEVEL, 2);
	assert_int_equal(WEFT_REACTOR_CONCURRENT_CTL, 4);
	/* ABI 1.2 */
	assert_int_equal(WEFT_EXECUTOR_DETERMINISTIC, 2);
	assert_int_equal(WEFT_REACTOR_CLOCK, 8);
	assert_int_equal(WEFT_FAULT_SHORT_IO, 1);
	assert_int_equal(WEFT_FAULT_SPURIOUS, 2);
	assert_int_equal(WEFT_FAULT_RESET, 3);
	/* ABI 1.3 */
	assert_int_equal(WEFT_REACTOR_COMPLETION, 0x10);
	assert_int_equal(WEFT_COMPLETE, 0x100);
	assert_int_equal(WEFT_MORE, 0x200);
	assert_int_equal(WEFT_OP_RECV, 1);
	assert_int_equal(WEFT_OP_SEND, 2);
	assert_int_equal(WEFT_OP_ACCEPT, 3);
	assert_int_equal(WEFT_OP_CONNECT, 4);
	assert_int_equal(WEFT_OP_READ, 5);
	assert_int_equal(WEFT_OP_WRITE, 6);
	assert_int_equal(WEFT_OP_CLOSE, 7);
	assert_int_equal(WEFT_OP_MULTISHOT, 1);
}


static void
P7_struct_layout_x86_64(void **state)
{
	(void)state;
#if defined(__x86_64__) && defined(__LP64__)
#define FROZEN(type, size)                                                     \
	if (sizeof(struct type) != (size))                                     \
		fail_msg("P7: sizeof(struct " #type ") is %zu, not %d",        \
		         sizeof(struct type), (size));
#define GROWS(type, end)                                                       \
	if (sizeof(struct type) < (end))                                       \
		fail_msg("P7: struct " #type " shrank to %zu bytes (< %d)",    \
		         sizeof(struct type), (end));
#define OFF(type, member, off)                                                 \
	if (offsetof(struct type, member) != (off))                            \
		fail_msg("P7: " #type "." #member " is at %zu, not %d",        \
		         offsetof(struct type, member), (off));
	WEFT_LAYOUT_X86_64
	WEFT_LAYOUT_X86_64_ADDED
#undef FROZEN
#undef GROWS
#undef OFF
	assert_int_equal(WEFT_ABI_SIGNATURE, WEFT_LAYOUT_X86_64_SIGNATURE);
#else
	skip(); /* the table describes x86_64 */
#endif
}


static const struct CMUnitTest tests[] = {
    H_TEST(P1_entry_symbol_enumerates_descriptors),
    H_TEST(P1_only_the_entry_symbol_is_exported),
    H_TEST(P2_descriptor_magic_and_version),
    H_TEST(P3_negotiation_in_both_directions),
    H_TEST(P4_layout_signature_matches),
    H_TEST(P5_abi_major_and_kind),
    H_TEST(P6_iface_version_size_and_methods),
    H_TEST(P7_constants_frozen),
    H_TEST(P7_struct_layout_x86_64),
};

H_GROUP(h_group_plugin, "plugin", tests);
