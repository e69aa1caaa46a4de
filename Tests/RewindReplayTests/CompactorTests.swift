import Foundation
@_spi(Testing) import RewindEngine
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

/// A workload log of `commandCount` commands in small records and segments (several segments and
/// a dictionary), moved five years later so that redis-server does not expire its keys on load.
func writeWorkloadLog(at path: String, commandCount: Int, keyCount: Int = 300, seed: UInt64 = 7) throws {
    let writer = try LogWriter.open(directory: path, options: .init(
        durability: .no, segmentByteCountTarget: 12 * 1024, dictionarySampleEntryCount: 500, recordByteCountTarget: 1024,
        pendingByteCountMax: 2048))
    var generator = WorkloadGenerator(seed: seed, commandCount: commandCount, keyCount: keyCount)
    while let item = generator.next() {
        let entries = item.entries(movedLaterBy: WorkloadGenerator.fiveYearsMilliseconds)
        try writer.append(contentsOf: entries, transaction: entries.count > 1)
    }
    try writer.close()
}

/// The raw bytes of every record whose entries are at or after `sequence`, keyed by first sequence.
func recordBytes(_ log: String, from sequence: UInt64) throws -> [UInt64: [UInt8]] {
    var result: [UInt64: [UInt8]] = [:]
    try LogReader(directory: log).forEachRecord { info in
        guard !info.isSnapshot, info.firstSequence >= sequence else { return }
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: log + "/" + info.segmentFileName)))
        result[info.firstSequence] = Array(bytes[info.byteOffset..<(info.byteOffset + info.recordByteCount)])
    }
    return result
}

@Suite("Compaction")
struct CompactorTests {
    @Test("The compacted log replays to the same digest and state, keeps the window byte for byte, and stays appendable")
    func compactKeepsWindow() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try writeWorkloadLog(at: log, commandCount: 6000)
        let (originalState, original) = try replayed(log)
        let originalRecords = try recordBytes(log, from: 1)
        let originalEntries = try LogReader(directory: log).readAll().entries
        let segmentCountBefore = try LogReader(directory: log).manifest.segments.count
        #expect(segmentCountBefore > 3)

        let report = try Compactor.compact(log: log, options: CompactionOptions(keepEntryCount: 1500))
        #expect(report.changed)
        #expect(report.digest == original.digest)
        #expect(report.keptEntryCount >= 1500)
        #expect(report.byteCountAfter < report.byteCountBefore)
        let manifest = try LogReader(directory: log).manifest
        #expect(manifest.segments.first?.kind == .base)
        #expect(manifest.segments.first?.firstSequence == report.cutSequence)

