#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HTTP example out of fds, on the pair named by WEFT_EXECUTOR and
# WEFT_REACTOR: with `ulimit -n 64` and 80 clients holding connections
# open, its accept loop must back off instead of spinning on EMFILE (the
# server stays nearly idle while saturated), the connections it holds are
# still served, and once the clients are gone a new request is answered.
# The CPU checks are idle checks, not speed ones: over one second, a
# spinning loop uses a whole CPU (or waits for one, on a busy machine), a
# sleeping one almost none.
# usage: check-http-fd-exhaust.sh HTTP_SERVER
set -euo pipefail
server=$1
limit=64 clients=80
# A spinning loop shows 100% of a CPU in both; a sleeping one shows ~0% of
# CPU time, and up to a quarter in demand on a heavily loaded machine,
# where each of its wake-ups waits for a CPU.
max_cpu_pct=20 max_demand_pct=60
tmp=$(mktemp -d)
pid=
fds=()
cleanup() {
  local fd
  for fd in "${fds[@]}"; do exec {fd}>&- 2>/dev/null || true; done
  if [ -n "$pid" ]; then
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$tmp/err" 2>/dev/null || true; exit 1; }

# The subshell execs the server, so $! is the server's own pid.
: > "$tmp/out"
( ulimit -n "$limit"; exec "$server" ) > "$tmp/out" 2> "$tmp/err" &
pid=$!
port=
for _ in $(seq 200); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/out")
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || fail "the server did not start"

# The listen backlog (128) completes every handshake, accepted or not.
for _ in $(seq "$clients"); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
  fds+=("$fd")
done

# Saturated: every fd number below the limit is taken (an fd inherited
# above it does not count), so the next accept can only fail.
below_limit() {
  local n=0 f
  for f in "/proc/$pid/fd"/*; do
    [ "${f##*/}" -lt "$limit" ] && n=$((n + 1))
  done
  echo "$n"
}
open=0
for _ in $(seq 100); do
  open=$(below_limit)
  [ "$open" -ge "$limit" ] && break
  sleep 0.05
done
[ "$open" -ge "$limit" ] || fail "the server holds $open fds, not $limit"

# utime + stime of all the server's threads, in clock ticks.
cpu_ticks() {
  local stat rest
  stat=$(cat "/proc/$pid/stat")
  rest=${stat##*) }
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $rest
  echo $(( ${12} + ${13} ))
}
# Time on a CPU plus time waiting for one, over the server's threads, in
# ns: what it asked for, which a busy machine does not hide the way it
# hides CPU time.  Empty without schedstats.
demand_ns() {
  local f run wait total=0
  for f in "/proc/$pid/task"/*/schedstat; do
    read -r run wait _ < "$f" 2>/dev/null || continue
    total=$((total + run + wait))
  done
  [ -e "/proc/$pid/schedstat" ] && echo "$total"
}
hz=$(getconf CLK_TCK)
t0=$(date +%s%N) c0=$(cpu_ticks) d0=$(demand_ns)
sleep 1
t1=$(date +%s%N) c1=$(cpu_ticks) d1=$(demand_ns)
pct=$(( (c1 - c0) * 100 * 1000000000 / hz / (t1 - t0) ))
echo "saturated ($open fds, $clients clients): server CPU ${pct}% of one CPU"
[ "$pct" -lt "$max_cpu_pct" ] ||
  fail "the server used ${pct}% of a CPU while out of fds (spinning?)"
if [ -n "$d0" ] && [ -n "$d1" ]; then
  pct=$(( (d1 - d0) * 100 / (t1 - t0) ))
  echo "saturated: server asked for ${pct}% of one CPU (on it or waiting)"
  [ "$pct" -lt "$max_demand_pct" ] ||
    fail "the server wanted ${pct}% of a CPU while out of fds (spinning?)"
fi

# A connection it holds is still served while it is out of fds.
request() { # fd: sends GET /ok, checks the status line
  local line
  printf 'GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&"$1"
  IFS= read -r -t 10 line <&"$1" || fail "no response on fd $1"
  [ "$line" = $'HTTP/1.1 200 OK\r' ] || fail "response '$line'"
}
request "${fds[0]}"

# Every client gone: a new connection is accepted and answered.
for fd in "${fds[@]}"; do exec {fd}>&-; done
fds=()
exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "connect after release"
fds+=("$fd")
request "$fd"

kill -INT "$pid"
timeout 20 tail --pid="$pid" -f /dev/null || fail "no stop on SIGINT"
wait "$pid" || fail "the server exited with $?"
pid=
echo "ok: http server out of fds on $WEFT_EXECUTOR/$WEFT_REACTOR"
