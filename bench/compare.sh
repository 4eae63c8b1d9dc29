#!/usr/bin/env bash
# Two builds of Plaza side by side: the same requests against both, in alternating rounds, so a change's cost
# is read as a ratio measured in one run rather than against a table printed on another day. The rows are
# bench/run.sh's HTTP rows and bench/marketplace.sh's Plaza rows.
#   bench/compare.sh BASE_BIN_DIR [NEW_BIN_DIR]
# BASE_BIN_DIR holds the baseline's release `plaza` and `plaza-bench` (for example a worktree of an earlier
# commit: git worktree add /tmp/base <commit> && (cd /tmp/base && swift build -c release --product plaza &&
# swift build -c release --product plaza-bench), then /tmp/base/.build/release). NEW_BIN_DIR defaults to this
# checkout's release build (built here).
# Environment: ROUNDS (default 5), DURATION (wrk seconds per run, default 5), PROVIDERS (default 10000), ROWS (a
# space-separated subset of: health ready me account sign-in search create; default all).
# Each round runs every row on both builds, the order swapped every other round; the table quotes each
# build's median, the median of the per-round ratios, and in how many rounds the new build was at least
# as fast. Loopback only; every server started here is stopped here by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
[ $# -ge 1 ] || { echo "usage: bench/compare.sh BASE_BIN_DIR [NEW_BIN_DIR]" >&2; exit 2; }
base_bin=$1
rounds=${ROUNDS:-5}
duration=${DURATION:-5}
providers=${PROVIDERS:-10000}
source bench/lib.sh
if [ $# -ge 2 ]; then new_bin=$2; else release_build plaza plaza-bench; new_bin=$bin; fi
for b in "$base_bin" "$new_bin"; do
  [ -x "$b/plaza" ] && [ -x "$b/plaza-bench" ] || { echo "no release plaza and plaza-bench in $b" >&2; exit 2; }
done

# start NAME BIN: seeds the demo and the providers with that build, serves it, and sets NAME_url,
# NAME_token, NAME_session, NAME_category and NAME_provider.
start() {
  local name=$1 b=$2 dir="$work/$1" port seeded url jar csrf
  seeded=$("$b/plaza-bench" marketplace-seed --data-dir "$dir" --providers "$providers")
  port=$(free_port)
  PLAZA_LOG_LEVEL=warning PLAZA_RATE_LIMITS=/=1000000000/s PLAZA_PORT="$port" PLAZA_DATA_DIR="$dir" \
    "$b/plaza" serve >"$work/$name.out" 2>&1 &
  pids+=($!)
  printf -v "${name}_pid" '%s' "$!"
  url="http://127.0.0.1:$port"
  wait_for "$url/health"
  printf -v "${name}_url" '%s' "$url"
  printf -v "${name}_category" '%s' "$(echo "$seeded" | value category)"
  printf -v "${name}_provider" '%s' "$(echo "$seeded" | value provider)"
  printf -v "${name}_token" '%s' "$(curl -fs -X POST -H 'Content-Type: application/json' \
    -d '{"email":"customer@demo.plaza.test","password":"plaza-demo"}' "$url/api/v1/auth/login" | json_field accessToken)"
  jar="$work/$name.cookies"
  csrf=$(curl -fs -c "$jar" "$url/sign-in" | grep -o 'name="_csrf" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')
  curl -fs -b "$jar" -c "$jar" -o /dev/null --data-urlencode "email=customer@demo.plaza.test" \
    --data-urlencode "password=plaza-demo" --data-urlencode "_csrf=$csrf" "$url/sign-in"
  printf -v "${name}_session" '%s' "$(awk '$6=="plaza_session" {print $7}' "$jar")"
}
echo "Seeding and starting both builds…" >&2
start base "$base_bin"
start new "$new_bin"

cat >"$work/get.lua" <<'LUA'
local header = os.getenv("HEADER")
if header ~= nil and header ~= "" then
  local name, value = header:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
LUA
write_create_lua "$work/create.lua"

# The server's CPU time so far (user + system, in clock ticks), from /proc.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# measure ROW BUILD: one wrk run of that row against that build; appends "ROW BUILD requests/s non2xx
# cpu-µs-per-request" to the log. The server's CPU time per request moves less than requests/s when wrk and
# the server share two cores, so both are kept.
measure() {
  local row=$1 name=$2 url token session category provider search body pid before
  url=${name}_url; url=${!url}
  pid=${name}_pid; pid=${!pid}
  token=${name}_token; token=${!token}
  session=${name}_session; session=${!session}
  category=${name}_category; category=${!category}
  provider=${name}_provider; provider=${!provider}
  search="/api/v1/marketplace/providers?category=$category&lat=50.4501&lng=30.5234&radiusKm=5&limit=20"
  body="{\"categoryId\":\"$category\",\"providerId\":\"$provider\",\"description\":\"Bench job\",\"address\":\"Khreshchatyk 1\",\"lat\":50.4501,\"lng\":30.5234}"
  local script=$work/get.lua header="" path
  case $row in
    health) path=/health ;;
    ready) path=/ready ;;
    me) path=/api/v1/me; header="Authorization: Bearer $token" ;;
    account) path=/account; header="Cookie: plaza_session=$session" ;;
    sign-in) path=/sign-in ;;
    search) path=$search; header="Authorization: Bearer $token" ;;
    create) path=/api/v1/marketplace/requests; script=$work/create.lua ;;
  esac
  before=$(cpu_ticks "$pid")
  HEADER="$header" AUTH="Bearer $token" BODY="$body" KEY_PREFIX="bench-$name-$RANDOM-" \
    wrk -t2 -c64 -d"${duration}s" -s "$script" "$url$path" >"$work/wrk.txt"
  local used=$(($(cpu_ticks "$pid") - before)) requests
  requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
  echo "$row $name $(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") $(awk '/Non-2xx/ {print $NF}' "$work/wrk.txt" | grep . || echo 0)" \
    "$(python3 -c "print(f'{$used / $ticks_per_second * 1e6 / max(1, $requests):.1f}')")" >>"$work/results"
}

