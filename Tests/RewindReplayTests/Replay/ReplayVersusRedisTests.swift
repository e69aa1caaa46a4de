import Foundation
import RewindEngine
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

/// Replay must give the data set redis-server 7.0 has after loading the same commands from its
/// AOF, compared with DEBUG DIGEST. Each test also expects that the engine refused no command
/// (the helper can delete refused keys on the Redis side, to locate a difference while a command
/// is missing), and that the engine's digest equals the one computed from its read replies.
@Suite("Replay versus redis-server loading the same AOF", .serialized, .enabled(if: RedisProcess.isAvailable))
struct ReplayVersusRedisTests {
    /// Replays `log` and returns the summary and the (db, key) of every command the engine refused.
    func replayWithRefusals(_ log: String, _ options: ReplayOptions = ReplayOptions()) throws -> (ReplaySummary, [(Int, String)]) {
        let keyspace = Keyspace(randomSeed: 0)
        var refused: [(Int, String)] = []
        var summary = try Replayer(log: log).replay(into: keyspace, options: options, observer: { applied in
            if case .error(_) = applied.reply, applied.command.arguments.count > 1 {
                refused.append((applied.command.db, String(decoding: applied.command.arguments[1], as: UTF8.self)))
            }
        })
        Replayer.summarizeState(of: keyspace, into: &summary)
        #expect(StateDigest.digestThroughCommands(of: keyspace) == summary.digest)
        return (summary, refused)
    }

    @Test("The fixture AOF written by redis-server replays to Redis's digest")
    func fixtureAOF() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("fixture.rwlog")
        _ = try AOFImporter.importAOF(from: Fixtures.singleAOF, to: log)
        let (summary, refused) = try replayWithRefusals(log)
        #expect(refused.isEmpty)
        let redis = try RedisProcess.digestOfLoading(aofFile: Fixtures.singleAOF, in: directory.path, deleting: refused)
        #expect(summary.digest == redis)
        if refused.isEmpty { #expect(summary.digest == (try Fixtures.recordedDigest("appendonly.aof"))) }
    }

    @Test("The Redis 7 appenddir fixture replays to Redis's digest")
    func fixtureAppendDirectory() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("dir.rwlog")
        _ = try AOFImporter.importAOF(from: Fixtures.appendDirectory, to: log)
        let (summary, refused) = try replayWithRefusals(log)
        let exported = directory.appending("whole.aof")
        _ = try AOFExporter.export(log: log, to: exported)
        let redis = try RedisProcess.digestOfLoading(aofFile: exported, in: directory.path, deleting: refused)
        #expect(summary.digest == redis)
    }

    @Test("A seeded 20,000-command workload replays to Redis's digest, whole and to a point", arguments: [nil, UInt64(7_777)])
    func workload(until: UInt64?) throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("workload.rwlog")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no))
        var generator = WorkloadGenerator(seed: 7, commandCount: 20_000, keyCount: 2_000)
        while let item = generator.next() {
            // Five years later, so redis-server's active expiry does not delete the keys with a
            // TTL before DEBUG DIGEST runs (the generator's clock starts in 2023).
            let entries = item.entries(movedLaterBy: WorkloadGenerator.fiveYearsMilliseconds)
            try writer.append(contentsOf: entries, transaction: entries.count > 1)
        }
        try writer.close()
        let (summary, refused) = try replayWithRefusals(log, ReplayOptions(untilSequence: until))
        #expect(summary.keyCount > 1000)
        let exported = directory.appending("workload.aof")
        _ = try AOFExporter.export(log: log, to: exported, options: .init(until: summary.lastSequence))
        let redis = try RedisProcess.digestOfLoading(aofFile: exported, in: directory.path, deleting: refused)
        #expect(summary.digest == redis, "\(refused.count) keys refused by the engine were left out on both sides")
        #expect(refused.isEmpty)
    }

    @Test("--to-aof writes a file redis-server loads to the replayed digest")
    func stateToAOF() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("fixture.rwlog")
        _ = try AOFImporter.importAOF(from: Fixtures.appendDirectory, to: log)
        let keyspace = Keyspace(randomSeed: 0)
        var summary = try Replayer(log: log).replay(into: keyspace)
        Replayer.summarizeState(of: keyspace, into: &summary)
        let aof = directory.appending("state.aof")
        _ = try StateDump.writeAOF(of: keyspace, to: aof)
        let redis = try RedisProcess.digestOfLoading(aofFile: aof, in: directory.path, deleting: [])
        #expect(redis == summary.digest)
    }
}
