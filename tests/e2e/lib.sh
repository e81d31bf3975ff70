# Helpers sourced by the e2e scripts (not a test itself).
set -euo pipefail
: "${DM_BIN:?}" "${DM_TEST_STATE_DIR:?}"
export NO_COLOR=1
unset DMANALYTICS_CONFIG DMANALYTICS_DATABASE_URL DMANALYTICS_STATE_DIR
cli=$DM_BIN/dmanalytics
daemon=$DM_BIN/dmanalyticsd
fail() { echo "FAIL: $*" >&2; exit 1; }
# A folder the postgres user can enter (mktemp -d is 0700).
new_state_dir() { local d; d=$(mktemp -d /tmp/dm-e2e-XXXXXX); chmod 755 "$d"; echo "$d"; }
# A fresh database in the test cluster; prints its URL.
new_database() {
  local name="dm_e2e_$$_$RANDOM"
  psql -qX "host=$DM_TEST_STATE_DIR/run port=5432 user=postgres dbname=postgres" -c "CREATE DATABASE $name" >/dev/null
  echo "host=$DM_TEST_STATE_DIR/run port=5432 user=postgres dbname=$name"
}
drop_database() {
  local name=${1##*dbname=}
  psql -qX "host=$DM_TEST_STATE_DIR/run port=5432 user=postgres dbname=postgres" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
}
# expect_exit CODE CMD...: runs CMD, captures stderr in $err, checks the exit status.
expect_exit() {
  local want=$1; shift
  set +e; err=$("$@" 2>&1 >/dev/null); local got=$?; set -e
  [[ $got == "$want" ]] || fail "'$*' exited $got, expected $want; stderr: $err"
}
# start_daemon DIR [ARGS...]: starts dmanalyticsd on a free loopback port with
# its state in DIR/state (and ARGS), sets $pid and $port; output in DIR/out,
# DIR/err. Waits up to 30 s (a first start creates the embedded cluster).
start_daemon() {
  local d=$1; shift
  "$daemon" --state-dir "$d/state" --listen 127.0.0.1:0 "$@" >"$d/out" 2>"$d/err" &
  pid=$!
  for _ in $(seq 300); do grep -q "listening on" "$d/out" && break; sleep 0.1; done
  port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$d/out")
  [[ -n $port ]] || fail "daemon did not start: $(cat "$d/err")"
}
