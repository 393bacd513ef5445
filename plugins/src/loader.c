/* SPDX-License-Identifier: MIT */
/*
 * The plugin loader: finds a plugin file, dlopens it, negotiates the ABI
 * version with its entry point and checks its descriptor and interface
 * before anything in it is called (P rules).  Also weft_plugins_scan(),
 * which runs the same checks over every plugin file it finds.
 *
 * Every refusal names the file and the reason, and unloads the file again:
 * an operator who picked the wrong .so should learn why from one line.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "filetype.h"
#include "plugins.h"

/* weft__plugin_load() with this kind accepts executors and reactors. */
#define KIND_ANY 0

/* A descriptor name must end within this many bytes, NUL included. */
#define NAME_LIMIT 64

static const char *
kind_name(uint32_t kind)
{
	switch (kind) {
	case WEFT_PLUGIN_EXECUTOR:
		return "executor";
	case WEFT_PLUGIN_REACTOR:
		return "reactor";
	default:
		return "unknown";
	}
}


int
weft__name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}


/*
 * Finds the file for spec: a path (it contains '/') is taken as given; a
 * name is looked up as weft-<kind>-<name>.so in each folder of plugin_path
 * in order, and the first that exists wins even if it then fails to load,
 * as with PATH: a broken plugin must not be silently shadowed.
 */
static int
plugin_resolve(char *out, size_t outlen, const char *spec,
               enum weft_plugin_kind kind, const char *plugin_path, char *err,
               size_t errlen)
{
	const char *k = kind_name(kind);
	const char *dir;
	const char *end;
	struct stat st;
	int n;

	if (!spec || !*spec)
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "no %s plugin configured", k);
	if (strchr(spec, '/')) {
		/* A relative path would depend on the current directory. */
		if (spec[0] != '/')
			return weft__fail(
			    err, errlen, WEFT_ECONFIG,
			    "%s plugin path \"%.200s\" is relative: "
			    "give an absolute path",
			    k, spec);
		if (strlen(spec) >= outlen)
			return weft__fail(err, errlen, -ENAMETOOLONG,
			                  "%s plugin path is too long", k);
		strcpy(out, spec);
		return 0;
	}
	if (kind == KIND_ANY)
		return weft__fail(err, errlen, -EINVAL,
		                  "plugin %.64s: a name needs a kind", spec);
	if (!weft__name_valid(spec, strlen(spec)) || strlen(spec) >= NAME_LIMIT)
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "invalid %s name \"%.64s\": a name is made "
		                  "of a-z, 0-9, '_' and '-'; a path must "
		                  "contain '/'",
		                  k, spec);
	for (dir = plugin_path ? plugin_path : ""; *dir; dir = end) {
		end = strchrnul(dir, ':');
		/* Relative folders would resolve through the current one. */
		if (end > dir && dir[0] == '/') {
			n = snprintf(out, outlen, "%.*s/weft-%s-%s.so",
			             (int)(end - dir), dir, k, spec);
			if (n > 0 && (size_t)n < outlen && stat(out, &st) == 0)
				return 0;
		}
		if (*end == ':')
			end++;
	}
	return weft__fail(err, errlen, -ENOENT,
	                  "no %s plugin named \"%s\": weft-%s-%s.so is not in "
	                  "plugin path \"%s\" (relative folders are ignored)",
	                  k, spec, k, spec, plugin_path ? plugin_path : "");
}


/*
 * Refuses a plugin that another user could replace: the file (st), or a
 * folder holding it that others may write without the sticky bit.  Loading
 * it would run that user's code in this process.  The configuration files
 * in the standard places follow the same rule (weft__check_writable).
 */
static int
check_writable(const char *path, const struct stat *st, unsigned flags,
               char *err, size_t errlen)
{
	if (flags & WEFT__LOAD_ALLOW_WRITABLE)
		return 0;
	return weft__check_writable(path, st, "a plugin",
	                            "; fix its mode or set "
	                            "allow_writable_plugins = true",
	                            err, errlen);
}


