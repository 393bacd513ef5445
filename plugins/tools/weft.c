/* SPDX-License-Identifier: MIT */
/*
 * weft: the operator's command.  It lists the plugins the loader can see
 * and shows what a configuration resolves to, by opening a real runtime
 * with it, so that "why does my program pick this executor?" has a
 * one-command answer; `weft info --explain` adds where each value came
 * from and which files were read.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <weft/weft.h>

static const char usage[] =
    "usage: weft [--config FILE] [--program NAME] [--explain] COMMAND\n"
    "\n"
    "commands:\n"
    "  plugins   list the plugins found in the plugin path, and whether\n"
    "            each would load; name the libraries there that are not\n"
    "            named like plugins, which no name finds\n"
    "  info      show the executor, reactor, workers and plugin path the\n"
    "            configuration resolves to, by opening a runtime with it;\n"
    "            for a fallback list (reactor = io_uring, epoll), which\n"
    "            entry was used and why each one before it was refused\n"
    "  sim       run a program once per seed on the sim executor and\n"
    "            reactor and print the command that replays each failing\n"
    "            seed (weft sim --help shows its options)\n"
    "  tasks PID [--json]\n"
    "            print the tasks and runtime metrics of process PID, whose\n"
    "            runtime runs with console = on (docs/observability.md)\n"
    "  top PID [--interval MS]\n"
    "            the same, refreshed in the terminal; q quits\n"
    "  version   show the ABI version this weft speaks\n"
    "  help      show this text\n"
    "\n"
    "options:\n"
    "  --config FILE  read FILE first (key = value lines); the files in\n"
    "                 the standard places, WEFT_CONFIG and the WEFT_*\n"
    "                 variables still override it unless it says\n"
    "                 use_env = false\n"
    "  --program NAME resolve the configuration of program NAME, whose\n"
    "                 [program NAME] sections apply (implies --explain)\n"
    "  --explain      with info: show where each key's value came from,\n"
    "                 and the files read, missing, skipped or ignored\n";

/* sim.c: `weft sim ARGS...`, with --config FILE passed on, or NULL. */
int weft_sim_main(int argc, char **argv, const char *config);

/* top.c: `weft tasks` and `weft top`; argv[0] is the command's name. */
int weft_tool_console(int argc, char **argv);

struct listing {
	int count;
	int broken;
};

/* The names the loader looks plugins up by (loader.c, plugin_resolve). */
static const char naming[] =
    "not named weft-executor-NAME.so or weft-reactor-NAME.so";

static const char *
kind_name(uint32_t kind)
{
	switch (kind) {
	case WEFT_PLUGIN_EXECUTOR:
		return "executor";
	case WEFT_PLUGIN_REACTOR:
		return "reactor";
	default:
		return "?";
	}
}


static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}


static int
has_kind_prefix(const char *file)
{
	return strncmp(file, "weft-executor-", 14) == 0 ||
	       strncmp(file, "weft-reactor-", 13) == 0;
}


static void
print_plugin(const struct weft_plugin_info *info, void *data)
{
	struct listing *l = data;
	char version[32] = "-";
	char abi[32] = "-";

	l->count++;
	if (info->status == 0) {
		snprintf(abi, sizeof(abi), "%u.%u", info->abi_major,
		         info->abi_minor);
		snprintf(version, sizeof(version), "%u.%u.%u",
		         (info->plugin_version >> 16) & 0xffffu,
		         (info->plugin_version >> 8) & 0xffu,
		         info->plugin_version & 0xffu);
	} else {
		l->broken++;
	}
	printf("%-9s %-12s %-5s %-9s %-6s %s\n", kind_name(info->kind),
	       info->name ? info->name : "-", abi, version,
	       info->status == 0 ? "ok" : "error", info->path);
	if (info->status != 0)
		printf("  %s\n", info->error);
	else if (!has_kind_prefix(base_name(info->path)))
		/* weft-foo.so loads, but no name given in a config finds it. */
		printf("  note: %s, so it loads only by path\n", naming);
}


static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}


