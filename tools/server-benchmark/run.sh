#!/usr/bin/env bash
# Throughput of `rewind serve` against redis-server 7.0 with AOF, same machine, same run.
#
# Starts each server with the same appendfsync on a free port and a fresh directory, runs
# redis-benchmark against both (`-t set,incr,lpush,hset,sadd,zadd -n N -r 100000`, once with -P 1
# and once with -P 16), and prints ops/s per command and the ratio rewind/redis.
#
#   tools/server-benchmark/run.sh [--appendfsync always|everysec|no] [--requests N] [--rewind PATH] [--rounds N]
#
# With --rounds N (default 1), each pipeline depth runs N rounds, each with two fresh servers,
# alternating which one is measured first; the table then shows the median ops/s of each side,
# the median of the per-round ratios, and every round's ratio. On a small shared machine one
# round of either server moves by 10-25% from the next, so a single ratio near 1.0 says little.
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

# Prints "command ops" lines for one redis-benchmark run.
bench() {
    local port="$1" pipeline="$2"
    redis-benchmark -p "$port" -t "$tests" -n "$requests" -r 100000 -P "$pipeline" --csv </dev/null 2>/dev/null \
        | tail -n +2 | tr -d '"' | awk -F, '{ print $1, $2 }'
}

# The median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "appendfsync $policy, $requests requests per command, $rounds round(s), rewind: $rewind"
if [[ "$rounds" -gt 1 ]]; then
    printf '%-8s %-4s %14s %14s %8s  %s\n' command P "rewind ops/s" "redis ops/s" ratio "(median of rounds; each round's ratio)"
else
    printf '%-8s %-4s %14s %14s %8s\n' command P "rewind ops/s" "redis ops/s" ratio
fi
for pipeline in 1 16; do
    declare -A rewind_all=() redis_all=() ratio_all=()
    for round in $(seq 1 "$rounds"); do
        redis_port="$(free_port)"; rewind_port="$(free_port)"
        directory="$work/round-$round-P$pipeline"
        mkdir -p "$directory/redis" "$directory/rewind"
        redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$directory/redis" --save '' \
            --appendonly yes --appendfsync "$policy" --daemonize no >/dev/null 2>&1 &
        pids+=($!)
        "$rewind" serve --dir "$directory/rewind/log" --port "$rewind_port" --appendfsync "$policy" $extra >/dev/null 2>&1 &
        pids+=($!)
        wait_for "$redis_port"; wait_for "$rewind_port"
        declare -A rewind_ops=() redis_ops=()
        if (( round % 2 == 1 )); then
            while read -r name ops; do rewind_ops[$name]=$ops; done < <(bench "$rewind_port" "$pipeline")
            while read -r name ops; do redis_ops[$name]=$ops; done < <(bench "$redis_port" "$pipeline")
        else
            while read -r name ops; do redis_ops[$name]=$ops; done < <(bench "$redis_port" "$pipeline")
            while read -r name ops; do rewind_ops[$name]=$ops; done < <(bench "$rewind_port" "$pipeline")
        fi
        for name in "${!redis_ops[@]}"; do
            ours="${rewind_ops[$name]:-0}"; theirs="${redis_ops[$name]}"
            rewind_all[$name]+="$ours "
            redis_all[$name]+="$theirs "
            ratio_all[$name]+="$(awk -v a="$ours" -v b="$theirs" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }') "
        done
        redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
        redis-cli -p "$rewind_port" shutdown >/dev/null 2>&1 || true
        unset rewind_ops redis_ops
    done
    for name in "${!redis_all[@]}"; do
        # shellcheck disable=SC2086
        ours="$(median ${rewind_all[$name]})"; theirs="$(median ${redis_all[$name]})"; ratio="$(median ${ratio_all[$name]})"
        if [[ "$rounds" -gt 1 ]]; then
            printf '%-8s %-4s %14s %14s %7sx  %s\n' "$name" "$pipeline" "$ours" "$theirs" "$ratio" "${ratio_all[$name]}"
        else
            printf '%-8s %-4s %14s %14s %7sx\n' "$name" "$pipeline" "$ours" "$theirs" "$ratio"
        fi
    done | sort
    unset rewind_all redis_all ratio_all
done
