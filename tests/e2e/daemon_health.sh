#!/usr/bin/env bash
# dmanalyticsd on the embedded database: /healthz, /readyz, clean stop on SIGTERM.
source "$(dirname "$0")/lib.sh"
dir=$(new_state_dir)
pid=
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
"$daemon" --state-dir "$dir/state" --listen 127.0.0.1:0 >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 100); do grep -q "listening on" "$dir/out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$dir/out")
[[ -n $port ]] || fail "daemon did not start: $(cat "$dir/err")"
get() { # get PATH -> "STATUS BODY"
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" >&3
  local resp; resp=$(cat <&3); exec 3>&-
  echo "$(head -1 <<<"$resp" | cut -d' ' -f2) $(tail -1 <<<"$resp")"
}
r=$(get /healthz); [[ $r == 200*'"status":"ok"'* ]] || fail "healthz: $r"
r=$(get /readyz); [[ $r == 200*'"ready"'* ]] || fail "readyz: $r"
r=$(get /nope); [[ $r == 404*'"error"'* ]] || fail "404: $r"
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e; pid=
[[ $rc == 0 ]] || fail "daemon exited $rc on SIGTERM: $(cat "$dir/err")"
[[ ! -f $dir/state/pg/postmaster.pid ]] || fail "the daemon left its PostgreSQL running"
echo ok
