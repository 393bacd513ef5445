#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that the report of weft-conformance blames the right rule.

usage: check-report.py WEFT-CONFORMANCE ABI-MAJOR-FIXTURE [MAIN-C LOADER-C]

1. A pair the loader refuses (the fixture claims ABI major 2, a P5
   refusal): the summary fails P5 alone, once, with the loader's reason;
   every other test is skipped because the pair did not load; P1 is not
   blamed.
2. A test whose child reports a violation and then hangs (the program's
   hidden self-test option): the report blames the violated rule, says the
   test then hung, and blames no rule with a bare "did not finish".
"""
import os
import re
import subprocess
import sys

ROW = re.compile(r'^([WFCETRDP][0-9]+)\s.*?\s(\d+)\s+(\d+)\s+(\d+)(?:\s\s(.*))?$')
LINE = re.compile(r'^(PASS|FAIL|SKIP)  (\S+)  \(\d+\.\d+ s\)(?:: (.*))?$')

errors = []


def expect(cond, what):
    if not cond:
        errors.append(what)


def run(prog, *args):
    env = dict(os.environ, WEFT_CONFIG='', WEFT_EXECUTOR='', WEFT_REACTOR='',
               WEFT_WORKERS='')
    return subprocess.run([prog] + list(args), capture_output=True,
                          text=True, timeout=100, env=env)


def parse(out):
    """The summary's rows ({rule: (pass, fail, skip, why)}), test lines."""
    rows, lines = {}, []
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(1)] = (int(m.group(2)), int(m.group(3)),
                                int(m.group(4)), m.group(5) or '')
        m = LINE.match(line)
        if m:
            lines.append((m.group(1), m.group(2), m.group(3) or ''))
    return rows, lines


def refused_pair(prog, fixture):
    tests = [l.split()[2] for l in run(prog, '--list').stdout.splitlines()
             if l.startswith('test ')]
    p = run(prog, '--executor', 'single', '--reactor', fixture,
            '--timeout', '3')
    sys.stdout.write(p.stdout[-3000:] + p.stderr[-2000:])
    rows, lines = parse(p.stdout)
    failed = {r: v for r, v in rows.items() if v[1]}
    expect(p.returncode == 1, 'refused pair: exit status 1, got %d' %
           p.returncode)
    expect(list(failed) == ['P5'], 'refused pair: only P5 fails, not %s' %
           ' '.join(failed))
    expect('P5' in failed and failed['P5'][1] == 1,
           'refused pair: P5 fails once')
    expect('P5' in failed and 'ABI major 2' in failed['P5'][3],
           'refused pair: P5 gives the loader\'s reason')
    expect('P1' not in failed and 'P1:' not in p.stdout,
           'refused pair: P1 is not blamed')
    fails = [l for l in lines if l[0] == 'FAIL']
    expect(len(fails) == 1 and fails[0][1].startswith('P5_') and
           'ABI major 2' in fails[0][2],
           'refused pair: one FAIL line, for a P5 test, with the reason')
    expect(len(lines) == len(tests),
           'refused pair: every test reported (%d of %d)' %
           (len(lines), len(tests)))
    expect(all(l[0] == 'SKIP' and l[2] == 'pair did not load'
               for l in lines if l[0] != 'FAIL'),
           'refused pair: every other test skipped, "pair did not load"')
    expect(re.search(r'^result: .* DOES NOT CONFORM: rules broken: P5 \(',
                     p.stdout, re.M) is not None,
           'refused pair: the result names P5 alone')


def violation_then_hang(prog):
    p = run(prog, '--executor', 'single', '--reactor', 'epoll',
            '--filter', 'E4_*', '--timeout', '1',
            '--self-test-violate-then-hang', 'C1')
    sys.stdout.write(p.stdout[-3000:] + p.stderr[-2000:])
    rows, lines = parse(p.stdout)
    failed = {r: v for r, v in rows.items() if v[1]}
    expect(p.returncode == 1, 'hang: exit status 1, got %d' % p.returncode)
    expect(list(failed) == ['C1'], 'hang: only C1 fails, not %s' %
           ' '.join(failed))
    why = failed.get('C1', (0, 0, 0, ''))[3]
    expect('violation: C1' in why and 'then hung' in why,
           'hang: C1\'s row names the violation and the hang')
    expect(lines and all(l[0] == 'FAIL' and 'violation: C1' in l[2]
                         for l in lines),
           'hang: each hung test names the violation')
    expect('E4' in rows and rows['E4'][1] == 0 and 'C1' in rows['E4'][3],
           'hang: E4 fails nothing and says its failures went to C1')
    expect('a hang or a lost wake' not in p.stdout,
           'hang: no rule blamed for a bare hang')


def refusal_words(main_c, loader_c):
    with open(main_c) as f:
        table = re.findall(r'\{"((?:[^"\\]|\\.)*)", "(P[0-9])"\}', f.read())
    with open(loader_c) as f:
        # Adjacent literals joined, as the compiler joins them.
        loader = re.sub(r'"\s*\n\s*"', '', f.read())
    expect(len(table) >= 6, 'refusals: the table of main.c was found')
    for words, rule in table:
        expect(words in loader, 'refusals: the loader no longer writes '
               '"%s" (mapped to %s)' % (words, rule))


def main():
    prog, fixture = sys.argv[1], os.path.abspath(sys.argv[2])
    if len(sys.argv) > 4:
        refusal_words(sys.argv[3], sys.argv[4])
    if not os.path.exists(fixture):
        print('check-report: no fixture %s (not built?)' % fixture)
        return 1
    refused_pair(prog, fixture)
    violation_then_hang(prog)
    for e in errors:
        print('check-report: FAIL: ' + e)
    print('%d problems' % len(errors))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
