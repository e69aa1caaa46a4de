import Foundation
import RewindLog
import RewindTestSupport
import Testing

@Suite("rewind verify and rewind repair")
struct VerifyAndRepairTests {
    @Test("verify: a clean log exits 0 with one summary line")
    func verifyClean() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log)
        let result = rewind(["verify", log])
        #expect(result.code == 0)
        #expect(result.outLines == ["OK: 10 entries in 10 records, 1 segment, last #10; no damage."])
        #expect(result.err.isEmpty)
    }

    @Test("verify: a torn tail exits 1, prints the damage and says to run repair")
    func verifyTornTail() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log)
        let segment = log + "/" + LogFormat.segmentFileName(id: 1)
        let last = try #require(try recordInfos(log).last)
        try truncate(segment, by: 3)
        let result = rewind(["verify", log])
        #expect(result.code == 1)
        #expect(result.outLines.count == 2)
        #expect(result.outLines[0].hasPrefix("seg-000000000001.rwseg @\(last.byteOffset): torn tail"))
        #expect(result.outLines[1] == "DAMAGED: a torn tail (\(last.recordByteCount - 3) bytes after #9); 9 entries in 9 records, 1 segment readable; run `rewind repair \(log)` to cut the torn tail.")
        // Under tolerate-tail a torn tail is accepted (still listed).
        let tolerated = rewind(["verify", "--recovery", "tolerate-tail", log])
        #expect(tolerated.code == 0)
        #expect(tolerated.outLines.last?.hasPrefix("ACCEPTED under --recovery tolerate-tail: a torn tail") == true)
    }

    @Test("verify: flipped bits in two records exit 1 with one line per damage, then the summary")
    func verifyFlippedBits() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log)
        let infos = try recordInfos(log)
        let segment = log + "/" + LogFormat.segmentFileName(id: 1)
        try flipBit(in: segment, at: infos[2].byteOffset + infos[2].recordByteCount - 2)
        try flipBit(in: segment, at: infos[6].byteOffset + 20)
        let result = rewind(["verify", log])
        #expect(result.code == 1)
        #expect(result.outLines.count == 3)
        #expect(result.outLines[0].hasPrefix("seg-000000000001.rwseg @\(infos[2].byteOffset): checksum mismatch"))
        #expect(result.outLines[0].contains("entry #3 lost"))
        #expect(result.outLines[1].hasPrefix("seg-000000000001.rwseg @\(infos[6].byteOffset): "))
        #expect(result.outLines[1].contains("entry #7 lost"))
        #expect(result.outLines[2] == "DAMAGED: 2 damaged ranges, 2 entries lost; 8 entries in 8 records, 1 segment readable; run `rewind repair --skip-damaged \(log)` to keep the 8 good entries.")
        #expect(rewind(["verify", "--recovery", "tolerate-tail", log]).code == 1)
        #expect(rewind(["verify", "--recovery", "skip-damaged", log]).code == 0)
    }

    @Test("verify: a missing or foreign directory is a one-line error and exit 1")
    func verifyBadInput() throws {
        let directory = try TemporaryDirectory()
        let missing = rewind(["verify", directory.appending("nope")])
        #expect(missing.code == 1)
        #expect(missing.out.isEmpty)
        #expect(missing.err == "rewind: error: \(directory.appending("nope")): no MANIFEST: not a Rewind log directory\n")
        try Data("rewind-log 1\nsegment x\n".utf8).write(to: URL(fileURLWithPath: directory.appending("MANIFEST")))
        let foreign = rewind(["verify", directory.path])
        #expect(foreign.code == 1)
        #expect(foreign.err.hasPrefix("rewind: error: \(directory.path)/MANIFEST: "))
        #expect(foreign.err.split(separator: "\n").count == 1)
    }

    @Test("Usage errors exit 2", arguments: [
        ["verify"],
        ["verify", "--recovery", "sometimes", "log"],
        ["inspect", "--limit", "-1", "log"],
        ["inspect", "--from", "0", "log"],
        ["import", "--format", "parquet", "a", "b"],
        ["import", "--format", "monitor", "--allow-truncated", "a", "b"],
        ["export", "log", "file"],
        ["frobnicate"],
    ])
    func usageErrors(arguments: [String]) {
        let result = rewind(arguments)
        #expect(result.code == 2)
        #expect(result.out.isEmpty)
        #expect(!result.err.isEmpty)
    }

    @Test("repair: a clean log is left untouched byte for byte")
    func repairClean() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log)
        let before = try snapshot(log)
        for arguments in [["repair", log], ["repair", "--skip-damaged", log]] {
            let result = rewind(arguments)
            #expect(result.code == 0)
            #expect(result.outLines == ["OK: \(log) is clean; nothing was changed (10 entries)."])
            #expect(try snapshot(log) == before)
        }
    }

    @Test("repair: a torn tail is cut, the loss is stated, and the log verifies clean")
    func repairTornTail() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log)
        let segment = log + "/" + LogFormat.segmentFileName(id: 1)
        let last = try #require(try recordInfos(log).last)
        try truncate(segment, by: 5)
        let result = rewind(["repair", log])
        #expect(result.code == 0)
        #expect(result.outLines.count == 2)
        #expect(result.outLines[0].hasPrefix("dropped seg-000000000001.rwseg @\(last.byteOffset): torn tail"))
        #expect(result.outLines[1] == "REPAIRED: \(last.recordByteCount - 5) bytes dropped, no whole entry lost (a torn record was never fully written); 9 entries kept.")
        #expect(try FileManager.default.attributesOfItem(atPath: segment)[.size] as? Int == last.byteOffset)
        #expect(rewind(["verify", log]).code == 0)
    }

    @Test("repair: other damage needs --skip-damaged; without it nothing changes, with it the good entries stay")
    func repairSkipDamaged() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("log")
        try makeLog(at: log)
        let infos = try recordInfos(log)
        try flipBit(in: log + "/" + LogFormat.segmentFileName(id: 1), at: infos[4].byteOffset + infos[4].recordByteCount - 1)
        let before = try snapshot(log)
        let refused = rewind(["repair", log])
        #expect(refused.code == 1)
        #expect(refused.err.contains("--skip-damaged"))
        #expect(try snapshot(log) == before)
        let repaired = rewind(["repair", "--skip-damaged", log])
        #expect(repaired.code == 0)
        #expect(repaired.outLines.last == "REPAIRED: \(infos[4].recordByteCount) bytes dropped, 1 entry lost (#5); 9 entries kept.")
        let verified = rewind(["verify", log])
        #expect(verified.code == 0)
        let entries = try LogReader(directory: log).readAll().entries
        #expect(entries.map(\.sequence) == [1, 2, 3, 4, 6, 7, 8, 9, 10])
    }
}
