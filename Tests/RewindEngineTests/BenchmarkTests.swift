// A short in-process throughput check, run only when REWIND_BENCH is set (use a release build:
// `swift build -c release --build-tests` and run the test binary with REWIND_BENCH=1).

import Foundation
import RewindEngine
import Testing

@Suite("Benchmarks")
struct BenchmarkTests {
    @Test("GET/SET throughput", .enabled(if: ProcessInfo.processInfo.environment["REWIND_BENCH"] != nil))
    func getSetThroughput() {
        let keyspace = Keyspace(randomSeed: 1)
        var session = ClientSession()
        let keys = (0..<100_000).map { Array("key:\($0)".utf8) }
        let set = Array("SET".utf8), get = Array("GET".utf8), value = Array("value-0123456789".utf8)
        let operationCount = 2_000_000
        let start = Date()
        for index in 0..<operationCount {
            let key = keys[index % keys.count]
            let arguments = index % 2 == 0 ? [set, key, value] : [get, key]
            _ = keyspace.execute(arguments, session: &session, nowMilliseconds: 1_700_000_000_000)
        }
        let seconds = Date().timeIntervalSince(start)
        print("benchmark: \(operationCount) GET/SET in \(String(format: "%.2f", seconds)) s = \(Int(Double(operationCount) / seconds)) ops/s")
    }
}
