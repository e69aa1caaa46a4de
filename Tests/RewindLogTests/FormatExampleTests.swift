import Foundation
import Testing
@testable import RewindLog
import RewindTestSupport

/// The worked example of docs/FORMAT.md is dumped from `fixtures/format-v1/doc-example.rwlog`.
/// This suite reads that committed fixture and checks every field the document walks through, so
/// the document, the fixture and the code cannot drift apart silently. The fixture is written
/// again only with REWIND_UPDATE_GOLDENS=1 (and the document's hex dump must then be redone).
@Suite("Format document example")
struct FormatExampleTests {
    static let fixture = fixturesDirectory + "/format-v1/doc-example.rwlog"

    static let entries: [LogEntry] = [
        LogEntry.command(["SET", "greeting", "hello"], at: 1_764_151_200_000),
        LogEntry.command(["INCR", "visits"], at: 1_764_151_200_004, db: 1),
    ]

    @Test("The committed example log reads back as the document describes")
    func exampleReadsAsDocumented() throws {
        if ProcessInfo.processInfo.environment["REWIND_UPDATE_GOLDENS"] == "1" {
            try? FileManager.default.removeItem(atPath: Self.fixture)
            let writer = try LogWriter.open(directory: Self.fixture, options: .init(durability: .always, trainsDictionary: false))
            for entry in Self.entries { try writer.append(entry) }
            try writer.append(contentsOf: [LogEntry.command(["HSET", "user:1", "name", "ada"], at: 1_764_151_200_009)], transaction: true)
            try writer.close()
            try? FileManager.default.removeItem(atPath: Self.fixture + "/LOCK")
        }
        let reader = try LogReader(directory: Self.fixture)
        #expect(reader.manifest.segments == [Manifest.Segment(id: 1, fileName: "seg-000000000001.rwseg", firstSequence: 1)])
        let (entries, summary) = try reader.readAll(recovery: .absolute)
        #expect(summary.damages.isEmpty)
        #expect(summary.recordCount == 3)
        #expect(entries.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(entries.map(\.kind) == [.command, .command, .transactionBegin, .command, .transactionEnd])
        #expect(Array(entries[0...1].map { LogEntry(timestampMilliseconds: $0.timestampMilliseconds, db: $0.db, arguments: $0.arguments) }) == Self.entries)
        #expect(entries[3].arguments == ["HSET", "user:1", "name", "ada"].map { Array($0.utf8) })

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.fixture + "/seg-000000000001.rwseg")))
        // Segment header, then three records of 40 header bytes plus their payloads.
        #expect(bytes.count == 48 + (40 + 19) + (40 + 12) + (40 + 27))
        #expect(Array(bytes[0..<8]) == Array("REWINDSG".utf8))
        // First record: magic, then the payload stored as is (too small for zstd to pay).
        #expect(Array(bytes[48..<52]) == [0x52, 0x57, 0x52, 0x31])
        #expect(bytes[48 + 28] == LogFormat.Compression.none.rawValue)
        // Its payload: flags 0, timestamp delta 0, 3 arguments, SET as token 0, "greeting", "hello".
        #expect(Array(bytes[88..<107]) == [0x00, 0x00, 0x03, 0x01, 0x08] + Array("greeting".utf8) + [0x05] + Array("hello".utf8))
    }
}

/// The repository's fixtures/ folder, found from this source file's path.
let fixturesDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path + "/fixtures" }
    }
    return "fixtures"
}()
