# Shared by the benchmarks (sourced). Starts a daemon that owns a private
# embedded cluster for the run, so every command joins the same server.
#   DM_BUILD_DIR   the build folder whose bin/ is measured (default build/)
#   DM_BENCH_STATE a state folder kept between runs (default: a temporary one,
#                  removed at exit); a benchmark that seeds data seeds it once
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=$(cd "${DM_BUILD_DIR:-$root/build}" && pwd)
bin=$build_dir/bin
bench_dir=$build_dir/bench
mkdir -p "$bench_dir"
if [[ -n ${DM_BENCH_STATE:-} ]]; then
  state=$DM_BENCH_STATE
  keep_state=1
  mkdir -p "$state"
else
  state=$(mktemp -d /tmp/dm-bench-XXXXXX)
  keep_state=
fi
chmod 755 "$state"
daemon_pid=
bench_cleanup() {
  [[ -n $daemon_pid ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [[ -n $keep_state ]] || rm -rf "$state"
}
trap bench_cleanup EXIT
# A command the daemon is started under (e.g. taskset -c 0); empty by default.
daemon_launcher=()
start_daemon() {
  "${daemon_launcher[@]}" "$bin/dmanalyticsd" --state-dir "$state/state" --listen 127.0.0.1:0 >"$state/daemon.out" 2>"$state/daemon.err" &
  daemon_pid=$!
  for _ in $(seq 200); do grep -q "listening on" "$state/daemon.out" && return 0; sleep 0.1; done
  echo "bench: the daemon did not start: $(cat "$state/daemon.err")" >&2
  exit 1
}
db_url() { "$bin/dmanalytics" --state-dir "$state/state" db url; }
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc -l; }
