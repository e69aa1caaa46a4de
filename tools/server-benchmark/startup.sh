#!/usr/bin/env bash
# Startup time of `rewind serve` against redis-server 7.0 loading the same commands as its AOF:
# from the start of the process to the first PONG (redis-server answers -LOADING until its AOF is
# loaded; rewind serve listens once its log is replayed). Issue 4's target: at most half of
# redis-server's time on a 5M-entry log.
#
#   tools/server-benchmark/startup.sh [--directory D] [--requests N] [--rounds 3] [--rewind PATH]
#   tools/server-benchmark/startup.sh --replay-bench-workload D [--rounds 3] [--rewind PATH]
#
# The workload is made once in D (default /tmp/rewind-startup), and reused while D holds it:
# redis-benchmark sends `-t set,incr,lpush,hset,sadd,zadd -n N -r 100000 -P 16` (N = 833,334 by
# default: 5,000,004 commands) to a fresh redis-server with `appendonly yes` (no automatic
# rewrite, no RDB preamble), whose AOF directory is kept; `rewind import --format aof` turns that directory into a Rewind log. Both servers then
# start on their own copy of the same commands, alternating which goes first, --rounds times.
#
# --replay-bench-workload D times the WorkloadGenerator's workload instead (Zipf keys over many
# small values, TTLs, MULTI/EXEC), as `rewind-replay-bench --commands 5000000 --directory D` left
# it: D/workload.aof (a single-file AOF, which redis-server 7 loads and then upgrades to its AOF
# directory) and D/workload.rwlog.
set -euo pipefail

directory=/tmp/rewind-startup
requests=833334
rounds=3
rewind=""
bench_workload=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --directory) directory="$2"; shift 2 ;;
        --requests) requests="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --rewind) rewind="$2"; shift 2 ;;
        --replay-bench-workload) bench_workload="$2"; directory="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
# shellcheck source=tools/server-benchmark/common.sh
source "$(dirname "$0")/common.sh"
find_rewind

pid=""
cleanup() {
    [[ -n "$pid" ]] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
    rm -rf "$directory/run"
}
trap cleanup EXIT

now() { date +%s.%N; }
# Seconds from `$1` (a start time) until the server on port `$2` answers PONG.
until_pong() {
    local start="$1" port="$2"
    while [[ "$(redis-cli -p "$port" ping 2>/dev/null)" != "PONG" ]]; do
        kill -0 "$pid" 2>/dev/null || { echo "the server exited before answering" >&2; exit 1; }
        sleep 0.01
    done
    awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

if [[ -n "$bench_workload" ]]; then
    [[ -f "$directory/workload.aof" && -d "$directory/workload.rwlog" ]] || {
        echo "$directory has no workload.aof and workload.rwlog: run rewind-replay-bench --commands 5000000 --directory $directory first" >&2
        exit 2
    }
elif [[ ! -d "$directory/redis/appendonlydir" || ! -d "$directory/workload.rwlog" ]]; then
    rm -rf "$directory"; mkdir -p "$directory/redis"
    port="$(free_port)"
    # No automatic rewrite and no RDB preamble: the AOF keeps every command sent.
    redis-server --port "$port" --bind 127.0.0.1 --dir "$directory/redis" --save '' --appendonly yes \
        --appendfsync no --auto-aof-rewrite-percentage 0 --aof-use-rdb-preamble no >/dev/null 2>&1 &
    pid=$!
    wait_for "$port"
    echo "making the workload: redis-benchmark -t set,incr,lpush,hset,sadd,zadd -n $requests -r 100000 -P 16" >&2
    redis-benchmark -p "$port" -t set,incr,lpush,hset,sadd,zadd -n "$requests" -r 100000 -P 16 -q >/dev/null
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait "$pid" 2>/dev/null || true
    pid=""
    "$rewind" import --format aof "$directory/redis/appendonlydir" "$directory/workload.rwlog" >&2
fi
aof_source="$directory/redis/appendonlydir"
[[ -n "$bench_workload" ]] && aof_source="$directory/workload.aof"
aof_bytes="$(du -sb "$aof_source" | cut -f1)"
log_bytes="$(du -sb "$directory/workload.rwlog" | cut -f1)"
echo "workload: $directory (AOF $((aof_bytes / 1000000)) MB, Rewind log $((log_bytes / 1000000)) MB); rewind: $rewind"

start_redis() {
    rm -rf "$directory/run"; mkdir -p "$directory/run"
    local extra=()
    if [[ -n "$bench_workload" ]]; then
        cp "$aof_source" "$directory/run/appendonly.aof"
        extra=(--appendfilename appendonly.aof)
    else
        cp -r "$aof_source" "$directory/run/"
    fi
    local port; port="$(free_port)"
    local start; start="$(now)"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$directory/run" --save '' --appendonly yes "${extra[@]}" >/dev/null 2>&1 &
    pid=$!
    until_pong "$start" "$port"
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait "$pid" 2>/dev/null || true
    pid=""
}
start_rewind() {
    rm -rf "$directory/run"; mkdir -p "$directory/run"
    cp -r "$directory/workload.rwlog" "$directory/run/log"
    local port; port="$(free_port)"
    local start; start="$(now)"
    "$rewind" serve --dir "$directory/run/log" --port "$port" >/dev/null 2>&1 &
    pid=$!
    until_pong "$start" "$port"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    pid=""
}

ratios=()
for round in $(seq 1 "$rounds"); do
    if (( round % 2 == 1 )); then ours="$(start_rewind)"; theirs="$(start_redis)"; else theirs="$(start_redis)"; ours="$(start_rewind)"; fi
    ratio="$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
    ratios+=("$ratio")
    echo "round $round: rewind serve ${ours} s, redis-server ${theirs} s to the first PONG: ${ratio}x"
done
echo "median ratio rewind/redis: $(median "${ratios[@]}")x (target: at most 0.5x)"
