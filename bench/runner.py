# SPDX-License-Identifier: MIT
"""The measuring half of bench/run (which builds, then starts this).

Runs every workload on every weft executor x reactor pair, on the static
build of each executor (plugins linked in: the price of the plugin
boundary) and on the peers, interleaved in rounds (every system once per
round), prints one table with each ratio's spread over the rounds and the
issue's targets, met only at the worst end of that spread, and writes both
to bench/results/results.md with a chart in results.png.
Environment: BENCH_BUILD (the release build folder), BENCH_TOKIO (the tokio
peer's binary, or empty), BENCH_RESULTS (the results folder, default
bench/results).  Options: see bench/README.md.
"""
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

build = os.environ["BENCH_BUILD"]
tokio = os.environ.get("BENCH_TOKIO", "")
peers_dir = os.path.join(build, "bench", "peers")
# BENCH_RESULTS: where results.md, .json and .png go (a trial run need not
# overwrite the committed ones).
results = (os.environ.get("BENCH_RESULTS") or
           os.path.join("bench", "results"))


def parse_args(args):
    opts = {"rounds": 3, "div": 1, "only": None, "systems": None,
            "quick": "--quick" in args, "syscalls": True,
            "report_only": False}
    rounds_given = False
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--rounds", "--runs", "--div", "--only", "--systems"):
            if i + 1 >= len(args):
                sys.exit(f"bench: {a} needs a value")
            v = args[i + 1]
            key = "rounds" if a == "--runs" else a[2:]
            opts[key] = int(v) if key in ("rounds", "div") else v.split(",")
            rounds_given |= key == "rounds"
            i += 2
            continue
        if a == "--no-syscalls":
            opts["syscalls"] = False
        elif a == "--report-only":
            opts["report_only"] = True
        elif a not in ("--quick", "--no-deps"):
            sys.exit(f"bench: unknown option {a}")
        i += 1
    if opts["quick"]:
        # Two rounds, so that even a quick run shows a spread.
        opts["rounds"] = opts["rounds"] if rounds_given else 2
        opts["div"] = max(opts["div"], 10)
    opts["rounds"] = max(opts["rounds"], 1)
    opts["warmup"] = 0 if opts["quick"] else 1
    return opts


# Imported (bench/scaling), the runner takes the default options.
OPTS = parse_args(sys.argv[1:] if __name__ == "__main__" else [])
DIV = OPTS["div"]

# Echo: (connections, round trips per connection).  Rounds are a fraction
# of issue 8's 10,000 per connection, to keep a full run near 12 minutes.
ECHO = {"echo_100": (100, 500), "echo_1000": (1000, 50),
        "echo_10000": (10000, 10)}
WORKLOADS = [
    ("spawn_many", "1,000,000 trivial tasks spawned from a task"),
    ("yield_many", "1,000 tasks x 1,000 yields"),
    ("ping_pong", "1,000 pairs x 1,000 round trips, oneshot channels"),
    ("chained_spawn", "each task spawns the next, depth 1,000,000"),
    ("sleeps", "1,000,000 sleeps, random deadlines 0..100 ms"),
    ("pending_tasks", "1,000,000 tasks that never finish (memory)"),
] + [(w, f"echo server, {c:,} connections x {r} round trips of 64 bytes; "
      "ns/op is wall time per request") for w, (c, r) in ECHO.items()] + [
    ("timer_lateness", "2,000 sleeps of 200 us in one task (weft pairs "
     "only); ns/op is the median lateness, the note its p99")]
ALL_WORKLOADS = list(WORKLOADS)
if OPTS["only"]:
    WORKLOADS = [w for w in WORKLOADS if w[0] in OPTS["only"]]
TASK_WORKLOADS = ("spawn_many", "yield_many", "ping_pong", "chained_spawn")
PER_TASK = ("sleeps", "pending_tasks")
# Per-task memory is (peak RSS of N tasks - peak RSS of BASE_TASKS) /
# (N - BASE_TASKS): the process's own start-up cancels.
BASE_TASKS = 1000
BASE_DIV = 1000000 // BASE_TASKS


def plugins():
    """The executors and reactors the build tree has, as `weft plugins`
    lists them, and the folders that hold them."""
    out = subprocess.run(
        ["meson", "devenv", "-C", build, "plugins/tools/weft", "plugins"],
        capture_output=True, text=True).stdout
    ex, re_, dirs = [], [], []
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) >= 6 and f[4] == "ok":
            (ex if f[0] == "executor" else re_).append(f[1])
            d = os.path.dirname(os.path.abspath(f[5]))
            if d not in dirs:
                dirs.append(d)
    return ex, re_, ":".join(dirs)


