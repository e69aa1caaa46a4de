import Foundation
import RewindEngine
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("Checkpoints: a second replay starts from the nearest one")
struct CheckpointTests {
    func workloadLog(_ directory: TemporaryDirectory, commands: Int = 6_000) throws -> String {
        let log = directory.appending("workload.rwlog")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no))
        var generator = WorkloadGenerator(seed: 11, commandCount: commands, keyCount: 300)
        while let item = generator.next() {
            try writer.append(contentsOf: item.entries, transaction: item.entries.count > 1)
        }
        try writer.close()
        return log
    }

    @Test("Replays to any point from a checkpoint give the digest of a replay from the beginning",
          arguments: [UInt64(999), 1_000, 1_001, 3_333, 5_000])
    func samePoint(until: UInt64) throws {
        let directory = try TemporaryDirectory()
        let log = try workloadLog(directory)
        let checkpoints = ReplayCheckpoints(everyEntryCount: 1_000)
        _ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), checkpoints: checkpoints)
        #expect(checkpoints.checkpoints.count >= 5)
        let keyspace = Keyspace(randomSeed: 0)
        var fromCheckpoint = try Replayer(log: log).replay(into: keyspace, options: ReplayOptions(untilSequence: until), checkpoints: checkpoints)
        Replayer.summarizeState(of: keyspace, into: &fromCheckpoint)
        let (_, fromStart) = try replayed(log, ReplayOptions(untilSequence: until))
        if until < 1_000 {
            #expect(fromCheckpoint.startedFromCheckpoint == nil)
        } else {
            let used = try #require(fromCheckpoint.startedFromCheckpoint)
            #expect(used <= until)
            #expect(until - used < 1_010)
        }
        #expect(fromCheckpoint.lastSequence == fromStart.lastSequence)
        #expect(fromCheckpoint.digest == fromStart.digest)
    }

    @Test("Checkpoints are never inside a transaction, and filters do not use them")
    func boundaries() throws {
        let directory = try TemporaryDirectory()
        let log = try workloadLog(directory, commands: 3_000)
        let checkpoints = ReplayCheckpoints(everyEntryCount: 7)
        _ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), checkpoints: checkpoints)
        let (entries, _) = try LogReader(directory: log).readAll()
        var open = Set<UInt64>()
        var inside = false
        for entry in entries {
            if entry.kind == .transactionBegin { inside = true }
            if inside && entry.kind == .command { open.insert(entry.sequence) }
            if entry.kind == .transactionEnd { inside = false }
        }
        #expect(checkpoints.checkpoints.allSatisfy { !open.contains($0.sequence) })
        let filtered = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), options: ReplayOptions(untilSequence: 2_000, onlyDatabase: 0),
                                                     checkpoints: checkpoints)
        #expect(filtered.startedFromCheckpoint == nil)
    }

    @Test("ReplayedState starts from a checkpoint")
    func replayedState() throws {
        let directory = try TemporaryDirectory()
        let log = try workloadLog(directory)
        let checkpoints = ReplayCheckpoints(everyEntryCount: 2_000)
        let whole = try ReplayedState(log: log, checkpoints: checkpoints)
        let middle = try ReplayedState(log: log, until: .sequence(3_000), checkpoints: checkpoints)
        #expect(middle.summary.startedFromCheckpoint != nil)
        #expect(middle.digest == (try ReplayedState(log: log, until: .sequence(3_000))).digest)
        #expect(whole.summary.startedFromCheckpoint == nil)
    }
}
