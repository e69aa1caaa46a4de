import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("MONITOR import")
struct MonitorImportTests {
    @Test("Lines from TCP, unix-socket and Lua clients parse with their time, database and arguments", arguments: [
        (#"1700000000.123456 [0 127.0.0.1:50000] "SET" "k" "v""#, 1_700_000_000_123, 0, "127.0.0.1:50000", ["SET", "k", "v"]),
        (#"1700000000.000999 [3 lua] "ZADD" "z" "1" "one""#, 1_700_000_000_000, 3, "lua", ["ZADD", "z", "1", "one"]),
        (#"1700000001.500000 [15 unix:/tmp/redis.sock] "HSET" "h" "f" "a b\"c""#, 1_700_000_001_500, 15, "unix:/tmp/redis.sock", ["HSET", "h", "f", "a b\"c"]),
        (#"1700000002.000001 [0 [::1]:6000] "DEL" "x""#, 1_700_000_002_000, 0, "[::1]:6000", ["DEL", "x"]),
    ])
    func parsesLines(line: String, time: Int64, db: UInt32, client: String, arguments: [String]) throws {
        let parsed = try #require(try MonitorImporter.parse(Array(line.utf8), file: "m.txt", lineNumber: 1))
        #expect(parsed.timestampMilliseconds == time)
        #expect(parsed.db == db)
        #expect(parsed.client == client)
        #expect(parsed.arguments == arguments.map { Array($0.utf8) })
    }

    @Test("Binary arguments are unquoted with sdssplitargs rules")
    func binaryArguments() throws {
        let line = #"1700000000.000000 [0 127.0.0.1:1] "SET" "bin" "x\x00y\n\xff""#
        let parsed = try #require(try MonitorImporter.parse(Array(line.utf8), file: "m.txt", lineNumber: 1))
        #expect(parsed.arguments[2] == [0x78, 0, 0x79, 10, 0xFF])
    }

    @Test("The OK line and empty lines carry no command")
    func okLine() throws {
        #expect(try MonitorImporter.parse(Array("OK".utf8), file: "m.txt", lineNumber: 1) == nil)
        #expect(try MonitorImporter.parse(Array("\r".utf8), file: "m.txt", lineNumber: 2) == nil)
    }

    @Test("Malformed lines are errors naming the line and what was expected", arguments: [
        ("hello", "expected a timestamp such as 1700000000.123456, a space and '['"),
        ("1700000000 [0 x] \"SET\"", "expected a timestamp such as 1700000000.123456 (seconds, '.', six digits)"),
        ("1700000000.123456 0 x] \"SET\"", "expected '[' and the database after the timestamp"),
        ("1700000000.123456 [a x] \"SET\"", "expected the database index after '['"),
        ("1700000000.123456 [0 x \"SET\"", "expected ']' after the client address"),
        ("1700000000.123456 [0 x] \"SET", "unbalanced quotes in the arguments at column 25"),
    ])
    func malformed(line: String, message: String) throws {
        let error = try #require(throws: ImportError.self) { try MonitorImporter.parse(Array(line.utf8), file: "m.txt", lineNumber: 7) }
        #expect(error.description == "m.txt line 7: \(message)")
    }

    @Test("The fixture capture keeps writes only, with transactions, scripts' writes and databases")
    func fixtureCapture() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("monitor.rwlog")
        let summary = try MonitorImporter.importMonitor(from: Fixtures.monitorCapture, to: log)
        // GET, SELECT, EVAL, COMMAND DOCS and EXISTS are skipped.
        #expect(summary.skippedCount == 5)
        #expect(summary.commandCount == 10)
        #expect(summary.transactionCount == 1)
        let entries = try LogReader(directory: log).readAll().entries
        let names = entries.map { $0.kind == .command ? String(decoding: $0.arguments[0], as: UTF8.self) : $0.kind.description }
        #expect(names == ["SET", "HSET", "RPUSH", "SADD", "INCRBY", "SET", "ZADD", "multi", "SET", "INCR", "exec", "DEL"])
        #expect(entries[3].db == 2)
        #expect(entries[0].timestampMilliseconds == 1_795_707_920_626)
        #expect(entries[1].arguments[5] == Array("quote\"d".utf8))
    }

    @Test("A bad line in a capture fails the import, names the line and leaves no log")
    func badCapture() throws {
        let directory = try TemporaryDirectory()
        let path = directory.appending("bad.txt")
        try Data("OK\n1700000000.000000 [0 a:1] \"SET\" \"k\" \"v\"\ngarbage\n".utf8).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: ImportError.self) { try MonitorImporter.importMonitor(from: path, to: directory.appending("log")) }
        #expect(error.line == 3)
        #expect(!FileManager.default.fileExists(atPath: directory.appending("log")))
    }
}

@Suite("MONITOR import: relative expiry made absolute")
struct MonitorDeterminismTests {
    @Test("Relative expiries become the absolute forms Redis propagates", arguments: [
        ("EXPIRE k 10", "PEXPIREAT k 1700000010500"),
        ("expire k 10 NX", "PEXPIREAT k 1700000010500 NX"),
        ("PEXPIRE k 250", "PEXPIREAT k 1700000000750"),
        ("EXPIREAT k 1800000000", "PEXPIREAT k 1800000000000"),
        ("SETEX k 5 v", "SET k v PXAT 1700000005500"),
        ("PSETEX k 5 v", "SET k v PXAT 1700000000505"),
        ("SET k v EX 2", "SET k v PXAT 1700000002500"),
        ("SET k v NX px 2 GET", "SET k v NX PXAT 1700000000502 GET"),
        ("SET k v EXAT 1800000000", "SET k v PXAT 1800000000000"),
        ("SET k v KEEPTTL", "SET k v KEEPTTL"),
        ("GETEX k EX 1", "PEXPIREAT k 1700000001500"),
        ("GETEX k PXAT 1800000000000", "PEXPIREAT k 1800000000000"),
        ("GETEX k PERSIST", "PERSIST k"),
        ("EXPIRE k notanumber", "EXPIRE k notanumber"),
        ("HSET h f v", "HSET h f v"),
    ])
    func rewrites(sent: String, logged: String) {
        let arguments = sent.split(separator: " ").map { Array($0.utf8) }
        let result = MonitorImporter.deterministic(arguments, at: 1_700_000_000_500)
        #expect(result?.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ") == logged)
    }

    @Test("A plain GETEX changes nothing and is not logged")
    func plainGetex() {
        #expect(MonitorImporter.deterministic([Array("GETEX".utf8), Array("k".utf8)], at: 1) == nil)
    }
}
