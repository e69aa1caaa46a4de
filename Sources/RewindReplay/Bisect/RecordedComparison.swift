// `--recorded`: the log as its own oracle. Each entry's recorded reply hash is compared with the
// hash of the engine's reply, and each checkpoint's digest with the replayed state's digest.

import Foundation
import RewindEngine
import RewindLog
import RewindRESP

public enum RecordedComparison {
    /// Replays `log` and finds the first unit whose recorded reply hash differs from the engine's
    /// reply, or the first checkpoint whose digest differs. A checkpoint mismatch with no reply
    /// mismatch before it is reported as the checkpoint itself, with the last matching checkpoint
    /// as the last good point: the log holds nothing finer.
    ///
    /// - Parameter replyHash: how the writer hashed replies (``ReplyHash/of(_:)`` for Rewind's).
    /// - Throws: ``BisectError`` `.goodAtEnd` when everything matches, `.badBounds` when the log
    ///   records neither reply hashes nor checkpoint digests.
    public static func run(log: String, options: BisectOptions, replyHash: (RESPValue) -> UInt64) throws -> BisectResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var result = BisectResult(lastGood: 0)
        result.method = "one pass, recorded"
        let keyspace = Keyspace(randomSeed: 0)
        var previousEnd: UInt64 = 0
        var lastMatchingCheckpoint: UInt64 = 0
        var recordedCount = 0
        var lastSequence: UInt64 = 0
        try LogUnits.forEach(log: log, recovery: options.recovery) { unit in
            if let firstBad = options.firstBad, unit.endSequence > firstBad { return false }
            lastSequence = unit.endSequence
            if unit.entries[0].kind == .checkpoint {
                guard let stored = storedDigest(unit.entries[0].arguments) else { return true }
                recordedCount += 1
                result.checkRunCount += 1
                let replayed = StateDigest.digest(of: keyspace)
                if replayed == stored {
                    lastMatchingCheckpoint = unit.endSequence
                    result.steps.append(BisectStep(sequence: unit.endSequence, verdict: .good, replayed: false))
                    return true
                }
                result.firstBad = unit.endSequence
                result.lastGood = lastMatchingCheckpoint
                result.decisive = unit
                result.before = CheckAnswer(verdict: .good, lines: [lastMatchingCheckpoint == 0 ? "no checkpoint before; every recorded reply equal" : "checkpoint #\(lastMatchingCheckpoint) digest equal; every recorded reply equal since"])
                result.after = CheckAnswer(verdict: .bad, lines: ["checkpoint #\(unit.endSequence): recorded digest \(stored), replayed \(replayed)"])
                result.steps.append(BisectStep(sequence: unit.endSequence, verdict: .bad, replayed: false))
                return false
            }
            for entry in unit.entries where entry.kind == .command {
                let reply = keyspace.apply(LoggedCommand(db: entry.place.db, arguments: entry.arguments), nowMilliseconds: entry.place.timestampMilliseconds)
                guard let recorded = entry.replyHash else { continue }
                recordedCount += 1
                let hash = replyHash(reply)
                if hash != recorded && result.firstBad == nil {
                    result.firstBad = unit.endSequence
                    result.lastGood = previousEnd
                    result.decisive = unit
                    result.before = CheckAnswer(verdict: .good, lines: ["every recorded reply equal"])
                    result.after = CheckAnswer(verdict: .bad, lines: [
                        "#\(entry.place.sequence) \(ReplayRun.text(entry.arguments)): recorded reply hash \(EntryFormatting.hex64(recorded)), replayed \(EntryFormatting.hex64(hash)) (\(ReplyNotation.format(reply).replacingOccurrences(of: "\n", with: " ")))",
                    ])
                    result.steps.append(BisectStep(sequence: unit.endSequence, verdict: .bad, replayed: false))
                }
            }
            if result.firstBad != nil { return false }
            previousEnd = unit.endSequence
            return true
        }
        result.logLastSequence = lastSequence
        result.checkRunCount = max(result.checkRunCount, recordedCount)
        if recordedCount == 0 {
            throw BisectError(.badBounds, "the log records no reply hashes and no checkpoint digests, so --recorded has nothing to compare; use --probe, --run or --against")
        }
        if result.firstBad == nil {
            throw BisectError(.goodAtEnd, "no divergence: all \(counted(recordedCount, "recorded reply hash and digest", "recorded reply hashes and digests")) match the replay, up to #\(lastSequence)")
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return result
    }

    /// A checkpoint's digest as lowercase hex (20 raw bytes or 40 hex digits).
    static func storedDigest(_ arguments: [[UInt8]]) -> String? {
        guard let first = arguments.first else { return nil }
        if first.count == 20 { return first.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
        if first.count == 40 { return String(decoding: first, as: UTF8.self).lowercased() }
        return nil
    }
}
