#!/bin/sh
# Large-scale differential run of the engine against redis-server 7.0 (DESIGN §8).
#
# Runs the in-suite differential test with more seeds and operations, for example
#   tools/differential.sh 1-10 100000     # 10 seeds x 100,000 operations = 1,000,000 ops
# Every divergence is printed with its seed, operation number and both replies; rerun a single
# seed with REWIND_TRACE_SEED=<seed> to print every command of that seed.
set -eu
seeds="${1:-1-10}"
operations="${2:-100000}"
cd "$(dirname "$0")/.."
swift build --scratch-path .build-engine --build-tests
REWIND_DIFF_SEEDS="$seeds" REWIND_DIFF_OPS="$operations" \
  .build-engine/debug/RewindPackageTests.xctest --testing-library swift-testing \
  --filter randomCommandsMatchRedis