/*
 * Checks the file before dlopen() sees it.  It must be a regular file:
 * dlopen() opens it with a blocking open() and has no non-blocking mode,
 * so a FIFO would hang it until a writer came, and a device or a folder
 * is never a plugin.  That comes before the writable check, whose advice
 * (allow_writable_plugins) would not help with /dev/null.  A file swapped
 * for a FIFO after this stat() still reaches dlopen(); keeping others from
 * swapping files is what check_writable() is for.  A file that cannot be
 * examined is left for dlopen() to report.
 */
static int
check_file(const char *path, unsigned flags, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if (stat(path, &st) < 0)
		return 0;
	rc = weft__check_regular(path, &st, err, errlen);
	if (rc < 0)
		return rc;
	return check_writable(path, &st, flags, err, errlen);
}


/*
 * dlerror() texts usually start with the file name; the message already
 * names the file, so drop the repetition.
 */
static const char *
dl_reason(const char *path)
{
	const char *e = dlerror();
	size_t n = strlen(path);

	if (!e)
		return "unknown dynamic loader error";
	if (strncmp(e, path, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
		return e + n + 2;
	return e;
}


/* Checks the executor interface of a descriptor. */
static int
check_executor(const char *path, const struct weft_executor_iface *ops,
               char *err, size_t errlen)
{
	const char *missing = NULL;

	if (ops->version == 0)
		return weft__fail(err, errlen, WEFT_EABI,
		                  "%s: executor interface version 0 is invalid",
		                  path);
	if (ops->instance_size < sizeof(struct weft_executor))
		return weft__fail(err, errlen, WEFT_EABI,
		                  "%s: executor instance_size %zu is smaller "
		                  "than struct weft_executor (%zu bytes)",
		                  path, ops->instance_size,
		                  sizeof(struct weft_executor));
	if (!ops->init)
		missing = "init";
	else if (!ops->spawn)
		missing = "spawn";
	else if (!ops->block_on)
		missing = "block_on";
	else if (!ops->shutdown)
		missing = "shutdown";
	else if (!ops->fini)
		missing = "fini";
	if (missing)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: executor interface lacks required "
		                  "method %s",
		                  path, missing);
	/* E13: the schedule of several threads is no function of a seed. */
	if ((ops->flags & WEFT_EXECUTOR_DETERMINISTIC) &&
	    (ops->flags & WEFT_EXECUTOR_MULTI_THREAD))
		return weft__fail(
		    err, errlen, WEFT_EPLUGIN,
		    "%s: executor claims both DETERMINISTIC and "
		    "MULTI_THREAD: a deterministic executor polls "
		    "on one thread",
		    path);
	return 0;
}


static int
check_reactor(const char *path, const struct weft_reactor_iface *ops, char *err,
              size_t errlen)
{
	const char *missing = NULL;

	if (ops->version == 0)
		return weft__fail(err, errlen, WEFT_EABI,
		                  "%s: reactor interface version 0 is invalid",
		                  path);
	if (ops->instance_size < sizeof(struct weft_reactor))
		return weft__fail(err, errlen, WEFT_EABI,
		                  "%s: reactor instance_size %zu is smaller "
		                  "than struct weft_reactor (%zu bytes)",
		                  path, ops->instance_size,
		                  sizeof(struct weft_reactor));
	if (!ops->init)
		missing = "init";
	else if (!ops->add)
		missing = "add";
	else if (!ops->modify)
		missing = "modify";
	else if (!ops->del)
		missing = "del";
	else if (!ops->wait)
		missing = "wait";
	else if (!ops->wakeup)
		missing = "wakeup";
	else if (!ops->fini)
		missing = "fini";
	/* R12: the host would read a clock the reactor cannot give. */
	else if ((ops->flags & WEFT_REACTOR_CLOCK) &&
	         (ops->version < 2 || !ops->now))
		missing = "now (it claims WEFT_REACTOR_CLOCK)";
	else if ((ops->flags & WEFT_REACTOR_CLOCK) && !ops->advance)
		missing = "advance (it claims WEFT_REACTOR_CLOCK)";
	/* R13: the host would submit to a reactor that cannot take it. */
	else if ((ops->flags & WEFT_REACTOR_COMPLETION) &&
	         (ops->version < 3 || !ops->submit))
		missing = "submit (it claims WEFT_REACTOR_COMPLETION)";
	else if ((ops->flags & WEFT_REACTOR_COMPLETION) && !ops->cancel)
		missing = "cancel (it claims WEFT_REACTOR_COMPLETION)";
	if (missing)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: reactor interface lacks required "
		                  "method %s",
		                  path, missing);
	return 0;
}


