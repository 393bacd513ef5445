#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`weft top PID` in a terminal: under a private tmux server (160x40), the
table shows the example's tasks and its counters move between two
captures; it redraws at a new size; q quits; and when the watched process
exits, top says so and exits with status 1.

usage: check-top.py WEFT METRICS"""
import os
import re
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from consolelib import Program, fail, wait_for  # noqa: E402

weft, exe = sys.argv[1], sys.argv[2]
server = "weft-top-check-%d" % os.getpid()  # our own tmux server


def tmux(*args, check=True):
    out = subprocess.run(["tmux", "-L", server] + list(args),
                         capture_output=True, text=True, timeout=10)
    if check and out.returncode != 0:
        fail("tmux %s: %s" % (" ".join(args), out.stderr))
    return out


target = "top"  # the session top runs in


def capture():
    return tmux("capture-pane", "-p", "-t", target).stdout


def polls(screen):
    m = re.search(r"^polls (\d+) ", screen, re.M)
    return int(m.group(1)) if m else None


prog = Program(exe)
try:
    # The shell line after top shows its exit status once it returns.
    cmd = "env XDG_RUNTIME_DIR=%s %s top %d --interval 200; " \
          "echo top-exit=$?; sleep 30" % (shlex.quote(prog.dir),
                                           shlex.quote(weft), prog.pid)
    tmux("new-session", "-d", "-s", "top", "-x", "160", "-y", "40", cmd)
    if not wait_for(lambda: "cruncher" in capture(), 10):
        fail("no tasks on the screen:\n" + capture())
    one = capture()
    time.sleep(0.6)
    two = capture()
    for word in ("ticker", "cruncher", "yielder", "metrics.c:", "workers",
                 "p50", "BUSY"):
        if word not in two:
            fail("%r is not on the screen:\n%s" % (word, two))
    if polls(one) is None or not polls(two) > polls(one):
        fail("the polls counter did not move:\n%s\n---\n%s" % (one, two))
    rows = [ln for ln in two.splitlines() if "cruncher" in ln]
    if len(rows) != 3:
        fail("%d cruncher rows:\n%s" % (len(rows), two))

    # A smaller terminal: the next frame fits it.
    tmux("resize-window", "-t", target, "-x", "90", "-y", "20")
    time.sleep(0.6)
    small = capture()
    lines = small.rstrip("\n").splitlines()
    if len(lines) > 20 or any(len(ln) > 90 for ln in lines) or \
            "p50" not in small:
        fail("the frame does not fit 90x20:\n" + small)

    # The watched process exits: top says so, with status 1.
    prog.stop()
    if not wait_for(lambda: "top-exit=" in capture(), 10):
        fail("top did not notice the exit:\n" + capture())
    end = capture()
    if "top-exit=1" not in end or "has exited" not in end:
        fail("top's end:\n" + end)

    # q quits a second top at once, with status 0.
    prog = Program(exe)
    cmd = "env XDG_RUNTIME_DIR=%s %s top %d --interval 200; " \
          "echo top-exit=$?; sleep 30" % (shlex.quote(prog.dir),
                                           shlex.quote(weft), prog.pid)
    # The new session first: a server left with no session exits, and a
    # new-session racing that exit fails.
    tmux("new-session", "-d", "-s", "top2", "-x", "160", "-y", "40", cmd)
    tmux("kill-session", "-t", "top")
    target = "top2"
    if not wait_for(lambda: "cruncher" in capture(), 10):
        fail("the second top shows no tasks:\n" + capture())
    tmux("send-keys", "-t", target, "q")
    if not wait_for(lambda: "top-exit=0" in capture(), 5):
        fail("q did not quit:\n" + capture())
finally:
    prog.stop()
    tmux("kill-server", check=False)
print("ok: polls %d -> %d on the screen" % (polls(one), polls(two)))
