import Foundation
import RewindEngine
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("Replayer: stopping points, exclusions and filters")
struct ReplayerTests {
    static let t0: Int64 = 1_700_000_000_000

    /// #1 SET a 1, #2 SET b 2, #3-#6 MULTI INCR a, SET c 3 EXEC, #7 FLUSHALL, #8 SET d 4 (db 1), #9 SET user:1 x.
    func sampleLog(_ directory: TemporaryDirectory) throws -> String {
        let log = directory.appending("sample.rwlog")
        try writeTestLog(at: log, [
            .command(["SET", "a", "1"], at: Self.t0),
            .command(["SET", "b", "2"], at: Self.t0 + 1000),
            .transaction([["INCR", "a"], ["SET", "c", "3"]], at: Self.t0 + 2000),
            .command(["FLUSHALL"], at: Self.t0 + 3000),
            .command(["SET", "d", "4"], db: 1, at: Self.t0 + 4000),
            .command(["SET", "user:1", "x"], at: Self.t0 + 5000),
        ])
        return log
    }

    @Test("The whole log: every command applied, the summary names the last entry")
    func wholeLog() throws {
        let directory = try TemporaryDirectory()
        let (keyspace, summary) = try replayed(try sampleLog(directory))
        #expect(summary.appliedCommandCount == 7)
        #expect(summary.readEntryCount == 9)
        #expect(summary.lastSequence == 9)
        #expect(summary.logLastSequence == 9)
        #expect(summary.keysPerDatabase == [0: 1, 1: 1])
        #expect(stringValue(keyspace, "a") == nil)
        #expect(stringValue(keyspace, "user:1") == "x")
        #expect(summary.failures.isEmpty)
    }

    @Test("--until is inclusive and leaves later entries out")
    func untilSequence() throws {
        let directory = try TemporaryDirectory()
        let (keyspace, summary) = try replayed(try sampleLog(directory), ReplayOptions(untilSequence: 6))
        #expect(summary.lastSequence == 6)
        #expect(stringValue(keyspace, "a") == "2")
        #expect(stringValue(keyspace, "c") == "3")
        #expect(summary.unappliedTransaction == nil)
    }

    @Test("A stopping point inside a transaction stops before the whole transaction")
    func untilInsideTransaction() throws {
        let directory = try TemporaryDirectory()
        let (keyspace, summary) = try replayed(try sampleLog(directory), ReplayOptions(untilSequence: 4))
        #expect(summary.unappliedTransaction == 3...4)
        #expect(summary.lastSequence == 2)
        #expect(stringValue(keyspace, "a") == "1")
        #expect(stringValue(keyspace, "c") == nil)
        #expect(summary.text().contains("Stopped before the transaction #3-#4"))
    }

    @Test("--until beyond the end is an error that names the last entry")
    func untilBeyondEnd() throws {
        let directory = try TemporaryDirectory()
        let log = try sampleLog(directory)
        let error = try #require(throws: ReplayError.self) { try replayed(log, ReplayOptions(untilSequence: 10)) }
        #expect(error.code == .untilBeyondEnd)
        #expect(error.description.contains("ends at #9"))
        // The last entry itself is fine.
        #expect(try replayed(log, ReplayOptions(untilSequence: 9)).1.lastSequence == 9)
    }

    @Test("--until-time applies entries at or before the time")
    func untilTime() throws {
        let directory = try TemporaryDirectory()
        let (keyspace, summary) = try replayed(try sampleLog(directory), ReplayOptions(untilTimestampMilliseconds: Self.t0 + 1000))
        #expect(summary.lastSequence == 2)
        #expect(stringValue(keyspace, "b") == "2")
        #expect(stringValue(keyspace, "c") == nil)
    }

