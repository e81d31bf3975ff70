#!/usr/bin/env bash
# Alerts as an operator meets them: rule add / list / test (a backtest over an
# incident in stored history), two daemons on one database of which exactly
# one evaluates (and the other takes over when it is killed), an incident
# ingested now firing, alert list / show / ack / trend, rule rm; bad input
# exits 2, unknown ids 5.
source "$(dirname "$0")/lib.sh"
db=$(new_database); a=$(new_state_dir); b=$(new_state_dir); pid_a=; pid_b=
cleanup() {
  [[ -n $pid_a ]] && kill -9 "$pid_a" 2>/dev/null
  [[ -n $pid_b ]] && kill -9 "$pid_b" 2>/dev/null
  drop_database "$db"; rm -rf "$a" "$b"
}
trap cleanup EXIT
l=("$cli" --database "$db" -q)

# An incident in stored history: on 2026-11-02 from 10:00 to 10:20 UTC every
# request of "api" fails; before and after, none does.
python3 - "$a/history.csv" <<'PY'
import sys, datetime as dt
start = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.timezone.utc)
with open(sys.argv[1], "w") as f:
    f.write("ts,service,endpoint,status,duration_ms\n")
    for i in range(0, 90 * 60, 5):
        t = start + dt.timedelta(seconds=i)
        bad = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.timezone.utc) <= t < dt.datetime(2026, 11, 2, 10, 20, tzinfo=dt.timezone.utc)
        f.write(f"{t:%Y-%m-%dT%H:%M:%SZ},api,/questions,{500 if bad else 200},{40 + i % 7}\n")
PY
"${l[@]}" ingest requests "$a/history.csv"

id=$("${l[@]}" rule add --name api-errors --metric error_rate --service api --threshold 0.3 --for 2m \
       --resolve-for 5m --window 5m --severity high)
[[ $id =~ ^[0-9]+$ ]] || fail "rule add printed no id: $id"
out=$("${l[@]}" rule list)
grep -q "api-errors.*threshold.*error_rate{api}.*> 0.3 over 300s.*120s.*300s.*high.*yes" <<<"$out" || fail "rule list: $out"

# The backtest: pending once the 5-minute error rate passes 0.3, firing two
# minutes later, resolved five minutes after it fell back, in that order.
out=$("${l[@]}" rule test "$id" --from 2026-11-02T09:30:00Z --to 2026-11-02T11:00:00Z --step 60s --format json)
python3 - "$out" <<'PY' || fail "rule test: $out"
import json, sys, datetime as dt
steps = json.loads(sys.argv[1])
t = lambda s: dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
assert [(s["from"], s["to"]) for s in steps] == [("inactive", "pending"), ("pending", "firing"), ("firing", "resolved")], steps
pending, firing, resolved = (t(s["at"]) for s in steps)
base = dt.datetime(2026, 11, 2, 10, 0, tzinfo=dt.timezone.utc)
assert base < pending <= base + dt.timedelta(minutes=3), steps
assert firing - pending == dt.timedelta(minutes=2), steps
assert base + dt.timedelta(minutes=25) <= resolved <= base + dt.timedelta(minutes=31), steps
assert all(s["value"] is not None for s in steps) and steps[0]["value"] > 0.3, steps
PY
out=$("${l[@]}" rule test "$id" --from 2026-11-02T09:30:00Z --to 2026-11-02T11:00:00Z --step 60s)
[[ $out == *"inactive -> pending"*"pending -> firing"*"firing -> resolved"* ]] || fail "rule test table: $out"
out=$("${l[@]}" rule test "$id" --from 2026-11-01 --to 2026-11-02)
[[ $out == *"no transition"* ]] || fail "a quiet day: $out"

