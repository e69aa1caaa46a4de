import Foundation
import RewindCLI
import RewindLog
import RewindTestSupport
import Testing

/// A log of `count` mixed writes in small records over several segments, with a dictionary.
func makeMixedLog(at path: String, count: Int = 3000) throws {
    let writer = try LogWriter.open(directory: path, options: .init(
        durability: .no, segmentByteCountTarget: 8 * 1024, dictionarySampleEntryCount: 400, recordByteCountTarget: 512,
        pendingByteCountMax: 1024))
    let start: Int64 = 2_000_000_000_000
    for index in 0..<count {
        let key = "k\(index % 97)", at = start + Int64(index)
        switch index % 5 {
        case 0: try writer.append(.command(["SET", key, "value \(index)"], at: at))
        case 1: try writer.append(.command(["HSET", "h\(index % 13)", "f\(index % 31)", "\(index)"], at: at, db: 1))
        case 2: try writer.append(.command(["RPUSH", "list\(index % 7)", "item \(index)"], at: at))
        case 3: try writer.append(.command(["PEXPIREAT", key, String(start + 10_000_000 + Int64(index))], at: at))
        default: try writer.append(contentsOf: [.command(["SADD", "set", "m\(index % 50)"], at: at), .command(["INCR", "n"], at: at)], transaction: true)
        }
    }
    try writer.close()
}

/// The last sequence number of `log`.
func lastSequence(_ log: String) throws -> UInt64 {
    try LogReader(directory: log).forEachRecord { _ in }.lastSequence
}

/// The digest `rewind replay --json` prints for `log`.
func replayDigest(_ log: String) throws -> String {
    let result = rewind(["replay", "--json", log])
    guard result.code == 0, let data = result.out.data(using: .utf8),
          let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let digest = object["digest"] as? String
    else { throw CocoaError(.coderReadCorrupt, userInfo: [NSDebugDescriptionErrorKey: result.err]) }
    return digest
}

@Suite("rewind compact")
struct CompactCLITests {
    @Test("Prints the cut, the base, the proof and the sizes; --json has the documented fields")
    func textAndJSON() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try makeMixedLog(at: log)
        let digest = try replayDigest(log)
        let result = rewind(["compact", "--keep-entries", "500", log])
        #expect(result.code == 0, "\(result.err)")
        let lines = result.outLines
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("cut after #") && lines[0].contains("kept byte for byte"))
        #expect(lines[2].hasPrefix("proven: the compacted log replays to \(digest) at #\(try lastSequence(log)), as the original does"))
        #expect(lines[3].hasPrefix("COMPACTED: \(log) "))
        #expect(try replayDigest(log) == digest)
        let again = rewind(["compact", "--json", log])
        #expect(again.code == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(again.out.utf8)) as? [String: Any])
        for field in ["changed", "directory", "cut_seq", "last_seq", "kept_entries", "base_entries", "base_records", "base_bytes", "keys",
                      "bytes_before", "bytes_after", "digest", "digest_at_cut", "proven", "damages", "removed_files", "seconds"] {
            #expect(object[field] != nil, "\(field)")
        }
        #expect(object["digest"] as? String == digest)
        #expect(object["cut_seq"] as? Int == object["last_seq"] as? Int)
        let nothing = rewind(["compact", log])
        #expect(nothing.code == 0)
        #expect(nothing.out.hasPrefix("OK: nothing to compact in \(log)"))
    }

    @Test("--out writes a new log and leaves the original byte for byte; --keep-history keeps the window")
    func outAndHistory() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog"), out = directory.appending("out.rwlog")
        try makeMixedLog(at: log)
        let before = try snapshot(log)
        let digest = try replayDigest(log)
        let result = rewind(["compact", "--keep-history", "1s", "--out", out, log])
        #expect(result.code == 0, "\(result.err)")
        #expect(try snapshot(log) == before)
        #expect(try replayDigest(out) == digest)
        // Entries are 1 ms apart: a one-second window keeps at least the last 1,000 entries.
        let kept = try LogReader(directory: out).readAll(from: 1).entries.filter { $0.sequence > (try! LogReader(directory: out).manifest.segments[0].firstSequence) }
        #expect(kept.count >= 1000)
        #expect(kept.count < 4000)
        let refused = rewind(["compact", "--out", out, log])
        #expect(refused.code == 1 && refused.err.contains("not empty"))
    }

    @Test("Usage errors exit 2; a locked log exits 1 and is left alone")
    func usageAndLock() throws {
        #expect(rewind(["compact", "--keep-entries", "5", "--keep-history", "1h", "x"]).code == 2)
        #expect(rewind(["compact", "--keep-history", "10", "x"]).code == 2)
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try makeMixedLog(at: log, count: 200)
        let writer = try LogWriter.open(directory: log)
        defer { try? writer.close() }
        let locked = rewind(["compact", log])
        #expect(locked.code == 1)
        #expect(locked.err.contains("another writer has this log open"))
    }
}

