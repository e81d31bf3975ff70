#!/usr/bin/env bash
# dmanalytics report as an analyst uses it: generate in each format, list,
# show, get, diff, rm; bad input exits 2 naming what was wrong; an unknown id 5.
source "$(dirname "$0")/lib.sh"
db=$(new_database); dir=$(new_state_dir)
trap 'drop_database "$db"; rm -rf "$dir"' EXIT
r=("$cli" --database "$db" -q)
"${r[@]}" seed --users 120 --days 21 --end 2026-11-02 --seed 5

"${r[@]}" report generate engagement --from 2026-10-19 --to 2026-10-26 --tz Europe/Berlin --local > "$dir/e.json"
python3 -c "import json,sys; d=json.load(open('$dir/e.json')); assert d['report']['type']=='engagement' and d['report']['period']['tz']=='Europe/Berlin', d['report']; assert 'active_users' in d['kpis']" ||
  fail "JSON report: $(head -c 300 "$dir/e.json")"

"${r[@]}" report generate learning --from 2026-10-19 --to 2026-10-26 --format csv --section topics --local > "$dir/topics.csv"
rows=$(mlr --icsv --ojson cat "$dir/topics.csv" | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
[[ $rows -ge 5 ]] || fail "topics CSV has $rows rows"
kpis=$("${r[@]}" report generate business --from 2026-10-19 --to 2026-10-26 --format csv --section kpis --local)
[[ $kpis == *$'\n'revenue_cents,* ]] || fail "kpis section: $kpis"

"${r[@]}" report generate performance --from 2026-10-19 --to 2026-10-26 --format pdf -o "$dir/p.pdf" --local
qpdf --check "$dir/p.pdf" >/dev/null || fail "qpdf rejects the PDF"
text=$(pdftotext "$dir/p.pdf" - 2>/dev/null)
[[ $text == *"Performance report"* ]] || fail "PDF lacks its title"

# Writing to a device writes through it rather than renaming a file over it.
"${r[@]}" report generate learning --from 2026-10-19 --to 2026-10-26 --local -o /dev/null
[[ -c /dev/null ]] || fail "-o /dev/null replaced the device"

# Versions, list, show, get, diff, rm.
"${r[@]}" report generate engagement --from 2026-10-19 --to 2026-10-26 --tz Europe/Berlin --local -o "$dir/e2.json"
list=$("${r[@]}" report list --type engagement --format csv --local)
[[ $(grep -c '^[0-9]' <<<"$list") == 2 ]] || fail "list: $list"
id1=$(sed -n 3p <<<"$list" | cut -d, -f1); id2=$(sed -n 2p <<<"$list" | cut -d, -f1)
[[ $(sed -n 2p <<<"$list" | cut -d, -f3) == 2 ]] || fail "second generation is not version 2: $list"
out=$("${r[@]}" report show "$id2" --local); [[ $out == *succeeded* ]] || fail "show: $out"
out=$("${r[@]}" report get "$id2" --format csv --local); [[ $out == day,active_users* ]] || fail "get csv: ${out:0:80}"
out=$("${r[@]}" report diff "$id1" "$id2" --local); [[ $out == *$'\n'active_users* ]] || fail "diff: $out"
# A section of a stored report, rendered from its stored JSON, is the section
# a generation with --section writes.
"${r[@]}" report get "$id2" --format csv --section cohorts --local > "$dir/cohorts-get.csv"
"${r[@]}" report generate engagement --from 2026-10-19 --to 2026-10-26 --tz Europe/Berlin --format csv --section cohorts --local > "$dir/cohorts-gen.csv"
cmp -s "$dir/cohorts-get.csv" "$dir/cohorts-gen.csv" || fail "get --section differs from generate --section: $(diff "$dir/cohorts-get.csv" "$dir/cohorts-gen.csv" | head -5)"
expect_exit 2 "${r[@]}" report get "$id2" --format csv --section nosuch --local
[[ $err == *"nosuch"* ]] || fail "get --section nosuch: $err"
out=$("${r[@]}" report show "$id2" --format json --local)
python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['id']==$id2 and d['status']=='succeeded' and 'csv' in d['artifacts'], d" "$out" ||
  fail "show --format json: $out"
"${r[@]}" report rm "$id1" --local
expect_exit 5 "${r[@]}" report show "$id1" --local
[[ $err == *"no report with id $id1"* ]] || fail "unknown id: $err"

# Bad input: exit 2 with the reason, nothing stored.
before=$("${r[@]}" report list --limit 1000 --format csv --local | wc -l)
expect_exit 2 "${r[@]}" report generate nosuch --local
[[ $err == *"unknown report type 'nosuch'"* ]] || fail "type: $err"
expect_exit 2 "${r[@]}" report generate learning --from 2026-02-30 --to 2026-03-02 --local
[[ $err == *"2026-02-30"* ]] || fail "date: $err"
expect_exit 2 "${r[@]}" report generate learning --period last-7d --tz Mars/Olympus --local
[[ $err == *"Mars/Olympus"* ]] || fail "zone: $err"
expect_exit 2 "${r[@]}" report generate learning --from 2026-10-26 --to 2026-10-19 --local
[[ $err == *"--from"* ]] || fail "from >= to: $err"
expect_exit 2 "${r[@]}" report generate learning --period last-7d --format csv --section nosuch --local
[[ $err == *"nosuch"* ]] || fail "section: $err"
after=$("${r[@]}" report list --limit 1000 --format csv --local | wc -l)
[[ $before == "$after" ]] || fail "a rejected generation was stored as succeeded ($before -> $after lines)"
echo ok
