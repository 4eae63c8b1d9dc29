#!/usr/bin/env bash
# Plaza's benchmarks, printed as tables. Release build; loopback only; every server started here is
# stopped here by PID.
#   bench/run.sh            HTTP ceiling (/health with wrk), job throughput and the stock under contention on SQLite and PostgreSQL
# Environment: DURATION (wrk seconds, default 10), JOBS (default 20000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
duration=${DURATION:-10}
jobs=${JOBS:-20000}
source bench/lib.sh
# On exit, the PostgreSQL cluster this script starts goes too, then what lib.sh cleans up.
trap '[ -n "${pgdir:-}" ] && scripts/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1; cleanup' EXIT

release_build plaza plaza-bench BaselineServer

# One wrk run: prints "requests/s p99"
wrk_run() {
  local url=$1; shift
  wrk -t2 -c64 -d"${duration}s" --latency "$@" "$url" >"$work/wrk.txt"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
  echo "$rps $p99"
}

# serve NAME EXTRA_ENV… : starts `plaza serve` and sets $served_port. Not called in $(…): a subshell would
# keep the PID from `pids`, and the server would outlive the script.
serve() {
  local name=$1; shift
  served_port=$(free_port)
  env "$@" PLAZA_PORT="$served_port" PLAZA_DATA_DIR="$work/$name" "$bin/plaza" serve >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  wait_for "http://127.0.0.1:$served_port/health"
}

echo
echo "## HTTP (wrk -t2 -c64 -d${duration}s, loopback, release build)"
echo
echo "| endpoint | requests/s | p99 |"
echo "|---|---|---|"
bport=$(free_port)
"$bin/BaselineServer" "$bport" >/dev/null 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$bport/health"
read -r rps p99 < <(wrk_run "http://127.0.0.1:$bport/health")
echo "| bare Hummingbird GET /health (the ceiling) | $rps | $p99 |"
# Rate limits lifted so the load generator measures the server, not the limiter.
"$bin/plaza" seed --demo --data-dir "$work/quiet" >/dev/null
serve quiet PLAZA_LOG_LEVEL=warning "PLAZA_RATE_LIMITS=/api/=1000000000/s"
port=$served_port
read -r rps p99 < <(wrk_run "http://127.0.0.1:$port/health")
echo "| GET /health, access log off | $rps | $p99 |"
read -r rps p99 < <(wrk_run "http://127.0.0.1:$port/ready")
echo "| GET /ready (database ping), access log off | $rps | $p99 |"
token=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"email":"customer@demo.plaza.test","password":"plaza-demo"}' \
  "http://127.0.0.1:$port/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
read -r rps p99 < <(wrk_run "http://127.0.0.1:$port/api/v1/me" -H "Authorization: Bearer $token")
echo "| GET /api/v1/me with a bearer token (ES256 verify + 3 queries) | $rps | $p99 |"
# A browser's session: sign in through the page (CSRF token from the form), then read the account page.
jar="$work/cookies.txt"
csrf=$(curl -fs -c "$jar" "http://127.0.0.1:$port/sign-in" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
curl -fs -b "$jar" -c "$jar" -o /dev/null --data-urlencode "email=customer@demo.plaza.test" \
  --data-urlencode "password=plaza-demo" --data-urlencode "_csrf=$csrf" "http://127.0.0.1:$port/sign-in"
session=$(awk '$6=="plaza_session" {print $7}' "$jar")
read -r rps p99 < <(wrk_run "http://127.0.0.1:$port/account" -H "Cookie: plaza_session=$session")
echo "| GET /account, an HTML page with a session cookie (Mustache + 4 queries) | $rps | $p99 |"
read -r rps p99 < <(wrk_run "http://127.0.0.1:$port/sign-in")
echo "| GET /sign-in, an HTML page for a visitor (Mustache + a CSRF HMAC) | $rps | $p99 |"
serve logged PLAZA_LOG_LEVEL=info
port2=$served_port
read -r rps p99 < <(wrk_run "http://127.0.0.1:$port2/health")
echo "| GET /health, JSON access log on (to a file) | $rps | $p99 |"
kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()

echo
echo "## Job queue ($jobs no-op jobs: enqueue in transactions of 500, then two workers drain the queue)"
echo
echo "| database | enqueued/s | completed/s |"
echo "|---|---|---|"
line=$("$bin/plaza-bench" jobs --jobs "$jobs")
echo "| SQLite (WAL, synchronous=NORMAL) | $(sed -E 's/.*enqueued=([0-9]+).*/\1/' <<<"$line") | $(sed -E 's/.*completed=([0-9]+).*/\1/' <<<"$line") |"
pgdir=$(mktemp -u /tmp/plaza-bench-pg.XXXXXX)
pgport=$(free_port)
url=$(scripts/pg-cluster.sh start "$pgdir" "$pgport")
line=$("$bin/plaza-bench" jobs --jobs "$jobs" --database-url "$url")
echo "| PostgreSQL 15 (local, fsync off) | $(sed -E 's/.*enqueued=([0-9]+).*/\1/' <<<"$line") | $(sed -E 's/.*completed=([0-9]+).*/\1/' <<<"$line") |"

echo
echo "## Stock under contention (10,000 takers, 64 at a time, each its own transaction, for 1,000 units: every take asks for one)"
echo
echo "| database | count stock: takes/s | named seats: takes/s |"
echo "|---|---|---|"
line=$("$bin/plaza-bench" stock --takers 10000 --units 1000 --concurrency 64)
echo "| SQLite (WAL, synchronous=NORMAL) | $(value count <<<"$line") | $(value seats <<<"$line") |"
line=$("$bin/plaza-bench" stock --takers 10000 --units 1000 --concurrency 64 --database-url "$url")
echo "| PostgreSQL 15 (local, fsync off) | $(value count <<<"$line") | $(value seats <<<"$line") |"
echo
echo "Each run checks that exactly 1,000 were taken of each stock and every other taker was refused."
