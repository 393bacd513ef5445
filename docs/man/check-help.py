#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The man pages and the --help texts name the same options and commands.

usage: check-help.py MANDIR WEFT [WEFT_CONFORMANCE]

For weft(1) and weft-conformance(1): every option and command that
`PROGRAM --help` prints is described in the OPTIONS (or COMMANDS) section
of the page's scdoc source, and every option or command that section
describes is printed by --help, or, for an option --help does not print
(-h, --version), accepted by the program on its own (exit status 0).
Exits 77 (skipped) when a program is missing.
"""
import re
import subprocess
import sys

OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z0-9-]*)")


def run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True, timeout=20)


def section(text, name):
    """The lines of section `# NAME` of an scdoc source."""
    m = re.search(r"^# %s\n(.*?)(?=^# |\Z)" % re.escape(name), text,
                  re.S | re.M)
    return m.group(1).splitlines() if m else []


def man_terms(lines):
    """Options and words named by the terms (unindented lines) of a list."""
    opts, words = set(), set()
    for line in lines:
        if not line or line[0] in " \t":
            continue
        opts.update(OPTION.findall(line))
        words.update(w for w in re.findall(r"^\*([a-z][a-z0-9-]*)\*$", line))
    return opts, words


def help_commands(text):
    """The commands listed under `commands:` in a --help text."""
    cmds, inside = set(), False
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            inside = line == "commands:"
            continue
        m = re.match(r"^  ([a-z][a-z0-9-]*)\s", line)
        if inside and m:
            cmds.add(m.group(1))
    return cmds


def check(program, page, errors):
    with open(page, encoding="utf-8") as f:
        src = f.read()
    r = run([program, "--help"])
    if r.returncode != 0:
        errors.append("%s --help exited %d" % (program, r.returncode))
        return
    helptext = r.stdout
    name = page.rsplit("/", 1)[-1]

    man_opts, _ = man_terms(section(src, "OPTIONS"))
    if not man_opts:
        errors.append("%s: no options in its OPTIONS section" % name)
    help_opts = set(OPTION.findall(helptext))
    for o in sorted(help_opts - man_opts):
        errors.append("%s --help prints %s, which the OPTIONS of %s "
                      "do not describe" % (program, o, name))
    for o in sorted(man_opts - help_opts):
        # Not printed: it must at least be accepted on its own.
        try:
            ok = run([program, o]).returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        if not ok:
            errors.append("%s describes %s, which %s --help does not print "
                          "and %s does not accept" % (name, o, program,
                                                      program))

    _, man_cmds = man_terms(section(src, "COMMANDS"))
    help_cmds = help_commands(helptext)
    for c in sorted(help_cmds - man_cmds):
        errors.append("%s --help lists the command %s, which the COMMANDS "
                      "of %s do not describe" % (program, c, name))
    for c in sorted(man_cmds - help_cmds):
        errors.append("%s describes the command %s, which %s --help does "
                      "not list" % (name, c, program))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    mandir = sys.argv[1]
    pairs = [(sys.argv[2], "weft.1.scd")]
    missing = not (len(sys.argv) > 3 and sys.argv[3])
    if not missing:
        pairs.append((sys.argv[3], "weft-conformance.1.scd"))
    errors = []
    for program, page in pairs:
        try:
            check(program, mandir + "/" + page, errors)
        except FileNotFoundError as e:
            print("skipped: %s" % e, file=sys.stderr)
            return 77
    for e in errors:
        print(e)
    if errors:
        return 1
    print("ok: %s" % ", ".join(p for _, p in pairs))
    if missing:
        print("weft-conformance not built: skipped", file=sys.stderr)
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
