#!/usr/bin/env bash
# Throughput of `rewind serve` against redis-server 7.0 with AOF, same machine, same run.
#
# Starts each server with the same appendfsync on a free port and a fresh directory, runs
# redis-benchmark against both (`-t set,incr,lpush,hset,sadd,zadd -n N -r 100000`, once with -P 1
# and once with -P 16), and prints ops/s per command, the ratio rewind/redis, and each server's CPU
# time per request (user + system, all its threads, from /proc/PID/stat around each run).
#
#   tools/server-benchmark/run.sh [--appendfsync always|everysec|no] [--requests N] [--rewind PATH] [--rounds N]
#       [--tests set,incr,...] [--reply-before-write]
#
# The two servers are measured in pairs: for each command, redis-benchmark runs against one
# server and right after against the other, so the two numbers of a ratio are seconds apart
# (measuring all six commands on one server and then on the other put them 20-40 s apart, and
# the machine's speed drifts over that). Each server still sees the commands in the same order
# as one `-t set,incr,...` run would send them, on the keys the earlier commands left.
#
# With --rounds N (default 1), each pipeline depth runs N rounds, each with two fresh servers,
# alternating which one is measured first; the table then shows the median ops/s of each side,
# the median of the per-round ratios, and every round's ratio. On a small shared machine one
# run of either server moves by 10-25% from the next (redis-server against itself as well), so
# a single ratio near 1.0 says little.
#
# Build rewind in release mode first: swift build -c release --product rewind
set -euo pipefail

policy=everysec
requests=200000
tests=set,incr,lpush,hset,sadd,zadd
rewind=""
extra=""
rounds=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --appendfsync) policy="$2"; shift 2 ;;
        --requests) requests="$2"; shift 2 ;;
        --tests) tests="$2"; shift 2 ;;
        --rewind) rewind="$2"; shift 2 ;;
        --reply-before-write) extra="--reply-before-write"; shift ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
# shellcheck source=tools/server-benchmark/common.sh
source "$(dirname "$0")/common.sh"
find_rewind

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The CPU time a process has used so far (user + system, all threads), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
ticks_per_second="$(getconf CLK_TCK)"
# Prints the ops/s of one redis-benchmark run of one command (0 if it printed none) and the
# server's CPU time per request during it, in microseconds.
bench() {
    local port="$1" pipeline="$2" test="$3" pid="$4" ops before after
    before="$(cpu_ticks "$pid")"
    ops="$(redis-benchmark -p "$port" -t "$test" -n "$requests" -r 100000 -P "$pipeline" --csv </dev/null 2>/dev/null \
        | tail -n +2 | tr -d '"' | awk -F, 'NR == 1 { print $2 }')"
    after="$(cpu_ticks "$pid")"
    echo "${ops:-0} $(awk -v t=$(( after - before )) -v hz="$ticks_per_second" -v n="$requests" 'BEGIN { printf "%.2f", t / hz / n * 1e6 }')"
}


echo "appendfsync $policy, $requests requests per command, $rounds round(s), rewind: $rewind"
if [[ "$rounds" -gt 1 ]]; then
    printf '%-8s %-4s %14s %14s %8s %22s  %s\n' command P "rewind ops/s" "redis ops/s" ratio "CPU us/req ours/redis" "(median of rounds; each round's ratio)"
else
    printf '%-8s %-4s %14s %14s %8s %22s\n' command P "rewind ops/s" "redis ops/s" ratio "CPU us/req ours/redis"
fi
for pipeline in 1 16; do
    declare -A rewind_all=() redis_all=() ratio_all=() rewind_cpu=() redis_cpu=()
    for round in $(seq 1 "$rounds"); do
        redis_port="$(free_port)"; rewind_port="$(free_port)"
        directory="$work/round-$round-P$pipeline"
        mkdir -p "$directory/redis" "$directory/rewind"
        redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$directory/redis" --save '' \
            --appendonly yes --appendfsync "$policy" --daemonize no >/dev/null 2>&1 &
        redis_pid=$!; pids+=($!)
        "$rewind" serve --dir "$directory/rewind/log" --port "$rewind_port" --appendfsync "$policy" $extra >/dev/null 2>&1 &
        rewind_pid=$!; pids+=($!)
        wait_for "$redis_port"; wait_for "$rewind_port"
        for test in ${tests//,/ }; do
            name="${test^^}"
            if (( round % 2 == 1 )); then
                read -r ours our_cpu < <(bench "$rewind_port" "$pipeline" "$test" "$rewind_pid")
                read -r theirs their_cpu < <(bench "$redis_port" "$pipeline" "$test" "$redis_pid")
            else
                read -r theirs their_cpu < <(bench "$redis_port" "$pipeline" "$test" "$redis_pid")
                read -r ours our_cpu < <(bench "$rewind_port" "$pipeline" "$test" "$rewind_pid")
            fi
            rewind_all[$name]+="$ours "
            redis_all[$name]+="$theirs "
            rewind_cpu[$name]+="$our_cpu "
            redis_cpu[$name]+="$their_cpu "
            ratio_all[$name]+="$(awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }') "
        done
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
        redis-cli -p "$rewind_port" shutdown >/dev/null 2>&1 || true
    done
    for name in "${!redis_all[@]}"; do
        # shellcheck disable=SC2086
        ours="$(median ${rewind_all[$name]})"; theirs="$(median ${redis_all[$name]})"; ratio="$(median ${ratio_all[$name]})"
        cpu="$(median ${rewind_cpu[$name]}) / $(median ${redis_cpu[$name]})"
        if [[ "$rounds" -gt 1 ]]; then
            printf '%-8s %-4s %14s %14s %7sx %22s  %s\n' "$name" "$pipeline" "$ours" "$theirs" "$ratio" "$cpu" "${ratio_all[$name]}"
        else
            printf '%-8s %-4s %14s %14s %7sx %22s\n' "$name" "$pipeline" "$ours" "$theirs" "$ratio" "$cpu"
        fi
    done | sort
    unset rewind_all redis_all ratio_all rewind_cpu redis_cpu
done
