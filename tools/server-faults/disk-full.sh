#!/usr/bin/env bash
# `rewind serve` on a disk that fills up, for real: the log directory is a small tmpfs (needs
# root, for mount), and several redis-cli writers SET incompressible 4 KB values until the disk
# is full. The test suite's LogFailureTests do the same under `ulimit -f` (EFBIG, no root); this
# is the ENOSPC version, with writers racing each other.
#
#   tools/server-faults/disk-full.sh [--size 3m] [--writers 6] [--rewind PATH]
#
# For each policy it checks:
#   - always: the server exits 1 by itself, saying the log failed with "No space left on device";
#   - everysec: PING and SET get -MISCONF ... No space left on device, a GET of an acknowledged key
#     is answered, and SIGTERM then exits 1;
#   - both: a restart on the same (still full) disk serves every acknowledged key with its value
#     (each writer records a key only after its OK), and nothing else beyond the writes under way
#     when the disk filled (at most one per writer).
# Prints one line per policy and exits 1 on the first failed check.
set -euo pipefail

size=3m
writers=6
rewind=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --size) size="$2"; shift 2 ;;
        --writers) writers="$2"; shift 2 ;;
        --rewind) rewind="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
# shellcheck source=tools/server-benchmark/common.sh
source "$(dirname "$0")/../server-benchmark/common.sh"
find_rewind
[[ $(id -u) == 0 ]] || { echo "needs root (mount -t tmpfs)" >&2; exit 2; }

work="$(mktemp -d)"
mountpoint="$work/disk"
mkdir -p "$mountpoint"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    for job in $(jobs -p); do kill "$job" 2>/dev/null || true; done
    wait 2>/dev/null || true
    umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL ($1): $2" >&2; exit 1; }

for policy in always everysec; do
    mount -t tmpfs -o size="$size" tmpfs "$mountpoint"
    port="$(free_port)"
    "$rewind" serve --dir "$mountpoint/log" --port "$port" --appendfsync "$policy" 2>"$work/serve.err" &
    server_pid=$!
    wait_for "$port"
    rm -rf "$work/values" "$work/acknowledged" "$work/hung"; mkdir -p "$work/values" "$work/acknowledged"
    for writer in $(seq 1 "$writers"); do
        (
            i=0
            while true; do
                value="$(head -c 3000 /dev/urandom | base64 -w0)"
                # A write the log could not take must be answered MISCONF or dropped, never left
                # hanging: 30 s without a reply counts as a failure.
                status=0; reply="$(timeout 30 redis-cli -p "$port" SET "k$writer-$i" "$value" 2>&1)" || status=$?
                [[ "$status" == 124 ]] && echo "k$writer-$i" >> "$work/hung"
                [[ "$reply" == "OK" ]] || break
                printf '%s\n' "$value" > "$work/values/k$writer-$i"
                echo "k$writer-$i" >> "$work/acknowledged/$writer"
                i=$((i + 1))
            done
        ) &
    done
    wait_writers() { for job in $(jobs -p); do [[ "$job" == "$server_pid" ]] || wait "$job" || true; done; }
    wait_writers
    [[ -f "$work/hung" ]] && fail "$policy" "SETs left without a reply for 30 s: $(tr '\n' ' ' < "$work/hung")"
    acknowledged="$(cat "$work"/acknowledged/* 2>/dev/null | wc -l)"
    [[ "$acknowledged" -gt 0 ]] || fail "$policy" "no write was acknowledged"
    # (A writer stops at its first reply other than OK: MISCONF, or the connection closed.)
    if [[ "$policy" == always ]]; then
        for _ in $(seq 1 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$server_pid" 2>/dev/null && fail "$policy" "the server was still running 30 s after the disk filled"
        status=0; wait "$server_pid" || status=$?
        [[ "$status" == 1 ]] || fail "$policy" "the server exited $status, not 1"
    else
        [[ "$(redis-cli -p "$port" PING)" == *"MISCONF Errors writing to the AOF file: No space left on device"* ]] \
            || fail "$policy" "PING was not refused with MISCONF"
        [[ "$(redis-cli -p "$port" SET after 1)" == *"MISCONF"* ]] || fail "$policy" "a SET was not refused"
        first="$(head -n 1 "$work/acknowledged/1")"
        [[ "$(redis-cli -p "$port" GET "$first")" == "$(cat "$work/values/$first")" ]] || fail "$policy" "a read was not served"
        kill "$server_pid"
        status=0; wait "$server_pid" || status=$?
        [[ "$status" == 1 ]] || fail "$policy" "SIGTERM after the failure exited $status, not 1"
    fi
    server_pid=""
    grep -q "the log failed: .*No space left on device" "$work/serve.err" || fail "$policy" "no 'the log failed' message: $(tail -3 "$work/serve.err")"
    # Restart on the same, still full, disk.
    port="$(free_port)"
    "$rewind" serve --dir "$mountpoint/log" --port "$port" --appendfsync "$policy" 2>"$work/restart.err" &
    server_pid=$!
    wait_for "$port"
    for key in $(cat "$work"/acknowledged/*); do
        [[ "$(redis-cli -p "$port" GET "$key")" == "$(cat "$work/values/$key")" ]] || fail "$policy" "acknowledged $key lost or changed"
    done
    keys="$(redis-cli -p "$port" DBSIZE)"
    (( keys >= acknowledged && keys <= acknowledged + writers )) || fail "$policy" "$keys keys after the restart, $acknowledged acknowledged"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
    server_pid=""
    umount "$mountpoint"
    echo "$policy: disk full after $acknowledged acknowledged writes from $writers writers; $keys keys after the restart, every acknowledged one intact"
done
