#!/usr/bin/env bash
# dmanalytics schedule on the database, as an operator uses it: add, list in
# each format, show, disable, enable, rm; a bad value exits 2 naming the
# field, an unknown id 5, a duplicate name 1.
source "$(dirname "$0")/lib.sh"
db=$(new_database)
trap 'drop_database "$db"' EXIT
r=("$cli" --database "$db" -q)

out=$("${r[@]}" schedule add --name "daily learning" --cron "0 6 * * *" --tz Europe/Berlin --type learning \
        --period yesterday --format pdf,csv --keep 14 --notify ops@example.com,lead@example.org)
id1=$(cut -f1 <<<"$out"); next=$(cut -f2 <<<"$out")
[[ $id1 =~ ^[0-9]+$ ]] || fail "add printed no id: $out"
[[ $next =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T06:00:00\+0[12]:00$ ]] || fail "add printed no next fire time in Berlin: $out"
want=$("$cli" schedule next "0 6 * * *" --tz Europe/Berlin -n 1)
[[ $next == "$want" ]] || fail "next run $next, schedule next says $want"
id2=$("${r[@]}" schedule add --name hourly --cron @hourly --type performance --format json | cut -f1)

# list: table, csv, json
out=$("${r[@]}" schedule list)
[[ $(head -1 <<<"$out") == *ID*NAME*CRON*TZ*TYPE*"NEXT RUN"*"LAST RUN"*"LAST STATUS"*ENABLED* ]] || fail "list header: $out"
grep -q "daily learning.*0 6 \* \* \*.*Europe/Berlin.*learning.*$next.*yes" <<<"$out" || fail "list row: $out"
csv=$("${r[@]}" schedule list --format csv)
[[ $(head -1 <<<"$csv") == $'id,name,cron,tz,type,next_run,last_run,last_status,enabled\r' ]] || fail "csv header: $csv"
[[ $(grep -c '^[0-9]' <<<"$csv") == 2 ]] || fail "csv rows: $csv"
# @hourly is guarded against formula injection like every text cell.
grep -q "^$id2,hourly,'@hourly,UTC,performance," <<<"$csv" || fail "csv row: $csv"
out=$("${r[@]}" schedule list --format json)
python3 -c "
import json,sys
d=json.loads(sys.argv[1]); assert len(d)==2, d
a=d[0]; assert a['id']==$id1 and a['name']=='daily learning' and a['formats']==['pdf','csv'] and a['keep']==14, a
assert a['notify']==['ops@example.com','lead@example.org'] and a['enabled'] is True and a['next_run_at']=='$next', a
assert a['last_run_at'] is None and a['last_status'] is None and a['catchup']=='last' and a['source']=='user', a
assert d[1]['keep'] is None and d[1]['cron']=='@hourly', d[1]" "$out" || fail "list json: $out"

out=$("${r[@]}" schedule show "$id1")
[[ $out == *"period:      yesterday"* && $out == *"notify:      ops@example.com,lead@example.org"* ]] || fail "show: $out"

# disable, enable
"${r[@]}" schedule disable "$id1"
out=$("${r[@]}" schedule show "$id1" --format json)
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['enabled'] is False, d" "$out" || fail "disable: $out"
out=$("${r[@]}" schedule list --format csv); grep -q "^$id1,.*,false"$'\r'"$" <<<"$out" || fail "disabled in list: $out"
"${r[@]}" schedule enable "$id1"
out=$("${r[@]}" schedule show "$id1"); [[ $out == *"enabled:     yes"* ]] || fail "enable: $out"

