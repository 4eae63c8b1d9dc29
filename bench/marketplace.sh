#!/usr/bin/env bash
# The marketplace against PocketBase: the same data shape (N providers around Kyiv, a category and
# coordinates each) and the same load (wrk, 64 connections, signed-in callers) on both, in one run.
#   bench/marketplace.sh
# Environment: PROVIDERS (default 10000), DURATION (wrk seconds, default 10), RADIUS (km, default 5).
# Release build; loopback only; every server started here is stopped here by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
providers=${PROVIDERS:-10000}
duration=${DURATION:-10}
radius=${RADIUS:-5}
source bench/lib.sh

release_build plaza plaza-bench
pocketbase=.venv/bin/pocketbase

# Plaza: the demo, then the providers; rate limits lifted so wrk measures the server, not the limiter.
plaza_dir="$work/plaza"
seeded=$("$bin/plaza-bench" marketplace-seed --data-dir "$plaza_dir" --providers "$providers")
plaza_category=$(echo "$seeded" | value category)
plaza_provider=$(echo "$seeded" | value provider)
plaza_port=$(free_port)
PLAZA_LOG_LEVEL=warning PLAZA_RATE_LIMITS=/api/=1000000000/s PLAZA_PORT="$plaza_port" PLAZA_DATA_DIR="$plaza_dir" \
  "$bin/plaza" serve >"$work/plaza.out" 2>&1 &
pids+=($!)
plaza="http://127.0.0.1:$plaza_port"
wait_for "$plaza/health"
# A second process on the same database, with the search cache off: the queries themselves.
plaza_cold_port=$(free_port)
PLAZA_LOG_LEVEL=warning PLAZA_RATE_LIMITS=/api/=1000000000/s PLAZA_PORT="$plaza_cold_port" PLAZA_DATA_DIR="$plaza_dir" \
  PLAZA_MARKETPLACE_SEARCH_CACHE_SECONDS=0 PLAZA_RUN_WORKERS=false "$bin/plaza" serve >"$work/plaza-cold.out" 2>&1 &
pids+=($!)
plaza_cold="http://127.0.0.1:$plaza_cold_port"
wait_for "$plaza_cold/health"
plaza_token=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"email":"customer@demo.plaza.test","password":"plaza-demo"}' \
  "$plaza/api/v1/auth/login" | json_field accessToken)
# Tokens name the server they were issued by (its URL): the second process signs its own.
plaza_cold_token=$(curl -fs -X POST -H 'Content-Type: application/json' -d '{"email":"customer@demo.plaza.test","password":"plaza-demo"}' \
  "$plaza_cold/api/v1/auth/login" | json_field accessToken)

# PocketBase: a superuser, the collections, the providers, a signed-in user.
pb_dir="$work/pocketbase"
pb_port=$(free_port)
"$pocketbase" superuser upsert bench@plaza.test bench-password --dir "$pb_dir" >/dev/null
"$pocketbase" serve --http "127.0.0.1:$pb_port" --dir "$pb_dir" >"$work/pocketbase.out" 2>&1 &
pids+=($!)
pb="http://127.0.0.1:$pb_port"
wait_for "$pb/api/health"
prepared=$(python3 bench/marketplace_pocketbase.py "$pb" bench@plaza.test bench-password "$providers")
pb_token=$(echo "$prepared" | value token)
pb_category=$(echo "$prepared" | value category)
pb_provider=$(echo "$prepared" | value provider)