    @Test("Excluding an accidental FLUSHALL by sequence keeps the data, and the summary says what was skipped")
    func excludeSequence() throws {
        let directory = try TemporaryDirectory()
        let (keyspace, summary) = try replayed(try sampleLog(directory), ReplayOptions(excludedSequences: [7]))
        #expect(stringValue(keyspace, "a") == "2")
        #expect(summary.skipped.map(\.place.sequence) == [7])
        #expect(summary.skipped.first?.reason == .excludedSequence)
        #expect(summary.skipped.first?.commandText.contains("FLUSHALL") == true)
        #expect(summary.keysPerDatabase == [0: 4, 1: 1])
    }

    @Test("--exclude-command skips every command of that name, in any case")
    func excludeCommand() throws {
        let directory = try TemporaryDirectory()
        let (keyspace, summary) = try replayed(try sampleLog(directory), ReplayOptions(excludedCommands: ["flushall", "INCR"]))
        #expect(stringValue(keyspace, "a") == "1")
        #expect(summary.skipped.map(\.place.sequence) == [4, 7])
        #expect(summary.skipped.allSatisfy { $0.reason == .excludedCommand })
    }

    @Test("Excluding an unknown sequence number or a transaction marker is an error")
    func excludeUnknown() throws {
        let directory = try TemporaryDirectory()
        let log = try sampleLog(directory)
        let beyond = try #require(throws: ReplayError.self) { try replayed(log, ReplayOptions(excludedSequences: [42])) }
        #expect(beyond.code == .unknownSequence)
        #expect(beyond.description.contains("#42"))
        let marker = try #require(throws: ReplayError.self) { try replayed(log, ReplayOptions(excludedSequences: [3])) }
        #expect(marker.code == .unknownSequence)
        #expect(marker.description.contains("not a command"))
    }

    @Test("--only-db applies one database's entries; --only-keys the matching keys and keyless commands")
    func filters() throws {
        let directory = try TemporaryDirectory()
        let log = try sampleLog(directory)
        let (_, dbOnly) = try replayed(log, ReplayOptions(onlyDatabase: 1))
        #expect(dbOnly.keysPerDatabase == [1: 1])
        #expect(dbOnly.filteredCount == 6)
        let (keyspace, keysOnly) = try replayed(log, ReplayOptions(excludedSequences: [7], onlyKeys: try KeyPattern("[ab]")))
        #expect(stringValue(keyspace, "a") == "2")
        #expect(stringValue(keyspace, "b") == "2")
        #expect(stringValue(keyspace, "c") == nil)
        #expect(keysOnly.keysPerDatabase == [0: 2])
    }

