#!/usr/bin/env bash
# The schemathesis phase of `make test` (issue #20): schemathesis (PyPI, in .venv: scripts/deps.sh test) runs every
# operation of /openapi.json with all its checks, at most 5 examples each and a fixed seed (Tests/schemathesis/
# schemathesis.toml), as an anonymous caller and as the demo customer, provider, operator and admin, each against
# a fresh server (`plaza serve --demo` on a new data directory) with rate limits raised and no second factor
# required. Tests/schemathesis/excluded.txt lists the operations left out (those that end the run's own session or
# account); Tests/schemathesis/allowed-failures.txt the failures that are not defects. Anything else fails.
#
#   scripts/schemathesis.sh [ROLE...]   roles: anonymous customer provider operator admin (default: all five)
#   PLAZA_BIN=path                      the server to test (default .build/debug/plaza, built by `swift build`)
#   PLAZA_SCHEMATHESIS_KEEP=1           keep the results directory after a clean run too (it is always kept after a failure)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
plaza=${PLAZA_BIN:-$root/.build/debug/plaza}
python=$root/.venv/bin/python
roles=("$@")
[ ${#roles[@]} -gt 0 ] || roles=(anonymous customer provider operator admin)

[ -x "$plaza" ] || { echo "schemathesis.sh: no server at $plaza (swift build first)" >&2; exit 1; }
command -v curl >/dev/null || { echo "schemathesis.sh: curl is needed (to wait for the servers)" >&2; exit 1; }
[ -x "$root/.venv/bin/schemathesis" ] || { echo "schemathesis.sh: schemathesis is not in .venv: run scripts/deps.sh test" >&2; exit 1; }

out=$(mktemp -d /tmp/plaza-schemathesis.XXXXXX)
server=""
driver=""
stop_server() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$server" 2>/dev/null && kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  server=""
}
stop_driver() {
  # run.py ends its schemathesis on SIGTERM.
  if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then kill -TERM "$driver" 2>/dev/null || true; wait "$driver" 2>/dev/null || true; fi
  driver=""
}
trap 'stop_driver; stop_server' EXIT
trap 'stop_driver; stop_server; echo "schemathesis.sh: interrupted; what it had so far: $out" >&2; exit 130' INT TERM

# The server reads every PLAZA_ variable and refuses unknown ones: it gets only the settings given here.
clean_env=(env)
while IFS= read -r name; do clean_env+=(-u "$name"); done < <(compgen -e | grep '^PLAZA_' || true)

# Starts a fresh demo server for a role on a free port of 127.0.0.1; sets $server and $base.
start_server() {
  local dir=$1 attempt port
  for attempt in 1 2 3; do
    port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    rm -rf "$dir/data"
    # Rate limits far above what the run sends (the defaults would answer 429 within seconds); no second factor
    # for admins and operators (the run signs in with a password); tokens that outlive the run; bcrypt at its
    # cheapest (the run registers accounts).
    "${clean_env[@]}" \
      PLAZA_HOST=127.0.0.1 PLAZA_PORT="$port" PLAZA_PUBLIC_URL="http://127.0.0.1:$port" PLAZA_DATA_DIR="$dir/data" \
      PLAZA_RATE_LIMITS='/api/=1000000/min,/graphql=1000000/min,/api/v1/auth/=1000000/min,/sign-=1000000/min,/verify-email=1000000/min,/reset-password=1000000/min' \
      PLAZA_MFA_REQUIRED_ROLES= PLAZA_ACCESS_TOKEN_MINUTES=60 PLAZA_BCRYPT_COST=10 \
      PLAZA_LOG_LEVEL=warning PLAZA_LOG_FORMAT=text \
      "$plaza" serve --demo >"$dir/server.log" 2>&1 &
    server=$!
    base="http://127.0.0.1:$port"
    local waited=0
    while kill -0 "$server" 2>/dev/null && [ "$waited" -lt 600 ]; do
      if curl -sf -o /dev/null --max-time 2 "$base/ready"; then return 0; fi
      sleep 0.1; waited=$((waited + 1))
    done
    echo "!! the server for $(basename "$dir") did not become ready (attempt $attempt); its log ends:" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    stop_server
  done
  return 1
}

status=0
for role in "${roles[@]}"; do
  case "$role" in anonymous|customer|provider|operator|admin) ;; *) echo "schemathesis.sh: unknown role $role" >&2; exit 2 ;; esac
  dir=$out/$role
  mkdir -p "$dir"
  started=$(date +%s)
  echo "-- schemathesis as $role"
  if start_server "$dir"; then
    # In the background, so that a SIGTERM to this script is handled at once (bash defers traps until a
    # foreground command ends), not after the role's run.
    "$python" Tests/schemathesis/run.py role "$base" "$role" "$dir" &
    driver=$!
    wait "$driver" || status=1
    driver=""
  else
    status=1
  fi
  stop_server
  echo $(( $(date +%s) - started )) >"$dir/seconds"
done

"$python" Tests/schemathesis/run.py table "$out" "${roles[@]}" || status=1
if [ "$status" -eq 0 ] && [ -z "${PLAZA_SCHEMATHESIS_KEEP:-}" ]; then
  rm -rf "$out"
else
  echo "schemathesis results (reports, logs, each role's failures.txt): $out"
fi
exit "$status"
