#!/usr/bin/env bash
# Cached dashboard GET (DESIGN 14: >= 0.5x nginx). wrk on loopback against
# GET /dashboard/system/performance, served from the daemon's snapshot cache,
# and, in the same run, nginx serving the same JSON bytes as a static file
# with the same connections, threads and duration. Prints requests/s and p99
# of both and the ratio.
#   DM_HTTP_CONNECTIONS (default 64), DM_HTTP_SECONDS (default 10)
source "$(dirname "$0")/common.sh"
connections=${DM_HTTP_CONNECTIONS:-64}
seconds=${DM_HTTP_SECONDS:-10}
command -v wrk >/dev/null || { echo "bench: wrk is missing (scripts/bootstrap installs it)" >&2; exit 1; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $nginx_bin ]] || { echo "bench: nginx is missing (scripts/bootstrap installs it)" >&2; exit 1; }

# The rate limit would turn a load test into a test of 429s.
cat >"$state/bench.toml" <<CONF
[rate_limit]
rps = 1000000000
burst = 1000000000
CONF
export DMANALYTICS_CONFIG=$state/bench.toml
start_daemon
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$state/daemon.out")
token=$("$bin/dmanalytics" --state-dir "$state/state" -q token issue --role viewer --ttl 1h)
url="http://127.0.0.1:$port/dashboard/system/performance"
for _ in $(seq 100); do
  code=$(curl -s -o "$state/snapshot.json" -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
  [[ $code == 200 ]] && break
  sleep 0.2
done
[[ $code == 200 ]] || { echo "bench: the dashboard answered $code" >&2; exit 1; }

# nginx: one worker process per core, like the daemon's I/O threads, serving
# the very bytes the daemon answered, with keep-alive.
www=$state/www
mkdir -p "$www/dashboard/system" "$state/nginx"
cp "$state/snapshot.json" "$www/dashboard/system/performance"
nginx_port=$((port + 1))
while (echo >"/dev/tcp/127.0.0.1/$nginx_port") 2>/dev/null; do nginx_port=$((nginx_port + 1)); done
cat >"$state/nginx/nginx.conf" <<CONF
worker_processes $(nproc);
daemon off;
pid $state/nginx/nginx.pid;
error_log $state/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 1000000;
  client_body_temp_path $state/nginx/body;
  proxy_temp_path $state/nginx/proxy;
  fastcgi_temp_path $state/nginx/fastcgi;
  uwsgi_temp_path $state/nginx/uwsgi;
  scgi_temp_path $state/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $www;
    location / { }
  }
}
CONF
"$nginx_bin" -c "$state/nginx/nginx.conf" -p "$state/nginx" &
nginx_pid=$!
trap 'kill "$nginx_pid" 2>/dev/null; bench_cleanup' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/dashboard/system/performance" && break; sleep 0.1; done
cmp -s <(curl -s "http://127.0.0.1:$nginx_port/dashboard/system/performance") "$state/snapshot.json" ||
  { echo "bench: nginx does not serve the snapshot" >&2; exit 1; }

threads=$(nproc)
run_wrk() { # run_wrk NAME URL [HEADER] -> "rps p99_ms"
  local out
  if [[ -n ${3:-} ]]; then
    out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -H "$3" "$2")
  else
    out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "$2")
  fi
  echo "$out" >"$state/wrk-$1.txt"
  if grep -q "Non-2xx" <<<"$out"; then echo "bench: $1 answered errors: $(grep Non-2xx <<<"$out")" >&2; exit 1; fi
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' <<<"$out")
  echo "$rps $p99"
}
# Warm both, then measure each once, alternating, twice; keep the better run.
run_wrk warm-daemon "$url" "Authorization: Bearer $token" >/dev/null
run_wrk warm-nginx "http://127.0.0.1:$nginx_port/dashboard/system/performance" >/dev/null
best() { awk '{ if ($1 > r) { r = $1; p = $2 } } END { print r, p }'; }
results_daemon=()
results_nginx=()
for _ in 1 2; do
  results_daemon+=("$(run_wrk daemon "$url" "Authorization: Bearer $token")")
  results_nginx+=("$(run_wrk nginx "http://127.0.0.1:$nginx_port/dashboard/system/performance")")
done
read -r d_rps d_p99 < <(printf '%s\n' "${results_daemon[@]}" | best)
read -r n_rps n_p99 < <(printf '%s\n' "${results_nginx[@]}" | best)
bytes=$(stat -c %s "$state/snapshot.json")
echo "cached dashboard GET, $bytes bytes of JSON, wrk -t$threads -c$connections -d${seconds}s, best of 2"
printf '%-28s %12s %10s\n' "" "requests/s" "p99 ms"
printf '%-28s %12.0f %10.2f\n' "dmanalyticsd (JWT checked)" "$d_rps" "$d_p99"
printf '%-28s %12.0f %10.2f\n' "nginx static file" "$n_rps" "$n_p99"
echo "ratio dmanalyticsd / nginx: $(echo "$d_rps / $n_rps" | bc -l | xargs printf '%.2f') (target >= 0.5)"
