#!/usr/bin/env bash
# dmanalytics schedule next: usage errors, and a differential test against the
# npm package cron-parser over seeded random expressions in five zones
# (cron_diff.js says how the expected fire times are derived from it).
# Environment: DM_CRON_DIFF_SEED, DM_CRON_DIFF_COUNT (300 expressions).
source "$(dirname "$0")/lib.sh"

cron_parser_version=5.10.6
for tool in node npm; do
  command -v $tool >/dev/null || fail "$tool is missing: the differential test needs Node.js with its npm (scripts/bootstrap installs them)"
done
node_dir=$(dirname "$DM_BIN")/test-node
installed=$(node -p "require('$node_dir/node_modules/cron-parser/package.json').version" 2>/dev/null || true)
if [[ $installed != "$cron_parser_version" ]]; then
  echo "installing cron-parser@$cron_parser_version into $node_dir" >&2
  npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error "cron-parser@$cron_parser_version" >/dev/null ||
    fail "npm install cron-parser@$cron_parser_version failed"
fi

# Output: one RFC 3339 timestamp with the zone's offset per line, 5 by default.
out=$("$cli" schedule next '30 2 * * *' --tz Europe/Berlin --after 2026-03-27T12:00:00Z)
want=$'2026-03-28T02:30:00+01:00\n2026-03-29T03:00:00+02:00\n2026-03-30T02:30:00+02:00\n2026-03-31T02:30:00+02:00\n2026-04-01T02:30:00+02:00'
[[ $out == "$want" ]] || fail "schedule next across spring forward printed:"$'\n'"$out"$'\n'"expected:"$'\n'"$want"
[[ $("$cli" schedule next '@hourly' | wc -l) == 5 ]] || fail "schedule next without --after should print 5 lines"
[[ $("$cli" schedule next '0 0 29 2 *' -n 2 --after 2026-01-01T00:00:00+01:00) == $'2028-02-29T00:00:00+00:00\n2032-02-29T00:00:00+00:00' ]] ||
  fail "schedule next with a UTC default zone"

# Bad input: exit 2, naming the field or flag and the value.
expect_exit 2 "$cli" schedule next '0 25 * * *'
[[ $err == *"field 2 (hour): 25 is out of range 0-23"* ]] || fail "bad hour: $err"
expect_exit 2 "$cli" schedule next '0 0 30 2 *'
[[ $err == *"never fires: day-of-month '30' does not occur in month '2'"* ]] || fail "impossible expression: $err"
expect_exit 2 "$cli" schedule next '0 0 * * *' --tz Mars/Olympus
[[ $err == *"--tz: unknown time zone 'Mars/Olympus'"* ]] || fail "bad zone: $err"
expect_exit 2 "$cli" schedule next '0 0 * * *' --after 2026-13-01T00:00:00Z
[[ $err == *"--after '2026-13-01T00:00:00Z': invalid timestamp"* ]] || fail "bad --after: $err"
expect_exit 2 "$cli" schedule next '0 0 * * *' -n 0
expect_exit 2 "$cli" schedule next '0 0 * *'
[[ $err == *"expected 5 fields"* ]] || fail "four fields: $err"

node "$(dirname "$0")/cron_diff.js" "$cli" "$node_dir/node_modules" "${DM_CRON_DIFF_SEED:-20261129}" "${DM_CRON_DIFF_COUNT:-300}"