rows=${ROWS:-health ready me account sign-in search create}
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds…" >&2
  for row in $rows; do
    if [ $((round % 2)) -eq 1 ]; then measure "$row" base; measure "$row" new; else measure "$row" new; measure "$row" base; fi
  done
done

echo
echo "## The same requests on two builds ($rounds alternating rounds, wrk -t2 -c64 -d${duration}s each, loopback, release, SQLite)"
echo
python3 - "$work/results" <<'PY'
import statistics, sys
labels = {
    "health": "GET /health",
    "ready": "GET /ready (database ping)",
    "me": "GET /api/v1/me, bearer token",
    "account": "GET /account, session cookie (HTML)",
    "sign-in": "GET /sign-in, a visitor (HTML + CSRF)",
    "search": "marketplace search, cache on",
    "create": "marketplace: create a request",
}
runs = {}
cpu = {}
bad = {}
for line in open(sys.argv[1]):
    row, name, rps, non2xx, micros = line.split()
    runs.setdefault(row, {}).setdefault(name, []).append(float(rps))
    cpu.setdefault(row, {}).setdefault(name, []).append(float(micros))
    bad[(row, name)] = bad.get((row, name), 0) + int(non2xx)
print("| row | requests/s: baseline | new | new ÷ baseline | rounds new ≥ baseline | server CPU µs per request: baseline | new | new ÷ baseline |")
print("|---|---|---|---|---|---|---|---|")
for row, label in labels.items():
    if row not in runs:
        continue
    base, new = runs[row]["base"], runs[row]["new"]
    ratios = [n / b for n, b in zip(new, base)]
    wins = sum(1 for r in ratios if r >= 1)
    cbase, cnew = cpu[row]["base"], cpu[row]["new"]
    cratios = [n / b for n, b in zip(cnew, cbase)]
    print(f"| {label} | {statistics.median(base):,.0f} | {statistics.median(new):,.0f} | {statistics.median(ratios):.3f} | {wins} of {len(ratios)} "
          f"| {statistics.median(cbase):,.0f} | {statistics.median(cnew):,.0f} | {statistics.median(cratios):.3f} |")
print()
print("Medians of the rounds; each ratio is the median of the per-round ratios (the two builds measured back to back).")
for (row, name), n in sorted(bad.items()):
    if n:
        print(f"({row} on {name}: {n} non-2xx answers)")
PY
