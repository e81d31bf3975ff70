#!/usr/bin/env bash
# Ingest benchmark (DESIGN 14): a 1 M-row learning CSV (realistic sessions
# from the seed generator, see seed_csv.cpp) loaded by
# `dmanalytics ingest` (raw rows + rollups, validated) and, in the same run and
# database, by `psql \copy` into a bare table with the same columns.
# Target: dmanalytics at >= 0.8 x psql's speed. ROWS and RUNS may be set.
source "$(dirname "$0")/common.sh"
rows=${ROWS:-1000000}
runs=${RUNS:-5}
csv=$bench_dir/learning-$rows.csv
if [[ ! -f $csv ]]; then
  echo "generating $csv" >&2
  "$bin/dm_seed_csv" learning "$rows" > "$csv.tmp" && mv "$csv.tmp" "$csv"
fi
start_daemon
url=$(db_url)
psql -qX "$url" -c "DROP TABLE IF EXISTS bench_bare" -c "CREATE TABLE bench_bare (ts timestamptz, user_id bigint, session_id bigint, kind text, topic text, correct boolean, answer_ms integer, score real)"
# Every table of the schema but the migrations: the raw rows and every rollup
# an ingest writes start empty, as the bare table does.
reset() {
  psql -qX "$url" -c "DO \$\$ BEGIN EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I.%I', schemaname, tablename), ', ')
    FROM pg_tables WHERE schemaname = 'dm' AND tablename <> 'schema_migrations') || ', bench_bare'; END \$\$" -c "CHECKPOINT"
}
ours=(); theirs=()
for i in $(seq "$runs"); do
  reset
  t0=$(now)
  "$bin/dmanalytics" --state-dir "$state/state" -q ingest learning "$csv"
  t1=$(now)
  ours+=("$(elapsed "$t0" "$t1")")
  reset
  t0=$(now)
  psql -qX "$url" -c "\\copy bench_bare (ts,user_id,session_id,kind,topic,correct,answer_ms,score) from '$csv' csv header"
  t1=$(now)
  theirs+=("$(elapsed "$t0" "$t1")")
  printf 'run %d: dmanalytics ingest %.2f s   psql \\copy %.2f s\n' "$i" "${ours[-1]}" "${theirs[-1]}"
done
# Machines are noisy: each run pairs the two loads back to back, and the
# median of the per-run ratios is the figure.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratios=()
for i in "${!ours[@]}"; do ratios+=("$(echo "${theirs[$i]} / ${ours[$i]}" | bc -l)"); done
o=$(median "${ours[@]}"); p=$(median "${theirs[@]}")
printf '\ningest of %d learning rows (median of %d runs)\n' "$rows" "$runs"
printf '  dmanalytics ingest (raw + rollups)  %6.2f s  %8.0f rows/s\n' "$o" "$(echo "$rows / $o" | bc -l)"
printf '  psql \\copy (bare table)             %6.2f s  %8.0f rows/s\n' "$p" "$(echo "$rows / $p" | bc -l)"
printf '  speed ratio dmanalytics/psql: %.2f (median of per-run ratios; target >= 0.80)\n' "$(median "${ratios[@]}")"