/*
 * A shared library by its name: x.so or a versioned x.so.1.  Other files
 * in a plugin folder (a README, a .conf) are no concern of the listing,
 * and neither are folders (a build tree's weft-executor-x.so.p).
 */
static int
is_shared_library(const char *file)
{
	size_t n = strlen(file);

	return (n > 3 && strcmp(file + n - 3, ".so") == 0) ||
	       strstr(file, ".so.") != NULL;
}


/* What the scan looks at: weft-*.so (loader.c, is_plugin_file). */
static int
is_scanned(const char *file)
{
	size_t n = strlen(file);

	return n > 8 && strncmp(file, "weft-", 5) == 0 &&
	       strcmp(file + n - 3, ".so") == 0;
}


/*
 * Names the shared libraries in one plugin folder that the scan passed
 * over, in name order, on stderr; returns how many.  The scan visits only
 * files named like plugins, so without this a plugin copied in under its
 * build name (libfoo.so) would leave the operator with "no plugins" and
 * no clue.
 */
static int
list_skipped_dir(const char *dir, size_t dirlen)
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
	/* A missing folder holds nothing, for the scan as for this. */
	d = opendir(name);
	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char path[4096 + 256];

		if (is_scanned(de->d_name) || !is_shared_library(de->d_name))
			continue;
		/* stat, not lstat: the loader follows symbolic links too. */
		snprintf(path, sizeof(path), "%s/%s", name, de->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
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
		fprintf(stderr, "weft: skipped %s/%s: %s\n", name, files[i],
		        naming);
		free(files[i]);
	}
	free(files);
	return (int)count;
}


/*
 * What the scan of plugin_path passed over: libraries not named like
 * plugins, and relative folders, which the loader ignores because they
 * would resolve through whatever the current folder happens to be.
 */
static void
list_skipped(const char *plugin_path)
{
	const char *dir;
	const char *end;

	for (dir = plugin_path ? plugin_path : ""; *dir; dir = end) {
		end = strchr(dir, ':');
		if (!end)
			end = dir + strlen(dir);
		if (end > dir && dir[0] == '/')
			list_skipped_dir(dir, (size_t)(end - dir));
		else if (end > dir)
			fprintf(stderr,
			        "weft: skipped folder \"%.*s\" in the plugin "
			        "path: not an absolute path\n",
			        (int)(end - dir), dir);
		if (*end == ':')
			end++;
	}
}


static int
cmd_plugins(struct weft_config *cfg)
{
	struct listing l = {0, 0};
	char err[1024];
	int rc;

	/* Load the environment here first: scan reports no error text. */
	rc = weft_config_load_env(cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "weft: %s\n", err);
		return 1;
	}
	printf("%-9s %-12s %-5s %-9s %-6s %s\n", "KIND", "NAME", "ABI",
	       "VERSION", "STATUS", "PATH");
	rc = weft_plugins_scan(cfg, print_plugin, &l);
	if (rc < 0) {
		fprintf(stderr, "weft: cannot scan plugins: %s\n",
		        weft_strerror(rc));
		return 1;
	}
	list_skipped(weft_config_get(cfg, "plugin_path"));
	if (l.count == 0) {
		fprintf(stderr, "weft: no plugins in plugin path \"%s\"\n",
		        weft_config_get(cfg, "plugin_path"));
		return 1;
	}
	if (l.broken) {
		fprintf(stderr, "weft: %d of %d plugins would not load\n",
		        l.broken, l.count);
		return 1;
	}
	return 0;
}


static void
print_loaded(struct weft_runtime *rt, enum weft_plugin_kind kind)
{
	const struct weft_plugin_descriptor *d = weft_runtime_plugin(rt, kind);
	const char *path = weft_runtime_plugin_path(rt, kind);
	const char *choice;
	uint32_t v;

	if (!d) {
		printf("%-12s ?\n", kind_name(kind));
		return;
	}
	v = d->plugin_version;
	printf("%-12s %s %u.%u.%u (ABI %u.%u) %s\n", kind_name(kind), d->name,
	       (v >> 16) & 0xffffu, (v >> 8) & 0xffu, v & 0xffu, d->abi_major,
	       d->abi_minor, path ? path : "?");
	/* A fallback list: which entries were refused before this one. */
	choice = weft_runtime_plugin_choice(rt, kind);
	if (choice && *choice)
		printf("%-12s (%s)\n", "", choice);
}


