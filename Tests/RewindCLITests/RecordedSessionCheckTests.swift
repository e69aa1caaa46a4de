import Foundation
import RewindLog
import RewindTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real `rewind serve --record-replies --checkpoint-every 50` session, then `rewind replay --check`
/// on its log and on copies altered at a known entry.
@Suite("rewind replay --check on a recorded serve session", .serialized,
       .enabled(if: RewindExecutable.path != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli")
                && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-benchmark")))
struct RecordedSessionCheckTests {
    /// Records a session: redis-benchmark's writes (SPOP and LPOP included), a transaction, EXPIRE.
    static func recordSession(in directory: TemporaryDirectory) throws -> String {
        let log = directory.appending("session.rwlog")
        let served = try ReplayServeTests.Served(["serve", "--dir", log, "--port", "0", "--appendfsync", "always",
                                                  "--record-replies", "--checkpoint-every", "50"])
        let port = String(served.port)
        let bench = try runTool("/usr/bin/redis-benchmark", ["-p", port, "-t", "set,incr,lpush,rpop,sadd,spop,hset,zadd",
                                                             "-n", "150", "-r", "20", "-c", "4", "-q"])
        #expect(bench.status == 0, "\(bench.output)")
        let multi = try runTool("/usr/bin/redis-cli", ["-p", port],
                                input: "MULTI\nGET counter:__rand_int__\nINCR t\nSET t2 x NX\nSADD st a b\nSPOP st\nEXEC\nEXPIRE t 1000\nRPUSH l 1 2 3\n")
        #expect(multi.output.contains("QUEUED"))
        _ = try served.cli("SHUTDOWN")
        #expect(served.finish().code == 0)
        return log
    }

    /// Copies `log` entry by entry with LogWriter (transactions kept whole), changing one entry.
    static func copy(_ log: String, to destination: String, altering: (inout LogEntry) -> Void = { _ in }) throws {
        let entries = try LogReader(directory: log).readAll().entries
        let writer = try LogWriter.open(directory: destination, options: .init(durability: .no, trainsDictionary: false))
        var transaction: [LogEntry]?
        for var entry in entries {
            altering(&entry)
            switch entry.kind {
            case .transactionBegin: transaction = []
            case .transactionEnd:
                let appended = try writer.append(contentsOf: transaction ?? [], transaction: true)
                #expect(appended.upperBound == entry.sequence)
                transaction = nil
            case .command, .checkpoint:
                if transaction != nil {
                    transaction!.append(entry)
                } else {
                    #expect(try writer.append(entry) == entry.sequence)
                }
            }
        }
        try writer.close()
    }

    @Test("The recorded log replays clean; a wrong reply hash or checkpoint digest is reported at exactly its entry")
    func recordedSession() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-recorded")
        let log = try Self.recordSession(in: directory)
        let entries = try LogReader(directory: log).readAll().entries
        let hashed = entries.filter { $0.replyHash != nil }
        let checkpoints = entries.filter { $0.kind == .checkpoint }
        #expect(hashed.count > 500)
        #expect(checkpoints.count >= 10)
        // Rewritten entries (SPOP as SREM, EXPIRE as PEXPIREAT) carry no hash; a transaction's commands do.
        #expect(entries.contains { $0.arguments.first == Array("SREM".utf8) && $0.replyHash == nil })
        #expect(entries.contains { $0.arguments.first == Array("PEXPIREAT".utf8) && $0.replyHash == nil })
        #expect(entries.contains { $0.arguments.first.map { String(decoding: $0, as: UTF8.self).uppercased() } == "INCR"
            && $0.arguments.count == 2 && $0.arguments[1] == Array("t".utf8) && $0.replyHash != nil })

        let clean = rewind(["replay", "--check", "--json", log])
        #expect(clean.code == 0, "\(clean.out)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(clean.out.utf8)) as? [String: Any])
        #expect(summary["checked_replies"] as? Int == hashed.count)
        #expect(summary["checked_checkpoints"] as? Int == checkpoints.count)
        #expect(summary["reply_mismatch_seq"] is NSNull)
        #expect(summary["checkpoint_mismatch_seq"] is NSNull)

        // An unaltered copy is clean too (so the copies below differ only where altered).
        let same = directory.appending("same.rwlog")
        try Self.copy(log, to: same)
        #expect(rewind(["replay", "--check", same]).code == 0)

        let target = hashed[hashed.count / 2].sequence
        let badReply = directory.appending("bad-reply.rwlog")
        try Self.copy(log, to: badReply) { entry in
            if entry.sequence == target { entry.replyHash = entry.replyHash! ^ 1 }
        }
        let replyResult = rewind(["replay", "--check", badReply])
        #expect(replyResult.code == 1)
        #expect(replyResult.out.hasPrefix("Reply differs at entry #\(target) "), "\(replyResult.out)")
        #expect(replyResult.out.contains("<- reply differs here"))
        #expect(replyResult.out.contains("the reply to #\(target) differs."))
        #expect(replyResult.out.contains("every digest matches"))

        let checkpoint = checkpoints[checkpoints.count / 2].sequence
        let badDigest = directory.appending("bad-digest.rwlog")
        try Self.copy(log, to: badDigest) { entry in
            if entry.sequence == checkpoint { entry.arguments[0][0] ^= 0xFF }
        }
        let digestResult = rewind(["replay", "--check", "--json", badDigest])
        #expect(digestResult.code == 1)
        let lines = digestResult.out.split(separator: "\n")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(report["checkpoint_seq"] as? Int == Int(checkpoint))
        let digestSummary = try #require(try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as? [String: Any])
        #expect(digestSummary["checkpoint_mismatch_seq"] as? Int == Int(checkpoint))
        #expect(digestSummary["reply_mismatch_seq"] is NSNull)
    }
}

/// Runs a program to its end and returns its status and combined output.
func runTool(_ path: String, _ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
    let result = try Subprocess.run(path, arguments, input: input.map { .bytes(Array($0.utf8)) } ?? .null, mergeError: true)
    return (result.status, result.outputText)
}