class System:
    def __init__(self, name, peer, argv, echo_argv, twin=None):
        self.name = name
        self.peer = peer
        self.argv = argv            # workload program, or None
        self.echo_argv = echo_argv  # echo server, or None
        self.twin = twin            # the static build of a weft pair


def systems():
    executors, reactors, plugin_path = plugins()
    weft_bin = os.path.join(peers_dir, "weft-bench-peer-weft")
    static_bin = os.path.join(peers_dir, "weft-bench-peer-weft-static")
    echo_dir = os.path.join(build, "examples", "echo")
    out = []

    def echo(e, r, server):
        return ["env", f"WEFT_EXECUTOR={e}", f"WEFT_REACTOR={r}",
                f"WEFT_PLUGIN_PATH={plugin_path}",
                os.path.join(echo_dir, server), "-p"]

    for e in executors:
        for r in reactors:
            out.append(System(f"weft {e}/{r}", False, [weft_bin, e, r],
                              echo(e, r, "echo-server")))
    # The static twins: each executor on the default reactor.
    if os.access(static_bin, os.X_OK) and reactors:
        r = reactors[0]
        for e in executors:
            s = System(f"weft {e}/{r} static", False, [static_bin, e, r],
                       echo(e, r, "echo-server-static"))
            for d in out:
                if d.name == f"weft {e}/{r}":
                    d.twin = s
            out.append(s)
    else:
        print("bench: no static build: the plugin boundary is not priced")
    if tokio:
        out.append(System("tokio current_thread", True, [tokio, "ct"],
                          [tokio, "ct", "echo"]))
        out.append(System("tokio multi_thread", True, [tokio, "mt"],
                          [tokio, "mt", "echo"]))
    for lib in ("libuv", "libevent"):
        p = os.path.join(peers_dir, f"weft-bench-peer-{lib}")
        if os.access(p, os.X_OK):
            out.append(System(lib, True, [p], [os.path.join(
                peers_dir, f"weft-bench-echo-{lib}")]))
        else:
            print(f"bench: {lib} peer not built (library missing): skipped")
    if OPTS["systems"]:
        out = [s for s in out if any(k in s.name for k in OPTS["systems"])]
    else:
        # The simulation plugins are for tests (one thread, virtual time,
        # replay by seed), not for speed: left out unless --systems names
        # them, which also keeps a full run's time down.
        out = [s for s in out if s.peer or "sim" not in
               s.name.split()[1].split("/")]
    return out


SYSTEMS = systems()
CLIENT = os.path.join(peers_dir, "weft-bench-echo-client")
# Echo: the server on one core, the load generator on another.
PIN = (["taskset", "-c", "0"], ["taskset", "-c", "1"])
if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
    PIN = ([], [])
    print("bench: fewer than 2 CPUs or no taskset: echo runs unpinned")
STRACE = shutil.which("strace") if OPTS["syscalls"] else None
try:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
except (ValueError, OSError):
    pass


