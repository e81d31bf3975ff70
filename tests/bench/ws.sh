#!/usr/bin/env bash
# WebSocket fan-out (DESIGN 14): dmanalyticsd against a Node `ws` broadcast
# server (tests/bench/ws_node_server.js), in the same run, with the same load
# client (dm_ws_load, tests/bench/ws_load.cpp: one thread, epoll) and the
# same load: DM_WS_CONNECTIONS subscriptions to system_performance on
# loopback, spread over 40 client addresses (127.0.1.x: the daemon caps
# connections per address), server pinned to CPU 0 (the daemon with the
# embedded PostgreSQL it starts) and client to CPU 1.
#
# What is measured, for each server:
#   - memory per idle connection: VmRSS of the server with every subscription
#     open and its snapshot delivered, minus VmRSS before, divided by their
#     number;
#   - trigger -> update, DM_WS_SAMPLES times one after another: for the daemon
#     the trigger is POST /events/requests with one NDJSON row, so the real
#     path runs: ingest in one transaction, the change signal, recomputing
#     system_performance from the database, publishing, fan-out. The time runs
#     from sending the POST until the first, and until the last, subscriber
#     has the update (the DESIGN target "ingest -> update" is read on the
#     last), each sample once the server has been quiet for 300 ms. For Node
#     the trigger is POST /trigger, which broadcasts at once;
#   - fan-out: triggers at DM_WS_RATE per second for DM_WS_SECONDS seconds,
#     the same POSTs. Delivery latency is from the first arrival of the same
#     update (same seq) at any subscriber to each arrival: that isolates
#     fan-out from the recompute the daemon does and Node does not, and
#     leaves out the publish -> first arrival hop for both (Node's messages
#     carry their send instant, so that hop is shown for Node as "from ts").
#     Server CPU per delivered message is utime + stime of the server process
#     (/proc/PID/stat, all threads) across the phase, divided by the messages
#     delivered; for the daemon it includes its side of each ingest and
#     recompute (PostgreSQL's own processes are not counted), spread over the
#     N messages of each broadcast. Messages of the same size on both: Node
#     pads its JSON to the daemon's mean update size.
#   Why triggers and not a timer in the server: every update the daemon sends
#   comes from a publish, and publishing on ingest is the product's path;
#   a bench-only republish endpoint would measure a path users never take.
#
#   The rate is low enough that neither server is saturated on the 2-core
#   machines this runs on (a broadcast to 10 000 costs each a few tenths of a
#   CPU second there); "server CPU share" and "client CPU share" in the table
#   tell whether one of them was, and the raw figures of both sides are kept
#   in BUILD/bench/ws-ours.txt and ws-node.txt.
#
#   The floor column: dm_ws_send_floor (tests/bench/ws_send_floor.cpp) with
#   the same pinning, connections, update size and rate, but no server at
#   all: one sendmsg of a prepared frame to each connection in turn. It is
#   what the kernel alone charges for one loopback TCP send per subscriber
#   (the receiver's side of TCP runs in the sender's system call), so neither
#   server's CPU per message nor its delivery spread can go below it.
#
#   DM_WS_CONNECTIONS (10000), DM_WS_RATE (1 trigger/s), DM_WS_SECONDS (20),
#   DM_WS_SAMPLES (50), DM_WS_ONLY=ours|node (one side, while developing)
source "$(dirname "$0")/common.sh"
connections=${DM_WS_CONNECTIONS:-10000}
rate=${DM_WS_RATE:-1}
seconds=${DM_WS_SECONDS:-20}
samples=${DM_WS_SAMPLES:-50}
only=${DM_WS_ONLY:-}
load=$bin/dm_ws_load
floor=$bin/dm_ws_send_floor
for tool in "$load" "$floor"; do
  [[ -x $tool ]] || { echo "bench: $tool is missing (build the $(basename "$tool") target)" >&2; exit 1; }
done
for tool in taskset curl; do
  command -v $tool >/dev/null || { echo "bench: $tool is missing (scripts/bootstrap installs it)" >&2; exit 1; }
done
if [[ $only != ours ]]; then
  for tool in node npm; do
    command -v $tool >/dev/null || { echo "bench: $tool is missing: the Node peer needs Node.js with its npm" >&2; exit 1; }
  done
fi

# Each side holds one descriptor per connection, plus its own.
want=$((connections + 1024))
hard=$(ulimit -Hn)
if [[ $hard != unlimited && $hard -lt $want ]]; then
  echo "bench: $connections connections need ulimit -n $want; the hard limit is $hard" >&2
  exit 1
fi
ulimit -n "$want"
if (($(nproc) >= 2)); then server_cpu=0; client_cpu=1; else server_cpu=0; client_cpu=0
  echo "bench: one CPU only: server and client share it" >&2
fi