        let (compactedState, compacted) = try replayed(log)
        #expect(compacted.digest == original.digest)
        #expect(compactedState.snapshot() == originalState.snapshot())  // values and expiry times too
        // Every kept entry is there with its sequence number, and every kept record byte for byte.
        let keptEntries = try LogReader(directory: log).readAll(from: report.cutSequence + 1).entries
        #expect(keptEntries == Array(originalEntries.drop { $0.sequence <= report.cutSequence }))
        let keptRecords = try recordBytes(log, from: report.cutSequence + 1)
        #expect(!keptRecords.isEmpty)
        for (first, bytes) in keptRecords { #expect(originalRecords[first] == bytes) }
        // Only named files remain; the base checkpoint checks; a writer continues the sequence.
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: log))
        #expect(files == Set(manifest.segments.map(\.fileName) + manifest.dictionaries.map(\.fileName) + ["MANIFEST", "LOCK"]))
        var check = ReplayOptions()
        check.checksCheckpoints = true
        let checked = try replayed(log, check).1
        #expect(checked.checkedCheckpointCount == 1 && checked.checkpointMismatch == nil)
        let writer = try LogWriter.open(directory: log)
        #expect(try writer.append(.command(["SET", "after", "compaction"], at: 1_800_000_000_000)) == report.lastSequence + 1)
        try writer.close()
        #expect(try replayed(log).1.lastSequence == report.lastSequence + 1)
    }

    @Test("A replay to any point of the kept window matches the original there; before the base it is refused")
    func pointsInWindow() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("a.rwlog"), copy = directory.appending("b.rwlog")
        try writeWorkloadLog(at: log, commandCount: 3000, seed: 11)
        try FileManager.default.copyItem(atPath: log, toPath: copy)
        let report = try Compactor.compact(log: log, options: CompactionOptions(keepEntryCount: 800))
        for point in [report.cutSequence, report.cutSequence + 1, report.cutSequence + 400, report.lastSequence] {
            #expect(try replayed(log, ReplayOptions(untilSequence: point)).1.digest == replayed(copy, ReplayOptions(untilSequence: point)).1.digest)
        }
        #expect(throws: ReplayError.self) { try replayed(log, ReplayOptions(untilSequence: report.cutSequence - 1)) }
        let baseTime = try #require(try LogReader(directory: log).readAll().entries.first?.timestampMilliseconds)
        #expect(throws: ReplayError.self) { try replayed(log, ReplayOptions(untilTimestampMilliseconds: baseTime - 1)) }
        #expect(try replayed(log, ReplayOptions(untilTimestampMilliseconds: baseTime)).1.lastSequence >= report.cutSequence)
    }

    @Test("Compacting a compacted log again moves the base forward and keeps the digest")
    func compactTwice() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try writeWorkloadLog(at: log, commandCount: 4000, seed: 3)
        let digest = try replayed(log).1.digest
        let first = try Compactor.compact(log: log, options: CompactionOptions(keepEntryCount: 2000))
        let again = try Compactor.compact(log: log, options: CompactionOptions(keepEntryCount: 2000))
        #expect(!again.changed)  // the history before the cut is already a base
        let second = try Compactor.compact(log: log, options: CompactionOptions(keepEntryCount: 500))
        #expect(second.changed && second.cutSequence > first.cutSequence)
        let full = try Compactor.compact(log: log)
        #expect(full.changed && full.keptEntryCount == 0 && full.cutSequence == full.lastSequence)
        #expect(try replayed(log).1.digest == digest)
        #expect(try LogReader(directory: log).manifest.segments.count == 1)
        // A writer appends after the snapshot records, in the base segment itself.
        let writer = try LogWriter.open(directory: log)
        #expect(try writer.append(.command(["SET", "next", "1"], at: 2_000_000_000_000)) == full.lastSequence + 1)
        try writer.close()
        let (_, extended) = try replayed(log, ReplayOptions(recovery: .absolute))
        #expect(extended.lastSequence == full.lastSequence + 1 && extended.keyCount > 0)
    }

    @Test("Big collections are rebuilt in bounded chunks; expiry and databases survive")
    func chunks() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        let now: Int64 = 1_700_000_000_000
        var units: [TestUnit] = [.command(["RPUSH", "list"] + (0..<2500).map { "item-\($0)" })]
        units.append(.command(["HSET", "hash"] + (0..<1500).flatMap { ["f\($0)", "v\($0)"] }, db: 3))
        units.append(.command(["ZADD", "zset"] + (0..<1100).flatMap { [String(Double($0) / 7), "m\($0)"] }))
        units.append(.command(["SADD", "set"] + (0..<1030).map { "s\($0)" }))
        units.append(.command(["SET", "ttl", "v", "PXAT", String(now + 60_000)]))
        units.append(.command(["PEXPIREAT", "list", String(now + 90_000)]))
        units.append(.command(["SET", "plain", "x"], db: 15))
        try writeTestLog(at: log, units)
        let (before, summary) = try replayed(log)
        let report = try Compactor.compact(log: log)
        #expect(report.keyCount == 6)
        let base = try LogReader(directory: log).readAll().entries
        #expect(base.allSatisfy { $0.sequence == report.cutSequence })
        #expect(base.filter { $0.arguments.first == Array("RPUSH".utf8) }.map { $0.arguments.count - 2 } == [1024, 1024, 452])
        #expect(base.allSatisfy { $0.arguments.count <= 2 * 1024 + 2 })
        #expect(base.last?.kind == .checkpoint)
        let (after, replayedSummary) = try replayed(log)
        #expect(replayedSummary.digest == summary.digest)
        #expect(after.snapshot(inSlotOrder: false) == before.snapshot(inSlotOrder: false))
    }

    @Test("The compacted log, exported as an AOF, loads into redis-server with the same DEBUG DIGEST",
          .enabled(if: RedisProcess.isAvailable))
    func redisAgrees() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try writeWorkloadLog(at: log, commandCount: 3000, seed: 5)
        let report = try Compactor.compact(log: log, options: CompactionOptions(keepEntryCount: 700))
        let aof = directory.appending("compacted.aof")
        _ = try AOFExporter.export(log: log, to: aof)
        #expect(try RedisProcess.digestOfLoading(aofFile: aof, in: directory.path) == report.digest)
    }

    @Test("The engine's rebuild commands equal the snapshot route's, command for command, for small and large chunks")
    func rebuildCommandsMatchSnapshotRoute() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try writeWorkloadLog(at: log, commandCount: 5000, seed: 17)
        let (keyspace, _) = try replayed(log)
        for (elements, bytes) in [(1024, 1 << 20), (3, 40), (1, 1)] {
            let options = CompactionOptions(chunkElementCountMax: elements, chunkByteCountMax: bytes)
            var expected: [[String]] = []
            var expectedKeys = 0
            Compactor.forEachKey(of: keyspace) { db, stored in
                expectedKeys += 1
                for arguments in Compactor.rebuildCommands(stored, options: options) {
                    expected.append(["\(db)"] + arguments.map { String(decoding: $0, as: UTF8.self) })
                }
            }
            var actual: [[String]] = []
            let keys = keyspace.forEachRebuildCommand(chunkElementCountMax: elements, chunkByteCountMax: bytes) { db, arguments in
                actual.append(["\(db)"] + arguments.map { String(decoding: $0, as: UTF8.self) })
            }
            #expect(keys == expectedKeys)
            #expect(actual.count == expected.count, "chunks of \(elements) elements, \(bytes) bytes")
            #expect(actual == expected, "chunks of \(elements) elements, \(bytes) bytes")
            // Every kind of rebuild command is exercised.
            for name in ["SET", "RPUSH", "SADD", "HSET", "ZADD"] { #expect(expected.contains { $0[1] == name }, "\(name)") }
            #expect(expected.contains { $0[1] == "SET" && $0.count == 6 && $0[4] == "PXAT" }, "SET ... PXAT")
        }
    }

    @Test("The base reads the state in one pass over the engine's snapshot, the same keys, values and expiry as its read commands give")
    func snapshotRouteMatchesReadCommands() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try writeWorkloadLog(at: log, commandCount: 5000, seed: 13)
        let (keyspace, _) = try replayed(log)
        var fromSnapshot: [String: StoredKey] = [:]
        Compactor.forEachKey(of: keyspace) { db, stored in fromSnapshot["\(db) " + String(decoding: stored.key, as: UTF8.self)] = stored }
        let reader = StateReader(keyspace: keyspace)
        var count = 0
        for db in 0..<keyspace.databaseCount {
            for key in reader.keys(db: db) {
                count += 1
                let read = try #require(reader.read(key, db: db))
                let snapshotted = try #require(fromSnapshot["\(db) " + String(decoding: key, as: UTF8.self)])
                #expect(snapshotted.expiresAtMilliseconds == read.expiresAtMilliseconds)
                switch (snapshotted.value, read.value) {
                case let (.set(a), .set(b)): #expect(Set(a) == Set(b))
                case let (.hash(a), .hash(b)): #expect(Dictionary(uniqueKeysWithValues: a) == Dictionary(uniqueKeysWithValues: b))
                default: #expect(snapshotted.value == read.value)
                }
            }
        }
        #expect(count == fromSnapshot.count && count > 500)
    }

    @Test("The golden compacted log replays to the digest of the log it was compacted from")
    func goldenDigest() throws {
        let compacted = try replayed(Fixtures.path("format-v1/compacted.rwlog"), ReplayOptions(recovery: .absolute)).1
        let original = try replayed(Fixtures.path("format-v1/valid.rwlog"), ReplayOptions(recovery: .absolute)).1
        #expect(compacted.digest == original.digest)
        #expect(compacted.digest == "169458bec2c74fb08dfa953d9869acb41f968b58")
    }

    @Test("A log a writer holds is refused")
    func lockedLog() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try writeWorkloadLog(at: log, commandCount: 500)
        let writer = try LogWriter.open(directory: log)
        defer { try? writer.close() }
        #expect { try Compactor.compact(log: log) } throws: { ($0 as? LogError)?.code == .locked }
    }

    @Test("Damage: refused where entries would be kept or silently lost; with skip-damaged, dropped with the history and reported")
    func damage() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try writeWorkloadLog(at: log, commandCount: 3000, seed: 9)
        let records = try { () -> [LogReader.RecordInfo] in
            var infos: [LogReader.RecordInfo] = []
            try LogReader(directory: log).forEachRecord { infos.append($0) }
            return infos
        }()
        // Flip a bit inside an early record (in the compacted range).
        let early = records[5]
        let path = log + "/" + early.segmentFileName
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[early.byteOffset + 45] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        let before = try snapshotFiles(log)
        #expect { try Compactor.compact(log: log) } throws: { ($0 as? LogError)?.code == .damaged }
        #expect(try snapshotFiles(log) == before)
        #expect { try Compactor.compact(log: log, options: CompactionOptions(recovery: .pointInTime)) } throws: {
            ($0 as? CompactionError)?.code == .damaged
        }
        #expect(try snapshotFiles(log) == before)
        // Damage in the kept window is refused even when skipping.
        #expect { try Compactor.compact(log: log, options: CompactionOptions(keepEntryCount: 2990, recovery: .skipDamaged)) } throws: {
            ($0 as? CompactionError)?.code == .damaged
        }
        #expect(try snapshotFiles(log) == before)
        let salvaged = try replayed(log, ReplayOptions(recovery: .skipDamaged)).1
        let report = try Compactor.compact(log: log, options: CompactionOptions(keepEntryCount: 100, recovery: .skipDamaged))
        #expect(report.damages.count == 1 && report.damages[0].kind == .checksumMismatch)
        #expect(report.digest == salvaged.digest)
        #expect(try replayed(log, ReplayOptions(recovery: .absolute)).1.digest == salvaged.digest)
    }
}

/// Every file of a directory with its bytes.
func snapshotFiles(_ directory: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name != "LOCK" {
        files[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
    }
    return files
}