/* Checks what the entry point returned, in the order of the P rules. */
static int
check_descriptor(const char *path, const struct weft_plugin_descriptor *d,
                 const struct weft_negotiate *neg, enum weft_plugin_kind kind,
                 char *err, size_t errlen)
{
	size_t n;

	if (!d)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: entry point returned a NULL descriptor",
		                  path);
	if (d->version == 0)
		return weft__fail(err, errlen, WEFT_EABI,
		                  "%s: descriptor version 0 is invalid", path);
	if (d->magic != WEFT_PLUGIN_MAGIC)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: bad magic 0x%08x (expected 0x%08x)",
		                  path, d->magic, WEFT_PLUGIN_MAGIC);
	if (d->abi_major != WEFT_ABI_MAJOR)
		return weft__fail(
		    err, errlen, WEFT_EABI,
		    "%s: built for ABI major %u, this host speaks "
		    "major %u",
		    path, d->abi_major, WEFT_ABI_MAJOR);
	if (neg->chosen < neg->host_min || neg->chosen > neg->host_max)
		return weft__fail(
		    err, errlen, WEFT_EABI,
		    "%s: negotiated ABI %u.%u is outside the host's "
		    "range %u.%u to %u.%u",
		    path, WEFT_ABI_GET_MAJOR(neg->chosen),
		    WEFT_ABI_GET_MINOR(neg->chosen),
		    WEFT_ABI_GET_MAJOR(neg->host_min),
		    WEFT_ABI_GET_MINOR(neg->host_min),
		    WEFT_ABI_GET_MAJOR(neg->host_max),
		    WEFT_ABI_GET_MINOR(neg->host_max));
	if (d->abi_minor < WEFT_ABI_GET_MINOR(neg->host_min))
		return weft__fail(err, errlen, WEFT_EABI,
		                  "%s: built for ABI %u.%u, older than the "
		                  "oldest this host accepts (%u.%u)",
		                  path, d->abi_major, d->abi_minor,
		                  WEFT_ABI_GET_MAJOR(neg->host_min),
		                  WEFT_ABI_GET_MINOR(neg->host_min));
	if (d->signature != WEFT_ABI_SIGNATURE)
		return weft__fail(err, errlen, WEFT_EABI,
		                  "%s: ABI signature 0x%016llx does not match "
		                  "the host's 0x%016llx (built for another "
		                  "architecture or compiler ABI?)",
		                  path, (unsigned long long)d->signature,
		                  (unsigned long long)WEFT_ABI_SIGNATURE);
	if (d->kind != WEFT_PLUGIN_EXECUTOR && d->kind != WEFT_PLUGIN_REACTOR)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: unknown plugin kind %u", path, d->kind);
	if (kind != KIND_ANY && d->kind != (uint32_t)kind)
		return weft__fail(
		    err, errlen, WEFT_EPLUGIN,
		    "%s: is a%s %s plugin, not a%s %s plugin", path,
		    d->kind == WEFT_PLUGIN_EXECUTOR ? "n" : "",
		    kind_name(d->kind), kind == WEFT_PLUGIN_EXECUTOR ? "n" : "",
		    kind_name(kind));
	if (!d->name)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: plugin has no name", path);
	/* strnlen() reads no further than the limit, even without a NUL. */
	n = strnlen(d->name, NAME_LIMIT);
	if (n == NAME_LIMIT)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: plugin name is not NUL-terminated "
		                  "within %d bytes",
		                  path, NAME_LIMIT);
	if (!weft__name_valid(d->name, n))
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: invalid plugin name \"%s\" (allowed: "
		                  "a-z, 0-9, '_' and '-')",
		                  path, d->name);
	if (!d->iface)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: descriptor has no interface (iface is "
		                  "NULL)",
		                  path);
	if (d->kind == WEFT_PLUGIN_EXECUTOR)
		return check_executor(path, d->iface, err, errlen);
	return check_reactor(path, d->iface, err, errlen);
}


