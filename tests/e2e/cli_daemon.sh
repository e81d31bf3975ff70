#!/usr/bin/env bash
# The CLI through a running dmanalyticsd: report generate / list / show / get /
# diff / rm print what the --local path prints, --section is rendered by the
# daemon, dashboards and status; a bad token exits 4, a daemon that is not
# there exits 3 and says how to start it, a viewer may not list reports.
source "$(dirname "$0")/lib.sh"
db=$(new_database); dir=$(new_state_dir); pid=
cleanup() { [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null; drop_database "$db"; rm -rf "$dir"; }
trap cleanup EXIT
"$cli" --database "$db" -q seed --users 120 --days 21 --end 2026-11-02 --seed 5

# The daemon's own state folder holds jwt.secret; the CLI given the same
# folder mints its tokens from it.
start_daemon "$dir" --database "$db"
c=("$cli" --state-dir "$dir/state" --url "http://127.0.0.1:$port" -q)
l=("$cli" --database "$db" -q)
period=(--from 2026-10-19 --to 2026-10-26 --tz Europe/Berlin)

# status: health and readiness, without a token.
out=$("${c[@]}" status) || fail "status exited $?: $out"
[[ $out == *"ready "*"ready"* && $out == *"database "*"ok"* && $out == *"version"* ]] || fail "status: $out"
out=$("${c[@]}" status --format json)
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['status']=='ok' and d['ready']=='ready' and d['database']=='ok' and d['uptime_seconds']>=0, d" "$out" ||
  fail "status --format json: $out"

# generate through the daemon; the artifact written is the stored one.
"${c[@]}" report generate engagement "${period[@]}" -o "$dir/e.json"
python3 -c "import json; d=json.load(open('$dir/e.json')); assert d['report']['type']=='engagement' and d['report']['period']['tz']=='Europe/Berlin'; assert 'active_users' in d['kpis']" ||
  fail "JSON report: $(head -c 300 "$dir/e.json")"
id=$(python3 -c "import json; print(json.load(open('$dir/e.json'))['report']['id'])")
"${c[@]}" report get "$id" -o "$dir/e-get.json"
cmp -s "$dir/e.json" "$dir/e-get.json" || fail "generate and get differ"
"${c[@]}" report get "$id" --format csv > "$dir/e-get.csv"
"${l[@]}" report get "$id" --format csv --local > "$dir/e-local.csv"
cmp -s "$dir/e-get.csv" "$dir/e-local.csv" || fail "get through the daemon and --local differ"

# The same report generated here and through the daemon has the same CSV.
"${c[@]}" report generate learning "${period[@]}" --format csv --section topics > "$dir/topics.csv"
"${l[@]}" report generate learning "${period[@]}" --format csv --section topics --local > "$dir/topics-local.csv"
cmp -s "$dir/topics.csv" "$dir/topics-local.csv" || fail "topics CSV differs: $(diff "$dir/topics.csv" "$dir/topics-local.csv" | head -5)"
[[ $(head -1 "$dir/topics.csv") == topic,* ]] || fail "topics header: $(head -1 "$dir/topics.csv")"
"${c[@]}" report generate performance "${period[@]}" --format pdf -o "$dir/p.pdf"
qpdf --check "$dir/p.pdf" >/dev/null || fail "qpdf rejects the PDF from the daemon"

# --section through the daemon: rendered from the stored JSON.
"${c[@]}" report get "$id" --format csv --section cohorts > "$dir/cohorts-get.csv"
"${c[@]}" report generate engagement "${period[@]}" --format csv --section cohorts > "$dir/cohorts-gen.csv"
cmp -s "$dir/cohorts-get.csv" "$dir/cohorts-gen.csv" || fail "get --section differs from generate --section"
[[ $(head -1 "$dir/cohorts-get.csv") == cohort_week,size* ]] || fail "cohorts header: $(head -1 "$dir/cohorts-get.csv")"
out=$("${c[@]}" report get "$id" --format csv --section kpis)
[[ $out == name,value*active_users,* ]] || fail "kpis section: ${out:0:120}"
expect_exit 2 "${c[@]}" report get "$id" --format csv --section nosuch
[[ $err == *nosuch* && $err == *section* ]] || fail "unknown section: $err"

# list, show, diff: the same output as --local.
for fmt in table csv json; do
  a=$("${c[@]}" report list --format $fmt); b=$("${l[@]}" report list --format $fmt --local)
  [[ $a == "$b" ]] || fail "list --format $fmt differs:"$'\n'"$a"$'\n---\n'"$b"
done
[[ $("${c[@]}" report list --type engagement --format csv | grep -c '^[0-9]') == 2 ]] || fail "list --type"
[[ $("${c[@]}" report list --limit 2 --format csv | grep -c '^[0-9]') == 2 ]] || fail "list --limit"
a=$("${c[@]}" report show "$id"); b=$("${l[@]}" report show "$id" --local)
[[ $a == "$b" && $a == *succeeded* ]] || fail "show differs:"$'\n'"$a"$'\n---\n'"$b"
a=$("${c[@]}" report show "$id" --format json); b=$("${l[@]}" report show "$id" --format json --local)
[[ $a == "$b" ]] || fail "show --format json differs"
id2=$("${c[@]}" report list --type engagement --format csv | sed -n 2p | cut -d, -f1)
a=$("${c[@]}" report diff "$id" "$id2"); b=$("${l[@]}" report diff "$id" "$id2" --local)
[[ $a == "$b" && $a == *$'\n'active_users* ]] || fail "diff differs:"$'\n'"$a"$'\n---\n'"$b"

# rm through the daemon; then the id is unknown both ways.
"${c[@]}" report rm "$id"
expect_exit 5 "${c[@]}" report show "$id"
[[ $err == *"no report with id $id"* ]] || fail "unknown id: $err"
expect_exit 5 "${l[@]}" report show "$id" --local

# Dashboards. The snapshot cache may still be warming up just after start.
for _ in $(seq 50); do
  out=$("${c[@]}" dashboard show system_performance --format json 2>/dev/null) && break; sleep 0.2
done
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert 'overall' in d and 'services' in d, d" "$out" ||
  fail "system_performance --format json: $out"
out=$("${c[@]}" dashboard show system_performance) || fail "system_performance table"
[[ $out == *window*services*hosts*"health probes"* ]] || fail "system_performance table: $out"
user=$(psql -qAtX "$db" -c "SELECT user_id FROM dm.learning_events LIMIT 1")
out=$("${c[@]}" dashboard show user_progress --user "$user" --format json)
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['user_id']==$user and d['topics'], d" "$out" ||
  fail "user_progress --format json: $out"
out=$("${c[@]}" dashboard show user_progress --user "$user"); [[ $out == *TOPIC*ACCURACY* ]] || fail "user_progress: $out"
for _ in $(seq 50); do
  out=$("${c[@]}" dashboard show business_kpis --format json 2>/dev/null) && break; sleep 0.2
done
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert 'revenue_cents' in d['kpis'] and 'period' in d, d" "$out" ||
  fail "business_kpis --format json: $out"
out=$("${c[@]}" dashboard show business_kpis); [[ $out == *KPI*revenue_cents*plans* ]] || fail "business_kpis: $out"
expect_exit 2 "${c[@]}" dashboard show user_progress
expect_exit 2 "${c[@]}" dashboard show nosuch
for _ in $(seq 50); do "${c[@]}" dashboard show alerts >/dev/null 2>&1 && break; sleep 0.2; done
out=$("${c[@]}" dashboard show alerts --format json)
python3 -c "
import json,sys
d=json.loads(sys.argv[1]); assert isinstance(d['alerts'], list) and isinstance(d['pending'], int), d
assert sorted(d['firing'])==['critical','high','low','medium'], d
assert all(a['state'] in ('pending','firing') for a in d['alerts']), d" "$out" || fail "alerts: $out"

# Refusals: a bad token exits 4, a viewer may not list reports (4), nothing
# listening exits 3 and says how to start the daemon.
expect_exit 4 "${c[@]}" --token not-a-jwt report list
[[ $err == *"refused"* ]] || fail "bad token: $err"
viewer=$("$cli" --state-dir "$dir/state" -q token issue --role viewer --ttl 5m)
expect_exit 4 "${c[@]}" --token "$viewer" report list
[[ $err == *viewer* ]] || fail "viewer: $err"
"${c[@]}" --token "$viewer" dashboard show system_performance >/dev/null || fail "a viewer may read system_performance"
expect_exit 4 "${c[@]}" --token "$viewer" dashboard show business_kpis
closed=("$cli" --state-dir "$dir/state" --url http://127.0.0.1:1 -q)
expect_exit 3 "${closed[@]}" report list
[[ $err == *dmanalyticsd* && $err == *--local* ]] || fail "unreachable: $err"
expect_exit 3 "${closed[@]}" status
[[ $err == *dmanalyticsd* ]] || fail "status unreachable: $err"
expect_exit 3 "${closed[@]}" dashboard show alerts

kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e; pid=
[[ $rc == 0 ]] || fail "daemon exited $rc on SIGTERM: $(cat "$dir/err")"
echo ok
