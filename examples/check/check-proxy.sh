#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The proxy example on loopback, with examples/echo's server upstream:
# wrong arguments, a port in use, bytes both ways and a close, an idle
# timeout, a refused upstream, and Ctrl+C with one connection that ends in
# the grace period and one that is cut off.  Every wait is bounded.
# usage: check-proxy.sh PROXY ECHO_SERVER
set -euo pipefail
. "$(dirname "$0")/run.sh"
proxy=$1 echo_server=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  for f in "$tmp"/*.out "$tmp"/*.err; do
    [ -s "$f" ] && { echo "--- $(basename "$f")"; cat "$f"; }
  done
  echo "FAIL: $*"
  exit 1
}

# start NAME PROGRAM ARGS...: runs it in the background and waits for its
# listening line; sets port and pid.
start() {
  local name=$1
  shift
  wrap "$@"
  : >"$tmp/$name.out" # before the child's own redirection, for sed
  "${cmd[@]}" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=("$pid")
  port=
  for _ in $(seq 600); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
      "$tmp/$name.out")
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  fail "$name did not start"
}

# expect NAME LINE: waits up to 30 s for LINE in NAME's output.
expect() {
  for _ in $(seq 600); do
    grep -qxF -- "$2" "$tmp/$1.out" && return 0
    sleep 0.05
  done
  fail "$1 did not print: $2"
}

# finish NAME PID: waits up to 30 s for it to exit, with status 0.
finish() {
  local status=0
  timeout 30 tail --pid="$2" -f /dev/null || fail "$1 did not exit"
  wait "$2" || status=$?
  [ "$status" = 0 ] || fail "$1 exited with status $status"
}

# same NAME EXPECTED: NAME's output is EXPECTED, the port aside.
same() {
  sed 's/^listening on 127\.0\.0\.1:[0-9]*$/listening on 127.0.0.1:P/' \
    "$tmp/$1.out" >"$tmp/$1.got"
  printf '%s\n' "$2" | diff -u - "$tmp/$1.got" || fail "$1's output differs"
  [ ! -s "$tmp/$1.err" ] || fail "$1 wrote to stderr"
}

# exchange FD TEXT: sends a line through the proxy and reads its echo.
exchange() {
  local line
  printf '%s\n' "$2" >&"$1"
  read -r -t 30 -u "$1" line || fail "no echo of $2"
  [ "$line" = "$2" ] || fail "echo of $2 was $line"
}

usage='usage: proxy PORT UPSTREAM_PORT [IDLE_MS [GRACE_MS]]'
for args in "" "1" "70000 1" "1 x" "1 2 -5" "1 2 3 4x"; do
  status=0
  # shellcheck disable=SC2086 # the arguments are split on purpose
  wrap "$proxy" $args
  timeout 30 "${cmd[@]}" >"$tmp/usage.out" 2>"$tmp/usage.err" || status=$?
  if [ "$status" != 2 ] || [ "$(cat "$tmp/usage.err")" != "$usage" ]; then
    fail "arguments '$args': status $status"
  fi
done

start echo "$echo_server" -p 0 -d 1000
echo_pid=$pid upstream=$port

status=0
wrap "$proxy" "$upstream" "$upstream"
timeout 30 "${cmd[@]}" >"$tmp/inuse.out" 2>"$tmp/inuse.err" || status=$?
if [ "$status" != 1 ] ||
  ! grep -q '^error: Address already in use$' "$tmp/inuse.err"; then
  fail "a port in use: status $status"
fi

# Ctrl+C with two connections open and a grace period of 3 s: the first
# ends in it, the second is cut off.  No idle timeout meanwhile (60 s).
start grace "$proxy" 0 "$upstream" 60000 3000
exec 3<>"/dev/tcp/127.0.0.1/$port" 4<>"/dev/tcp/127.0.0.1/$port"
exchange 3 hello
exchange 4 stay
kill -INT "$pid"
expect grace "shutting down, 2 open"
exec 3>&-
finish grace "$pid"
exec 4>&-
same grace "listening on 127.0.0.1:P
shutting down, 2 open
conn 1: closed, 6 bytes up, 6 bytes down
grace period over, 1 cut off
bye"

# An idle timeout of 1 s: a connection that exchanges and closes, one
# that says nothing, and one after the upstream has gone.
start idle "$proxy" 0 "$upstream" 1000
exec 3<>"/dev/tcp/127.0.0.1/$port"
exchange 3 ping
exec 3>&-
expect idle "conn 1: closed, 5 bytes up, 5 bytes down"
exec 4<>"/dev/tcp/127.0.0.1/$port"
expect idle "conn 2: idle timeout"
exec 4>&-
kill -INT "$echo_pid"
finish echo "$echo_pid"
exec 3<>"/dev/tcp/127.0.0.1/$port"
expect idle "conn 3: error: Connection refused"
exec 3>&-
sleep 0.5 # the task has printed; let it end before it is counted
kill -INT "$pid"
finish idle "$pid"
same idle "listening on 127.0.0.1:P
conn 1: closed, 5 bytes up, 5 bytes down
conn 2: idle timeout
conn 3: error: Connection refused
shutting down, 0 open
bye"
echo "ok: proxy on ${WEFT_EXECUTOR:-?}/${WEFT_REACTOR:-?}"
