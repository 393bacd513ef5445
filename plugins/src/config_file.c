/* SPDX-License-Identifier: MIT */
/*
 * The configuration's text format: `key = value` lines, '#' comments,
 * values bare or quoted with "..." or '...' (no escapes).  A file or string
 * is parsed into a copy of the configuration, committed only when every
 * line is valid; errors name origin:line and the reason.
 *
 * A section `[program PATTERN]` holds lines that apply only to a program
 * whose name matches PATTERN; lines before the first section apply to
 * every program.
 *
 * Also the checks, shared with the loader, that a file to be read is a
 * regular one and that no other user could change it (filetype.h), and
 * the trust rules of the files in the standard places.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "filetype.h"

/* Configuration files are a few lines; anything larger is a mistake. */
#define FILE_MAX (1u << 20)


static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}


static void
trim(const char **s, const char **e)
{
	while (*s < *e && is_blank(**s))
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]))
		(*e)--;
}


/*
 * Splits the value part of a line (s..e, already trimmed) into the value
 * itself: quoted with "..." or '...' (no escapes, so that Windows-style and
 * odd paths survive), or bare up to a '#' comment.
 */
static int
parse_value(const char **s, const char **e, char *why, size_t whylen)
{
	const char *close;
	const char *rest;

	if (*s < *e && (**s == '"' || **s == '\'')) {
		close = memchr(*s + 1, **s, (size_t)(*e - *s - 1));
		if (!close)
			return weft__fail(why, whylen, WEFT_ECONFIG,
			                  "unterminated quote");
		rest = close + 1;
		while (rest < *e && is_blank(*rest))
			rest++;
		if (rest < *e && *rest != '#')
			return weft__fail(why, whylen, WEFT_ECONFIG,
			                  "unexpected text after the closing "
			                  "quote");
		(*s)++;
		*e = close;
		return 0;
	}
	close = memchr(*s, '#', (size_t)(*e - *s));
	if (close)
		*e = close;
	trim(s, e);
	return 0;
}


/* The state of one parse: where the lines go, and which section is open. */
struct parse {
	struct weft_config *work;
	const char *program;      /* matched against [program PATTERN] */
	unsigned seen[KEY_COUNT]; /* line each key was set on, per section */
	int match; /* whether the open section applies to this program */
	char section[PROGRAM_LEN]; /* its pattern; "" before any section */
};


/*
 * `[program PATTERN]` (s..e trimmed, *s == '['): opens a section that
 * applies only to a program whose name matches PATTERN (fnmatch(3)).
 * Keys may be set again in each section.
 */
static int
parse_section(struct parse *ps, const char *s, const char *e, const char *where,
              char *err, size_t errlen)
{
	const char *close = memchr(s, ']', (size_t)(e - s));
	const char *rest;
	const char *ns;
	const char *ne;
	char q[96];
	size_t n;

	if (!close)
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: missing ']' (expected [program NAME])",
		                  where);
	for (rest = close + 1; rest < e && is_blank(*rest); rest++)
		;
	if (rest < e && *rest != '#')
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: unexpected text after ']'", where);
	ns = s + 1;
	ne = close;
	trim(&ns, &ne);
	if (ne - ns < 7 || memcmp(ns, "program", 7) != 0 ||
	    (ne - ns > 7 && !is_blank(ns[7])))
		return weft__fail(
		    err, errlen, WEFT_ECONFIG,
		    "%s: unknown section %s (expected [program NAME])", where,
		    weft__config_quote(q, sizeof(q), ns, (size_t)(ne - ns)));
	ns += 7;
	trim(&ns, &ne);
	n = (size_t)(ne - ns);
	if (n == 0)
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: missing program name in [program NAME]",
		                  where);
	if (n >= sizeof(ps->section))
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: program name is too long (%zu bytes, at "
		                  "most %zu)",
		                  where, n, sizeof(ps->section) - 1);
	memcpy(ps->section, ns, n);
	ps->section[n] = '\0';
	ps->match = fnmatch(ps->section, ps->program, 0) == 0;
	memset(ps->seen, 0, sizeof(ps->seen));
	return 0;
}


