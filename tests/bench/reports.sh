#!/usr/bin/env bash
# Reports benchmark (DESIGN 14): 90 days with >= 10 M learning events and
# >= 10 M request samples. Each report type is generated from the rollups and,
# in the same run, with --exact (the same KPIs by raw SQL over the raw tables);
# both times and the speed-up are printed. Then a 20-page PDF render.
# Targets: each type < 1 s, >= 10 x faster than raw SQL, PDF < 200 ms.
source "$(dirname "$0")/common.sh"
users=${USERS:-29200}          # about 10 M learning events over 90 days
request_seeds=${REQUEST_SEEDS:-1}  # the seed already gives > 10 M request samples at this size
start_daemon
cli=("$bin/dmanalytics" --state-dir "$state/state" -q)
t0=$(now)
"${cli[@]}" seed --users "$users" --days 90 --end 2026-11-01 --seed 1
for s in $(seq 2 "$request_seeds"); do
  "$bin/dm_seed_csv" requests "$s" | "${cli[@]}" ingest requests - --format csv
done
url=$(db_url)
psql -qX "$url" -c "VACUUM ANALYZE"
printf 'data: %s learning events, %s request samples (loaded in %.0f s)\n' \
  "$(psql -qXtA "$url" -c 'SELECT count(*) FROM dm.learning_events')" \
  "$(psql -qXtA "$url" -c 'SELECT count(*) FROM dm.request_metrics')" "$(elapsed "$t0" "$(now)")"
printf '\n%-12s %12s %14s %10s\n' type rollup "raw SQL" speed-up
for type in engagement learning performance business; do
  best_r=999; best_x=999
  for run in $(seq "${RUNS:-3}"); do
    t0=$(now); "${cli[@]}" report generate "$type" --from 2026-08-03 --to 2026-11-01 --local -o /dev/null; t1=$(now)
    r=$(elapsed "$t0" "$t1")
    t0=$(now); "${cli[@]}" report generate "$type" --from 2026-08-03 --to 2026-11-01 --local --exact -o /dev/null; t1=$(now)
    x=$(elapsed "$t0" "$t1")
    best_r=$(printf '%s\n%s\n' "$best_r" "$r" | sort -g | head -1)
    best_x=$(printf '%s\n%s\n' "$best_x" "$x" | sort -g | head -1)
  done
  printf '%-12s %10.3f s %12.3f s %9.1fx\n' "$type" "$best_r" "$best_x" "$(echo "$best_x / $best_r" | bc -l)"
done
printf '\n20-page PDF render: %s\n' "$("$bin/dm_pdf_bench" 20)"
