# Shared by the benchmark scripts (sourced): a scratch directory, the servers started (stopped by PID on
# exit), the release build, a free loopback port, and waiting for a URL to answer.
work=$(mktemp -d /tmp/plaza-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# JSON field NAME of the document on standard input; VALUE NAME of a `name=value …` line on standard input.
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
value() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
wait_for() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }

# Builds the given products in release and sets $bin to where they are.
release_build() {
  echo "Building release…" >&2
  local product
  for product in "$@"; do swift build -c release --product "$product" >&2; done
  bin=$(swift build -c release --show-bin-path)
}

# write_create_lua FILE: a wrk script that POSTs $BODY with $AUTH, every request a new Idempotency-Key
# ($KEY_PREFIX, the thread and a counter: unique across wrk's threads, which each number their own).
write_create_lua() {
  cat >"$1" <<'LUA'
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
wrk.method = "POST"
wrk.headers["Authorization"] = os.getenv("AUTH")
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = os.getenv("KEY_PREFIX") .. tid .. "-" .. counter
  return wrk.format(nil, nil, nil, os.getenv("BODY"))
end
LUA
}