def run_once(argv):
    """One process: (ns/op, peak RSS KiB, future bytes), 'n/a' or None."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=300)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode == 4:
        return "n/a"
    if p.returncode != 0:
        sys.stderr.write(f"bench: {' '.join(argv)}: {p.stderr.strip()}\n")
        return None
    f = p.stdout.split()
    return float(f[0]), int(f[1]), int(f[2]) if len(f) > 2 else 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vm_hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_listening(srv, port):
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            if srv.poll() is not None or time.time() > deadline:
                return False
            time.sleep(0.05)


def strace_counts(path):
    """{syscall: calls} from an `strace -c` summary."""
    counts = {}
    try:
        with open(path) as f:
            for line in f:
                t = line.split()
                if len(t) >= 5 and t[0][0].isdigit() and t[-1] != "total":
                    counts[t[-1]] = int(t[3])
    except OSError:
        pass
    return counts


def run_echo(server_argv, conns, rounds, trace=None):
    """One server process facing the load generator: (ns per request,
    server peak RSS KiB, req/s, p50 us, p99 us, server CPU us/request,
    load generator CPU us/request, fairness min, fairness max), or None.
    Fairness: when the first connection has made its round trips, the
    fewest and the most any connection has made, as a fraction of the
    rounds (1.0 and 1.0: every connection served alike).  The load
    generator's CPU per request says whether the server is what limits
    the rate: a load generator near a full core's worth (1e6 / req/s)
    caps every server at its own rate.  With trace (a file), the server's
    system calls during the load are counted there by strace."""
    port = free_port()
    srv = subprocess.Popen(PIN[0] + server_argv + [str(port)],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    tracer = None
    try:
        if not wait_listening(srv, port):
            return None
        if trace:
            # -f with -p attaches to every thread of the server.
            tracer = subprocess.Popen([STRACE, "-f", "-c", "-o", trace,
                                       "-p", str(srv.pid)],
                                      stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(PIN[1] + [CLIENT, str(port), str(conns),
                                     str(rounds)],
                           capture_output=True, text=True, timeout=300)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        rss = vm_hwm(srv.pid)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if tracer:
            tracer.send_signal(signal.SIGINT)
            tracer.wait()
        srv.terminate()
        _, _, ru = os.wait4(srv.pid, 0)
        srv.returncode = 0
    if p.returncode != 0:
        sys.stderr.write(f"bench: echo client: {p.stderr.strip()}\n")
        return None
    out = [float(x) for x in p.stdout.split()]
    rps, p50, p99 = out[:3]
    fmin, fmax = (out[3] / rounds, out[5] / rounds) if len(out) >= 6 else (
        0.0, 0.0)
    cpu = (ru.ru_utime + ru.ru_stime) * 1e6 / (conns * rounds)
    ccpu = (after.ru_utime + after.ru_stime - before.ru_utime -
            before.ru_stime) * 1e6 / (conns * rounds)
    return 1e9 / rps, rss, rps, p50, p99, cpu, ccpu, fmin, fmax


class Row:
    def __init__(self, workload, system):
        self.w = workload
        self.s = system
        self.ns = self.rss = None
        self.future = 0
        self.echo = None  # (req/s, p50, p99, cpu, client cpu, fair min, max)
        self.syscalls = None   # (per request, {name: per request})
        self.note = ""
        # One tuple per round, in round order: (ns, rss, future) (with the
        # peak RSS of BASE_TASKS tasks after it for PER_TASK rows) or, for
        # echo, (ns, rss, req/s, p50, p99, cpu, client cpu, fairness min,
        # fairness max).  A ratio between two
        # systems is taken round by round, between runs made minutes
        # apart at most, and its spread is over the rounds.
        self.samples = []


def lateness_cell(s):
    """bench/lateness.c on a weft pair: (median ns, RSS, p99 ns)."""
    if not s.name.startswith("weft ") or s.name.endswith(" static"):
        return "n/a"
    return run_once([os.path.join(build, "bench", "weft-bench-lateness"),
                     s.argv[1], s.argv[2], str(max(2000 // DIV, 100))])


def run_cell(w, s):
    """One run of a workload on a system: a sample, 'n/a' or None."""
    if w == "timer_lateness":
        return lateness_cell(s)
    if w in ECHO:
        conns, rounds = ECHO[w]
        return run_echo(s.echo_argv, conns, max(rounds // DIV, 1))
    r = run_once(s.argv + [w, str(DIV)])
    if w in PER_TASK and isinstance(r, tuple) and DIV < BASE_DIV:
        # The same program with BASE_TASKS tasks: its peak RSS is what the
        # process costs without them (binary, libraries, runtime, arenas),
        # taken off so that a task's bytes are its own on every system.
        b = run_once(s.argv + [w, str(BASE_DIV)])
        r = r + (b[1],) if isinstance(b, tuple) else r
    return r


def finish(row):
    """The medians of a row's rounds."""
    if not row.samples or row.note:
        row.samples = [] if row.note else row.samples
        return
    med = [statistics.median(x[i] for x in row.samples)
           for i in range(len(row.samples[0]))]
    row.ns, row.rss = med[0], med[1]
    if row.w in ECHO:
        row.echo = tuple(med[2:])
    else:
        row.future = int(med[2])


