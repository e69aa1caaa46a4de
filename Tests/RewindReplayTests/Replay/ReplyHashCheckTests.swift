import Foundation
import RewindEngine
import RewindLog
@testable import RewindReplay
import RewindRESP
import RewindTestSupport
import Testing

@Suite("Replayer --check: reply hashes")
struct ReplyHashCheckTests {
    /// A log whose entries carry the hashes of the replies Redis gives them, except at `wrongAt`.
    func logWithReplyHashes(_ directory: TemporaryDirectory, wrongAt: UInt64?) throws -> String {
        let log = directory.appending("replies.rwlog")
        let writer = try LogWriter.open(directory: log, options: .init(durability: .no, trainsDictionary: false))
        func entry(_ arguments: [String], _ reply: RESPValue, at time: Int64) -> LogEntry {
            LogEntry(timestampMilliseconds: time, arguments: arguments.map { Array($0.utf8) }, replyHash: ReplyHash.of(reply))
        }
        var entries: [(LogEntry, Bool)] = [
            (entry(["SET", "user:42", "alice"], .ok, at: 1_000), false),                          // #1
            (entry(["RPUSH", "queue", "a", "b"], .integer(2), at: 2_000), false),                 // #2
            (LogEntry.command(["PEXPIREAT", "queue", "999999"], at: 2_500), false),             // #3, no hash
            (entry(["APPEND", "user:42", "!"], .integer(6), at: 3_000), false),                   // #4
            (entry(["LPOP", "queue"], .bulk("a"), at: 4_000), false),                             // #5
        ]
        if let wrongAt, wrongAt <= UInt64(entries.count) {
            entries[Int(wrongAt) - 1].0.replyHash = ReplyHash.of(.integer(999))
        }
        for (entry, _) in entries { try writer.append(entry) }
        // #6-#9: a transaction; each command carries its own element of EXEC's reply.
        var transaction = [entry(["INCR", "n"], .integer(1), at: 5_000), entry(["INCRBY", "n", "10"], .integer(11), at: 5_000)]
        if wrongAt == 8 { transaction[1].replyHash = ReplyHash.of(.integer(12)) }
        try writer.append(contentsOf: transaction, transaction: true)
        try writer.close()
        return log
    }

    private func check(_ log: String) throws -> ReplaySummary {
        var options = ReplayOptions()
        options.checksReplyHashes = true
        return try replayed(log, options).1
    }

    @Test("Every logged reply hash matches a faithful replay; entries without one are not compared")
    func matches() throws {
        let directory = try TemporaryDirectory()
        let summary = try check(try logWithReplyHashes(directory, wrongAt: nil))
        #expect(summary.checkedReplyCount == 6)
        #expect(summary.replyMismatch == nil)
        #expect(summary.text().contains("Checked 6 reply hashes: every reply matches."))
    }

    @Test("Without --check nothing is compared")
    func off() throws {
        let directory = try TemporaryDirectory()
        let (_, summary) = try replayed(try logWithReplyHashes(directory, wrongAt: 4))
        #expect(summary.checkedReplyCount == 0)
        #expect(summary.replyMismatch == nil)
    }

    @Test("A wrong hash is reported at exactly its entry, inside a transaction too", arguments: [1, 2, 4, 5, 8] as [UInt64])
    func mismatchAt(sequence: UInt64) throws {
        let directory = try TemporaryDirectory()
        let summary = try check(try logWithReplyHashes(directory, wrongAt: sequence))
        let mismatch = try #require(summary.replyMismatch)
        #expect(mismatch.place.sequence == sequence)
        #expect(mismatch.loggedHash != mismatch.replayedHash)
        #expect(mismatch.replayedHash == ReplyHash.of(mismatch.replayedReply))
        #expect(summary.text().contains("the reply to #\(sequence) differs."))
    }

    @Test("The report: the key's history oldest first, the entry last, the hashes and the reply now")
    func report() throws {
        let directory = try TemporaryDirectory()
        let log = try logWithReplyHashes(directory, wrongAt: 4)
        let mismatch = try #require(try check(log).replyMismatch).withHistory(log: log)
        let text = mismatch.report().rendered(.text)
        #expect(text.hasPrefix("Reply differs at entry #4 (segment 1, byte "))
        #expect(text.contains("History of \"user:42\" in db 0, oldest first:"))
        #expect(text.contains("APPEND \"user:42\" \"!\"   <- reply differs here\n          reply now: (integer) 6"))
        #expect(text.contains("  before #4: \"alice\"\n  after  #4: \"alice!\""))
        #expect(text.hasSuffix("  logged:   \(ReplyMismatch.hex(ReplyHash.of(.integer(999))))\n  replayed: \(ReplyMismatch.hex(ReplyHash.of(.integer(6))))"))
        let lines = text.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("  #") }.map { $0.split(separator: " ")[0] } == ["#1", "#4"])
        let json = mismatch.report().rendered(.json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["reply_mismatch_seq"] as? Int == 4)
        #expect(object["key"] as? String == "user:42")
        let path = Fixtures.path("reports/reply-mismatch.txt")
        if ProcessInfo.processInfo.environment["REWIND_UPDATE_GOLDENS"] == "1" {
            try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        #expect(text + "\n" == (try String(contentsOfFile: path, encoding: .utf8)))
    }
}