static int
parse_line(struct parse *ps, const char *s, const char *e, const char *where,
           unsigned line, char *err, size_t errlen)
{
	char origin[ORIGIN_LEN];
	const char *eq;
	const char *ks;
	const char *ke;
	char why[128];
	char q[96];
	int id;

	if (memchr(s, '\0', (size_t)(e - s)))
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: line contains a NUL byte", where);
	trim(&s, &e);
	if (s == e || *s == '#')
		return 0;
	if (*s == '[')
		return parse_section(ps, s, e, where, err, errlen);
	eq = memchr(s, '=', (size_t)(e - s));
	if (!eq)
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: missing '=' (expected key = value)",
		                  where);
	ks = s;
	ke = eq;
	trim(&ks, &ke);
	if (ks == ke)
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: missing key before '='", where);
	id = weft__config_key_find(ks, (size_t)(ke - ks));
	if (id < 0)
		return weft__fail(
		    err, errlen, WEFT_ECONFIG, "%s: unknown key %s", where,
		    weft__config_quote(q, sizeof(q), ks, (size_t)(ke - ks)));
	if (ps->seen[id])
		return weft__fail(err, errlen, WEFT_ECONFIG,
		                  "%s: duplicate key \"%s\" (already set on "
		                  "line %u)",
		                  where, weft__config_key_name(id),
		                  ps->seen[id]);
	ps->seen[id] = line;
	s = eq + 1;
	trim(&s, &e);
	if (parse_value(&s, &e, why, sizeof(why)) < 0)
		return weft__fail(err, errlen, WEFT_ECONFIG, "%s: %s", where,
		                  why);
	if (ps->section[0])
		snprintf(origin, sizeof(origin), "%s [program %s]", where,
		         ps->section);
	else
		snprintf(origin, sizeof(origin), "%s", where);
	/*
	 * Another program's section is checked all the same, so that a
	 * broken line is reported wherever it is, but applied nowhere.
	 */
	return weft__config_apply(ps->match ? ps->work : NULL, id, s,
	                          (size_t)(e - s), where, origin, err, errlen);
}


/* Parses len bytes of text, which may contain anything. */
static int
config_parse(struct weft_config *cfg, const char *text, size_t len,
             const char *origin, char *err, size_t errlen)
{
	struct parse *ps;
	const char *p = text;
	const char *end = text + len;
	char where[512];
	unsigned line = 1;
	int rc = 0;

	/* The work copy is large; keep it off small thread stacks. */
	ps = calloc(1, sizeof(*ps));
	if (ps)
		ps->work = malloc(sizeof(*ps->work));
	if (!ps || !ps->work) {
		if (ps)
			free(ps);
		return weft__fail(err, errlen, -ENOMEM, "%s: out of memory",
		                  origin);
	}
	*ps->work = *cfg;
	ps->program = weft__config_program(cfg);
	ps->match = 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		snprintf(where, sizeof(where), "%s:%u", origin, line);
		rc = parse_line(ps, p, eol, where, line, err, errlen);
		if (rc < 0)
			break;
		p = eol + 1;
		line++;
	}
	if (rc == 0)
		*cfg = *ps->work;
	free(ps->work);
	free(ps);
	return rc;
}


WEFT_EXPORT int
weft_config_load_string(struct weft_config *cfg, const char *text,
                        const char *origin, char *err, size_t errlen)
{
	if (!cfg || !text)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft_config_load_string: NULL argument");
	return config_parse(cfg, text, strlen(text),
	                    origin ? origin : "<string>", err, errlen);
}


const char *
weft__file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "a file of unknown type";
	}
}


int
weft__check_regular(const char *path, const struct stat *st, char *err,
                    size_t errlen)
{
	if (S_ISREG(st->st_mode))
		return 0;
	/* EISDIR is what read() of a directory reported before this check. */
	return weft__fail(err, errlen, S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL,
	                  "%s: not a regular file: %s", path,
	                  weft__file_type(st->st_mode));
}


static int
fail_errno(const char *path, const char *what, char *err, size_t errlen)
{
	int rc = -errno;

	return weft__fail(err, errlen, rc, "%s: %s: %s", path, what,
	                  weft_strerror(rc));
}


int
weft__check_writable(const char *path, const struct stat *st, const char *what,
                     const char *fix, char *err, size_t errlen)
{
	char dir[4096];
	struct stat dst;

	if (st->st_mode & S_IWOTH)
		return weft__fail(err, errlen, -EPERM,
		                  "%s: refusing %s file other users may write "
		                  "(mode %03o)%s",
		                  path, what, (unsigned)(st->st_mode & 0777),
		                  fix);
	snprintf(dir, sizeof(dir), "%s", path);
	if (stat(dirname(dir), &dst) == 0 && (dst.st_mode & S_IWOTH) &&
	    !(dst.st_mode & S_ISVTX))
		return weft__fail(err, errlen, -EPERM,
		                  "%s: refusing %s in folder %s, which other "
		                  "users may write (mode %03o)%s",
		                  path, what, dir,
		                  (unsigned)(dst.st_mode & 0777), fix);
	return 0;
}