int
weft__check_descriptor(const char *path,
                       const struct weft_plugin_descriptor *desc,
                       const struct weft_negotiate *neg,
                       enum weft_plugin_kind kind, char *err, size_t errlen)
{
	if (!path || !neg)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft__check_descriptor: NULL argument");
	return check_descriptor(path, desc, neg, kind, err, errlen);
}


/*
 * Negotiates with an entry point and checks the descriptor it hands back;
 * the same steps whether the entry came from dlsym or from the builtin
 * table.  On success p->desc and p->abi_chosen are set.
 */
static int
plugin_bind(struct weft__plugin *p, weft_plugin_entry_fn entry,
            enum weft_plugin_kind kind, char *err, size_t errlen)
{
	struct weft_negotiate neg = {
	    .version = WEFT_NEGOTIATE_VERSION,
	    .host_min = WEFT_ABI_MAKE(1, 0),
	    .host_max = WEFT_ABI_VERSION,
	    .chosen = 0,
	};
	const struct weft_plugin_descriptor *desc = NULL;
	int rc;

	rc = entry(&neg, 0, &desc);
	if (rc < 0)
		return weft__fail(err, errlen, rc,
		                  "%s: entry point failed: %s (%d)", p->path,
		                  weft_strerror(rc), rc);
	if (rc == 0)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: entry point returned no descriptor",
		                  p->path);
	if (rc != 1)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: entry point returned %d (expected 1, 0 "
		                  "or a negative error)",
		                  p->path, rc);
	rc = check_descriptor(p->path, desc, &neg, kind, err, errlen);
	if (rc < 0)
		return rc;
	p->desc = desc;
	p->abi_chosen = neg.chosen;
	return 0;
}


/* A name registered with weft_plugin_add_builtin(): no file, no dlopen. */
static int
plugin_load_builtin(struct weft__plugin *p, const char *spec,
                    enum weft_plugin_kind kind, weft_plugin_entry_fn entry,
                    char *err, size_t errlen)
{
	snprintf(p->path, sizeof(p->path), "builtin:%s-%s", kind_name(kind),
	         spec);
	return plugin_bind(p, entry, kind, err, errlen);
}


int
weft__plugin_load(struct weft__plugin *p, const char *spec,
                  enum weft_plugin_kind kind, unsigned flags,
                  const char *plugin_path, char *err, size_t errlen)
{
	weft_plugin_entry_fn entry;
	void *sym;
	int rc;

	if (!p)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft__plugin_load: NULL plugin");
	memset(p, 0, sizeof(*p));
	if (spec && kind != KIND_ANY && !strchr(spec, '/')) {
		entry = weft__builtin_find(kind, spec);
		if (entry)
			return plugin_load_builtin(p, spec, kind, entry, err,
			                           errlen);
	}
	rc = plugin_resolve(p->path, sizeof(p->path), spec, kind, plugin_path,
	                    err, errlen);
	if (rc < 0)
		return rc;
	rc = check_file(p->path, flags, err, errlen);
	if (rc < 0)
		return rc;
	p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle)
		return weft__fail(err, errlen, WEFT_EPLUGIN,
		                  "%s: cannot load: %s", p->path,
		                  dl_reason(p->path));
	dlerror();
	sym = dlsym(p->handle, WEFT_PLUGIN_ENTRY_NAME);
	if (!sym) {
		rc = weft__fail(err, errlen, WEFT_EPLUGIN,
		                "%s: no entry symbol %s (not a weft plugin)",
		                p->path, WEFT_PLUGIN_ENTRY_NAME);
		goto fail;
	}
	/* POSIX guarantees that a dlsym() result converts to a function. */
	*(void **)&entry = sym;
	rc = plugin_bind(p, entry, kind, err, errlen);
	if (rc < 0)
		goto fail;
	return 0;

fail:
	dlclose(p->handle);
	p->handle = NULL;
	return rc;
}


void
weft__plugin_unload(struct weft__plugin *p)
{
	/*
	 * Valgrind resolves the addresses in its stacks only while the
	 * library is mapped, so WEFT_NO_DLCLOSE keeps plugins loaded for it.
	 */
	if (p && p->handle && !secure_getenv("WEFT_NO_DLCLOSE"))
		dlclose(p->handle);
	if (p) {
		p->handle = NULL;
		p->desc = NULL;
	}
}


