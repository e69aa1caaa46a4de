# Shared by the server benchmarks (sourced): the rewind binary to measure, a free port, waiting
# for a server to answer PING, a median.

# Sets `rewind`, when it is empty, to a release build under the repository (the last of
# `.build*/release/rewind` in name order), and stops the script when there is none.
find_rewind() {
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    if [[ -z "$rewind" ]]; then
        for candidate in "$root"/.build*/release/rewind; do [[ -x "$candidate" ]] && rewind="$candidate"; done
    fi
    [[ -x "$rewind" ]] || { echo "build rewind in release mode first (swift build -c release --product rewind)" >&2; exit 2; }
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits up to `$2` tenths of a second (default 150) for a server on port `$1` to answer PONG
# (redis-cli exits 0 on an error reply too, such as redis-server's -LOADING while it loads).
wait_for() {
    local tries="${2:-150}"
    for _ in $(seq 1 "$tries"); do [[ "$(redis-cli -p "$1" ping 2>/dev/null)" == PONG ]] && return 0; sleep 0.1; done
    echo "server on $1 did not start" >&2
    exit 1
}

# The median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