def count_syscalls(row):
    conns, rounds = ECHO[row.w]
    rounds = max(rounds // DIV, 1)
    trace = os.path.join(build, "bench-strace.txt")
    if run_echo(row.s.echo_argv, conns, rounds, trace):
        c = strace_counts(trace)
        n = conns * rounds
        row.syscalls = (sum(c.values()) / n,
                        {k: v / n for k, v in c.items()})


def measure_workload(w, systems_):
    """Every system on one workload, interleaved: a warm-up of each, then
    R rounds, each running every system once (ABAB..., never all the runs
    of one system in a row), each round starting one system further on, so
    that the machine's drift and bursts of other work hit every system
    alike."""
    rows = [Row(w, s) for s in systems_]
    live = []
    for row in rows:
        s = row.s
        if (w in ECHO and not s.echo_argv) or (w not in ECHO and not s.argv):
            row.note = "no equivalent"
        else:
            live.append(row)

    def one(row, keep):
        r = run_cell(w, row.s)
        if r == "n/a" or r is None:
            row.note = "no equivalent" if r == "n/a" else "failed"
            live.remove(row)
        elif keep:
            row.samples.append(r)

    for _ in range(OPTS["warmup"]):
        for row in list(live):
            one(row, False)
    for k in range(OPTS["rounds"]):
        order = live[k % len(live):] + live[:k % len(live)] if live else []
        for row in order:
            if row in live:
                one(row, True)
    for row in rows:
        finish(row)
        if w in ("echo_100", "echo_1000") and STRACE and row.ns is not None:
            count_syscalls(row)
    return rows


def save(rows, elapsed):
    """The measurements, so that --report-only can render them again."""
    os.makedirs(results, exist_ok=True)
    data = {"opts": {k: OPTS[k] for k in ("div", "rounds", "warmup")},
            "elapsed": elapsed,
            "systems": [{"name": s.name, "peer": s.peer,
                         "twin": s.twin.name if s.twin else None}
                        for s in SYSTEMS],
            "rows": [{"w": r.w, "s": r.s.name, "ns": r.ns, "rss": r.rss,
                      "future": r.future, "echo": r.echo,
                      "syscalls": r.syscalls, "note": r.note,
                      "samples": r.samples}
                     for r in rows]}
    with open(os.path.join(results, "results.json"), "w") as f:
        json.dump(data, f, indent=1)


def load():
    """Rows and systems of the last run, from results.json."""
    with open(os.path.join(results, "results.json")) as f:
        data = json.load(f)
    systems = {d["name"]: System(d["name"], d["peer"], None, None)
               for d in data["systems"]}
    for d in data["systems"]:
        if d["twin"]:
            systems[d["name"]].twin = systems[d["twin"]]
    rows = []
    for d in data["rows"]:
        r = Row(d["w"], systems[d["s"]])
        r.ns, r.rss, r.future, r.note = d["ns"], d["rss"], d["future"], \
            d["note"]
        r.echo = tuple(d["echo"]) if d["echo"] else None
        r.syscalls = tuple(d["syscalls"]) if d["syscalls"] else None
        r.samples = [tuple(x) for x in d.get("samples", [])]
        if not r.samples and r.ns is not None:
            # A run from before the rounds kept only its medians: one
            # sample, so no spread.
            r.samples = [(r.ns, r.rss) + (r.echo if r.echo
                                          else (r.future,))]
        rows.append(r)
    opts = dict(OPTS, **data["opts"])
    if "rounds" not in data["opts"]:
        # Made before the rounds: medians of consecutive runs, no spread.
        opts["rounds"], opts["legacy"] = data["opts"].get("runs", 1), True
    seen = []
    for r in rows:
        if r.w not in seen:
            seen.append(r.w)
    workloads = [w for w in ALL_WORKLOADS if w[0] in seen]
    return rows, workloads, list(systems.values()), opts, data["elapsed"]


def spread_text(values, fmt="{:.1f}"):
    """'median (min–max)' of a list of numbers."""
    if not values:
        return "—"
    m = fmt.format(statistics.median(values))
    if len(values) < 2:
        return m
    return f"{m} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main():
    import report  # bench/report.py: the table, the targets, the chart
    if OPTS["report_only"]:
        rows, workloads, systems, opts, elapsed = load()
        report.write(rows, workloads, systems, opts, elapsed, results)
        return
    print(f"bench: {len(SYSTEMS)} systems, {len(WORKLOADS)} workloads; "
          f"scale factor 1/{DIV} (every count divided by {DIV}); "
          f"{OPTS['warmup']} warm-up + {OPTS['rounds']} interleaved rounds "
          "per workload; medians and ratios per round, with their spread")
    t_start = time.time()
    rows = []
    for w, _ in WORKLOADS:
        t = time.time()
        got = measure_workload(w, SYSTEMS)
        rows += got
        for row in got:
            shown = (spread_text([x[0] for x in row.samples]) + " ns/op"
                     if row.ns is not None else row.note)
            print(f"  {w:<14} {row.s.name:<28} {shown}", flush=True)
        print(f"  {w}: {time.time() - t:.0f} s", flush=True)
    elapsed = time.time() - t_start
    save(rows, elapsed)
    report.write(rows, WORKLOADS, SYSTEMS, OPTS, elapsed, results)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