/*
 * The trust rules of the files in the standard places: those of plugin
 * files, and an owner who could not already run code as this process
 * anyway: root, or this user unless the process is privileged.
 */
static int
check_trusted(const char *path, const struct stat *st, unsigned flags,
              char *err, size_t errlen)
{
	if (st->st_uid != 0 &&
	    ((flags & WEFT__CONFIG_PRIVILEGED) || st->st_uid != geteuid()))
		return weft__fail(
		    err, errlen, -EPERM,
		    "%s: refusing a configuration file owned by "
		    "user %u, who is neither root%s",
		    path, (unsigned)st->st_uid,
		    (flags & WEFT__CONFIG_PRIVILEGED)
		        ? " (a privileged process trusts only root)"
		        : " nor this process's user");
	return weft__check_writable(path, st, "a configuration", "", err,
	                            errlen);
}


/*
 * Opens path for reading; only a regular file is accepted.  stat() comes
 * first so that a device is never opened at all (opening one may do
 * something).  A FIFO swapped in after it must not block the open while
 * it waits for a writer: O_NONBLOCK makes that open return at once, and
 * fstat() of what was opened refuses it.  For a regular file O_NONBLOCK
 * changes nothing.  The trust rules look at what was opened, so that a
 * file swapped in after the stat() is judged too.
 */
static int
open_regular(const char *path, unsigned flags, char *err, size_t errlen)
{
	struct stat st;
	int fd;
	int rc;

	if (stat(path, &st) < 0)
		return fail_errno(path, "cannot open", err, errlen);
	rc = weft__check_regular(path, &st, err, errlen);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return fail_errno(path, "cannot open", err, errlen);
	if (fstat(fd, &st) < 0)
		rc = fail_errno(path, "cannot examine", err, errlen);
	else
		rc = weft__check_regular(path, &st, err, errlen);
	if (rc == 0 && (flags & WEFT__CONFIG_TRUSTED))
		rc = check_trusted(path, &st, flags, err, errlen);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}


/*
 * Reads all of path into a new buffer; *len excludes the added NUL.  A
 * file too large to be a configuration is WEFT_ECONFIG.
 */
static int
read_file(const char *path, unsigned flags, char **out, size_t *len, char *err,
          size_t errlen)
{
	char *buf;
	size_t n = 0;
	ssize_t r;
	int fd;
	int rc;

	fd = open_regular(path, flags, err, errlen);
	if (fd < 0)
		return fd;
	buf = malloc(FILE_MAX + 1);
	if (!buf) {
		rc =
		    weft__fail(err, errlen, -ENOMEM, "%s: out of memory", path);
		goto out_close;
	}
	for (;;) {
		r = read(fd, buf + n, FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			weft__fail(err, errlen, rc, "%s: cannot read: %s", path,
			           weft_strerror(rc));
			goto out_free;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > FILE_MAX) {
			rc = weft__fail(err, errlen, WEFT_ECONFIG,
			                "%s: file is larger than %u bytes",
			                path, FILE_MAX);
			goto out_free;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	close(fd);
	return 0;

out_free:
	free(buf);
out_close:
	close(fd);
	return rc;
}


int
weft__config_load_path(struct weft_config *cfg, const char *path,
                       unsigned flags, int *fatal, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*fatal = 0;
	rc = read_file(path, flags, &text, &len, err, errlen);
	if (rc < 0) {
		*fatal = rc == WEFT_ECONFIG || rc == -ENOMEM;
		return rc;
	}
	*fatal = 1;
	rc = config_parse(cfg, text, len, path, err, errlen);
	free(text);
	return rc;
}


WEFT_EXPORT int
weft_config_load_file(struct weft_config *cfg, const char *path, char *err,
                      size_t errlen)
{
	int fatal;

	if (!cfg || !path)
		return weft__fail(err, errlen, -EINVAL,
		                  "weft_config_load_file: NULL argument");
	return weft__config_load_path(cfg, path, 0, &fatal, err, errlen);
}
