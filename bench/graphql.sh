#!/usr/bin/env bash
# GraphQL under its limits (P8): what the checks cost, what /graphql serves, and how fast the attacks of issue #20
# are refused — release build, loopback only; every server started here is stopped here by PID.
#   bench/graphql.sh
# Environment: PROVIDERS (default 10000), DURATION (wrk seconds, default 10), REQUESTS and ROUNDS (in-process A/B:
# many short interleaved rounds, since this machine drifts by more than the difference measured).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
providers=${PROVIDERS:-10000}
duration=${DURATION:-10}
source bench/lib.sh

release_build plaza plaza-bench

# 1. The checks' cost, side by side in one process: Graphiti's plain path (before the limits) and GraphQLExecutor.
checks=$("$bin/plaza-bench" graphql-checks --data-dir "$work/ab" --providers 2000 --requests "${REQUESTS:-300}" --rounds "${ROUNDS:-61}")

# 2. /graphql over HTTP: a provider search at 64 connections, the search cache on (as served) and off (the query).
dir="$work/plaza"
seeded=$("$bin/plaza-bench" marketplace-seed --data-dir "$dir" --providers "$providers")
category=$(echo "$seeded" | value category)
start_plaza() {  # port, extra settings…
  local port=$1; shift
  env PLAZA_LOG_LEVEL=warning PLAZA_RATE_LIMITS=/api/=1000000000/s,/graphql=1000000000/s PLAZA_PORT="$port" PLAZA_DATA_DIR="$dir" \
    PLAZA_MAX_BODY_SIZE=4m "$@" "$bin/plaza" serve >"$work/plaza-$port.out" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$port/health"
}
port=$(free_port); start_plaza "$port"
cold_port=$(free_port); start_plaza "$cold_port" PLAZA_MARKETPLACE_SEARCH_CACHE_SECONDS=0 PLAZA_RUN_WORKERS=false
python3 - "$category" >"$work/search.json" <<'PY'
import json, sys
print(json.dumps({"query": '{ providers(category: "%s", lat: 50.45, lng: 30.52, radiusKm: 5, limit: 20) '
                           '{ items { id displayName distanceKm rating ratingCount } nextCursor } }' % sys.argv[1]}))
PY
curl -fs -X POST -H 'Content-Type: application/json' --data-binary "@$work/search.json" "http://127.0.0.1:$port/graphql" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); assert not d.get("errors") and d["data"]["providers"]["items"], d' \
  || { echo "the search does not answer with providers" >&2; exit 1; }
cat >"$work/search.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = io.open("$work/search.json")
wrk.body = file:read("*a")
file:close()
LUA
load() {  # url → "requests/s p99"
  wrk -t2 -c64 -d"${duration}s" --latency -s "$work/search.lua" "$1/graphql" >"$work/wrk.out"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print int($2)}' "$work/wrk.out")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
  grep -q "Non-2xx" "$work/wrk.out" && { echo "non-2xx answers under load:" >&2; cat "$work/wrk.out" >&2; exit 1; }
  echo "$rps $p99"
}
served=$(load "http://127.0.0.1:$port")
cold=$(load "http://127.0.0.1:$cold_port")

# 3. The attacks of issue #20 against the release server: time to the refusal, and the server still answering.
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
attacks = {
    "depth-100000": "{ node " + "{ child " * 100000 + "{ id }" + "}" * 100001 + " }",
    "depth-1000": "{ providers " + "{ items " * 1000 + "{ id }" + "}" * 1001 + " }",
    "list-nesting-10000": "{ providers(q: " + "[" * 10000 + "\"x\"" + "]" * 10000 + ") { nextCursor } }",
    "list-nesting-80": "{ providers(q: " + "[" * 80 + "1.5" + "]" * 80 + ") { nextCursor } }",
    "alias-200-searches": "{ " + " ".join(f"a{i}: providers(q: \"x\") {{ nextCursor }}" for i in range(200)) + " }",
    "cost-11-searches": "{ " + " ".join(f"a{i}: providers(q: \"x\") {{ nextCursor }}" for i in range(11)) + " }",
    "fragments-2^30": "{ categories { ...F30 } }\nfragment F0 on ServiceCategory { id }\n"
        + "".join(f"fragment F{i} on ServiceCategory {{ ...F{i-1} ...F{i-1} }}\n" for i in range(1, 31)),
    "escape-cut-short": "{ providers(q: \"\\u",
    "syntax-empty": "",
}
for name, query in attacks.items():
    with open(f"{work}/attack-{name}.json", "w") as f:
        json.dump({"query": query}, f)

PY
names=$(python3 -c "print(' '.join(['depth-100000','depth-1000','list-nesting-10000','list-nesting-80','alias-200-searches','cost-11-searches','fragments-2^30','escape-cut-short','syntax-empty']))")

echo
echo "## What GraphQL's checks cost (in-process, the same cached provider search, median of rounds)"
echo
echo "| path | µs per request (median of ${ROUNDS:-61} rounds of ${REQUESTS:-300}) | spread of the rounds (µs) |"
echo "|---|---|---|"
echo "$checks" | awk '{
  split($2, p, "="); split($3, c, "="); split($4, o, "="); rounds = $0; sub(/.*rounds=/, "", rounds); split(rounds, r, " / ");
  printf "| Graphiti plain (before) | %s | %s |\n| GraphQLExecutor (after) | %s | %s |\n\noverhead: **%s**\n", p[2], r[1], c[2], r[2], o[2] }'
echo
echo "## /graphql provider search, release, wrk -t2 -c64 -d${duration}s, ${providers} providers"
echo
echo "| server | requests/s | p99 |"
echo "|---|---|---|"
echo "| search cache on (as served) | ${served% *} | ${served#* } |"
echo "| search cache off | ${cold% *} | ${cold#* } |"
echo
echo "## The attacks of issue #20 against the release server"
echo
echo "| attack | body bytes | status | code | time to answer | server alive after |"
echo "|---|---|---|---|---|---|"
for name in $names; do
  file="$work/attack-$name.json"
  out=$(curl -s -o "$work/answer.json" -w '%{http_code} %{time_total}' -X POST -H 'Content-Type: application/json' \
    --data-binary "@$file" "http://127.0.0.1:$port/graphql")
  code=$(python3 -c "import json,sys; d=json.load(open('$work/answer.json')); print(d['errors'][0]['extensions']['code'] if d.get('errors') else d.get('code','-'))" 2>/dev/null || echo "-")
  alive=$(curl -fs -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" || echo "DOWN")
  printf '| %s | %s | %s | %s | %.1f ms | %s |\n' "$name" "$(wc -c <"$file")" "${out% *}" "$code" \
    "$(python3 -c "print(${out#* } * 1000)")" "$alive"
done
