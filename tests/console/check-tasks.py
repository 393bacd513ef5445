#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`weft tasks PID --json` against the running metrics example: the named
tasks and their spawn locations are there, the counters grow between two
snapshots, the human table names the tasks, and the socket goes away when
the program closes its runtime.

usage: check-tasks.py WEFT METRICS"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from consolelib import Program, fail, wait_for  # noqa: E402

weft, exe = sys.argv[1], sys.argv[2]


def snapshot(prog):
    out = subprocess.run([weft, "tasks", str(prog.pid), "--json"],
                         env=prog.env, capture_output=True, text=True,
                         timeout=10)
    if out.returncode != 0:
        fail("weft tasks --json: status %d: %s" % (out.returncode,
                                                   out.stderr))
    try:
        return json.loads(out.stdout)
    except ValueError as e:
        fail("not JSON (%s): %r" % (e, out.stdout[:400]))


prog = Program(exe)
try:
    first = snapshot(prog)
    time.sleep(0.4)
    second = snapshot(prog)
    table = subprocess.run([weft, "tasks", str(prog.pid)], env=prog.env,
                           capture_output=True, text=True, timeout=10)
finally:
    status = prog.stop()

for key in ("version", "pid", "executor", "reactor", "runtime", "workers",
            "tasks"):
    if key not in second:
        fail("no %r in the snapshot" % key)
if second["pid"] != prog.pid:
    fail("pid %r, not %d" % (second["pid"], prog.pid))
rt1, rt2 = first["runtime"], second["runtime"]
if rt1 is None or rt2 is None:
    fail("no runtime metrics: %r" % second.get("runtime_error"))
if len(rt2["poll_histogram"]) != 16:
    fail("the histogram has %d buckets" % len(rt2["poll_histogram"]))
if not rt2["polls"] > rt1["polls"] > 0:
    fail("runtime polls did not grow: %d then %d" % (rt1["polls"],
                                                   rt2["polls"]))
if rt2["uptime_ns"] <= rt1["uptime_ns"]:
    fail("uptime did not grow")
if len(second["workers"]) != rt2["workers"]:
    fail("%d worker entries for %d workers" % (len(second["workers"]),
                                               rt2["workers"]))

by_name = {}
for t in second["tasks"]:
    for key in ("id", "name", "location", "state", "polls", "wakes",
                "busy_ns", "sched_ns", "max_poll_ns", "age_ns", "awaiting"):
        if key not in t:
            fail("task %r has no %r" % (t, key))
    by_name.setdefault(t["name"], []).append(t)
for name, count in (("ticker", 1), ("cruncher", 3), ("yielder", 1)):
    tasks = by_name.get(name, [])
    if len(tasks) != count:
        fail("%d tasks named %r, not %d; names: %r" %
             (len(tasks), name, count, sorted(by_name)))
    for t in tasks:
        if "metrics.c:" not in t["location"]:
            fail("%s's location is %r" % (name, t["location"]))

old = {t["id"]: t for t in first["tasks"]}
grew = [t for t in second["tasks"]
        if t["id"] in old and t["polls"] > old[t["id"]]["polls"]]
if not any(t["name"] == "ticker" for t in grew):
    fail("the ticker's polls did not grow between the snapshots")
cr = by_name["cruncher"][0]
if cr["busy_ns"] == 0 or cr["max_poll_ns"] == 0 or cr["age_ns"] == 0:
    fail("a cruncher with no timings: %r" % cr)

if table.returncode != 0 or "cruncher" not in table.stdout or \
        "metrics.c:" not in table.stdout:
    fail("the table (status %d):\n%s%s" % (table.returncode, table.stdout,
                                           table.stderr))
if status != 0:
    fail("the example exited with %r" % status)
if not wait_for(lambda: not os.path.exists(prog.sock), 5):
    fail("the socket outlived the runtime")
print("ok: %d tasks, polls %d -> %d, on %s" %
      (len(second["tasks"]), rt1["polls"], rt2["polls"], second["executor"]))
