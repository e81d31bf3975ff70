#!/usr/bin/env bash
# PostgreSQL stopped and started under a running daemon: requests that need
# the database fail fast with 503, /readyz says so, /healthz stays up, and the
# daemon recovers by itself when the database returns. Then SIGTERM exits 0.
source "$(dirname "$0")/lib.sh"
dir=$(new_state_dir)
pid=
pgbin=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
  [[ -f $dir/state/pg/postmaster.pid ]] && (cd / && as_pg "$pgbin/pg_ctl" -D "$dir/state/pg" -m immediate stop >/dev/null 2>&1)
  rm -rf "$dir"
}
trap cleanup EXIT
start_daemon "$dir"
token=$("$cli" --state-dir "$dir/state" token issue --role admin --ttl 10m)
status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port$1"; }
wait_status() { # wait_status PATH CODE: up to 20 s
  for _ in $(seq 200); do [[ $(status "$1") == "$2" ]] && return 0; sleep 0.1; done
  fail "$1 never answered $2 (last $(status "$1")); log: $(tail -5 "$dir/err")"
}
wait_status /readyz 200
[[ $(status /reports) == 200 ]] || fail "reports before the outage"

(cd / && as_pg "$pgbin/pg_ctl" -D "$dir/state/pg" -m fast -w stop >/dev/null)
wait_status /reports 503
wait_status /readyz 503
body=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/reports")
[[ $body == *'"code":"unavailable"'* ]] || fail "503 body: $body"
[[ $(status /healthz) == 200 ]] || fail "healthz during the outage"
# Fails fast: no connect timeout per request.
t=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/reports")
awk -v t="$t" 'BEGIN { exit !(t < 1.0) }' || fail "a request during the outage took $t s"
# The cached dashboard is still served.
[[ $(status /dashboard/system/performance) == 200 ]] || fail "dashboard during the outage"

(cd / && as_pg "$pgbin/pg_ctl" -D "$dir/state/pg" -l "$dir/state/postgresql.log" -w \
   -o "-k $dir/state/run -p 5432 -c listen_addresses='' -c TimeZone=UTC" start >/dev/null)
wait_status /reports 200
wait_status /readyz 200
grep -q "database reachable again" "$dir/err" || fail "no recovery in the log"

kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e; pid=
[[ $rc == 0 ]] || fail "daemon exited $rc on SIGTERM: $(tail -5 "$dir/err")"
echo ok