node_dir=$build_dir/bench-node
if [[ ! -f $node_dir/node_modules/ws/package.json ]]; then
  echo "bench: installing ws@8 into $node_dir" >&2
  npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error ws@8 >/dev/null
fi

rm -f "$bench_dir/ws-ours.txt" "$bench_dir/ws-node.txt" "$bench_dir/ws-floor.txt"
get() { sed -n "s/^$2=//p" "$1" | tail -1; }
# run_load OUT URL PID TRIGGER_URL BODY [TOKEN]: the whole measurement against one server.
run_load() {
  local out=$1 url=$2 pid=$3 trigger=$4 body=$5 token=${6:-}
  local args=(--url "$url" --connections "$connections" --server-pid "$pid" --trigger-url "$trigger"
              --trigger-body "$body" --samples "$samples" --rate "$rate" --seconds "$seconds")
  [[ -n $token ]] && args+=(--token "$token")
  taskset -c "$client_cpu" "$load" "${args[@]}" >"$out" || { echo "bench: the load client failed against $url" >&2; exit 1; }
}

bytes=${DM_WS_BYTES:-}
if [[ $only != node ]]; then
  cat >"$state/bench.toml" <<CONF
[daemon]
threads = 1
max_connections = $((connections * 2 + 1000))
[rate_limit]
rps = 1000000000
burst = 1000000000
# Updates only on triggers (no periodic refresh or host sample in the window).
[dashboard.refresh]
system_performance = 3600
business_kpis = 3600
CONF
  export DMANALYTICS_CONFIG=$state/bench.toml
  daemon_launcher=(taskset -c "$server_cpu")
  start_daemon
  port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$state/daemon.out")
  token=$("$bin/dmanalytics" --state-dir "$state/state" -q token issue --role analyst --ttl 1h)
  for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
      "http://127.0.0.1:$port/dashboard/system/performance")
    [[ $code == 200 ]] && break
    sleep 0.2
  done
  [[ $code == 200 ]] || { echo "bench: the daemon's dashboard answered $code" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/ws/dashboard")
  [[ $code == 404 ]] && { echo "bench: this dmanalyticsd has no WebSocket endpoint (GET /ws/dashboard: 404)" >&2; exit 1; }
  echo "bench: dmanalyticsd, $connections subscribers ..." >&2
  run_load "$bench_dir/ws-ours.txt" "ws://127.0.0.1:$port/ws/dashboard" "$daemon_pid" \
    "http://127.0.0.1:$port/events/requests" \
    '{"ts":"{now}","service":"bench","endpoint":"/bench","status":200,"duration_ms":12.5}' "$token"
  bytes=$(get "$bench_dir/ws-ours.txt" msg_bytes | xargs printf '%.0f')
  kill -TERM "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=
  unset DMANALYTICS_CONFIG
fi

if [[ $only != ours ]]; then
  bytes=${bytes:-2048}
  NODE_PATH=$node_dir/node_modules taskset -c "$server_cpu" node "$root/tests/bench/ws_node_server.js" \
    --port 0 --payload-bytes "$bytes" >"$state/node.out" 2>"$state/node.err" &
  node_pid=$!
  trap '[[ -z $node_pid ]] || kill "$node_pid" 2>/dev/null || true; bench_cleanup' EXIT
  for _ in $(seq 100); do grep -q "listening on" "$state/node.out" && break; sleep 0.1; done
  node_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$state/node.out")
  [[ -n $node_port ]] || { echo "bench: the Node server did not start: $(cat "$state/node.err")" >&2; exit 1; }
  echo "bench: node ws, $connections subscribers ..." >&2
  run_load "$bench_dir/ws-node.txt" "ws://127.0.0.1:$node_port/ws/dashboard" "$node_pid" \
    "http://127.0.0.1:$node_port/trigger?dashboard=system_performance" ""
  kill -TERM "$node_pid"; wait "$node_pid" 2>/dev/null || true; node_pid=
fi

if [[ -z $only ]]; then
  echo "bench: the floor: one send per subscriber, no server ..." >&2
  interval_ms=$(awk -v r="$rate" 'BEGIN { printf "%d", 1000 / r }')
  "$floor" --connections "$connections" --bytes "${bytes:-928}" --rounds "$seconds" --interval-ms "$interval_ms" \
    --server-cpu "$server_cpu" --client-cpu "$client_cpu" >"$bench_dir/ws-floor.txt" ||
    { echo "bench: dm_ws_send_floor failed" >&2; exit 1; }
fi

# --- the table -----------------------------------------------------------------
value() { [[ -f $1 ]] && get "$1" "$2" || true; }
row() { # row LABEL KEY FORMAT TARGET [FLOOR_KEY]: ours | node | ratio ours/node | floor | target
  local o n r f=-
  o=$(value "$bench_dir/ws-ours.txt" "$2"); n=$(value "$bench_dir/ws-node.txt" "$2")
  if [[ -n ${5:-} ]]; then
    f=$(value "$bench_dir/ws-floor.txt" "$5")
    [[ -n $f ]] && f=$(printf "$3" "$f") || f=-
  fi
  r=-
  [[ -n $o && -n $n ]] && r=$(awk -v a="$o" -v b="$n" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  [[ -n $o ]] && o=$(printf "$3" "$o") || o=-
  [[ -n $n ]] && n=$(printf "$3" "$n") || n=-
  printf '%-38s %14s %14s %8s %10s   %s\n' "$1" "$o" "$n" "$r" "$f" "$4"
}
verdict() { # verdict NAME VALUE OP LIMIT
  [[ -z $2 ]] && return 0
  if awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { exit !((op == "<" && v < l) || (op == "<=" && v <= l)) }'; then
    echo "  $1: ok ($2 $3 $4)"
  else
    echo "  $1: MISSED ($2, target $3 $4)"
  fi
}
echo
echo "WebSocket fan-out: $connections subscribers to system_performance, triggers at $rate/s for ${seconds}s," \
  "${bytes:-?}-byte updates; server on CPU $server_cpu, load client on CPU $client_cpu"
printf '%-38s %14s %14s %8s %10s   %s\n' "" "dmanalyticsd" "node ws" "ratio" "floor" "target (DESIGN 14)"
row "server CPU per message (us)" cpu_us_per_msg "%.2f" "ratio <= 0.33" cpu_us_per_msg
row "  of which user space (us)" user_us_per_msg "%.2f" "" user_us_per_msg
row "  of which kernel (us)" system_us_per_msg "%.2f" "(loopback TCP: the receive path runs here too)" system_us_per_msg
row "delivery p50 (ms)" p50_ms "%.2f" ""
row "delivery p99 (ms)" p99_ms "%.2f" "< 50 ms (floor: one whole broadcast, median)" broadcast_p50_ms
row "delivery max (ms)" max_ms "%.2f" "" broadcast_max_ms
row "delivery p99 from ts (ms)" ts_p99_ms "%.2f" "(Node: from its send instant)"
row "updates published (distinct seq)" fanout_broadcasts "%.0f" ""
row "messages delivered" fanout_messages "%.0f" ""
row "messages/s" msgs_per_s "%.0f" ""
row "updates missed (seq gaps)" seq_gaps "%.0f" ""
row "server CPU share during fan-out" server_cpu_share "%.2f" ""
row "client CPU share during fan-out" client_cpu_share "%.2f" "(near 1: the client limited the rate)"
row "KB per idle connection" kb_per_connection "%.2f" "< 20 KB"
row "trigger -> first subscriber p99 (ms)" trigger_first_p99_ms "%.2f" ""
row "trigger -> all subscribers p50 (ms)" trigger_all_p50_ms "%.2f" ""
row "trigger -> all subscribers p99 (ms)" trigger_all_p99_ms "%.2f" "< 100 ms (ours: ingest -> update)"
echo "(trigger: dmanalyticsd POST /events/requests, ingest -> recompute -> publish; Node POST /trigger, broadcast at once)"
if [[ -f $bench_dir/ws-ours.txt ]]; then
  echo "targets:"
  oc=$(value "$bench_dir/ws-ours.txt" cpu_us_per_msg); nc=$(value "$bench_dir/ws-node.txt" cpu_us_per_msg)
  [[ -n $oc && -n $nc ]] && verdict "CPU per message vs node" "$(awk -v a="$oc" -v b="$nc" 'BEGIN { printf "%.3f", a / b }')" "<=" 0.3333
  verdict "delivery p99 ms" "$(value "$bench_dir/ws-ours.txt" p99_ms)" "<" 50
  verdict "ingest -> update p99 ms" "$(value "$bench_dir/ws-ours.txt" trigger_all_p99_ms)" "<" 100
  verdict "KB per idle connection" "$(value "$bench_dir/ws-ours.txt" kb_per_connection)" "<" 20
  fc=$(value "$bench_dir/ws-floor.txt" cpu_us_per_msg); fb=$(value "$bench_dir/ws-floor.txt" broadcast_p50_ms)
  if [[ -n $fc && -n $nc ]]; then
    echo "the floor on this machine (no server, one send per subscriber):"
    awk -v f="$fc" -v n="$nc" 'BEGIN { printf "  CPU per message: %.2f us = %.2f x node'"'"'s; the target allows %.2f us\n", f, f / n, n / 3 }'
    awk -v b="$fb" -v c="$connections" 'BEGIN { printf "  one broadcast to %d: %.1f ms; a delivery p99 under 50 ms needs it under about 50 ms\n", c, b }'
  fi
fi