# Two daemons on the database; exactly one evaluates.
cat >"$a/dm.toml" <<TOML
[alerts]
interval = 1
resolve_for = 60
TOML
start_daemon "$a" --database "$db" --config "$a/dm.toml"; pid_a=$pid; port_a=$port
start_daemon "$b" --database "$db" --config "$a/dm.toml"; pid_b=$pid; port_b=$port
leader() { grep -l "evaluates the alert rules" "$a/err" "$b/err" 2>/dev/null || true; }
for _ in $(seq 100); do [[ -n $(leader) ]] && break; sleep 0.1; done
sleep 2
[[ $(leader | wc -l) == 1 ]] || fail "evaluators: $(leader)"

# An incident now: every request of "checkout" fails.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for i in $(seq 20); do
  echo "{\"ts\":\"$now\",\"service\":\"checkout\",\"endpoint\":\"/pay\",\"status\":503,\"duration_ms\":$i}"
done >"$a/now.ndjson"
now_id=$("${l[@]}" rule add --name checkout-down --metric error_rate --service checkout --threshold 0.5 --for 0s \
           --severity critical)
"${l[@]}" ingest requests "$a/now.ndjson"
alert=
for _ in $(seq 100); do
  alert=$("${l[@]}" alert list --state firing --severity critical --format json |
            python3 -c 'import json,sys; a=[x for x in json.load(sys.stdin) if x["rule"]=="checkout-down"]; print(a[0]["id"] if a else "")')
  [[ -n $alert ]] && break; sleep 0.2
done
[[ -n $alert ]] || fail "no firing alert: $("${l[@]}" alert list)"
out=$("${l[@]}" alert list --since 1h)
grep -q "checkout-down.*critical.*firing" <<<"$out" || fail "alert list: $out"
csv=$("${l[@]}" alert list --format csv)
[[ $(head -1 <<<"$csv") == $'id,rule,severity,state,value,threshold,started_at,firing_at,resolved_at,acknowledged_by\r' ]] ||
  fail "csv header: $csv"

"${l[@]}" alert ack "$alert" --by alice
out=$("${l[@]}" alert show "$alert" --format json)
python3 -c "
import json,sys
d=json.loads(sys.argv[1]); assert d['acknowledged_by']=='alice' and d['acknowledged_at'] and d['state']=='firing', d
assert [e['to'] for e in d['events']][-1]=='acknowledged' and 'firing' in [e['to'] for e in d['events']], d" "$out" ||
  fail "alert show after ack: $out"
out=$("${l[@]}" alert show "$alert")
[[ $out == *"acknowledged: "*"by alice"* ]] || fail "alert show: $out"
out=$("${l[@]}" alert trend --format json)
python3 -c "
import json,sys
d=json.loads(sys.argv[1]); rows={r['severity']:r for r in d}
assert rows['critical']['last_7d']>=1 and set(rows)=={'low','medium','high','critical'}, d" "$out" || fail "trend: $out"

# The evaluator is killed: the other daemon takes over within seconds.
if grep -q "evaluates the alert rules" "$a/err"; then kill -9 "$pid_a"; pid_a=; other=$b; else kill -9 "$pid_b"; pid_b=; other=$a; fi
for _ in $(seq 100); do grep -q "evaluates the alert rules" "$other/err" && break; sleep 0.1; done
grep -q "evaluates the alert rules" "$other/err" || fail "no takeover: $(tail -5 "$other/err")"

# Bad input and unknown ids.
expect_exit 2 "${l[@]}" rule add --name x --metric latency --threshold 1
[[ $err == *"latency"* ]] || fail "bad metric: $err"
expect_exit 2 "${l[@]}" rule add --name x --metric error_rate
expect_exit 2 "${l[@]}" rule add --name x --metric cpu --threshold 0.9 --service api
expect_exit 2 "${l[@]}" rule test "$id" --from 2026-11-02 --to 2026-11-01
expect_exit 2 "${l[@]}" alert list --state sleeping
expect_exit 2 "${l[@]}" alert list --since yesterdayish
expect_exit 5 "${l[@]}" alert show 999999
expect_exit 5 "${l[@]}" rule test 999999 --from 2026-11-01 --to 2026-11-02
"${l[@]}" rule rm "$id"
expect_exit 5 "${l[@]}" rule rm "$id"
echo ok
