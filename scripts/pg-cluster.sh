#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for the test pass and benchmarks.
#   scripts/pg-cluster.sh start DIR PORT [durable]   initdb + start; prints the URL
#   scripts/pg-cluster.sh stop DIR                   fast shutdown, then deletes DIR
# fsync is off unless `durable` is given (benchmarks that compare durable writes): the fast cluster is for
# tests only, never for data you keep.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "pg-cluster: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
  port=${3:?port}
  durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${4:-}" = durable ] && durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"; chmod 700 "$dir"
  as_postgres "$bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir.initdb.log" 2>&1 \
    || { cat "$dir.initdb.log" >&2; exit 1; }
  as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir $durability -c max_connections=300" start >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  if [ -f "$dir/postmaster.pid" ]; then as_postgres "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true; fi
  rm -rf "$dir" "$dir.initdb.log"
  ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