    @Test("Damage the recovery mode tolerates is reported in the summary")
    func tornTail() throws {
        let directory = try TemporaryDirectory()
        let log = try sampleLog(directory)
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".rwseg") }.sorted().last)
        let path = log + "/" + segment
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size - 3))
        try handle.close()
        let (_, summary) = try replayed(log)
        #expect(summary.damages.count == 1)
        #expect(summary.lastSequence == 8)
        #expect(throws: LogError.self) { try replayed(log, ReplayOptions(recovery: .absolute)) }
    }

    @Test("Key patterns match as KEYS does", arguments: [
        ("user:*", "user:42", true), ("user:*", "users", false), ("h?llo", "hello", true), ("h?llo", "hllo", false),
        ("h[ae]llo", "hallo", true), ("h[^e]llo", "hello", false), ("h[a-c]llo", "hbllo", true), ("*", "", true),
        ("a\\*b", "a*b", true), ("a\\*b", "axb", false), ("*:*:x", "a:b:x", true), ("[z-a]", "m", true),
    ])
    func patternMatching(pattern: String, key: String, matches: Bool) throws {
        #expect(try KeyPattern(pattern).matches(Array(key.utf8)) == matches)
    }

    @Test("Malformed key patterns are refused with a one-line reason", arguments: ["", "user:[", "a\\", "[^"])
    func badPatterns(pattern: String) {
        let error = #expect(throws: ReplayError.self) { try KeyPattern(pattern) }
        #expect(error?.code == .badPattern)
        #expect(error?.description.contains("\n") == false)
    }

    @Test("Times parse as ISO 8601 or Unix milliseconds", arguments: [
        ("1700000000000", Int64(1_700_000_000_000)), ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T22:13:20.123Z", 1_700_000_000_123), ("2023-11-14T23:13:20+01:00", 1_700_000_000_000),
        ("2023-11-14", 1_699_920_000_000), ("1970-01-01T00:00:00.5Z", 500),
    ])
    func times(text: String, milliseconds: Int64) throws {
        #expect(try ReplayTime.parseMilliseconds(text) == milliseconds)
    }

    @Test("Unreadable times are refused", arguments: ["yesterday", "2023-13-01", "2023-11-14T25:00:00Z", "2023-11-14T10:00:00X"])
    func badTimes(text: String) {
        #expect(throws: ReplayError.self) { try ReplayTime.parseMilliseconds(text) }
    }

    @Test("SHA-1 matches FIPS 180 known answers")
    func sha1() {
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
        #expect(hex(RewindReplay.SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(RewindReplay.SHA1.hash([UInt8]())) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(hex(RewindReplay.SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(RewindReplay.SHA1.hash([UInt8](repeating: 0x61, count: 1_000_000))) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("An empty state digests to forty zeros, as DEBUG DIGEST prints it")
    func emptyDigest() {
        #expect(StateDigest.digest(of: Keyspace(randomSeed: 0)) == String(repeating: "0", count: 40))
        #expect(StateDigest.digestThroughCommands(of: Keyspace(randomSeed: 0)) == String(repeating: "0", count: 40))
    }

    @Test("The state written as a log replays to the same digest")
    func stateToLog() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("imported.rwlog")
        _ = try AOFImporter.importAOF(from: Fixtures.singleAOF, to: log)
        let (keyspace, summary) = try replayed(log)
        let copy = directory.appending("copy.rwlog")
        let written = try StateDump.writeLog(of: keyspace, to: copy, timestampMilliseconds: summary.lastTimestampMilliseconds)
        #expect(written.keyCount == summary.keyCount)
        #expect(try replayed(copy).1.digest == summary.digest)
    }
}

@Suite("Replayer: decoding on a second thread")
struct DecodingPipelineTests {
    @Test("Concurrent and sequential decoding give the same state and summary", arguments: [nil, UInt64(1), UInt64(4_097), UInt64(12_000)])
    func sameResult(until: UInt64?) throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("workload.rwlog")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no))
        var generator = WorkloadGenerator(seed: 3, commandCount: 12_000, keyCount: 500)
        while let item = generator.next() {
            try writer.append(contentsOf: item.entries, transaction: item.entries.count > 1)
        }
        try writer.close()
        var concurrent = ReplayOptions(untilSequence: until)
        concurrent.decodesConcurrently = true
        var sequential = ReplayOptions(untilSequence: until)
        sequential.decodesConcurrently = false
        let (_, one) = try replayed(log, sequential)
        let (_, two) = try replayed(log, concurrent)
        #expect(one.digest == two.digest)
        #expect(one.lastSequence == two.lastSequence)
        #expect(one.appliedCommandCount == two.appliedCommandCount)
        #expect(one.readEntryCount == two.readEntryCount)
        #expect(one.failureCount == two.failureCount)
        #expect(one.unappliedTransaction == two.unappliedTransaction)
    }

    @Test("A stopping point inside a transaction: the packed path leaves it out as the sequential one does")
    func untilInsideTransactions() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("workload.rwlog")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no))
        var generator = WorkloadGenerator(seed: 5, commandCount: 6_000, keyCount: 300)
        while let item = generator.next() {
            try writer.append(contentsOf: item.entries, transaction: item.entries.count > 1)
        }
        try writer.close()
        var insides: [UInt64] = []
        try LogReader(directory: log).forEachEntry { entry in
            if entry.kind == .transactionBegin && insides.count < 4 && entry.sequence > UInt64(insides.count) * 1_500 {
                insides.append(entry.sequence + 2)
            }
        }
        #expect(insides.count == 4)
        for until in insides {
            var concurrent = ReplayOptions(untilSequence: until)
            concurrent.decodesConcurrently = true
            var sequential = ReplayOptions(untilSequence: until)
            sequential.decodesConcurrently = false
            let (_, one) = try replayed(log, sequential)
            let (_, two) = try replayed(log, concurrent)
            #expect(two.unappliedTransaction != nil, "until #\(until)")
            #expect(one.unappliedTransaction == two.unappliedTransaction)
            #expect(one.digest == two.digest)
            #expect(one.lastSequence == two.lastSequence)
            #expect(one.appliedCommandCount == two.appliedCommandCount)
            #expect(one.readEntryCount == two.readEntryCount)
        }
    }
}

