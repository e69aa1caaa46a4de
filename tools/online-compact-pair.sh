#!/bin/bash
# Paired: redis-server BGREWRITEAOF, then rewind serve BGREWRITEAOF, on the same data, 3 rounds.
# Run tools/compact-bench first (it leaves the workload log and Redis's rewritten appenddir in
# DIR, default /tmp/rewind-compact-bench), and build rewind in release.
# Usage: tools/online-compact-pair.sh [DIR]
B="$(cd "$(dirname "$0")/.." && pwd)/.build/release/rewind"
DIR="${1:-/tmp/rewind-compact-bench}"
cd "$DIR"
now() { date +%s.%N; }
wait_done() { for i in $(seq 1 2000); do redis-cli -p $1 info persistence | grep -q "aof_rewrite_in_progress:0" && return; sleep 0.01; done; }
for round in 1 2 3; do
  redis-server --port 17010 --dir "$DIR"/redis --appendonly yes --appendfilename appendonly.aof --save '' --logfile "$DIR"/pair-redis.log --daemonize no &
  RP=$!
  for i in $(seq 1 600); do redis-cli -p 17010 ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  for i in $(seq 1 600); do redis-cli -p 17010 info persistence | grep -q "loading:0" && break; sleep 0.1; done
  t0=$(now); redis-cli -p 17010 bgrewriteaof >/dev/null; sleep 0.01; wait_done 17010; t1=$(now)
  redis-cli -p 17010 shutdown nosave >/dev/null; wait $RP
  rm -rf o3 && cp -r workload.rwlog o3
  $B serve --dir o3 --port 17011 --auto-compact-percentage 0 > /dev/null 2> o3.err &
  SP=$!
  for i in $(seq 1 600); do redis-cli -p 17011 ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
  sleep 1
  t2=$(now); redis-cli -p 17011 bgrewriteaof >/dev/null; wait_done 17011; t3=$(now)
  redis-cli -p 17011 shutdown >/dev/null; wait $SP
  echo "round $round: redis $(echo "$t1 - $t0" | bc) s, rewind $(echo "$t3 - $t2" | bc) s, ratio $(echo "scale=2; ($t3 - $t2) / ($t1 - $t0)" | bc)"
done
