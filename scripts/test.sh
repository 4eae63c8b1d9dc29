#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#   1. install what is missing (a PostgreSQL server, Chromium, the Python peers),
#   2. check the formatting (swift format lint against .swift-format),
#   3. build everything once (debug),
#   4. on SQLite (the embedded default): the core's tests (no app, or the seam's test app), then each app's own
#      (Tests/<App>Tests for Sources/Apps/<App>), then the whole system (PlazaServerTests: every app at once,
#      the app contract, the route walks),
#   5. schemathesis against the API as five roles, each on a fresh demo server (SQLite; scripts/schemathesis.sh),
#   6. start a throwaway PostgreSQL cluster on 127.0.0.1, run the tests where the database matters again on it
#      (not the browser walks, nor the targets that open no database), stop it.
# Each phase prints its time against its budget; the budgets add up to at most 45 minutes (CI allows 90), and a
# new app's phase must fit: the run refuses to start when they do not.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

apps=$(find Sources/Apps -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
# Minutes per phase; each phase below names its own, and they add up here.
install_budget=3 format_budget=1 build_budget=12 core_budget=6 app_budget=2 system_budget=3 schemathesis_budget=6 postgres_budget=9
budget_total=$(( install_budget + format_budget + build_budget + core_budget + app_budget * $(echo "$apps" | wc -w) + system_budget
  + schemathesis_budget + postgres_budget ))
echo "== budgets add up to $budget_total min"
if [ "$budget_total" -gt 45 ]; then
  echo "!! the phases' budgets add up to $budget_total min, over 45: make the suite faster before adding more" >&2
  exit 1
fi

phase_start=0
phase() { phase_name=$1; phase_budget=$2; phase_start=$(date +%s); echo "== $phase_name (budget ${phase_budget} min)"; }
phase_end() {
  local took=$(( $(date +%s) - phase_start ))
  printf '== %s took %dm%02ds of %d min\n' "$phase_name" $((took / 60)) $((took % 60)) "$phase_budget"
  if [ "$took" -gt $((phase_budget * 60)) ]; then echo "!! $phase_name is over its budget" >&2; fi
}

phase "install" "$install_budget"
scripts/deps.sh test
phase_end

phase "format" "$format_budget"
# What `swift format format -i -r -p Sources Tests bench Package.swift` would change fails the run.
swift format lint --strict -r -p Sources Tests bench Package.swift
phase_end

phase "build" "$build_budget"
swift build --build-tests 2>&1 | grep -v '^\[' | grep -v '^Compiling\|^Write\|^Emitting' || true
test "${PIPESTATUS[0]}" -eq 0
phase_end

# A pass that has not finished after this many seconds is stuck (each takes well under two minutes today).
pass_limit=${PLAZA_TEST_PASS_LIMIT:-480}

swift_test() {
  # Swift Testing only: there are no XCTest cases, and XCTest's "Executed 0 tests" would mislead readers.
  local status log trace
  log=$(mktemp /tmp/plaza-test-pass.XXXXXX)
  # The test stores' debug log (PostgresNIO's pool events, cleanup timings): shown only when a pass is stuck.
  trace=$(mktemp /tmp/plaza-test-trace.XXXXXX)
  # One try: a stuck pass fails after printing what it was doing. Running it again would hide a hang that could
  # hang a server too; a flaky test is a defect to fix at its cause.
  {
    # The pass's output goes to the console and to $log, which says which tests a stuck pass is still in.
    PLAZA_TEST_TRACE="$trace" swift test --skip-build --disable-xctest "$@" > >(tee "$log") 2>&1 &
    local runner=$! waited=0
    while kill -0 "$runner" 2>/dev/null && [ "$waited" -lt "$pass_limit" ]; do sleep 1; waited=$((waited + 1)); done
    if ! kill -0 "$runner" 2>/dev/null; then
      wait "$runner" && status=0 || status=$?
      rm -f "$log" "$trace"
      return "$status"
    fi
    # Stuck: keep what the next person needs to find out why (the stalls of sessions 9-10 were a lost wakeup
    # in the job loops, found this way and fixed on 2026-11-30).
    echo "!! the test pass has not finished after ${pass_limit}s: the tests still running, a thread dump and database sessions follow" >&2
    grep -o '◇ Test "[^"]*" started' "$log" | sed 's/^◇ Test "\(.*\)" started$/\1/' | sort -u > "$log.started" || true
    grep -oE '(✔|✘) Test "[^"]*" (passed|failed)' "$log" | sed -E 's/^(✔|✘) Test "(.*)" (passed|failed)$/\2/' | sort -u > "$log.ended" || true
    comm -23 "$log.started" "$log.ended" | sed 's/^/!! still running: /' >&2 || true
    rm -f "$log.started" "$log.ended"
    echo "!! the last lines of the test stores' trace:" >&2
    tail -n 60 "$trace" >&2 || true
    local tests
    tests=$(pgrep -f 'plazaPackageTests.xctest' | head -1 || true)
    if [ -n "$tests" ] && command -v gdb >/dev/null; then
      timeout 60 gdb -p "$tests" -batch -ex "thread apply all bt 25" 2>/dev/null | grep -E '^(Thread|#)' | head -400 >&2 || true
    fi
    if [ -n "${PLAZA_TEST_DATABASE_URL:-}" ] && command -v psql >/dev/null; then
      psql "$PLAZA_TEST_DATABASE_URL" -c "SELECT pid, datname, state, wait_event_type, wait_event, now() - query_start AS age, left(query, 100) AS query FROM pg_stat_activity WHERE backend_type = 'client backend'" >&2 || true
    fi
    pkill -9 -f 'plazaPackageTests.xctest' || true
    pkill -9 -f 'Tests/peers/' || true
    wait "$runner" 2>/dev/null || true
    rm -f "$log" "$trace"
    return 124
  }
}

app_targets=$(for app in $apps; do printf '%sTests|' "$app"; done)
# A phase whose filter matches nothing would pass having run nothing (Swift Testing exits 0): each app needs
# its tests, and they must be found.
listed=$(swift test list --skip-build 2>/dev/null)
for app in $apps; do
  if ! grep -q "^${app}Tests\." <<<"$listed"; then
    echo "!! Sources/Apps/$app has no tests: add Tests/${app}Tests (its own tests; the app contract runs in PlazaServerTests)" >&2
    exit 1
  fi
done

phase "core on SQLite" "$core_budget"
swift_test --skip "^(${app_targets}PlazaServerTests)\\."
phase_end

for app in $apps; do
  phase "$app on SQLite" "$app_budget"
  swift_test --filter "^${app}Tests\\."
  phase_end
done

phase "whole system on SQLite" "$system_budget"
swift_test --filter '^PlazaServerTests\.'
phase_end

# Once, on SQLite only: what it checks (/openapi.json against the server) does not depend on the database.
phase "schemathesis" "$schemathesis_budget"
scripts/schemathesis.sh
phase_end

phase "PostgreSQL pass" "$postgres_budget"
pgdir=$(mktemp -d /tmp/plaza-pg.XXXXXX)
port=$(( 55000 + RANDOM % 5000 ))
cleanup() { scripts/pg-cluster.sh stop "$pgdir" || true; }
trap cleanup EXIT
url=$(scripts/pg-cluster.sh start "$pgdir" "$port")
# The cluster is deleted after the pass: its test databases need no DROP (each forces a checkpoint).
# Chromium drives pages the same whatever the database (the page tests without a browser still run here); the
# kernel's and GraphQL transport's tests open no database.
PLAZA_TEST_KEEP_DATABASES=1 PLAZA_TEST_DATABASE_URL="$url" swift_test \
  --skip '(BrowserTests|LiveBadgeBrowserTests)/' --skip '^(PlazaKitTests|GraphQLTransportTests)\.'

phase_end
