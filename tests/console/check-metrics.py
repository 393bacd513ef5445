#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The metrics example's /metrics, fetched over HTTP from 127.0.0.1: the
Prometheus text format's HELP and TYPE lines, the counters and gauges, the
poll-duration histogram (cumulative buckets ending in +Inf, _sum, _count)
and a polls counter that grows between two scrapes.

usage: check-metrics.py METRICS"""
import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from consolelib import Program, fail  # noqa: E402

SAMPLE = re.compile(r'^([a-z_]+)(\{[a-z]+="[^"]*"\})? ([0-9.e+-]+)$')


def scrape(port):
    url = "http://127.0.0.1:%d/metrics" % port
    with urllib.request.urlopen(url, timeout=10) as resp:
        if resp.status != 200:
            fail("status %d" % resp.status)
        ctype = resp.headers.get("Content-Type", "")
        if not ctype.startswith("text/plain; version=0.0.4"):
            fail("Content-Type %r" % ctype)
        return resp.read().decode()


def parse(text):
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
        elif line.startswith("# HELP "):
            if len(line.split(" ", 3)) < 4:
                fail("a HELP line with no text: %r" % line)
        elif line:
            m = SAMPLE.match(line)
            if not m:
                fail("not a sample line: %r" % line)
            samples.append((m.group(1), m.group(2) or "",
                            float(m.group(3))))
    return types, samples


prog = Program(sys.argv[1])
try:
    first = scrape(prog.port)
    time.sleep(0.3)
    second = scrape(prog.port)
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/nothing" % prog.port,
                               timeout=10)
        fail("/nothing answered 200")
    except urllib.error.HTTPError as e:
        if e.code != 404:
            fail("/nothing: %d" % e.code)
finally:
    prog.stop()

types, samples = parse(second)
value = {(n, labels): v for n, labels, v in samples}
want = {"weft_polls_total": "counter", "weft_tasks_spawned_total": "counter",
        "weft_parks_total": "counter", "weft_slow_polls_total": "counter",
        "weft_tasks_live": "gauge", "weft_queue_depth": "gauge",
        "weft_workers": "gauge", "weft_poll_duration_seconds": "histogram",
        "weft_worker_polls_total": "counter"}
for name, kind in want.items():
    if types.get(name) != kind:
        fail("%s is %r, not %s" % (name, types.get(name), kind))
for name in types:
    if not any(n == name or n.startswith(name + "_") for n, _, _ in samples):
        fail("TYPE %s has no sample" % name)
    if "# HELP %s " % name not in second:
        fail("no HELP for " + name)

h = "weft_poll_duration_seconds"
buckets = [(labels, v) for n, labels, v in samples if n == h + "_bucket"]
if len(buckets) != 16 or buckets[-1][0] != '{le="+Inf"}':
    fail("buckets: %r" % buckets)
counts = [v for _, v in buckets]
if counts != sorted(counts):
    fail("buckets not cumulative: %r" % counts)
les = [float(lbl[5:-2]) for lbl, _ in buckets[:-1]]
if les != sorted(les) or les[0] <= 0:
    fail("le bounds: %r" % les)
if value[(h + "_count", "")] != counts[-1] or counts[-1] <= 0:
    fail("_count %r, +Inf %r" % (value.get((h + "_count", "")), counts[-1]))
if value[(h + "_sum", "")] <= 0:
    fail("_sum is not positive")
if value[("weft_worker_polls_total", '{worker="0"}')] <= 0:
    fail("worker 0 has no polls")
if value[("weft_tasks_live", "")] < 5:
    fail("%r live tasks" % value[("weft_tasks_live", "")])

before = parse(first)[1]
polls1 = [v for n, _, v in before if n == "weft_polls_total"][0]
if not value[("weft_polls_total", "")] > polls1:
    fail("weft_polls_total did not grow")
print("ok: %d samples, polls %d -> %d" % (len(samples), polls1,
                                          value[("weft_polls_total", "")]))
