import Foundation
import RewindLog
import RewindTestSupport
import Testing

@Suite("rewind replay and rewind blame")
struct ReplayAndBlameCLITests {
    func fixtureLog(_ directory: TemporaryDirectory) throws -> String {
        let log = directory.appending("example.rwlog")
        try makeLog(at: log, count: 10)
        return log
    }

    @Test("replay prints the summary with the digest last, and exits 0")
    func replayText() throws {
        let directory = try TemporaryDirectory()
        let result = rewind(["replay", try fixtureLog(directory)])
        #expect(result.code == 0)
        #expect(result.err.isEmpty)
        let last = try #require(result.outLines.last)
        #expect(last.hasPrefix("Replayed 10 commands up to #10 "))
        #expect(last.contains("10 keys, digest "))
        #expect(result.out.contains("Keys: 10 (db 0: 5, db 1: 5)"))
    }

    @Test("replay --json has entries, keys, digest and seconds")
    func replayJSON() throws {
        let directory = try TemporaryDirectory()
        let result = rewind(["replay", "--json", "--until", "4", "--exclude", "2", try fixtureLog(directory)])
        #expect(result.code == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
        #expect(object["entries"] as? Int == 3)
        #expect(object["keys"] as? Int == 3)
        #expect((object["digest"] as? String)?.count == 40)
        #expect(object["seconds"] is Double)
        #expect((object["skipped"] as? [[String: Any]])?.first?["seq"] as? Int == 2)
    }

    @Test("replay --exclude-command and --only-keys")
    func replayFilters() throws {
        let directory = try TemporaryDirectory()
        let log = try fixtureLog(directory)
        let excluded = rewind(["replay", "--exclude-command", "set", log])
        #expect(excluded.out.contains("Skipped 10 entries"))
        #expect(excluded.out.contains("Keys: 0"))
        let only = rewind(["replay", "--only-keys", "key:1*", log])
        #expect(only.out.contains("Keys: 2 (db 0: 1, db 1: 1)"))
    }

    @Test("Bad input is one line on standard error with exit code 1", arguments: [
        (["--until", "11"], "beyond the end of the log, which ends at #10"),
        (["--exclude", "99"], "the log has no such entry"),
        (["--only-keys", "key:["], "never closed"),
        (["--until-time", "yesterday"], "cannot read 'yesterday' as a time"),
    ])
    func badInput(arguments: [String], message: String) throws {
        let directory = try TemporaryDirectory()
        let result = rewind(["replay"] + arguments + [try fixtureLog(directory)])
        #expect(result.code == 1)
        #expect(result.out.isEmpty)
        #expect(result.err.contains(message))
        #expect(result.err.split(separator: "\n").count == 1)
    }

    @Test("Usage errors exit 2", arguments: [["--until", "0"], ["--exclude", "a,b"], ["--only-db", "16"], ["--until", "x"]])
    func usage(arguments: [String]) throws {
        let directory = try TemporaryDirectory()
        #expect(rewind(["replay"] + arguments + [try fixtureLog(directory)]).code == 2)
    }

    @Test("A missing log is exit code 1")
    func missingLog() {
        let result = rewind(["replay", "/nonexistent/log"])
        #expect(result.code == 1)
        #expect(result.err.hasPrefix("rewind: error: "))
    }

    @Test("replay --to-aof and --to-log write the state; the new log replays to the same digest")
    func writeOut() throws {
        let directory = try TemporaryDirectory()
        let log = try fixtureLog(directory)
        let first = rewind(["replay", "--json", "--to-aof", directory.appending("state.aof"), "--to-log", directory.appending("state.rwlog"), log])
        #expect(first.code == 0)
        #expect(first.err.contains("wrote 10 keys as 10 commands"))
        let aof = try String(contentsOfFile: directory.appending("state.aof"), encoding: .utf8)
        #expect(aof.hasPrefix("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n"))
        let second = rewind(["replay", "--json", directory.appending("state.rwlog")])
        func digest(_ text: String) throws -> String? {
            (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["digest"] as? String
        }
        #expect(try digest(first.out) == digest(second.out))
        let again = rewind(["replay", "--to-log", directory.appending("state.rwlog"), log])
        #expect(again.code == 1)
        #expect(again.err.contains("already holds a log"))
    }

    @Test("blame prints the history with the last change marked")
    func blame() throws {
        let directory = try TemporaryDirectory()
        let result = rewind(["blame", try fixtureLog(directory), "key:3", "--db", "1"])
        #expect(result.code == 0)
        #expect(result.outLines.count == 4)
        #expect(result.outLines[1].contains("SET \"key:3\" \"value 3\"   <- last change"))
        #expect(result.outLines.last == "Value at #10: \"value 3\"")
    }

    @Test("blame of a key that never existed is one line and exit code 0; --json is one object")
    func blameMissing() throws {
        let directory = try TemporaryDirectory()
        let log = try fixtureLog(directory)
        let result = rewind(["blame", log, "nobody"])
        #expect(result.code == 0)
        #expect(result.outLines == ["No entry up to #10 touched \"nobody\" in db 0 (10 entries read)."])
        let json = rewind(["blame", "--json", log, "key:2"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        #expect(object["kind"] as? String == "blame")
        #expect((object["lines"] as? [Any])?.count == 1)
        #expect(rewind(["blame", log, "key:2", "--until", "11"]).code == 1)
        #expect(rewind(["blame", log, "key:2", "--db", "99"]).code == 2)
    }
}

@Suite("rewind replay --check")
struct ReplayCheckCLITests {
    @Test("--check on a log without checkpoints exits 0; on a wrong checkpoint exits 1 with the report")
    func check() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("check.rwlog")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        try writer.append(.command(["SET", "a", "1"], at: 1))
        try writer.close()
        #expect(rewind(["replay", "--check", log]).code == 0)
        let again = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        try again.append(LogEntry(timestampMilliseconds: 1, db: 0, kind: .checkpoint, arguments: [[UInt8](repeating: 0xAB, count: 20)]))
        try again.close()
        let result = rewind(["replay", "--check", log])
        #expect(result.code == 1)
        #expect(result.out.hasPrefix("Digest differs at checkpoint #2 "))
        #expect(result.out.contains("logged:   abababab"))
    }
}
