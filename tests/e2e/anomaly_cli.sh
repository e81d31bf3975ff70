#!/usr/bin/env bash
# dmanalytics anomaly scan: alarms of the detector over a timestamp,value CSV,
# as CSV and JSON, from a file and from stdin, without any database; a bad
# line exits 2 naming the file, the line, the field and the value.
source "$(dirname "$0")/lib.sh"
dir=$(new_state_dir); trap 'rm -rf "$dir"' EXIT
py=/usr/bin/python3
# A database that cannot be reached and an empty state folder: the command
# must not touch either.
r=("$cli" --state-dir "$dir/state" --database "host=$dir/nowhere port=1 dbname=none connect_timeout=1")

# Two days at 5-minute steps of a small daily wave with one spike, in NAB's
# timestamp format.
$py - "$dir/series.csv" <<'PY'
import math, sys
from datetime import datetime, timedelta
t0 = datetime(2026, 3, 2)
with open(sys.argv[1], "w") as f:
    f.write("timestamp,value\n")
    for i in range(576):
        v = 50 + 5 * math.sin(2 * math.pi * i / 288) + (i * 7919 % 13) / 13.0
        if i == 400:
            v = 120.0
        f.write("%s,%.3f\n" % ((t0 + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S"), v))
PY
spike="2026-03-03 09:20:00"

out=$("${r[@]}" anomaly scan "$dir/series.csv")
[[ $(head -1 <<<"$out") == "timestamp,value,score,severity" ]] || fail "csv header: $out"
[[ $(wc -l <<<"$out") == 2 ]] || fail "expected exactly one alarm (the spike): $out"
grep -Eq "^$spike,120\.000,[0-9]+\.[0-9]{3},(low|medium|high|critical)$" <<<"$out" || fail "csv alarm row: $out"

# stdin, the same result
out2=$("${r[@]}" anomaly scan - <"$dir/series.csv")
[[ $out2 == "$out" ]] || fail "stdin gave '$out2', the file '$out'"
out3=$("${r[@]}" anomaly scan <"$dir/series.csv")
[[ $out3 == "$out" ]] || fail "no FILE (stdin) gave '$out3'"

# JSON: an array of alarm objects
json=$("${r[@]}" anomaly scan "$dir/series.csv" --format json)
$py -c "
import json,sys
d=json.loads(sys.argv[1]); assert isinstance(d,list) and len(d)==1, d
a=d[0]; assert set(a)=={'timestamp','value','score','severity'}, a
assert a['timestamp']=='$spike' and a['value']==120.0 and a['score']>0, a
assert a['severity'] in ('low','medium','high','critical'), a" "$json" || fail "json: $json"

# RFC 3339 timestamps are printed as given.
sed -e '2,$s/^\(....-..-..\) \(..:..:..\)/\1T\2Z/' "$dir/series.csv" >"$dir/rfc.csv"
out=$("${r[@]}" anomaly scan "$dir/rfc.csv")
grep -q "^2026-03-03T09:20:00Z,120\.000," <<<"$out" || fail "rfc 3339: $out"

# Lower sensitivity never gives more alarms; no alarm at all on an empty series.
n0=$("${r[@]}" anomaly scan "$dir/series.csv" --sensitivity 0 | wc -l)
n1=$("${r[@]}" anomaly scan "$dir/series.csv" --sensitivity 1 | wc -l)
(( n0 <= n1 )) || fail "sensitivity 0 gave $n0 lines, 1 gave $n1"
[[ $(printf 'timestamp,value\n' | "${r[@]}" anomaly scan -) == "timestamp,value,score,severity" ]] || fail "empty series"

# Bad input: exit 2, naming file, line, field and value; nothing on stdout.
sed '101s/,.*/,abc/' "$dir/series.csv" >"$dir/bad.csv"
expect_exit 2 "${r[@]}" anomaly scan "$dir/bad.csv"
[[ $err == *"$dir/bad.csv line 101: field 'value': 'abc' is not a number"* ]] || fail "bad value: $err"
[[ -z $("${r[@]}" anomaly scan "$dir/bad.csv" 2>/dev/null) ]] || fail "partial output on a bad file"
sed '7s/^[^,]*/2026-13-01 00:00:00/' "$dir/series.csv" >"$dir/badts.csv"
expect_exit 2 "${r[@]}" anomaly scan - <"$dir/badts.csv"
[[ $err == *"stdin line 7: field 'timestamp': '2026-13-01 00:00:00' is not a timestamp"* ]] || fail "bad timestamp: $err"
printf 'timestamp,value\n2026-03-02 00:00:00,nan\n' >"$dir/nan.csv"
expect_exit 2 "${r[@]}" anomaly scan "$dir/nan.csv"
[[ $err == *"line 2: field 'value': 'nan' is not a finite number"* ]] || fail "nan: $err"
printf 'time,val\n' >"$dir/header.csv"
expect_exit 2 "${r[@]}" anomaly scan "$dir/header.csv"
[[ $err == *"header"*timestamp*value* ]] || fail "bad header: $err"
expect_exit 2 "${r[@]}" anomaly scan "$dir/series.csv" --sensitivity 2
[[ $err == *"--sensitivity 2"* ]] || fail "bad sensitivity: $err"
expect_exit 2 "${r[@]}" anomaly scan "$dir/series.csv" --format xml
[[ $err == *"--format 'xml'"* ]] || fail "bad format: $err"
expect_exit 1 "${r[@]}" anomaly scan "$dir/missing.csv"
[[ $err == *"$dir/missing.csv"* ]] || fail "missing file: $err"

# No database was opened: the state folder was never created.
[[ ! -e $dir/state ]] || fail "anomaly scan created the state folder: $(ls -R "$dir/state")"
echo ok
