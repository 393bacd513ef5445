# SPDX-License-Identifier: MIT
"""Shared by the console checks: start the metrics example with the
console on, in a private runtime folder, and stop it."""
import atexit
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


class Program:
    """The metrics example, console on, XDG_RUNTIME_DIR a fresh folder."""

    def __init__(self, exe, seconds=60):
        self.dir = tempfile.mkdtemp(prefix="weft-console-")
        atexit.register(shutil.rmtree, self.dir, True)
        self.env = dict(os.environ, WEFT_CONSOLE="1",
                        XDG_RUNTIME_DIR=self.dir)
        self.proc = subprocess.Popen([exe, "-t", str(seconds)],
                                     stdout=subprocess.PIPE,
                                     env=self.env, text=True)
        line = self.readline(10)
        if not line.startswith("listening on "):
            self.stop()
            fail("the example said %r, not 'listening on'" % line)
        self.port = int(line.rsplit(":", 1)[1])
        self.pid = self.proc.pid
        self.sock = os.path.join(self.dir, "weft", "%d.sock" % self.pid)
        if not os.path.exists(self.sock):
            self.stop()
            fail("no console socket at " + self.sock)

    def readline(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().strip() if ready else ""

    def stop(self):
        """SIGTERM, then the exit status (a graceful stop is 0)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def wait_for(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()
