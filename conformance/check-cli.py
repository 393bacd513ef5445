#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks the command line of weft-conformance: --list, TAP, JUnit (from
the option and from cmocka's variables), --repeat, --seed, --timeout and
the exit status of a usage error.

usage: check-cli.py WEFT-CONFORMANCE
"""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

errors = []


def run(prog, *args, env=None):
    return subprocess.run([prog] + list(args), capture_output=True,
                          text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))


def expect(cond, what):
    if not cond:
        errors.append(what)


def main():
    prog = sys.argv[1]
    pair = ['--executor', 'single', '--reactor', 'epoll']

    p = run(prog, '--list')
    kinds = {line.split()[0] for line in p.stdout.splitlines()}
    expect(p.returncode == 0 and kinds == {'rule', 'test'},
           '--list prints rule and test lines')

    p = run(prog, *pair, '--filter', 'D1_*', '--tap', '--repeat', '2',
            '--seed', '5')
    lines = p.stdout.splitlines()
    expect(p.returncode == 0, '--tap run passes')
    expect('1..2' in lines, 'TAP plan 1..2 for one test repeated twice')
    expect('ok 1 - D1_clock_is_monotonic' in lines and
           'ok 2 - D1_clock_is_monotonic' in lines, 'TAP ok lines')
    expect(all(l.startswith(('ok ', 'not ok ', '1..', '# '))
               for l in lines), 'TAP output holds only TAP lines')
    expect(any('seed 5' in l for l in lines), 'the seed is printed')

    with tempfile.TemporaryDirectory() as tmp:
        xml = os.path.join(tmp, 'out.xml')
        p = run(prog, *pair, '--filter', 'E10_*', '--junit', xml)
        expect(p.returncode == 0, '--junit run passes')
        suite = ET.parse(xml).getroot().find('testsuite')
        expect(suite is not None and suite.get('tests') == '2' and
               suite.get('skipped') == '1' and suite.get('failures') == '0',
               'JUnit: two tests, one skipped')
        xml2 = os.path.join(tmp, 'env.xml')
        p = run(prog, *pair, '--filter', 'D1_*',
                env={'CMOCKA_MESSAGE_OUTPUT': 'xml',
                     'CMOCKA_XML_FILE': xml2})
        expect(p.returncode == 0 and os.path.exists(xml2),
               'CMOCKA_MESSAGE_OUTPUT=xml writes CMOCKA_XML_FILE')

    p = run(prog, *pair, '--filter', 'D1_*')
    expect(any(l.startswith('D1 ') for l in p.stdout.splitlines()),
           'the summary has a row for D1')
    expect(any(l.startswith('result: ') and 'conforms' in l
               for l in p.stdout.splitlines()), 'the result line')
    expect(run(prog, '--timeout', '0').returncode == 2,
           '--timeout 0 is a usage error')
    expect(run(prog, '--bogus').returncode == 2, 'unknown option: status 2')
    for e in errors:
        print('check-cli: FAIL: ' + e)
    print('%d problems' % len(errors))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
