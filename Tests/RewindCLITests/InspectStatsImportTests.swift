import Foundation
import RewindLog
import RewindTestSupport
import Testing

@Suite("rewind inspect, stats, import and export")
struct InspectStatsImportTests {
    @Test("inspect: text lines with sequence, ISO time, database and quoted arguments; --from and --limit")
    func inspectText() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log)
        let result = rewind(["inspect", "--from", "3", "--limit", "2", log])
        #expect(result.code == 0)
        #expect(result.outLines == [
            #"#3  2023-11-14T22:13:20.003Z  db 1  SET "key:3" "value 3""#,
            #"#4  2023-11-14T22:13:20.004Z  db 0  SET "key:4" "value 4""#,
            "(2 entries shown: #3-#4)",
        ])
    }

    @Test("inspect: transactions show as MULTI and EXEC lines, binary values quoted like redis-cli")
    func inspectTransactions() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        #expect(rewind(["import", "--format", "aof", CLIFixtures.path("aof/appendonly.aof"), log]).code == 0)
        let lines = rewind(["inspect", "--from", "15", "--limit", "5", log]).outLines
        #expect(lines[0] == "#15  2026-11-26T15:45:17.000Z  db 0  MULTI")
        #expect(lines[1] == #"#16  2026-11-26T15:45:17.000Z  db 0  INCR "counter""#)
        #expect(lines[4] == "#19  2026-11-26T15:45:17.000Z  db 0  EXEC")
        let binary = rewind(["inspect", "--from", "14", "--limit", "1", log]).outLines[0]
        #expect(binary == #"#14  1970-01-01T00:00:00.000Z  db 0  SET "bin:1" "bin\x00ary\xff\xfe\r\n""#)
    }

    @Test("inspect shortens long arguments unless --full")
    func inspectShortens() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        try writer.append(LogEntry(timestampMilliseconds: 0, arguments: [Array("SET".utf8), Array("k".utf8), [UInt8](repeating: 0x61, count: 5000)]))
        try writer.close()
        let short = rewind(["inspect", log]).outLines[0]
        #expect(short == "#1  1970-01-01T00:00:00.000Z  db 0  SET \"k\" \"" + String(repeating: "a", count: 48) + "…\" (+4 KiB)")
        let full = rewind(["inspect", "--full", log]).outLines[0]
        #expect(full.hasSuffix(String(repeating: "a", count: 5000) + "\""))
    }

    @Test("inspect --json: one object per line with seq, time_ms, db, kind and args")
    func inspectJSON() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log, count: 3)
        let result = rewind(["inspect", "--json", log])
        #expect(result.code == 0)
        #expect(result.outLines.count == 3)
        for (index, line) in result.outLines.enumerated() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["seq"] as? Int == index + 1)
            #expect(object["time_ms"] as? Int == 1_700_000_000_001 + index)
            #expect(object["db"] as? Int == (index + 1) % 2)
            #expect(object["kind"] as? String == "command")
            #expect(object["args"] as? [String] == ["SET", "key:\(index + 1)", "value \(index + 1)"])
            #expect(object["time"] as? String != nil)
            #expect(object["reply_hash"] == nil && object["args_base64"] == nil)
        }
    }

    @Test("stats --json: the documented fields")
    func statsJSON() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        #expect(rewind(["import", "--format", "aof", CLIFixtures.path("aof/appendonlydir"), log]).code == 0)
        let result = rewind(["stats", "--json", "--top", "3", log])
        #expect(result.code == 0)
        #expect(result.outLines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.out.utf8)) as? [String: Any])
        #expect(object["entries"] as? Int == 36)
        #expect(object["commands"] as? Int == 32)
        #expect(object["transactions"] as? Int == 2)
        #expect(object["records"] as? Int ?? 0 >= 1)
        #expect(object["segments"] as? Int == 1)
        #expect(object["bytes_on_disk"] as? Int ?? 0 > 0)
        #expect(object["aof_bytes"] as? Int == 1545)
        #expect(object["compression_ratio"] as? Double ?? 0 > 1)
        let top = try #require(object["top_commands"] as? [[String: Any]])
        #expect(top.count == 3)
        #expect(top[0]["command"] as? String == "SET" && top[0]["count"] as? Int == 17)
        for key in ["checkpoints", "dictionaries", "payload_uncompressed_bytes", "payload_stored_bytes", "first_seq", "last_seq", "first_time_ms", "last_time_ms", "databases", "damages"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        let text = rewind(["stats", log])
        #expect(text.code == 0)
        #expect(text.outLines.last?.hasPrefix("ratio ") == true)
    }

    @Test("import then export --timestamps gives back the Redis AOF byte for byte")
    func importExport() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let imported = rewind(["import", "--format", "aof", CLIFixtures.path("aof/appendonly.aof"), log])
        #expect(imported.code == 0)
        #expect(imported.outLines.count == 1)
        #expect(imported.outLines[0].hasPrefix("imported 28 entries (24 commands, 2 transactions) in "))
        #expect(imported.outLines[0].contains(" from 1286 bytes in "))
        #expect(imported.err.isEmpty, "no progress when standard error is not a terminal")
        let file = directory.appending("out.aof")
        let exported = rewind(["export", "--format", "aof", "--timestamps", log, file])
        #expect(exported.code == 0)
        #expect(exported.outLines[0].hasPrefix("exported 24 commands (2 transactions, up to #28) as 1286 bytes"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == (try Data(contentsOf: URL(fileURLWithPath: CLIFixtures.path("aof/appendonly.aof")))))
        // Importing into an existing log is refused and changes nothing.
        let again = rewind(["import", "--format", "aof", CLIFixtures.path("aof/appendonly.aof"), log])
        #expect(again.code == 1)
        #expect(again.err.contains("already exists"))
    }

    @Test("import: a truncated AOF is refused with its place unless --allow-truncated")
    func importTruncated() throws {
        let directory = try TemporaryDirectory()
        let source = directory.appending("appendonly.aof")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: CLIFixtures.path("aof/appendonly.aof")))
        try bytes.prefix(bytes.count - 2).write(to: URL(fileURLWithPath: source))
        let refused = rewind(["import", "--format", "aof", source, directory.appending("a")])
        #expect(refused.code == 1)
        #expect(refused.err.hasPrefix("rewind: error: appendonly.aof @1242: the file ends inside the command starting here"))
        let allowed = rewind(["import", "--format", "aof", "--allow-truncated", source, directory.appending("b")])
        #expect(allowed.code == 0)
        #expect(allowed.outLines[0].hasPrefix("imported 27 entries"))
        #expect(allowed.err.hasPrefix("rewind: warning: appendonly.aof @1242:"))
    }

    @Test("The example log in fixtures/ verifies clean")
    func exampleLog() {
        let result = rewind(["verify", CLIFixtures.path("example.rwlog")])
        #expect(result.code == 0)
    }
}