static const char *const keys[] = {
    "executor",
    "reactor",
    "workers",
    "blocking_threads",
    "plugin_path",
    "use_env",
    "allow_writable_plugins",
    "sim_seed",
    "sim_mode",
    "sim_pct_depth",
    "sim_faults",
    "sim_timeout",
    "slow_poll_ms",
    "console",
    "io_completion",
};

static const char *
status_name(int status)
{
	switch (status) {
	case WEFT_CONFIG_FILE_READ:
		return "read";
	case WEFT_CONFIG_FILE_MISSING:
		return "missing";
	case WEFT_CONFIG_FILE_SKIPPED:
		return "skipped";
	case WEFT_CONFIG_FILE_IGNORED:
		return "ignored";
	case WEFT_CONFIG_FILE_BROKEN:
		return "broken";
	default:
		return "?";
	}
}


/* One line per file the layers considered, in the order they came. */
static void
print_file(const struct weft_config_file *f, void *data)
{
	(void)data;
	printf("  %-8s %-18s %s%s%s\n", status_name(f->status), f->layer,
	       f->path, f->reason ? ": " : "", f->reason ? f->reason : "");
}


/*
 * The files first, as they are read, so that a broken one is shown even
 * when it stops the load; then every key with its source.
 */
static int
explain(struct weft_config *cfg)
{
	char err[1024];
	size_t i;
	int rc;

	printf("configuration of program \"%s\"\nfiles:\n",
	       weft_config_program(cfg));
	rc = weft_config_load_env_explain(cfg, print_file, NULL, err,
	                                  sizeof(err));
	if (rc < 0) {
		fflush(stdout);
		fprintf(stderr, "weft: %s\n", err);
		return rc;
	}
	printf("keys:\n");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		printf("  %-22s = %-16s  from %s\n", keys[i],
		       weft_config_get(cfg, keys[i]),
		       weft_config_origin(cfg, keys[i]));
	printf("note: executor and reactor may be fallback lists (reactor = "
	       "io_uring, epoll):\n      the first entry that loads and "
	       "starts is used; below, under it,\n      why each entry before "
	       "it was refused\n");
	printf("\n");
	return 0;
}


/*
 * How the I/O library runs on the reactor loaded: completion (operations
 * submitted in batches, D10) where the reactor claims it and io_completion
 * allows, readiness otherwise, with the reason.
 */
static void
print_io_mode(struct weft_runtime *rt, struct weft_config *cfg)
{
	const struct weft_plugin_descriptor *d =
	    weft_runtime_plugin(rt, WEFT_PLUGIN_REACTOR);
	const struct weft_reactor_iface *ops = d ? d->iface : NULL;
	bool claims = ops && ops->version >= 3 && ops->submit && ops->cancel &&
	              (ops->flags & WEFT_REACTOR_COMPLETION);
	const char *on = weft_config_get(cfg, "io_completion");

	if (!ops)
		return;
	if (claims && on && strcmp(on, "true") == 0)
		printf("%-12s completion\n", "io");
	else if (claims)
		printf("%-12s readiness (io_completion = false)\n", "io");
	else
		printf("%-12s readiness (the reactor has no completion I/O)\n",
		       "io");
}


