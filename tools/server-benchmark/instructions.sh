#!/usr/bin/env bash
# User-space instructions per request of `rewind serve` and of redis-server (AOF on, same
# appendfsync), counted by valgrind's callgrind while redis-benchmark sends the same requests.
#
# Throughput on a small shared machine moves by 10-25% from one run to the next, so a change worth
# 3% cannot be seen in ops/s. An instruction count barely moves between runs (under 0.5% here),
# which makes it the measure for the per-request CPU cost of the server's own code. It counts user
# space only: the kernel's share (socket reads and writes, fdatasync, about two thirds of a
# request's CPU at -P 1) is not in it, and neither are cache misses.
#
#   tools/server-benchmark/instructions.sh [--test incr] [-P 1] [--requests 20000]
#       [--appendfsync always] [--rewind PATH] [--compare PATH] [--redis]
#
# --compare PATH counts a second rewind build too (a before/after of a change); --redis counts
# redis-server as the reference. Each server first gets a warm-up of 12,000 requests (past the
# log's dictionary training, whose one-time cost would otherwise dominate), then the counters are
# zeroed and the measured requests are sent. Needs valgrind (apt-get install valgrind); the Swift
# binary is copied without its DWARF (valgrind 3.19 cannot read it), keeping its symbol table.
set -euo pipefail

test=incr
pipeline=1
requests=20000
policy=always
rewind=""
compare=""
with_redis=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --test) test="$2"; shift 2 ;;
        -P) pipeline="$2"; shift 2 ;;
        --requests) requests="$2"; shift 2 ;;
        --appendfsync) policy="$2"; shift 2 ;;
        --rewind) rewind="$2"; shift 2 ;;
        --compare) compare="$2"; shift 2 ;;
        --redis) with_redis=1; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
# shellcheck source=tools/server-benchmark/common.sh
source "$(dirname "$0")/common.sh"
find_rewind
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 2; }

work="$(mktemp -d)"
# `count` runs in a command substitution (a subshell): the server's pid goes through a file, so
# that the cleanup, in this shell, can stop a server a failed count left running.
cleanup() {
    if [[ -f "$work/server.pid" ]]; then
        local pid; pid="$(cat "$work/server.pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Prints the user-space instructions per request of one server; arguments: a name and the
# server's command line (the port is appended as the last two words).
count() {
    local name="$1"; shift
    local port; port="$(free_port)"
    local out="$work/$name.callgrind"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$@" --port "$port" >"$work/$name.log" 2>&1 &
    local server_pid=$!
    echo "$server_pid" >"$work/server.pid"
    wait_for "$port" 600  # valgrind starts slowly
    redis-benchmark -p "$port" -t "$test" -n 12000 -r 100000 -P "$pipeline" -q >/dev/null 2>&1
    sleep 3
    callgrind_control -z "$server_pid" >/dev/null 2>&1
    redis-benchmark -p "$port" -t "$test" -n "$requests" -r 100000 -P "$pipeline" -q >/dev/null 2>&1
    callgrind_control -d "$server_pid" >/dev/null 2>&1
    kill -INT "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    rm -f "$work/server.pid"
    # The dump taken after the measured requests (the first numbered part).
    local total
    total="$(grep -h '^totals:' "$out".1 2>/dev/null | awk '{ print $2 }')"
    [[ -n "$total" ]] || { echo "no callgrind dump for $name (see $work/$name.log)" >&2; exit 1; }
    echo $(( total / requests ))
}

rewind_binary() {
    strip --strip-debug -o "$work/$1" "$2"
    echo "$work/$1"
}

echo "$test -P $pipeline, appendfsync $policy, $requests requests after a warm-up: user-space instructions per request"
ours="$(count rewind "$(rewind_binary rewind "$rewind")" serve --dir "$work/rewind-log" --appendfsync "$policy")"
printf '%-10s %10s  %s\n' rewind "$ours" "$rewind"
if [[ -n "$compare" ]]; then
    other="$(count compare "$(rewind_binary compare "$compare")" serve --dir "$work/compare-log" --appendfsync "$policy")"
    printf '%-10s %10s  %s  (%s x of it)\n' compare "$other" "$compare" "$(awk -v a="$ours" -v b="$other" 'BEGIN { printf "%.3f", a / b }')"
fi
if [[ "$with_redis" == 1 ]]; then
    mkdir -p "$work/redis"
    theirs="$(count redis redis-server --bind 127.0.0.1 --dir "$work/redis" --save '' --appendonly yes --appendfsync "$policy")"
    printf '%-10s %10s  redis-server (rewind is %s x of it)\n' redis "$theirs" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
fi
