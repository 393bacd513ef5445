#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The echo and HTTP examples on the pair named by WEFT_EXECUTOR and
# WEFT_REACTOR: each server starts, serves its client, and stops
# gracefully on SIGINT.
# usage: check-examples.sh ECHO_SERVER ECHO_CLIENT HTTP_SERVER HTTP_CLIENT
set -euo pipefail
echo_server=$1 echo_client=$2 http_server=$3 http_client=$4
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

start() { # name, command...: sets port
  local name=$1; shift
  port=
  : > "$tmp/$name.out"
  "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
  pids+=($!)
  for _ in $(seq 200); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
      "$tmp/$name.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { cat "$tmp/$name.err"; echo "FAIL: $name did not start"; exit 1; }
}

stop() { # name, pid
  kill -INT "$2"
  timeout 20 tail --pid="$2" -f /dev/null ||
    { echo "FAIL: $1 did not stop on SIGINT"; exit 1; }
  wait "$2" || { cat "$tmp/$1.err"; echo "FAIL: $1 exited with $?"; exit 1; }
}

start echo "$echo_server" -p 0 -d 1000
grep -q "(executor $WEFT_EXECUTOR, reactor $WEFT_REACTOR)" "$tmp/echo.out" ||
  { cat "$tmp/echo.out"; echo "FAIL: not on the pair asked for"; exit 1; }
"$echo_client" -p "$port" -c 20 -r 50 -s 3000 > "$tmp/client.out"
grep -q "^requests/s [0-9]* *p50 [0-9.]* us *p99 [0-9.]* us$" "$tmp/client.out" ||
  { cat "$tmp/client.out"; echo "FAIL: echo client"; exit 1; }
stop echo "${pids[0]}"
grep -q "^stopped: 20 connection(s) served, 20 finished, 0 dropped$" "$tmp/echo.out" ||
  { cat "$tmp/echo.out"; echo "FAIL: echo shutdown"; exit 1; }

start http "$http_server"
"$http_client" -p "$port" > "$tmp/http-client.out"
cat > "$tmp/expected" <<'END'
fetch_with_fallback(/down, /ok)
  primary answered 503; switching to the fallback
  fallback: hello from weft
fetch_with_fallback(a closed port, /ok)
  primary failed: Connection refused; switching to the fallback
  fallback: hello from weft
call_service(/auth, token "secret")
  ok: the protected resource
call_service(/auth, token "wrong")
  error: authentication failed: invalid token
call_service(/busy, token "secret")
  error: rate limited: retry after 7 s
call_service(/slow, token "secret")
  error: timeout: more than 1 s
END
diff -u "$tmp/expected" "$tmp/http-client.out" || { echo "FAIL: http client"; exit 1; }
stop http "${pids[1]}"
echo "ok: echo and http on $WEFT_EXECUTOR/$WEFT_REACTOR"
