#!/usr/bin/env bash
# dmanalyticsd on the embedded database: /healthz, /readyz, clean stop on SIGTERM.
source "$(dirname "$0")/lib.sh"
dir=$(new_state_dir)
pid=
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
# A public address without a configured secret is refused before anything is served.
expect_exit 2 "$daemon" --state-dir "$dir/public" --listen 0.0.0.0:0
[[ $err == *"auth.jwt_secret_file"* ]] || fail "public listen without a secret: $err"
start_daemon "$dir"
get() { # get PATH -> "STATUS BODY"
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" >&3
  local resp; resp=$(cat <&3); exec 3>&-
  echo "$(head -1 <<<"$resp" | cut -d' ' -f2) $(tail -1 <<<"$resp")"
}
r=$(get /healthz); [[ $r == 200*'"status":"ok"'* ]] || fail "healthz: $r"
r=$(get /readyz); [[ $r == 200*'"ready"'* ]] || fail "readyz: $r"
r=$(get /nope); [[ $r == 404*'"error"'* ]] || fail "404: $r"
# The live /metrics passes the Prometheus linter.
curl -s "http://127.0.0.1:$port/metrics" >"$dir/metrics.txt"
grep -q '^http_requests_total{method="GET",route="/healthz",code="200"} 1$' "$dir/metrics.txt" ||
  fail "no request counted: $(grep http_requests_total "$dir/metrics.txt")"
promtool check metrics <"$dir/metrics.txt" >"$dir/promtool.txt" 2>&1 || fail "promtool: $(cat "$dir/promtool.txt")"
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e; pid=
[[ $rc == 0 ]] || fail "daemon exited $rc on SIGTERM: $(cat "$dir/err")"
[[ ! -f $dir/state/pg/postmaster.pid ]] || fail "the daemon left its PostgreSQL running"
echo ok
