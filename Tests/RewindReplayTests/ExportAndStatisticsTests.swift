import Foundation
import RewindLog
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("AOF export and statistics")
struct ExportAndStatisticsTests {
    @Test("--until inside a transaction leaves the whole transaction out")
    func untilInsideTransaction() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        _ = try AOFImporter.importAOF(from: Fixtures.singleAOF, to: log)
        let file = directory.appending("out.aof")
        // #15 is MULTI, #19 EXEC.
        let summary = try AOFExporter.export(log: log, to: file, options: .init(until: 17))
        #expect(summary.lastSequence == 14)
        #expect(summary.droppedTransactionEntryCount == 3)
        #expect(summary.commandCount == 14)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
        #expect(!text.contains("MULTI"))
        let whole = try AOFExporter.export(log: log, to: file, options: .init(until: 19))
        #expect(whole.lastSequence == 19 && whole.transactionCount == 1 && whole.droppedTransactionEntryCount == 0)
    }

    @Test("SELECT is written when the database changes, MULTI/EXEC around transactions, no checkpoints")
    func encoding() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        try writer.append(.command(["SET", "a", "1"], at: 1_000, db: 0))
        try writer.append(.command(["SET", "b", "2"], at: 1_500, db: 0))
        try writer.append(LogEntry(timestampMilliseconds: 2_000, kind: .checkpoint, arguments: [[1, 2, 3]]))
        try writer.append(contentsOf: [.command(["INCR", "n"], at: 2_000, db: 5), .command(["INCR", "m"], at: 2_000, db: 5)], transaction: true)
        try writer.close()
        let file = directory.appending("out.aof")
        _ = try AOFExporter.export(log: log, to: file, options: .init(writesTimestamps: true))
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self)
        let expected = "#TS:1\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
            + "#TS:2\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*2\r\n$4\r\nINCR\r\n$1\r\nm\r\n*1\r\n$4\r\nEXEC\r\n"
        #expect(text == expected)
    }

    @Test("Statistics count the AOF bytes exactly as the exporter writes them")
    func statisticsMatchExport() throws {
        let directory = try TemporaryDirectory()
        for (name, source) in [("single", Fixtures.singleAOF), ("dir", Fixtures.appendDirectory)] {
            let log = directory.appending(name)
            _ = try AOFImporter.importAOF(from: source, to: log)
            let file = directory.appending(name + ".aof")
            let exported = try AOFExporter.export(log: log, to: file)
            let statistics = try LogStatistics.compute(directory: log)
            #expect(statistics.aofByteCount == exported.byteCount)
            #expect(statistics.aofByteCount == (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int))
            #expect(statistics.segmentCount == 1)
            #expect(statistics.recordCount >= 1)
            #expect(statistics.bytesOnDisk > 0)
        }
        let statistics = try LogStatistics.compute(directory: directory.appending("single"))
        #expect(statistics.entryCount == 28 && statistics.commandCount == 24 && statistics.transactionCount == 2)
        #expect(statistics.databases == [0, 1, 2])
        #expect(statistics.topCommands.first == .init(name: "SET", count: 7))
        // Without #TS lines the single-file export is the original minus its two annotations.
        #expect(statistics.aofByteCount == 1286 - 2 * "#TS:1795707917\r\n".utf8.count)
    }

    @Test("Times print as ISO 8601 with milliseconds in UTC", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(1_795_707_920_626), "2026-11-26T15:45:20.626Z"),
        (Int64(951_782_400_001), "2000-02-29T00:00:00.001Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
    ])
    func isoTimes(milliseconds: Int64, text: String) {
        #expect(EntryFormatting.isoTime(milliseconds: milliseconds) == text)
    }

    @Test("JSON lines escape bytes that are not UTF-8 and add args_base64")
    func jsonEscaping() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        try writer.append(LogEntry(timestampMilliseconds: 5, db: 2, arguments: [Array("SET".utf8), Array("ké".utf8), [0x61, 0xFF, 0x0A]], replyHash: 0xAB))
        try writer.append(.command(["PING"], at: 6))
        try writer.close()
        var lines: [String] = []
        var texts: [String] = []
        try LogReader(directory: log).forEachEntry { entry in
            lines.append(EntryFormatting.jsonLine(entry))
            texts.append(EntryFormatting.textLine(entry))
        }
        #expect(lines[0] == #"{"seq":1,"time_ms":5,"time":"1970-01-01T00:00:00.005Z","db":2,"kind":"command","args":["SET","ké","a\\xff\n"],"args_base64":["U0VU","a8Op","Yf8K"],"reply_hash":"00000000000000ab"}"#)
        #expect(lines[1] == #"{"seq":2,"time_ms":6,"time":"1970-01-01T00:00:00.006Z","db":0,"kind":"command","args":["PING"]}"#)
        #expect(texts[0] == #"#1  1970-01-01T00:00:00.005Z  db 2  SET "k\xc3\xa9" "a\xff\n"  reply=00000000000000ab"#)
    }
}