/* Opens a runtime with cfg and shows what it loaded. */
static int
info_runtime(struct weft_config *cfg)
{
	struct weft_executor_stats stats;
	struct weft_runtime *rt;
	char err[1024];
	int rc;

	err[0] = '\0';
	rc = weft_runtime_open(&rt, cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "weft: cannot open a runtime: %s\n",
		        err[0] ? err : weft_strerror(rc));
		return 1;
	}
	print_loaded(rt, WEFT_PLUGIN_EXECUTOR);
	print_loaded(rt, WEFT_PLUGIN_REACTOR);
	print_io_mode(rt, cfg);
	printf("%-12s %s", "workers", weft_config_get(cfg, "workers"));
	memset(&stats, 0, sizeof(stats));
	stats.size = sizeof(stats);
	if (weft_runtime_stats(rt, &stats) == 0 &&
	    stats.size >= offsetof(struct weft_executor_stats, workers) +
	                      sizeof(stats.workers))
		printf(" (running %u)", stats.workers);
	printf("\n%-12s %s\n", "plugin_path",
	       weft_config_get(cfg, "plugin_path"));
	printf("%-12s %s\n", "use_env", weft_config_get(cfg, "use_env"));
	/* The runtime's own: drawn at open when the key says "random". */
	printf("%-12s %llu%s\n", "sim_seed",
	       (unsigned long long)weft_runtime_seed(rt),
	       strcmp(weft_config_get(cfg, "sim_seed"), "random") == 0
	           ? " (drawn: sim_seed = random)"
	           : "");
	weft_runtime_close(rt);
	return 0;
}


static int
cmd_info(struct weft_config *cfg, int explaining)
{
	char err[1024];

	/*
	 * Applying the environment to cfg here shows the values the runtime
	 * will see; opening the runtime applies it again, to the same effect.
	 * The explanation comes before the runtime, which may fail to open
	 * because of the very value the operator wants to trace.
	 */
	if (explaining) {
		if (explain(cfg) < 0)
			return 1;
	} else if (weft_config_load_env(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "weft: %s\n", err);
		return 1;
	}
	return info_runtime(cfg);
}


int
main(int argc, char **argv)
{
	struct weft_config *cfg = NULL;
	const char *config = NULL;
	const char *program = NULL;
	const char *cmd = NULL;
	int explaining = 0;
	char err[1024];
	int status = 2;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "help") == 0) {
			fputs(usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			cmd = "version";
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config = argv[i] + 9;
		} else if (strcmp(argv[i], "--explain") == 0) {
			explaining = 1;
		} else if (strcmp(argv[i], "--program") == 0 && i + 1 < argc) {
			program = argv[++i];
			explaining = 1;
		} else if (strncmp(argv[i], "--program=", 10) == 0) {
			program = argv[i] + 10;
			explaining = 1;
		} else if (strcmp(argv[i], "sim") == 0 && !cmd) {
			/* The rest are sim's own options and the program. */
			return weft_sim_main(argc - i - 1, argv + i + 1,
			                     config);
		} else if ((strcmp(argv[i], "tasks") == 0 ||
		            strcmp(argv[i], "top") == 0) &&
		           !cmd) {
			return weft_tool_console(argc - i, argv + i);
		} else if (argv[i][0] != '-' && !cmd) {
			cmd = argv[i];
		} else {
			fprintf(stderr, "weft: unexpected argument \"%s\"\n%s",
			        argv[i], usage);
			return 2;
		}
	}
	if (!cmd) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("weft ABI %u.%u, layout signature 0x%016llx\n",
		       WEFT_ABI_MAJOR, WEFT_ABI_MINOR,
		       (unsigned long long)WEFT_ABI_SIGNATURE);
		return 0;
	}
	if (strcmp(cmd, "plugins") != 0 && strcmp(cmd, "info") != 0) {
		fprintf(stderr, "weft: unknown command \"%s\"\n%s", cmd, usage);
		return 2;
	}
	if (weft_config_new(&cfg) < 0) {
		fprintf(stderr, "weft: out of memory\n");
		return 1;
	}
	/* Before --config, whose [program NAME] sections it decides. */
	if (program && weft_config_set_program(cfg, program) < 0) {
		fprintf(stderr, "weft: invalid program name \"%s\"\n", program);
		status = 2;
		goto out;
	}
	if (config &&
	    weft_config_load_file(cfg, config, err, sizeof(err)) < 0) {
		fprintf(stderr, "weft: %s\n", err);
		status = 1;
		goto out;
	}
	if (strcmp(cmd, "plugins") == 0)
		status = cmd_plugins(cfg);
	else
		status = cmd_info(cfg, explaining);
out:
	weft_config_free(cfg);
	return status;
}
