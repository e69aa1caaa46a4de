import Foundation
import RewindLog
import RewindTestSupport
import Testing

/// The writer's side of online compaction: rotate at a cut, write a base, install it while
/// appends go on. Entries are opaque here: the "base" is any entries the caller chooses.
@Suite("LogWriter online compaction")
struct OnlineCompactionTests {
    static let time: Int64 = 1_800_000_000_000

    static func command(_ index: Int) -> LogEntry { .command(["SET", "k\(index % 37)", "value \(index)"], at: time + Int64(index)) }

    /// Every entry of the log, with the sequence number a reader gives it.
    static func entries(_ directory: String) throws -> [LogEntry] {
        try LogReader(directory: directory).readAll(recovery: .absolute).entries
    }

    /// `count` sequence numbers after `sequence`.
    static func dense(after sequence: UInt64, count: Int) -> [UInt64] { (0..<UInt64(count)).map { sequence + 1 + $0 } }

    /// Writes `entries` as the base for `cut` and installs it.
    @discardableResult
    static func compact(_ writer: LogWriter, cut: OnlineCompactionCut, base: [LogEntry],
                        onStep: ((LogCompaction.Step) -> Void)? = nil) throws -> [String] {
        let builder = try writer.makeBaseBuilder(for: cut, onStep: onStep)
        for entry in base { try builder.append(entry) }
        return try writer.installBase(try builder.finish(), replacingThrough: cut, onStep: onStep)
    }