@Suite("Replayer: runs of ZADD to one key, each member placed once")
struct ScoreRunReplayTests {
    /// Runs of `ZADD board score member` of random lengths, between other commands, in transactions,
    /// with invalid scores, options, a second database, and the key changing type for a while.
    /// Returns how many entries and how many commands it wrote.
    static func writeLog(at log: String, seed: UInt64) throws -> (entries: Int, commands: Int) {
        var random = SeededRandom(seed: seed)
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no))
        var time = ReplayerTests.t0
        var count = 0, commands = 0
        func zadd(_ key: String) -> [String] {
            ["ZADD", key, pick(["0", "-0", "1", "2", "3", "inf", "-5", "1.5", String(random.next() % 9), String(random.next() % 9), "nan", "x"]),
             "m\(random.next() % 150)"]
        }
        while count < 8_000 {
            time += Int64(random.next() % 3)
            let db = UInt32(random.next() % 6 == 0 ? 1 : 0)
            let key = pick(["board", "board", "board", "board2", "other"])
            switch random.next() % 12 {
            case 0:
                try writer.append(contentsOf: [zadd(key), zadd(key), ["INCR", "n"]].map { LogEntry.command($0, at: time, db: db) }, transaction: true)
                count += 5
                commands += 3
            case 1:
                // Commands on a run's key, and ones that place every run.
                try writer.append(.command(pick([["SET", key, "s"], ["DEL", key], ["ZREM", key, "m1"], ["ZINCRBY", key, "1", "m2"],
                                                 ["DEL", "nokey", pick(["board", "board2", "board3"])], ["ZUNIONSTORE", "board4", "1", key],
                                                 ["RENAME", "board4", "board5"], ["SET", "unrelated", "v"]]), at: time, db: db))
                count += 1; commands += 1
            case 2: try writer.append(.command(["ZADD", key, pick(["NX", "XX", "CH"]), "4", "m3"], at: time, db: db)); count += 1; commands += 1
            default:
                for _ in 0..<Int(1 + random.next() % 60) {
                    time += Int64(random.next() % 2)
                    // Sometimes several sets in turn, as a leaderboard per region.
                    try writer.append(.command(zadd(random.next() % 3 == 0 ? pick(["board", "board2", "board3"]) : key), at: time, db: db))
                    count += 1
                    commands += 1
                }
            }
        }
        try writer.close()
        return (count, commands)
    }

    static func expectSame(_ one: ReplaySummary, _ two: ReplaySummary, _ context: String) {
        #expect(one.digest == two.digest, "digest, \(context)")
        #expect(one.lastSequence == two.lastSequence, "last sequence, \(context)")
        #expect(one.lastTimestampMilliseconds == two.lastTimestampMilliseconds, "last time, \(context)")
        #expect(one.appliedCommandCount == two.appliedCommandCount, "applied, \(context)")
        #expect(one.readEntryCount == two.readEntryCount, "read, \(context)")
        #expect(one.failureCount == two.failureCount, "failure count, \(context)")
        #expect(one.failures == two.failures, "failures, \(context)")
        #expect(one.unappliedTransaction == two.unappliedTransaction, "unapplied transaction, \(context)")
        #expect(one.keysPerDatabase == two.keysPerDatabase, "keys, \(context)")
    }

    @Test("The packed path with ZADD runs gives the state and summary of the one-by-one path, at any stopping point",
          arguments: [1 as UInt64, 2])
    func sameAsOneByOne(seed: UInt64) throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("runs.rwlog")
        let count = try Self.writeLog(at: log, seed: seed).entries
        var random = SeededRandom(seed: seed &+ 100)
        let stops: [UInt64?] = [nil] + (0..<6).map { _ in UInt64(1 + random.next() % UInt64(count)) }
        for until in stops {
            var sequential = ReplayOptions(untilSequence: until)
            sequential.decodesConcurrently = false
            var concurrent = ReplayOptions(untilSequence: until)
            concurrent.decodesConcurrently = true
            let (_, one) = try replayed(log, sequential)
            let (_, two) = try replayed(log, concurrent)
            #expect(one.failureCount > 0, "the log has failing commands")
            Self.expectSame(one, two, "until \(until.map(String.init) ?? "the end")")
        }
        let (_, whole) = try replayed(log)
        for _ in 0..<4 {
            let time = ReplayerTests.t0 + Int64(random.next() % UInt64(max(1, whole.lastTimestampMilliseconds - ReplayerTests.t0)))
            var sequential = ReplayOptions()
            sequential.untilTimestampMilliseconds = time
            sequential.decodesConcurrently = false
            var concurrent = sequential
            concurrent.decodesConcurrently = true
            Self.expectSame(try replayed(log, sequential).1, try replayed(log, concurrent).1, "until time \(time)")
        }
    }

    @Test("A damaged record in the middle of runs: skip-damaged gives the same state and summary on both paths")
    func damagedRecord() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("runs.rwlog")
        _ = try Self.writeLog(at: log, seed: 5)
        let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: log).filter { $0.hasSuffix(".rwseg") }.sorted().first)
        let path = log + "/" + segment
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64(size / 2))
        try handle.write(contentsOf: [0xFF, 0xFF, 0xFF, 0xFF])
        try handle.close()
        var sequential = ReplayOptions(recovery: .skipDamaged)
        sequential.decodesConcurrently = false
        var concurrent = sequential
        concurrent.decodesConcurrently = true
        let (_, one) = try replayed(log, sequential)
        let (_, two) = try replayed(log, concurrent)
        #expect(!one.damages.isEmpty)
        Self.expectSame(one, two, "skip-damaged")
        let keyspace = Keyspace(randomSeed: 0)
        _ = try Replayer.applyEveryCommand(of: LogReader(directory: log), recovery: .skipDamaged, into: keyspace)
        var three = ReplaySummary()
        Replayer.summarizeState(of: keyspace, into: &three)
        #expect(three.digest == one.digest, "a server's startup under skip-damaged")
        concurrent.recovery = .absolute
        #expect(throws: LogError.self) { try replayed(log, concurrent) }
    }

    @Test("A set converting to a skiplist between a member's scores: -0 stays -0 on every path")
    func conversionBetweenScores() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("conversion.rwlog")
        let long = String(repeating: "long", count: 20)
        try writeTestLog(at: log, [
            .command(["ZADD", "z", "1", "a"]), .command(["ZADD", "z", "2", "a"]), .command(["ZADD", "z", "1", long]),
            .command(["ZADD", "z", "-0", "a"]), .command(["ZADD", "z", "7", "b"]), .command(["ZADD", "z", "3", "b"]),
            .command(["ZADD", "z", "-0.0", "b"]),
        ])
        var sequential = ReplayOptions()
        sequential.decodesConcurrently = false
        let (one, first) = try replayed(log, sequential)
        let (two, second) = try replayed(log)
        #expect(first.digest == second.digest)
        let keyspace = Keyspace(randomSeed: 0)
        _ = try Replayer.applyEveryCommand(of: LogReader(directory: log), recovery: .tolerateTail, into: keyspace)
        for replayedKeyspace in [one, two, keyspace] {
            var session = ClientSession()
            for member in ["a", "b"] {
                let reply = replayedKeyspace.execute(["ZSCORE", "z", member].map { Array($0.utf8) }, session: &session, nowMilliseconds: ReplayerTests.t0).reply
                guard case .double(let score) = reply else { Issue.record("ZSCORE z \(member): \(reply)"); continue }
                #expect(score == 0 && score.sign == .minus, "ZSCORE z \(member) is -0 as one by one")
            }
        }
    }

    @Test("A server's startup (every command as it comes) reaches the state of a one-by-one replay")
    func serverStartup() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("runs.rwlog")
        let count = try Self.writeLog(at: log, seed: 4).commands
        var sequential = ReplayOptions()
        sequential.decodesConcurrently = false
        let (_, one) = try replayed(log, sequential)
        let keyspace = Keyspace(randomSeed: 0)
        let (_, applied) = try Replayer.applyEveryCommand(of: LogReader(directory: log), recovery: .tolerateTail, into: keyspace)
        #expect(applied == count)
        var two = ReplaySummary()
        Replayer.summarizeState(of: keyspace, into: &two)
        #expect(one.digest == two.digest)
        #expect(one.keysPerDatabase == two.keysPerDatabase)
    }

    /// `log` replayed to `until` one by one (sequential decoding), and packed from the nearest of
    /// `checkpoints`, each summary with its digest.
    static func oneByOneAndRestored(_ log: String, until: UInt64, checkpoints: ReplayCheckpoints) throws -> (ReplaySummary, ReplaySummary) {
        var sequential = ReplayOptions(untilSequence: until)
        sequential.decodesConcurrently = false
        var restored = ReplayOptions(untilSequence: until)
        restored.decodesConcurrently = true
        let (_, one) = try replayed(log, sequential)
        let keyspace = Keyspace(randomSeed: 0)
        var two = try Replayer(log: log).replay(into: keyspace, options: restored, checkpoints: checkpoints)
        Replayer.summarizeState(of: keyspace, into: &two)
        return (one, two)
    }

    @Test("A checkpoint taken at a transaction's end holds what the runs gathered", arguments: [1, 4])
    func checkpointAtTransactionEnd(interval: Int) throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("exec.rwlog")
        let long = String(repeating: "long", count: 20)
        try writeTestLog(at: log, [
            .command(["ZADD", "z", "1", long]), .command(["ZADD", "z", "2", "b"]),
            .transaction([["ZADD", "z", "1", "a"], ["ZADD", "z", "2", "a"], ["SET", "x", "1"]]),
            .command(["SET", "y", "1"]),
        ])
        let checkpoints = ReplayCheckpoints(everyEntryCount: interval)
        var options = ReplayOptions()
        options.decodesConcurrently = true
        _ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), options: options, checkpoints: checkpoints)
        #expect(checkpoints.checkpoints.contains { $0.sequence == 7 }, "a checkpoint at the EXEC (#7)")
        for until in 3...8 as ClosedRange<UInt64> {
            let (one, two) = try Self.oneByOneAndRestored(log, until: until, checkpoints: checkpoints)
            #expect(one.digest == two.digest, "until #\(until), restored from #\(two.startedFromCheckpoint.map(String.init) ?? "none")")
        }
    }

    @Test("Checkpoints taken in the middle of a run hold the run so far, and replays restored from them agree")
    func checkpointsInRuns() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("runs.rwlog")
        let count = try Self.writeLog(at: log, seed: 3).entries
        let checkpoints = ReplayCheckpoints(everyEntryCount: 97)
        var options = ReplayOptions()
        options.decodesConcurrently = true
        _ = try Replayer(log: log).replay(into: Keyspace(randomSeed: 0), options: options, checkpoints: checkpoints)
        #expect(checkpoints.checkpoints.count > 50)
        var random = SeededRandom(seed: 9)
        for _ in 0..<6 {
            let until = UInt64(200 + random.next() % UInt64(count - 200))
            let (one, two) = try Self.oneByOneAndRestored(log, until: until, checkpoints: checkpoints)
            #expect(two.startedFromCheckpoint != nil, "until #\(until) restored a checkpoint")
            #expect(one.digest == two.digest, "until #\(until)")
            #expect(one.lastSequence == two.lastSequence, "until #\(until)")
        }
    }
}

