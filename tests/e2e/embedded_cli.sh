#!/usr/bin/env bash
# With no database configured the CLI runs its own PostgreSQL under the state
# folder, and stops it when it exits.
source "$(dirname "$0")/lib.sh"
dir=$(new_state_dir); trap 'rm -rf "$dir"' EXIT
"$cli" --state-dir "$dir/state" -q seed --users 40 --days 3 --seed 3 --end 2026-11-01 || fail "seed failed"
[[ -f $dir/state/pg/PG_VERSION ]] || fail "no cluster under the state folder"
[[ ! -f $dir/state/pg/postmaster.pid ]] || fail "the CLI left the server running"
out=$("$cli" --state-dir "$dir/state" db status) || fail "db status failed"
[[ $out == *"embedded"* && $out == *"0001"* ]] || fail "status: $out"
[[ $out != *pending* ]] || fail "migrations pending: $out"
[[ $out == *"loads     none waiting between their two commits"* ]] || fail "status: $out"
url=$("$cli" --state-dir "$dir/state" db url)
[[ $url == *"host=$dir/state/run"* ]] || fail "url: $url"
echo ok