/// The `rewind` binary killed at each step of a compaction, and a write that fails for lack of room.
@Suite("rewind compact, killed and starved", .enabled(if: RewindExecutable.path != nil))
struct CompactCrashTests {
    static func runBinary(_ arguments: [String], environment: [String: String] = [:], shell: String? = nil) throws -> (status: Int32, signaled: Bool, err: String) {
        let binary = try #require(RewindExecutable.path)
        let environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let result = shell == nil
            ? try Subprocess.run(binary, arguments, environment: environment)
            : try Subprocess.run("/bin/sh", ["-c", shell! + " \"$0\" \"$@\"", binary] + arguments, environment: environment)
        return (result.status, result.termination.signal != nil, result.errorText)
    }

    @Test("Killed at each step, the log opens, replays to the same digest, and a rerun compacts it",
          arguments: ["writing-base", "base-written", "manifest-written", "manifest-renamed", "deleting-old"])
    func killedAt(step: String) throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try makeMixedLog(at: log)
        let digest = try replayDigest(log)
        let last = try lastSequence(log)
        let oldSegments = try LogReader(directory: log).manifest.segments.map(\.fileName)
        let run = try Self.runBinary(["compact", "--keep-entries", "300", log], environment: ["REWIND_COMPACT_CRASH_AT": step])
        #expect(run.signaled && run.status == SIGKILL, "\(run.err)")
        let manifest = try LogReader(directory: log).manifest
        let swapped = manifest.segments.first?.kind == .base
        #expect(swapped == (step == "manifest-renamed" || step == "deleting-old"))
        if !swapped { #expect(manifest.segments.map(\.fileName) == oldSegments) }
        #expect(rewind(["verify", log]).code == 0)
        #expect(try replayDigest(log) == digest)
        let rerun = rewind(["compact", "--keep-entries", "300", log])
        #expect(rerun.code == 0, "\(rerun.err)")
        #expect(try replayDigest(log) == digest)
        let final = try LogReader(directory: log).manifest
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: log))
        #expect(files == Set(final.segments.map(\.fileName) + final.dictionaries.map(\.fileName) + ["MANIFEST", "LOCK"]))
        let writer = try LogWriter.open(directory: log)
        #expect(try writer.append(.command(["SET", "after", "crash"], at: 2_100_000_000_000)) == last + 1)
        try writer.close()
    }

    @Test("A write that fails for lack of room leaves the old log intact and says so")
    func fullDisk() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("app.rwlog")
        try makeMixedLog(at: log)
        // Incompressible values, so the base is far larger than the file size limit below.
        let writer = try LogWriter.open(directory: log)
        var random = SeededGenerator(seed: 42)
        for index in 0..<2000 {
            try writer.append(.command(["SET", "u\(index)", String(random.next(), radix: 16) + String(random.next(), radix: 16)], at: 2_000_000_100_000))
        }
        try writer.close()
        let before = try snapshot(log).filter { $0.key != "LOCK" }
        let digest = try replayDigest(log)
        // RLIMIT_FSIZE: writes past 4 KiB fail with EFBIG, as they would with ENOSPC on a full disk.
        let run = try Self.runBinary(["compact", log], shell: "trap '' XFSZ; ulimit -f 8; exec")
        #expect(!run.signaled && run.status == 1, "\(run.err)")
        #expect(run.err.contains("compaction failed while writing the base segment"))
        #expect(run.err.contains("the log is unchanged"))
        #expect(try snapshot(log).filter { $0.key != "LOCK" } == before)
        #expect(try replayDigest(log) == digest)
        #expect(rewind(["compact", log]).code == 0)
        #expect(try replayDigest(log) == digest)
    }
}

@Suite("rewind replay --target, usage")
struct ReplayTargetUsageTests {
    @Test("--cluster and --from need --target; --target takes no stopping point; an unreachable target exits 1")
    func usage() throws {
        let log = CLIFixtures.path("example.rwlog")
        #expect(rewind(["replay", "--cluster", log]).code == 2)
        #expect(rewind(["replay", "--from", "3", log]).code == 2)
        #expect(rewind(["replay", "--target", "redis://127.0.0.1:1", "--until", "3", log]).code == 2)
        #expect(rewind(["replay", "--target", "redis://127.0.0.1:1", "--from", "0", log]).code == 2)
        let bad = rewind(["replay", "--target", "http://127.0.0.1:1", log])
        #expect(bad.code == 1 && bad.err.contains("only redis:// targets are supported"))
        let unreachable = rewind(["replay", "--target", "redis://127.0.0.1:1", log])
        #expect(unreachable.code == 1)
        #expect(unreachable.err.contains("cannot connect to 127.0.0.1:1"))
    }
}
