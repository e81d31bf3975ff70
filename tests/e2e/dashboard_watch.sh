#!/usr/bin/env bash
# dashboard watch against a running daemon: a bad dashboard exits 2, a bad
# token or a dashboard the role may not follow 4, no daemon 3. A watch of system_performance prints the snapshot,
# then, after `dmanalytics ingest requests FILE` into the daemon's database,
# an update with a higher seq whose data has the ingested service; when the
# daemon stops it says it is reconnecting, and once a daemon is back on the
# same port and state folder a new snapshot arrives; SIGINT ends it with 0.
source "$(dirname "$0")/lib.sh"
db=$(new_database); dir=$(new_state_dir); pid=; watch_pid=
cleanup() {
  [[ -n $watch_pid ]] && kill -9 "$watch_pid" 2>/dev/null
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
  drop_database "$db"; rm -rf "$dir"
}
trap cleanup EXIT

start_daemon "$dir" --database "$db"
first_port=$port
c=("$cli" --state-dir "$dir/state" --url "http://127.0.0.1:$port")

expect_exit 2 "${c[@]}" dashboard watch nosuch
[[ $err == *"unknown dashboard 'nosuch'"* ]] || fail "unknown dashboard: $err"
expect_exit 2 "${c[@]}" dashboard watch user_progress
[[ $err == *"--user"* ]] || fail "user_progress without --user: $err"
expect_exit 2 "${c[@]}" dashboard watch alerts --user 3
expect_exit 4 "$cli" --url "http://127.0.0.1:$port" --token not.a.token dashboard watch system_performance
[[ $err == *401* ]] || fail "bad token: $err"
# A viewer may not follow business_kpis: the daemon's error line, exit 4.
viewer=$("$cli" --state-dir "$dir/state" -q token issue --role viewer --ttl 10m)
set +e
out=$("$cli" --url "http://127.0.0.1:$port" --token "$viewer" dashboard watch business_kpis 2>"$dir/forbidden.err")
rc=$?
set -e
[[ $rc == 4 ]] || fail "a viewer's watch of business_kpis exited $rc: $(cat "$dir/forbidden.err")"
[[ $out == *'"type":"error"'*'"code":"forbidden"'* ]] || fail "no forbidden error line: $out"
free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
expect_exit 3 "$cli" --state-dir "$dir/state" --url "http://127.0.0.1:$free_port" dashboard watch system_performance
[[ $err == *"Is dmanalyticsd running?"* ]] || fail "no daemon: $err"

"${c[@]}" dashboard watch system_performance >"$dir/watch.out" 2>"$dir/watch.err" &
watch_pid=$!

# line_count TYPE: lines of that message type so far.
line_count() { grep -c "\"type\":\"$1\"" "$dir/watch.out" || true; }
wait_until() { # wait_until SECONDS WHAT CMD...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq $((seconds * 10))); do "$@" && return 0; sleep 0.1; done
  fail "$what within $seconds s; stdout: $(tail -c 600 "$dir/watch.out"); stderr: $(cat "$dir/watch.err"); daemon: $(tail -5 "$dir/err")"
}
has_snapshots() { (($(line_count snapshot) >= $1)); }
wait_until 20 "no snapshot" has_snapshots 1
python3 - "$dir/watch.out" <<'PY' || fail "the first line: $(head -c 400 "$dir/watch.out")"
import json, sys
first = json.loads(open(sys.argv[1]).readline())
assert first["type"] == "snapshot" and first["dashboard"] == "system_performance", first
assert isinstance(first["seq"], int) and "ts" in first and isinstance(first["data"], dict), first
PY

# Five requests of a service of its own, timed now so that they fall in the
# dashboard's last hour.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for i in 1 2 3 4 5; do
  echo "{\"ts\":\"$now\",\"service\":\"e2e-watch\",\"endpoint\":\"/watch\",\"status\":200,\"duration_ms\":$((i * 10))}"
done >"$dir/requests.ndjson"
"$cli" --database "$db" -q ingest requests "$dir/requests.ndjson"

reflects_ingest() {
  python3 - "$dir/watch.out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
snapshot_seq = lines[0]["seq"]
for m in lines[1:]:
    if m["type"] != "update" or m["seq"] <= snapshot_seq:
        continue
    for s in m["data"].get("services", []):
        if s.get("service") == "e2e-watch" and s.get("requests") == 5:
            sys.exit(0)
sys.exit(1)
PY
}
wait_until 20 "no update with the ingested service" reflects_ingest
# Every line is one JSON object.
python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$dir/watch.out" || fail "a line is not JSON"

# The daemon goes away: the watch reports it and keeps trying.
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e; pid=
[[ $rc == 0 ]] || fail "daemon exited $rc on SIGTERM"
reconnecting() { grep -q "dashboard watch: connection lost (.*); reconnecting in [0-9.]* s" "$dir/watch.err"; }
wait_until 10 "no reconnect message" reconnecting
kill -0 "$watch_pid" 2>/dev/null || fail "the watch ended when the daemon stopped: $(cat "$dir/watch.err")"
sleep 1.5

# Back on the same port and state folder: a new snapshot.
"$daemon" --state-dir "$dir/state" --listen "127.0.0.1:$first_port" --database "$db" >"$dir/out2" 2>"$dir/err2" &
pid=$!
for _ in $(seq 300); do grep -q "listening on" "$dir/out2" && break; sleep 0.1; done
grep -q "listening on 127.0.0.1:$first_port" "$dir/out2" || fail "daemon did not restart on $first_port: $(cat "$dir/err2")"
wait_until 40 "no snapshot after the restart" has_snapshots 2

kill -INT "$watch_pid"
set +e; wait "$watch_pid"; rc=$?; set -e; watch_pid=
[[ $rc == 0 ]] || fail "the watch exited $rc on SIGINT: $(cat "$dir/watch.err")"

kill -TERM "$pid"
set +e; wait "$pid"; set -e; pid=
echo ok