/* The kind a plugin file name announces (weft-executor-x.so), or any. */
static enum weft_plugin_kind
kind_of_file(const char *file)
{
	if (strncmp(file, "weft-executor-", 14) == 0)
		return WEFT_PLUGIN_EXECUTOR;
	if (strncmp(file, "weft-reactor-", 13) == 0)
		return WEFT_PLUGIN_REACTOR;
	return (enum weft_plugin_kind)KIND_ANY;
}


/*
 * The files the scan looks at.  The weft command names the libraries this
 * passes over (plugins/tools/weft.c, is_scanned), so the two must agree.
 */
static int
is_plugin_file(const char *file)
{
	size_t n = strlen(file);

	return n > 8 && strncmp(file, "weft-", 5) == 0 &&
	       strcmp(file + n - 3, ".so") == 0;
}


static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}


/*
 * Checks one file and shows it to fn.  A file named like an executor or a
 * reactor is checked as that kind, so that a plugin which would never be
 * found under its own name shows up as an error.
 */
static void
scan_file(const char *dir, size_t dirlen, const char *file, unsigned flags,
          weft_plugin_visit_fn fn, void *data)
{
	struct weft_plugin_info info;
	struct weft__plugin p;
	char path[sizeof(p.path)];
	char err[1024];
	int n;

	memset(&info, 0, sizeof(info));
	memset(&p, 0, sizeof(p));
	info.size = sizeof(info);
	info.path = path;
	n = snprintf(path, sizeof(path), "%.*s/%s", (int)dirlen, dir, file);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(path, sizeof(path), "%s", file);
		info.status = weft__fail(err, sizeof(err), -ENAMETOOLONG,
		                         "%s: path is too long", file);
	} else {
		info.status = weft__plugin_load(&p, path, kind_of_file(file),
		                                flags, NULL, err, sizeof(err));
	}
	if (info.status == 0) {
		info.kind = p.desc->kind;
		info.abi_major = p.desc->abi_major;
		info.abi_minor = p.desc->abi_minor;
		info.plugin_version = p.desc->plugin_version;
		info.name = p.desc->name;
		info.description = p.desc->description;
	} else {
		info.kind = kind_of_file(file);
		info.error = err;
	}
	fn(&info, data);
	weft__plugin_unload(&p);
}


/* Visits the plugin files of one folder in name order; returns a count. */
static int
scan_dir(const char *dir, size_t dirlen, unsigned flags,
         weft_plugin_visit_fn fn, void *data)
{
	char name[4096];
	char **files = NULL;
	struct dirent *de;
	size_t count = 0;
	size_t cap = 0;
	size_t i;
	DIR *d;

	if (dirlen >= sizeof(name))
		return 0;
	memcpy(name, dir, dirlen);
	name[dirlen] = '\0';
	/* A folder in the path that does not exist simply holds nothing. */
	d = opendir(name);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (!is_plugin_file(de->d_name))
			continue;
		if (count == cap) {
			char **grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(files, cap * sizeof(*files));
			if (!grown)
				break;
			files = grown;
		}
		files[count] = strdup(de->d_name);
		if (!files[count])
			break;
		count++;
	}
	closedir(d);
	if (count > 1)
		qsort(files, count, sizeof(*files), cmp_str);
	for (i = 0; i < count; i++) {
		scan_file(dir, dirlen, files[i], flags, fn, data);
		free(files[i]);
	}
	free(files);
	return (int)count;
}


WEFT_EXPORT int
weft_plugins_scan(const struct weft_config *cfg, weft_plugin_visit_fn fn,
                  void *data)
{
	struct weft__settings s;
	const char *dir;
	const char *end;
	int total = 0;
	int rc;

	if (!fn)
		return -EINVAL;
	rc = weft__settings_resolve(&s, cfg, NULL, 0);
	if (rc < 0)
		return rc;
	for (dir = s.plugin_path; *dir; dir = end) {
		end = strchrnul(dir, ':');
		if (end > dir && dir[0] == '/')
			total += scan_dir(
			    dir, (size_t)(end - dir),
			    s.allow_writable ? WEFT__LOAD_ALLOW_WRITABLE : 0,
			    fn, data);
		if (*end == ':')
			end++;
	}
	return total;
}
