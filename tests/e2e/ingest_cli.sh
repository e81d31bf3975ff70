#!/usr/bin/env bash
# dmanalytics ingest as cron would run it: good files load, a bad file exits 1
# naming file, line and column, and leaves every table as it was.
source "$(dirname "$0")/lib.sh"
db=$(new_database); dir=$(new_state_dir)
trap 'drop_database "$db"; rm -rf "$dir"' EXIT
counts() { psql -qXtA "$db" -c "SELECT concat_ws(',', (SELECT count(*) FROM dm.learning_events), (SELECT count(*) FROM dm.learning_hourly), (SELECT count(*) FROM dm.learning_sessions), (SELECT count(*) FROM dm.request_metrics), (SELECT count(*) FROM dm.request_rollup_1m))"; }

cat > "$dir/good.csv" <<'CSV'
ts,user_id,session_id,kind,topic,correct,answer_ms
2026-11-02T08:00:00Z,1,1,question_answered,Vorfahrt,true,3000
2026-11-02T08:01:00Z,1,1,question_answered,Überholen,false,5000
CSV
"$cli" --database "$db" ingest learning "$dir/good.csv" 2>"$dir/out" || fail "good file rejected: $(cat "$dir/out")"
grep -q "loaded 2 learning rows" "$dir/out" || fail "no summary on stderr: $(cat "$dir/out")"
before=$(counts)
[[ $before == 2,2,1,0,0 ]] || fail "unexpected counts $before"

{ head -2 "$dir/good.csv"; echo "2026-11-02T08:02:00Z,1,1,question_answered,Vorfahrt,perhaps,100"; } > "$dir/bad.csv"
expect_exit 1 "$cli" --database "$db" ingest learning "$dir/bad.csv"
[[ $err == *"$dir/bad.csv:3: column correct: expected true, false, 1 or 0, got 'perhaps'"* ]] || fail "message: $err"
[[ $(counts) == "$before" ]] || fail "a rejected file changed the tables: $(counts)"

# NDJSON from stdin, format sniffed.
printf '{"ts":"2026-11-02T08:00:00Z","service":"api","endpoint":"/v1/q","status":200,"duration_ms":12.5}\n' |
  "$cli" --database "$db" -q ingest requests - || fail "stdin ndjson rejected"
[[ $(counts) == 2,2,1,1,1 ]] || fail "after ndjson: $(counts)"
echo ok
