// Differential tests: the engine against a live redis-server 7.0 on the same commands.

import Foundation
import RewindEngine
import RewindRESP
import Testing

@Suite("Engine against redis-server 7.0", .serialized)
struct DifferentialTests {
    /// Seeds and operation counts of the in-suite run. `tools/differential.sh` raises them through
    /// REWIND_DIFF_SEEDS (a count, or "first-last") and REWIND_DIFF_OPS for large runs.
    static let seeds: [UInt64] = {
        guard let text = ProcessInfo.processInfo.environment["REWIND_DIFF_SEEDS"] else { return Array(1...8) }
        let bounds = text.split(separator: "-").compactMap { UInt64($0) }
        if bounds.count == 2 { return Array(bounds[0]...bounds[1]) }
        return Array(1...(bounds.first ?? 8))
    }()
    static let operationsPerSeed = ProcessInfo.processInfo.environment["REWIND_DIFF_OPS"].flatMap { Int($0) } ?? 1500

    @Test("Seeded random commands get Redis's replies and leave Redis's state")
    func randomCommandsMatchRedis() throws {
        guard let server = try RedisServerProcess.start() else {
            print("redis-server not installed; differential test skipped")
            return
        }
        defer { server.stop() }
        let client = try RESPTestClient(port: server.port)
        var total = 0
        var divergences: [String] = []
        for seed in Self.seeds {
            let runner = try DifferentialRunner(client: client, seed: seed)
            try runner.run(operations: Self.operationsPerSeed)
            total += runner.operationCount
            divergences += runner.divergences
            if runner.divergenceCount > runner.divergences.count {
                divergences.append("seed \(seed): \(runner.divergenceCount - runner.divergences.count) more")
            }
        }
        print("differential: \(total) random operations, \(divergences.count) divergences")
        #expect(divergences.isEmpty, "\(divergences.joined(separator: "\n"))")
    }

    @Test("Every command table row matches COMMAND INFO of redis-server")
    func commandTableMatchesRedis() throws {
        guard let server = try RedisServerProcess.start() else { return }
        defer { server.stop() }
        let client = try RESPTestClient(port: server.port)
        for spec in Keyspace.commandTable {
            let reply = try client.send(["COMMAND", "INFO", spec.name])
            guard case .array(let entries) = reply, case .array(let info)? = entries.first, info.count >= 7 else {
                Issue.record("redis has no command \(spec.name)")
                continue
            }
            let triple = [Int64(spec.keys.legacyTriple.first), Int64(spec.keys.legacyTriple.last), Int64(spec.keys.legacyTriple.step)]
            #expect(info[1] == .integer(Int64(spec.arity)), "arity of \(spec.name)")
            #expect(info[2] == .array(spec.flags.redisNames.map { .simpleString($0) }), "flags of \(spec.name)")
            #expect([info[3], info[4], info[5]] == triple.map { .integer($0) }, "keys of \(spec.name)")
            #expect(info[6] == .array(spec.aclCategories.map { .simpleString($0) }), "ACL categories of \(spec.name)")
        }
    }
}
