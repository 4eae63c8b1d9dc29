#!/usr/bin/env bash
# Realtime fan-out and idle connections, Plaza beside PocketBase, measured by one client (RealtimeBench)
# in one run. Release build; loopback only; every server started here is stopped here by PID.
#   bench/realtime.sh
# Environment: SUBSCRIBERS (default 1000), RATES (deliveries/s, default 10000,…,240000), SECONDS_PER_STEP
# (default 5), IDLE (connection counts, default 1000,10000), PARTS (default "rates idle"), KINDS (servers, default
# "pocketbase plaza-sse plaza-ws").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
subscribers=${SUBSCRIBERS:-1000}
rates=${RATES:-10000,20000,40000,60000,80000,100000,120000,160000,200000,240000}
seconds=${SECONDS_PER_STEP:-5}
idle=${IDLE:-1000,10000}
parts=${PARTS:-rates idle}
kinds=${KINDS:-pocketbase plaza-sse plaza-ws}
client_threads=${CLIENT_THREADS:-1}
# 10,000 subscribers are 10,000 sockets in the client and in the server.
ulimit -n "$(ulimit -Hn)"
source bench/lib.sh
serial=0

release_build plaza RealtimeBench
pocketbase=.venv/bin/pocketbase

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# start_plaza: a fresh `plaza serve` with demo accounts; sets $url, $pid, $sub_token (a customer: anyone
# signed in may follow a broadcast topic) and $pub_token (an operator: who may publish on one).
start_plaza() {
  serial=$((serial + 1))
  local dir="$work/plaza-$serial" port
  port=$(free_port)
  "$bin/plaza" seed --demo --data-dir "$dir" >/dev/null
  # The publisher is the demo operator, signed in with a password only: no second factor asked of operators here.
  PLAZA_LOG_LEVEL=warning PLAZA_RATE_LIMITS=/api/=1000000000/s PLAZA_MFA_REQUIRED_ROLES= PLAZA_PORT="$port" PLAZA_DATA_DIR="$dir" \
    "$bin/plaza" serve >"$dir.out" 2>&1 &
  pid=$!; pids+=("$pid"); url="http://127.0.0.1:$port"
  wait_for "$url/health"
  sub_token=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"email":"customer@demo.plaza.test","password":"plaza-demo"}' \
    "$url/api/v1/auth/login" | json_field accessToken)
  pub_token=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"email":"operator@demo.plaza.test","password":"plaza-demo"}' \
    "$url/api/v1/auth/login" | json_field accessToken)
}

# start_pocketbase: a fresh PocketBase with a superuser and a `bench` collection anyone may list (the
# subscribers still authenticate, as the superuser); sets $url, $pid and $sub_token = $pub_token.
start_pocketbase() {
  serial=$((serial + 1))
  # Each in a folder of its own: PocketBase writes the migration of an API-made collection beside its data
  # folder (pb_migrations), and a second instance sharing that parent would start with the collection made.
  local dir="$work/pocketbase-$serial/pb_data" port
  mkdir -p "$dir"
  port=$(free_port)
  "$pocketbase" superuser upsert bench@plaza.test bench-password --dir "$dir" >/dev/null
  "$pocketbase" serve --http "127.0.0.1:$port" --dir "$dir" >"$dir.out" 2>&1 &
  pid=$!; pids+=("$pid"); url="http://127.0.0.1:$port"
  wait_for "$url/api/health"
  sub_token=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"identity":"bench@plaza.test","password":"bench-password"}' \
    "$url/api/collections/_superusers/auth-with-password" | json_field token)
  pub_token=$sub_token
  curl -sS --fail-with-body -o "$dir.collection" -X POST -H "Authorization: $sub_token" -H 'Content-Type: application/json' \
    -d '{"name":"bench","type":"base","listRule":"","viewRule":"","createRule":"","fields":[{"name":"sentAt","type":"number"}]}' \
    "$url/api/collections" || { cat "$dir.collection" "$dir.out" >&2; exit 1; }
}

start() { if [ "$1" = pocketbase ]; then start_pocketbase; else start_plaza; fi; }

if [[ $parts == *rates* ]]; then
echo
echo "## Realtime fan-out: $subscribers subscribers on one topic, rising publish rates (${seconds}s steps, first second warm-up)"
echo
echo "Latency is from the moment a publish was due to its receipt; the client (one epoll thread reading every subscriber socket) shares the 2 cores."
echo
echo "| server | offered deliveries/s | delivered/s | received | p50 ms | p99 ms | server CPU | client CPU |"
echo "|---|---|---|---|---|---|---|---|"
for kind in $kinds; do
  start "$kind"
  "$bin/RealtimeBench" rates --server "$kind" --url "$url" --token "$sub_token" --publish-token "$pub_token" \
    --server-pid "$pid" --subscribers "$subscribers" --rates "$rates" --seconds "$seconds" --threads "$client_threads"
  stop "$pid"
done
fi

if [[ $parts == *idle* ]]; then
echo
echo "## Idle subscribed connections: the server's resident memory"
echo
echo "| server | connections | server RSS (before → after) | per connection |"
echo "|---|---|---|---|"
for kind in $kinds; do
  start "$kind"
  "$bin/RealtimeBench" idle --server "$kind" --url "$url" --token "$sub_token" --server-pid "$pid" --counts "$idle"
  stop "$pid"
done
fi
