import Foundation
import RewindEngine
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

/// `rewind blame`'s history of a key, compared in full with fixtures/reports/*. Set
/// REWIND_UPDATE_GOLDENS=1 to rewrite the goldens, then review the diff.
@Suite("Blame: the entries that made a key what it is")
struct BlameTests {
    static let t0: Int64 = 1_795_000_000_000

    /// A story of "user:42" through renames, a move, a database swap, an expiry, and unrelated writes.
    func storyLog(_ directory: TemporaryDirectory) throws -> String {
        let log = directory.appending("story.rwlog")
        try writeTestLog(at: log, [
            .command(["HSET", "user:42", "name", "alice", "visits", "0"], at: Self.t0),
            .command(["SET", "other", "x"], at: Self.t0 + 10),
            .command(["HINCRBY", "user:42", "visits", "1"], at: Self.t0 + 20),
            .command(["RENAME", "user:42", "user:43"], at: Self.t0 + 30),
            .command(["RENAME", "user:43", "user:42"], at: Self.t0 + 40),
            .command(["MOVE", "user:42", "1"], at: Self.t0 + 50),
            .command(["FLUSHDB"], db: 2, at: Self.t0 + 60),
            .command(["SWAPDB", "0", "1"], at: Self.t0 + 70),
            .transaction([["HSET", "user:42", "plan", "pro"], ["SET", "unrelated", "1"]], at: Self.t0 + 80),
            .command(["PEXPIREAT", "user:42", String(Self.t0 + 86_400_000)], at: Self.t0 + 90),
            .command(["MSET", "a", "1", "b", "2"], at: Self.t0 + 100),
            .command(["HDEL", "user:42", "name"], at: Self.t0 + 110),
        ])
        return log
    }

    func expectGolden(_ text: String, _ name: String) throws {
        let path = Fixtures.path("reports/\(name)")
        if ProcessInfo.processInfo.environment["REWIND_UPDATE_GOLDENS"] == "1" {
            try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text + "\n" == golden)
    }

    @Test("History of a hash through RENAME, MOVE, SWAPDB and a transaction, as text")
    func storyText() throws {
        let directory = try TemporaryDirectory()
        let result = try Blame.run(log: try storyLog(directory), key: Array("user:42".utf8))
        #expect(result.entries.map(\.place.sequence) == [1, 3, 4, 5, 6, 8, 10, 13, 15])
        #expect(result.entries.last?.valueAfter?.expiresAtMilliseconds == Self.t0 + 86_400_000)
        try expectGolden(result.report().rendered(.text), "blame-user42.txt")
    }

    @Test("The same history as JSON")
    func storyJSON() throws {
        let directory = try TemporaryDirectory()
        let result = try Blame.run(log: try storyLog(directory), key: Array("user:42".utf8))
        try expectGolden(result.report().rendered(.json), "blame-user42.json")
    }

    @Test("--until stops the history, and the value is the one at that point")
    func until() throws {
        let directory = try TemporaryDirectory()
        let result = try Blame.run(log: try storyLog(directory), key: Array("user:42".utf8), untilSequence: 4)
        #expect(result.entries.map(\.place.sequence) == [1, 3, 4])
        #expect(result.finalValue == nil)
        #expect(result.report().rendered(.text).hasSuffix("Value at #4: (nil)"))
    }

    @Test("The moved key's history in its other database")
    func otherDatabase() throws {
        let directory = try TemporaryDirectory()
        let result = try Blame.run(log: try storyLog(directory), key: Array("user:42".utf8), db: 1)
        #expect(result.entries.map(\.place.sequence) == [6, 8])
        #expect(result.finalValue == nil)
    }

    @Test("A key no entry touched gives one line")
    func neverExisted() throws {
        let directory = try TemporaryDirectory()
        let result = try Blame.run(log: try storyLog(directory), key: Array("nobody".utf8))
        #expect(result.entries.isEmpty)
        let text = result.report().rendered(.text)
        try expectGolden(text, "blame-missing.txt")
        #expect(!text.contains("\n"))
    }

    @Test("Multi-key commands touch every key they name", arguments: [
        (["SMOVE", "src", "dst", "m"], "dst"), (["SUNIONSTORE", "dst", "s1", "s2"], "dst"),
        (["MSET", "k1", "v", "dst", "w"], "dst"), (["COPY", "src", "dst"], "dst"), (["RENAME", "src", "dst"], "dst"),
        (["COPY", "src", "dst", "DB", "3"], "dst@3"), (["LMOVE", "src", "dst", "LEFT", "RIGHT"], "dst"),
    ])
    func multiKey(arguments: [String], target: String) {
        let parts = target.split(separator: "@")
        let db = parts.count > 1 ? Int(parts[1])! : 0
        let command = LoggedCommand(db: 0, arguments: arguments.map { Array($0.utf8) })
        #expect(Blame.touches(command, key: Array(parts[0].utf8), db: db) == .yes)
        #expect(Blame.touches(command, key: Array("elsewhere".utf8), db: db) == .no)
    }

    @Test("FLUSHALL and FLUSHDB are listed only when they changed the key")
    func flushes() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("flush.rwlog")
        try writeTestLog(at: log, [
            .command(["FLUSHALL"]),
            .command(["SET", "k", "1"]),
            .command(["FLUSHDB"], db: 1),
            .command(["FLUSHALL"]),
            .command(["SET", "k", "2"]),
            .command(["FLUSHDB"]),
        ])
        let result = try Blame.run(log: log, key: Array("k".utf8))
        #expect(result.entries.map(\.place.sequence) == [2, 4, 5, 6])
        #expect(result.entries.map { $0.valueAfter == nil } == [false, true, false, true])
    }

    @Test("Long values are shortened unless full is asked for")
    func shortening() {
        let long = StoredKey(key: Array("k".utf8), value: .string([UInt8](repeating: 0x61, count: 5000)), expiresAtMilliseconds: nil)
        #expect(BlameResult.render(long, full: false).contains("(+4 KiB)"))
        #expect(BlameResult.render(long, full: true).count == 5002)
        let list = StoredKey(key: Array("l".utf8), value: .list((0..<20).map { Array("e\($0)".utf8) }), expiresAtMilliseconds: nil)
        #expect(BlameResult.render(list, full: false).hasSuffix("… (+12 more)]"))
    }
}