# Usage errors exit 2 and name the field and the value.
base=(--name x --cron "0 6 * * *" --type learning)
expect_exit 2 "${r[@]}" schedule add --name x --cron "61 * * * *" --type learning
[[ $err == *"cron '61 * * * *'"*minute* ]] || fail "bad cron: $err"
expect_exit 2 "${r[@]}" schedule add "${base[@]}" --tz Mars/Olympus
[[ $err == *"tz 'Mars/Olympus'"* ]] || fail "bad tz: $err"
expect_exit 2 "${r[@]}" schedule add --name x --cron "0 6 * * *" --type revenue
[[ $err == *"report_type 'revenue'"* ]] || fail "bad type: $err"
expect_exit 2 "${r[@]}" schedule add "${base[@]}" --period last-week
[[ $err == *"period 'last-week'"* ]] || fail "bad period: $err"
expect_exit 2 "${r[@]}" schedule add "${base[@]}" --format pdf,docx
[[ $err == *"formats 'docx'"* ]] || fail "bad format: $err"
expect_exit 2 "${r[@]}" schedule add "${base[@]}" --keep 0
[[ $err == *"keep '0'"* ]] || fail "bad keep: $err"
expect_exit 2 "${r[@]}" schedule add "${base[@]}" --keep many
[[ $err == *"keep 'many'"* ]] || fail "bad keep: $err"
expect_exit 2 "${r[@]}" schedule add "${base[@]}" --notify ops@example.com,nobody
[[ $err == *"notify 'nobody'"* ]] || fail "bad notify: $err"
expect_exit 2 "${r[@]}" schedule add --name x --type learning
expect_exit 2 "${r[@]}" schedule list --format xml
expect_exit 2 "${r[@]}" schedule show abc
# A duplicate name fails (exit 1) and says why.
expect_exit 1 "${r[@]}" schedule add --name hourly --cron "@daily" --type business
[[ $err == *"name 'hourly'"* ]] || fail "duplicate name: $err"

# rm; unknown ids exit 5.
"${r[@]}" schedule rm "$id2"
expect_exit 5 "${r[@]}" schedule show "$id2"
[[ $err == *"no schedule with id $id2"* ]] || fail "unknown id: $err"
expect_exit 5 "${r[@]}" schedule rm "$id2"
expect_exit 5 "${r[@]}" schedule enable "$id2"
expect_exit 5 "${r[@]}" schedule disable 999999
[[ $("${r[@]}" schedule list --format csv | grep -c '^[0-9]') == 1 ]] || fail "rm left the schedule listed"
echo ok

# run: here and now. With notify addresses and no [smtp] url the run fails
# saying so (exit 1), and is recorded.
expect_exit 1 "${r[@]}" schedule run "$id1"
[[ $err == *"no [smtp] url"* ]] || fail "run without smtp: $err"
out=$("${r[@]}" schedule show "$id1")
grep -q "manual.*failed.*no \[smtp\] url" <<<"$out" || fail "failed run not shown: $out"

# With a real SMTP server the PDF and CSV reach both addresses.
mail_dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox "$mail_dir/box" &
smtp_pid=$!
trap 'kill $smtp_pid 2>/dev/null; rm -rf "$mail_dir"; drop_database "$db"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
cat >"$mail_dir/dm.toml" <<TOML
[smtp]
url = "smtp://127.0.0.1:$port"
from = "reports@drivemaster.example"
TOML
out=$("${r[@]}" --config "$mail_dir/dm.toml" schedule run "$id1")
IFS=$'\t' read -r run_id status report_id <<<"$out"
[[ $run_id =~ ^[0-9]+$ && $status == succeeded && $report_id =~ ^[0-9]+$ ]] || fail "run output: $out"
msg=$(cat "$mail_dir"/box/new/* 2>/dev/null || true)
grep -q "^To: .*ops@example.com.*lead@example.org" <<<"$msg" || fail "mail recipients: $(head -c 2000 <<<"$msg")"
[[ $msg == *"dmanalytics-learning-$report_id-v2.pdf"* && $msg == *"dmanalytics-learning-$report_id-v2.csv"* ]] ||
  fail "mail attachments: $(head -c 2000 <<<"$msg")"
"${r[@]}" report show --local "$report_id" >/dev/null || fail "the run's report $report_id is not stored"
out=$("${r[@]}" schedule show "$id1" --format json)
python3 -c "
import json,sys
d=json.loads(sys.argv[1]); runs=d['runs']; assert len(runs)==2, runs
assert runs[0]['status']=='succeeded' and runs[0]['delivery']['status']=='sent' and runs[0]['report_ids']==[$report_id], runs[0]
assert runs[1]['status']=='failed' and d['last_status']=='succeeded' and d['last_success_at'], d" "$out" ||
  fail "runs in show json: $out"
expect_exit 5 "${r[@]}" schedule run 999999
expect_exit 2 "${r[@]}" schedule run "$id1" --format xml
