#!/usr/bin/env bash
# A bad configuration stops both programs with exit 2 and file:line:column.
source "$(dirname "$0")/lib.sh"
dir=$(new_state_dir); trap 'rm -rf "$dir"' EXIT
printf '[daemon]\nthreads = 4\nlisten = 8470\n' > "$dir/bad.toml"
expect_exit 2 "$cli" --config "$dir/bad.toml" --state-dir "$dir" db status
[[ $err == *"$dir/bad.toml:3:"*"daemon.listen"* ]] || fail "CLI message lacks the location: $err"
expect_exit 2 "$daemon" --config "$dir/bad.toml" --state-dir "$dir"
[[ $err == *"$dir/bad.toml:3:"* ]] || fail "daemon message lacks the location: $err"
printf '[daemon]\nthreadz = 4\n' > "$dir/unknown.toml"
expect_exit 2 "$cli" --config "$dir/unknown.toml" db status
[[ $err == *"unknown.toml:2:1:"*"threadz"* ]] || fail "unknown key not reported: $err"
expect_exit 2 "$cli" --config "$dir/missing.toml" db status
[[ $err == *"missing.toml"* ]] || fail "missing file not named: $err"
# The sample configuration loads as it is.
DMANALYTICS_CONFIG=$DM_SOURCE/share/config/dmanalytics.toml "$cli" --state-dir "$dir" --database "host=/nonexistent dbname=x" db url >/dev/null 2>&1 || true
expect_exit 2 "$cli" ingest nosuchkind /dev/null
[[ $err == *"unknown kind 'nosuchkind'"* ]] || fail "unknown kind: $err"
expect_exit 2 "$cli" seed --users 0
echo "ok"
