#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that ABI.md and the conformance tests agree.

usage: check-rules.py ABI.md WEFT-CONFORMANCE [--extra-rule ID]

A rule is a line of ABI.md that starts with "**<id>**" (W1, R10, ...).
The rule -> test table is the block of lines "| <id> | `test` ... |".
Fails when a rule has no test (or no title in the summary), a test names
no rule, or the table and the binary's --list disagree.  --extra-rule adds
a rule with no test to the text read, which must make the check fail: the
build tests that it does.
"""
import re
import subprocess
import sys


def main():
    args = sys.argv[1:]
    extra = None
    if len(args) == 4 and args[2] == '--extra-rule':
        extra = args[3]
        args = args[:2]
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    sys.argv[1:] = args
    text = open(sys.argv[1], encoding='utf-8').read()
    if extra:
        text += '\n**%s** — A rule added without a test.\n' % extra
    rules = re.findall(r'^\*\*([WFCERPTD][0-9]+)\*\*', text, re.M)
    dup = sorted({r for r in rules if rules.count(r) > 1})
    table = set()
    for row in re.findall(r'^\|\s*([WFCERPTD][0-9]+)\s*\|(.*)\|\s*$',
                          text, re.M):
        for name in re.findall(r'`([A-Za-z0-9_]+)`', row[1]):
            table.add(name)
    out = subprocess.run([sys.argv[2], '--list'], check=True,
                         capture_output=True, text=True).stdout
    tests = {}
    titled = set()
    for line in out.splitlines():
        kind, rule, rest = line.split(None, 2)
        if kind == 'rule':
            titled.add(rule)
        else:
            tests[rest] = rule
    errors = []
    if not rules:
        errors.append('no rules found in ' + sys.argv[1])
    for r in dup:
        errors.append('rule %s is defined more than once' % r)
    for r in sorted(set(rules)):
        if r not in tests.values():
            errors.append('rule %s has no test' % r)
    for r in sorted(set(rules) - titled):
        errors.append('rule %s has no title in the program' % r)
    for r in sorted(titled - set(rules)):
        errors.append('the program has a title for %s, not in ABI.md' % r)
    for name, r in sorted(tests.items()):
        if r not in rules:
            errors.append('test %s names no rule in ABI.md' % name)
        if name not in table:
            errors.append('test %s is missing from the table' % name)
    for name in sorted(table - set(tests)):
        errors.append('table lists %s, which is not a test' % name)
    for e in errors:
        print('abi-rules-match-tests: ' + e)
    print('%d rules, %d tests, %d problems' % (len(set(rules)), len(tests),
                                              len(errors)))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