# The same box on both: Plaza searches a true radius (and sorts by distance), PocketBase the bounding box.
read -r lat_min lat_max lng_min lng_max < <(python3 -c "
import math; r=$radius; lat=50.4501; lng=30.5234
d=r/110.574; e=r/(111.320*math.cos(math.radians(lat)))
print(lat-d, lat+d, lng-e, lng+e)")
plaza_search="/api/v1/marketplace/providers?category=$plaza_category&lat=50.4501&lng=30.5234&radiusKm=$radius&limit=20"
pb_filter=$(python3 -c "import urllib.parse; print(urllib.parse.quote(\"(category='$pb_category' && lat>=$lat_min && lat<=$lat_max && lng>=$lng_min && lng<=$lng_max)\"))")
pb_search="/api/collections/providers/records?filter=$pb_filter&perPage=20&skipTotal=1&sort=-rating"
# Both answer with a page of 20 (checked, so a broken query cannot look fast).
curl -fs -H "Authorization: Bearer $plaza_token" "$plaza$plaza_search" | python3 -c "import json,sys; n=len(json.load(sys.stdin)['items']); assert n==20, n"
curl -fs -H "Authorization: Bearer $plaza_cold_token" "$plaza_cold$plaza_search" | python3 -c "import json,sys; n=len(json.load(sys.stdin)['items']); assert n==20, n"
curl -fs -H "Authorization: $pb_token" "$pb$pb_search" | python3 -c "import json,sys; n=len(json.load(sys.stdin)['items']); assert n==20, n"

cat >"$work/get.lua" <<LUA
wrk.headers["Authorization"] = os.getenv("AUTH")
LUA
# Every request a new Idempotency-Key, unique across wrk's threads (each numbers its own).
write_create_lua "$work/create.lua"

# One wrk run: prints "requests/s p99 non2xx"
wrk_run() {
  local url=$1 script=$2
  wrk -t2 -c64 -d"${duration}s" --latency -s "$script" "$url" >"$work/wrk.txt"
  local rps p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
  bad=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt")
  echo "$rps $p99 ${bad:-0}"
}
ratio() { python3 -c "print(f'{float($1)/float($2):.2f}×')"; }

echo
echo "## Marketplace: Plaza beside PocketBase $("$pocketbase" --version | awk '{print $3}') ($providers providers, wrk -t2 -c64 -d${duration}s, loopback, release build, SQLite both)"
echo
echo "| load | Plaza requests/s | Plaza p99 | PocketBase requests/s | PocketBase p99 | Plaza ÷ PocketBase |"
echo "|---|---|---|---|---|---|"
read -r brps bp99 bbad < <(AUTH="$pb_token" wrk_run "$pb$pb_search" "$work/get.lua")
read -r prps pp99 pbad < <(AUTH="Bearer $plaza_token" wrk_run "$plaza$plaza_search" "$work/get.lua")
echo "| search: a category within ${radius} km, 20 per page (Plaza's search cache on, the default) | $prps | $pp99 | $brps | $bp99 | $(ratio "$prps" "$brps") |"
[ "$pbad$bbad" = "00" ] || echo "(non-2xx answers: Plaza $pbad, PocketBase $bbad)"
read -r crps cp99 cbad < <(AUTH="Bearer $plaza_cold_token" wrk_run "$plaza_cold$plaza_search" "$work/get.lua")
echo "| the same search, Plaza's cache off (every request queries) | $crps | $cp99 | $brps | $bp99 | $(ratio "$crps" "$brps") |"
[ "$cbad" = "0" ] || echo "(non-2xx answers: Plaza $cbad)"
plaza_body="{\"categoryId\":\"$plaza_category\",\"providerId\":\"$plaza_provider\",\"description\":\"Bench job\",\"address\":\"Khreshchatyk 1\",\"lat\":50.4501,\"lng\":30.5234}"
pb_body="{\"category\":\"$pb_category\",\"provider\":\"$pb_provider\",\"description\":\"Bench job\",\"address\":\"Khreshchatyk 1\",\"lat\":50.4501,\"lng\":30.5234}"
read -r prps pp99 pbad < <(AUTH="Bearer $plaza_token" BODY="$plaza_body" KEY_PREFIX="bench-$RANDOM-" wrk_run "$plaza/api/v1/marketplace/requests" "$work/create.lua")
read -r brps bp99 bbad < <(AUTH="$pb_token" BODY="$pb_body" KEY_PREFIX="bench-" wrk_run "$pb/api/collections/requests/records" "$work/create.lua")
echo "| create a request | $prps | $pp99 | $brps | $bp99 | $(ratio "$prps" "$brps") |"
[ "$pbad$bbad" = "00" ] || echo "(non-2xx answers: Plaza $pbad, PocketBase $bbad)"
echo
echo "Search: the cache answers a repeated search from memory until something that could change it happens"
echo "(PLAZA_MARKETPLACE_SEARCH_CACHE_SECONDS; the load repeats one search, its best case). Plaza filters the category (and those above and below it), a true radius from the point, and sorts by"
echo "distance; PocketBase filters the category and the bounding box and sorts by rating. Creation: Plaza checks the"
echo "Idempotency-Key, validates the category and the provider's area, starts the request's workflow (instance, history,"
echo "expiry timer), opens the request's conversation, queues the provider's notification and writes the audit log and"
echo "outbox events, in one transaction, then fans the notification out (inbox, e-mail); PocketBase inserts one record."
