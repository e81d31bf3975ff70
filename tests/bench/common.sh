# Shared by the benchmarks (sourced). Starts a daemon that owns a private
# embedded cluster for the run, so every command joins the same server.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$root/build/bin
bench_dir=$root/build/bench
mkdir -p "$bench_dir"
state=$(mktemp -d /tmp/dm-bench-XXXXXX)
chmod 755 "$state"
daemon_pid=
bench_cleanup() {
  [[ -n $daemon_pid ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$state"
}
trap bench_cleanup EXIT
start_daemon() {
  "$bin/dmanalyticsd" --state-dir "$state/state" --listen 127.0.0.1:0 >"$state/daemon.out" 2>"$state/daemon.err" &
  daemon_pid=$!
  for _ in $(seq 200); do grep -q "listening on" "$state/daemon.out" && return 0; sleep 0.1; done
  echo "bench: the daemon did not start: $(cat "$state/daemon.err")" >&2
  exit 1
}
db_url() { "$bin/dmanalytics" --state-dir "$state/state" db url; }
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }
