#!/usr/bin/env bash
# Durable three-step workflows completed per second: Plaza's workflow engine beside the same workflow
# written for DBOS (bench/workflows_dbos.py, dbos from PyPI), on SQLite and on PostgreSQL, interleaved in
# one run. Durability is on for everyone: SQLite with synchronous=FULL (Plaza) and DBOS's default rollback
# journal (synchronous=FULL), PostgreSQL with fsync, synchronous_commit and full_page_writes on (not the
# fast test cluster). Release build; loopback only; everything started here is stopped here.
#   bench/workflows.sh
# Environment: WORKFLOWS (per run, default 2000), CONCURRENCY (workflows in flight, default 32),
# ROUNDS (runs of each, the median is reported; default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
workflows=${WORKFLOWS:-2000}
concurrency=${CONCURRENCY:-32}
rounds=${ROUNDS:-3}
source bench/lib.sh
pgdir=$(mktemp -u /tmp/plaza-bench-pg.XXXXXX)  # outside $work: the postgres user must reach it
trap 'scripts/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true; cleanup' EXIT

release_build plaza-bench
pgport=$(free_port)
pgurl=$(scripts/pg-cluster.sh start "$pgdir" "$pgport" durable)
base=${pgurl%/postgres}
# fresh_database NAME: an empty database for one run; prints its URL.
fresh_database() {
  psql "$pgurl" -qc "CREATE DATABASE $1" >/dev/null
  echo "$base/$1"
}
rate() { sed -n 's/.* rate=\([0-9]*\).*/\1/p' | tail -n 1; }

declare -A results
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds…" >&2
  results[plaza_sqlite]+=" $("$bin/plaza-bench" workflows --workflows "$workflows" --concurrency "$concurrency" --sqlite-full 2>/dev/null | rate)"
  results[dbos_sqlite]+=" $(.venv/bin/python bench/workflows_dbos.py --url "sqlite:///$work/dbos-$round.sqlite" \
    --workflows "$workflows" --concurrency "$concurrency" 2>/dev/null | rate)"
  url=$(fresh_database "plaza_$round")
  results[plaza_postgres]+=" $("$bin/plaza-bench" workflows --workflows "$workflows" --concurrency "$concurrency" --database-url "$url" 2>/dev/null | rate)"
  url=$(fresh_database "dbos_$round")
  results[dbos_postgres]+=" $(.venv/bin/python bench/workflows_dbos.py --url "${url/postgres:/postgresql:}" \
    --workflows "$workflows" --concurrency "$concurrency" 2>/dev/null | rate)"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "## Durable three-step workflows ($workflows per run, $concurrency in flight, median of $rounds, fsync on)"
echo
echo "| database | Plaza workflows/s | DBOS 3.4 workflows/s | Plaza ÷ DBOS | runs (Plaza; DBOS) |"
echo "|---|---|---|---|---|"
for engine in sqlite postgres; do
  plaza=$(echo "${results[plaza_$engine]}" | median)
  dbos=$(echo "${results[dbos_$engine]}" | median)
  ratio=$(python3 -c "print(f'{$plaza / $dbos:.1f}×')")
  echo "| $engine | $plaza | $dbos | $ratio |${results[plaza_$engine]};${results[dbos_$engine]} |"
done