@Suite("Replayer --check: checkpoint digests")
struct CheckpointCheckTests {
    /// Commands with checkpoints after #2 (right digest) and after #5 (`wrongAt5` decides).
    func logWithCheckpoints(_ directory: TemporaryDirectory, wrongAt5: Bool) throws -> String {
        let log = directory.appending("checked.rwlog")
        let probe = Keyspace(randomSeed: 0)
        func digestAfter(_ commands: [[String]]) -> [UInt8] {
            for command in commands { probe.apply(LoggedCommand(db: 0, arguments: command.map { Array($0.utf8) }), nowMilliseconds: 1) }
            return Array(StateDigest.digest(of: probe).utf8)
        }
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        try writer.append(.command(["SET", "a", "1"], at: 1))
        try writer.append(.command(["SET", "b", "2"], at: 1))
        try writer.append(LogEntry(timestampMilliseconds: 1, db: 0, kind: .checkpoint, arguments: [digestAfter([["SET", "a", "1"], ["SET", "b", "2"]])]))
        try writer.append(.command(["INCR", "a"], at: 2))
        try writer.append(.command(["DEL", "b"], at: 2))
        let right = digestAfter([["INCR", "a"], ["DEL", "b"]])
        try writer.append(LogEntry(timestampMilliseconds: 2, db: 0, kind: .checkpoint, arguments: [wrongAt5 ? Array(String(repeating: "0", count: 40).utf8) : right]))
        try writer.close()
        return log
    }

