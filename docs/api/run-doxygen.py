#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Renders the API reference and fails on an undocumented public symbol.

usage: run-doxygen.py DOXYGEN DOXYFILE OUTDIR [KNOWN] [--no-html]

Runs Doxygen on the public headers with the given Doxyfile, writing into
OUTDIR (OUTDIR/html unless --no-html), and fails when Doxygen warns:
an undocumented public symbol (WARN_IF_UNDOCUMENTED) or a broken comment.

KNOWN lists the symbols not documented yet, one warning a line without its
line number; they are reported but do not fail.  A symbol documented since
must leave the list, so that it only ever shrinks.
"""
import os
import re
import subprocess
import sys


def key(warning):
    """A warning without its line number, and relative to the headers."""
    w = re.sub(r"^(.*?):\d+: ", r"\1: ", warning)
    return re.sub(r"^.*?/((abi|runtime|lib)/include/)", r"\1", w)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    doxygen, doxyfile, outdir = args[:3]
    known = set()
    if len(args) == 4:
        with open(args[3], encoding="utf-8") as f:
            known = {line.rstrip("\n") for line in f
                     if line.strip() and not line.startswith("#")}
    html = "--no-html" not in sys.argv
    os.makedirs(outdir, exist_ok=True)
    log = os.path.join(outdir, "warnings.log")
    with open(doxyfile, encoding="utf-8") as f:
        config = f.read()
    config += "\nOUTPUT_DIRECTORY = \"%s\"\n" % outdir
    config += "WARN_LOGFILE = \"%s\"\n" % log
    config += "GENERATE_HTML = %s\n" % ("YES" if html else "NO")
    if not html:
        # Only the warnings are wanted; XML is the cheapest output.
        config += "GENERATE_XML = YES\nXML_OUTPUT = xml\n"
    r = subprocess.run([doxygen, "-"], input=config, text=True,
                       timeout=300)
    if r.returncode != 0:
        print("doxygen exited %d" % r.returncode, file=sys.stderr)
        return 1
    with open(log, encoding="utf-8") as f:
        warnings = [w for w in f.read().splitlines() if w.strip()]
    new = [w for w in warnings if key(w) not in known]
    stale = sorted(known - {key(w) for w in warnings})
    for w in new:
        print(w)
    for k in stale:
        print("documented now, remove it from %s: %s" % (args[3], k))
    if len(warnings) > len(new):
        print("%d public symbols are not documented yet (%s)"
              % (len(warnings) - len(new), args[3]), file=sys.stderr)
    if new or stale:
        print("%d new Doxygen warnings in the public headers, %d stale "
              "entries" % (len(new), len(stale)), file=sys.stderr)
        return 1
    if html:
        print("API reference: %s" % os.path.join(outdir, "html",
                                                 "index.html"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
