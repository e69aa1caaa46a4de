#!/usr/bin/env bash
# Runs units of Redis's own TCL test suite in external-server mode against `rewind serve`
# (or, with SERVER=redis, against a real redis-server, the oracle), and prints per-unit counts.
#
#   REDIS_SRC=/path/to/redis-7.0.15 ./tools/redis-suite/run.sh            # the default units
#   REDIS_SRC=... ./tools/redis-suite/run.sh unit/type/incr unit/expire   # chosen units
#
# Environment:
#   REDIS_SRC     a Redis source tree (needs runtest, tests/); required. Never commit its files.
#   SERVER        rewind (default) or redis.
#   REWIND_BIN    the rewind executable; default: built with `swift build --product rewind`.
#   REDIS_SERVER  redis-server executable for SERVER=redis (default: from PATH).
#   UNIT_TIMEOUT  seconds one unit may run before it is stopped (default 600).
#   TAGS          extra --tags for runtest (default: none).
#   LOG_DIR       where each unit's full output goes (default: a temporary directory).
#
# Output: one line per unit: passed and failed test counts, how the unit ended (end, exception:
# an error reply the test did not catch stopped the unit, or timeout) and skipped tests; then totals.
# Exit code: 0 when every unit ran to its end without a failed test, 1 otherwise.
set -u

if [[ -z "${REDIS_SRC:-}" || ! -x "${REDIS_SRC}/runtest" ]]; then
    echo "REDIS_SRC must name a Redis source tree with an executable runtest" >&2
    exit 2
fi
SERVER="${SERVER:-rewind}"
UNIT_TIMEOUT="${UNIT_TIMEOUT:-600}"
TAGS="${TAGS:-}"
REPO_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"

DEFAULT_UNITS=(
    unit/type/string unit/type/incr unit/type/list unit/type/list-2 unit/type/list-3
    unit/type/hash unit/type/set unit/type/zset unit/expire unit/keyspace unit/multi
    unit/pubsub unit/info-command unit/auth unit/protocol unit/bitops unit/hyperloglog unit/scan
)
if [[ $# -gt 0 ]]; then UNITS=("$@"); else UNITS=("${DEFAULT_UNITS[@]}"); fi

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/rewind-redis-suite.XXXXXX")"
LOG_DIR="${LOG_DIR:-$WORK_DIR/logs}"
mkdir -p "$LOG_DIR" "$WORK_DIR/data"
SERVER_PID=""

cleanup() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$WORK_DIR/data"
}
trap cleanup EXIT
trap "exit 1" INT TERM

free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$(( 20000 + RANDOM % 20000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
    done
    return 1
}

# Starts the server on a free port; tries again on another port when the first is taken between
# the check and the bind.
start_server() {
    for _ in 1 2 3 4 5; do
        start_server_once "$1" && return 0
        stop_server
    done
    echo "$SERVER did not start; its output:" >&2
    cat "$LOG_DIR/server-$1.log" >&2
    return 1
}

start_server_once() {
    PORT="$(free_port)" || { echo "no free port found" >&2; return 1; }
    rm -rf "$WORK_DIR/data"
    mkdir -p "$WORK_DIR/data"
    case "$SERVER" in
    rewind)
        "$REWIND_BIN" serve --port "$PORT" --dir "$WORK_DIR/data" --appendfsync no \
            >"$LOG_DIR/server-$1.log" 2>&1 &
        SERVER_PID=$!
        ;;
    redis)
        "${REDIS_SERVER:-redis-server}" --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no \
            --dir "$WORK_DIR/data" --enable-debug-command yes >"$LOG_DIR/server-$1.log" 2>&1 &
        SERVER_PID=$!
        ;;
    esac
    for _ in $(seq 1 100); do
        if [[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" == "PONG" ]]; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    SERVER_PID=""
}

case "$SERVER" in
rewind)
    if [[ -z "${REWIND_BIN:-}" ]]; then
        (cd "$REPO_ROOT" && swift build --product rewind >&2) || exit 1
        REWIND_BIN="$(cd "$REPO_ROOT" && swift build --show-bin-path)/rewind"
    fi
    ;;
redis) ;;
*) echo "SERVER must be rewind or redis" >&2; exit 2 ;;
esac

# runtest listens for its own test clients just below --baseport; give each run its own range so
# that two runs (rewind and redis) can go side by side.
BASEPORT="$(free_port)" || { echo "no free port found" >&2; exit 1; }
BASEPORT=$((BASEPORT + 32))
# Tests that stop the unit even on redis-server in external mode (they need the server's own
# process, e.g. a fork child's pid): skipped on both servers, listed in the file.
SKIP_FILE="${SKIP_FILE:-$REPO_ROOT/tools/redis-suite/external-skips.txt}"
echo "server: $SERVER (a fresh one per unit); unit logs in $LOG_DIR" >&2

total_ok=0; total_err=0; failed_units=0
printf '%-20s %6s %6s %10s %8s\n' unit ok err ended skipped
for unit in "${UNITS[@]}"; do
    log="$LOG_DIR/$(echo "$unit" | tr '/' '_').log"
    name="$(echo "$unit" | tr '/' '_')"
    start_server "$name" || exit 1
    tag_args=()
    [[ -n "$TAGS" ]] && tag_args=(--tags "$TAGS")
    (cd "$REDIS_SRC" && timeout -k 10 "$UNIT_TIMEOUT" ./runtest --host 127.0.0.1 --port "$PORT" \
        --baseport "$BASEPORT" --single "$unit" --skipfile "$SKIP_FILE" "${tag_args[@]}") >"$log" 2>&1
    # Count the framework's own result markers (colour codes stripped).
    plain="$(sed 's/\x1b\[[0-9;]*m//g' "$log")"
    ok=$(grep -c '^\[ok\]:' <<<"$plain")
    err=$(grep -c '^\[err\]:' <<<"$plain")
    skipped=$(grep -c '^\[skip\]:' <<<"$plain")
    # How the unit ended: "end" (ran through), "exception" (an error stopped it) or "timeout".
    exception=end
    if grep -q '^\[exception\]:' <<<"$plain"; then
        exception=exception
    elif ! grep -q 'The End' <<<"$plain"; then
        exception=timeout
    fi
    printf '%-20s %6d %6d %10s %8d\n' "$unit" "$ok" "$err" "$exception" "$skipped"
    total_ok=$((total_ok + ok)); total_err=$((total_err + err))
    if [[ $err -gt 0 || $exception != end ]]; then failed_units=$((failed_units + 1)); fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "$SERVER exited during $unit; its output is in $LOG_DIR/server-$name.log" >&2
    fi
    stop_server
done
echo "total: $total_ok passed, $total_err failed; units not clean: $failed_units" >&2
[[ $failed_units -eq 0 ]]