    @Test("Every checkpoint digest matches a faithful replay")
    func matches() throws {
        let directory = try TemporaryDirectory()
        var options = ReplayOptions()
        options.checksCheckpoints = true
        let (_, summary) = try replayed(try logWithCheckpoints(directory, wrongAt5: false), options)
        #expect(summary.checkedCheckpointCount == 2)
        #expect(summary.checkpointMismatch == nil)
        #expect(summary.text().contains("Checked 2 checkpoints: every digest matches."))
    }

    @Test("The first checkpoint that differs is reported with the commands since the last good one")
    func mismatch() throws {
        let directory = try TemporaryDirectory()
        var options = ReplayOptions()
        options.checksCheckpoints = true
        let (_, summary) = try replayed(try logWithCheckpoints(directory, wrongAt5: true), options)
        let mismatch = try #require(summary.checkpointMismatch)
        #expect(mismatch.place.sequence == 6)
        #expect(mismatch.lastMatchingCheckpoint?.sequence == 3)
        #expect(mismatch.recentCommands.map(\.0.sequence) == [4, 5])
        let text = mismatch.report().rendered(.text)
        #expect(text.hasPrefix("Digest differs at checkpoint #6 (segment 1, byte "))
        #expect(text.contains("Last 2 commands since checkpoint #3, which matched, oldest first:"))
        #expect(text.contains("DEL \"b\"   <- last before the checkpoint"))
        #expect(text.hasSuffix("  logged:   " + String(repeating: "0", count: 40) + "\n  replayed: " + mismatch.replayedDigest))
        let path = Fixtures.path("reports/check-mismatch.txt")
        if ProcessInfo.processInfo.environment["REWIND_UPDATE_GOLDENS"] == "1" {
            try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        #expect(text + "\n" == (try String(contentsOfFile: path, encoding: .utf8)))
    }
}
