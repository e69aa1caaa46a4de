import Foundation
import RewindEngine
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("Bisect state materializer")
struct StateMaterializerTests {
    /// Moving forward and back (undoing journals, or replaying after a FLUSHDB poisons one) gives
    /// exactly the state a fresh replay to the same point gives.
    @Test("every state reached by undo equals a fresh replay to the same point")
    func undoIsExact() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-materializer")
        let writer = try LogWriter.open(directory: directory.path, options: .init(durability: .no, trainsDictionary: false))
        var generator = WorkloadGenerator(seed: 3, commandCount: 3_000, keyCount: 200)
        var count = 0
        while let item = generator.next() {
            try writer.append(contentsOf: item.entries, transaction: item.entries.count > 1)
            count += 1
            let time = item.entries[0].timestampMilliseconds
            if count == 700 { try writer.append(.command(["MOVE", "string:7", "3"], at: time)) }
            if count == 900 { try writer.append(.command(["COPY", "hash:3", "copied", "DB", "2"], at: time)) }
            if count == 2_000 { try writer.append(.command(["FLUSHDB"], at: time, db: 1)) }
        }
        try writer.close()
        let (boundaries, _) = try LogUnits.boundaries(log: directory.path, recovery: .tolerateTail)
        let states = StateMaterializer(log: directory.path, recovery: .tolerateTail)
        var random = SeededGenerator(seed: 11)
        var rollbacks = 0
        for step in 0..<40 {
            let target = boundaries[Int.random(in: 0..<boundaries.count, using: &random)]
            try states.move(to: target)
            if step % 3 == 0 { states.savepoint(only: step % 2 == 0) }
            if step % 5 == 1 { states.captureCheckpoint() }
            if step % 7 == 2 { states.dropSavepoints() }
            let fresh = Keyspace(randomSeed: 0)
            _ = try Replayer(log: directory.path).replay(into: fresh, options: ReplayOptions(untilSequence: target))
            #expect(StateDigest.digest(of: states.keyspace) == StateDigest.digest(of: fresh), "at #\(target), step \(step)")
            #expect(states.position == target)
            rollbacks = states.rollbackCount
        }
        #expect(rollbacks > 5)
        #expect(states.restoreCount > 0)
        #expect(states.rebuiltKeyCount > 0)
    }
}
