#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#   1. install what is missing (a PostgreSQL server),
#   2. build everything once (debug),
#   3. run every test on SQLite (the embedded default),
#   4. start a throwaway PostgreSQL cluster on 127.0.0.1, run every test again on it, stop it.
# Each phase prints its time against a budget that keeps CI far inside its 90 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

phase_start=0
phase() { phase_name=$1; phase_budget=$2; phase_start=$(date +%s); echo "== $phase_name (budget ${phase_budget} min)"; }
phase_end() {
  local took=$(( $(date +%s) - phase_start ))
  printf '== %s took %dm%02ds of %d min\n' "$phase_name" $((took / 60)) $((took % 60)) "$phase_budget"
  if [ "$took" -gt $((phase_budget * 60)) ]; then echo "!! $phase_name is over its budget" >&2; fi
}

phase "install" 5
scripts/deps.sh test
phase_end

phase "build" 20
swift build --build-tests 2>&1 | grep -v '^\[' | grep -v '^Compiling\|^Write\|^Emitting' || true
test "${PIPESTATUS[0]}" -eq 0
phase_end

swift_test() {
  # Swift Testing only: there are no XCTest cases, and XCTest's "Executed 0 tests" would mislead readers.
  swift test --skip-build --disable-xctest "$@"
}

phase "SQLite pass" 15
swift_test
phase_end

phase "PostgreSQL pass" 15
pgdir=$(mktemp -d /tmp/plaza-pg.XXXXXX)
port=$(( 55000 + RANDOM % 5000 ))
cleanup() { scripts/pg-cluster.sh stop "$pgdir" || true; }
trap cleanup EXIT
url=$(scripts/pg-cluster.sh start "$pgdir" "$port")
PLAZA_TEST_DATABASE_URL="$url" swift_test
phase_end