    @Test("Rotate cuts after the last append; install swaps in [base] + the segments after it; kept sequence numbers do not change")
    func rotateAndInstall() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .always, segmentByteCountTarget: 4096, trainsDictionary: false))
        for index in 1...300 { try writer.append(Self.command(index)) }
        let before = try ManifestStore.load(directory: log)
        #expect(before.segments.count > 2)  // small segments: the base replaces several

        let cut = try writer.rotateForCompaction()
        #expect(cut.sequence == 300)
        #expect(cut.compactsHistory)
        #expect(writer.isCompacting)
        #expect(cut.replacedSegmentFileNames == before.segments.map(\.fileName))
        // A second compaction cannot start while this one runs.
        #expect(throws: LogError.self) { try writer.rotateForCompaction() }

        for index in 301...340 { try writer.append(Self.command(index)) }
        let base = (0..<37).map { LogEntry.command(["SET", "k\($0)", "rebuilt"], at: Self.time) }
        let deleted = try Self.compact(writer, cut: cut, base: base)
        #expect(Set(deleted) == Set(before.segments.map(\.fileName)))
        #expect(!writer.isCompacting)
        for index in 341...350 { try writer.append(Self.command(index)) }

        let manifest = try ManifestStore.load(directory: log)
        #expect(manifest.segments.first?.kind == .base)
        #expect(manifest.segments.first?.firstSequence == 300)
        #expect(manifest.segments.dropFirst().allSatisfy { $0.firstSequence > 300 && $0.kind == .incr })
        for name in before.segments.map(\.fileName) { #expect(!FileManager.default.fileExists(atPath: log + "/" + name)) }

        let read = try Self.entries(log)
        #expect(read.prefix(37).map(\.arguments) == base.map(\.arguments))
        #expect(read.prefix(37).allSatisfy { $0.sequence == 300 })
        let kept = Array(read.dropFirst(37))
        #expect(kept.map(\.sequence) == Array(301...350))
        #expect(kept.map(\.arguments) == (301...350).map { Self.command($0).arguments })
        // The size the writer reports is the size of what the manifest names, less the zeros
        // preallocated ahead of the open segment's records (under `always`).
        let onDisk = (manifest.segments.map(\.fileName) + manifest.dictionaries.map(\.fileName))
            .reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: log + "/" + $1)[.size] as? Int) ?? 0) }
        let preallocated = try LogReader(directory: log).forEachEntry(recovery: .absolute) { _ in }.preallocatedByteCount
        #expect(preallocated > 0)
        #expect(writer.byteCount == onDisk - preallocated)
        try writer.close()

        // Reopened, the writer continues after the last entry.
        let reopened = try LogWriter.open(directory: log)
        #expect(reopened.nextSequenceNumber == 351)
        try reopened.close()
    }

    @Test("Entries still pending in the batch at the cut go to the segment before it")
    func pendingBatchIsSealed() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        // A long flush interval and a large batch target: appends stay pending until the cut.
        let writer = try LogWriter.open(directory: log, options: .init(
            durability: .no, trainsDictionary: false, recordByteCountTarget: 1 << 24, flushIntervalMilliseconds: 60_000))
        for index in 1...50 { try writer.append(Self.command(index)) }
        #expect(writer.writtenSequenceNumber < 50)
        let cut = try writer.rotateForCompaction()
        #expect(cut.sequence == 50)
        #expect(writer.writtenSequenceNumber == 50)
        #expect(writer.durableSequenceNumber == 50)
        for index in 51...60 { try writer.append(Self.command(index)) }
        try writer.sync()
        var segmentOf: [UInt64: Int] = [:]
        try LogReader(directory: log).forEachEntry(onRecord: { info in
            for sequence in info.firstSequence...info.lastSequence { segmentOf[sequence] = info.segmentIndex }
        }) { _ in }
        #expect((1...50).allSatisfy { segmentOf[UInt64($0)] == 0 })
        #expect((51...60).allSatisfy { segmentOf[UInt64($0)] == 1 })
        writer.abandonCompaction(cut)
        try writer.close()
        #expect(try Self.entries(log).map(\.sequence) == Array(1...60))
    }

    @Test("Nothing to compact: an empty log, or nothing appended since the last compaction")
    func nothingToCompact() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .always, trainsDictionary: false))
        let empty = try writer.rotateForCompaction()
        #expect(empty.sequence == 0)
        #expect(!empty.compactsHistory)
        #expect(!writer.isCompacting)
        for index in 1...20 { try writer.append(Self.command(index)) }
        let cut = try writer.rotateForCompaction()
        try Self.compact(writer, cut: cut, base: [LogEntry.command(["SET", "k", "v"], at: Self.time)])
        let again = try writer.rotateForCompaction()
        #expect(again.sequence == 20)
        #expect(!again.compactsHistory)
        #expect(!writer.isCompacting)
        try writer.append(Self.command(21))
        let third = try writer.rotateForCompaction()
        #expect(third.compactsHistory)
        #expect(third.baseFileName != cut.baseFileName)
        try Self.compact(writer, cut: third, base: [LogEntry.command(["SET", "k", "w"], at: Self.time)])
        try writer.close()
        let read = try Self.entries(log)
        #expect(read.map(\.sequence) == [21])
        #expect(read.first?.arguments == [Array("SET".utf8), Array("k".utf8), Array("w".utf8)])
    }

    @Test("An abandoned compaction removes its partial base and leaves the log as it was")
    func abandon() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .always, trainsDictionary: false))
        for index in 1...30 { try writer.append(Self.command(index)) }
        let cut = try writer.rotateForCompaction()
        let builder = try writer.makeBaseBuilder(for: cut)
        try builder.append(LogEntry.command(["SET", "k", "v"], at: Self.time))
        _ = try builder.finish()
        #expect(FileManager.default.fileExists(atPath: log + "/" + cut.baseFileName))
        writer.abandonCompaction(cut)
        #expect(!FileManager.default.fileExists(atPath: log + "/" + cut.baseFileName))
        for index in 31...35 { try writer.append(Self.command(index)) }
        #expect(try Self.entries(log).map(\.sequence) == Array(1...35))
        // A later compaction works.
        let next = try writer.rotateForCompaction()
        try Self.compact(writer, cut: next, base: [LogEntry.command(["SET", "k", "v"], at: Self.time)])
        try writer.close()
        #expect(try Self.entries(log).map(\.sequence) == [35])
    }

    @Test("Appends from several threads during the whole compaction: every acknowledged entry is kept, dense and in order, and a reader sees a whole log at every step",
          arguments: [DurabilityPolicy.always, .everysec])
    func concurrentAppends(policy: DurabilityPolicy) throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: policy, segmentByteCountTarget: 16 * 1024,
                                                                     dictionarySampleEntryCount: 500))
        for index in 1...2000 { try writer.append(Self.command(index)) }

        final class Appended: @unchecked Sendable {
            let lock = NSLock()
            var entries: [UInt64: [[UInt8]]] = [:]
            var stop = false
        }
        let appended = Appended()
        let group = DispatchGroup()
        for thread in 0..<3 {
            DispatchQueue.global().async(group: group) {
                var index = 0
                while !appended.lock.withLock({ appended.stop }) {
                    let arguments = ["SET", "t\(thread)", "\(index)"]
                    guard let sequence = try? writer.append(.command(arguments, at: Self.time + 5000)) else { break }
                    appended.lock.withLock { appended.entries[sequence] = arguments.map { Array($0.utf8) } }
                    index += 1
                }
            }
        }
        /// Waits (at most 60 s) until the appenders have added `count` more entries.
        func waitForAppends(_ count: Int) {
            let start = appended.lock.withLock { appended.entries.count }
            for _ in 0..<6000 where appended.lock.withLock({ appended.entries.count }) < start + count { usleep(10_000) }
        }
        waitForAppends(200)
        let cut = try writer.rotateForCompaction()
        #expect(cut.sequence >= 2000)
        var checkedSteps: [LogCompaction.Step] = []
        var stepFailures: [String] = []
        let base = [LogEntry.command(["SET", "base", "state"], at: Self.time + 5000)]
        try Self.compact(writer, cut: cut, base: base, onStep: { step in
            // A reader opened at this moment sees a whole log: the history up to the cut (the old
            // segments or the base), then every entry after it that is written, densely.
            checkedSteps.append(step)
            do {
                let read = try Self.entries(log)
                let afterCut = read.filter { $0.sequence > cut.sequence }.map(\.sequence)
                if afterCut != Self.dense(after: cut.sequence, count: afterCut.count) {
                    stepFailures.append("\(step): entries after the cut are not dense")
                }
                let history = read.filter { $0.sequence <= cut.sequence }
                let isOld = history.map(\.sequence) == Array(1...cut.sequence)
                let isBase = history.map(\.arguments) == base.map(\.arguments)
                if !isOld && !isBase { stepFailures.append("\(step): the history is neither the old one nor the base") }
            } catch {
                stepFailures.append("\(step): \(error)")
            }
        })
        waitForAppends(200)
        appended.lock.withLock { appended.stop = true }
        #expect(group.wait(timeout: .now() + 60) == .success)
        try writer.close()
        #expect(stepFailures.isEmpty, "\(stepFailures)")
        #expect(checkedSteps.contains(.writingBase) && checkedSteps.contains(.manifestRenamed) && checkedSteps.contains(.deletingOld))

        let read = try Self.entries(log)
        let kept = read.filter { $0.sequence > cut.sequence }
        #expect(kept.map(\.sequence) == Self.dense(after: cut.sequence, count: kept.count))
        let expected = appended.lock.withLock { appended.entries }
        #expect(expected.keys.contains { $0 <= cut.sequence } && expected.keys.contains { $0 > cut.sequence })
        for (sequence, arguments) in expected where sequence > cut.sequence {
            #expect(kept[Int(sequence - cut.sequence - 1)].arguments == arguments)
        }
        #expect(UInt64(kept.count) + cut.sequence == expected.keys.max())
    }
}
