// `rewind replay`'s summary as text and as JSON. See docs/CLI.md for the JSON fields.

import RewindLog

extension ReplaySummary {
    /// The text summary: what was skipped, filtered or refused (each line a place), then the
    /// state, and one line last that sums it up.
    public func text() -> String {
        var lines: [String] = []
        for damage in damages { lines.append("Damage tolerated: \(damage)") }
        if !skipped.isEmpty {
            lines.append("Skipped \(counted(skipped.count, "entry")), oldest first:")
            for entry in skipped {
                lines.append("  " + ReportLine.placeColumns(entry.place) + entry.commandText + "   (\(entry.reason.rawValue))")
            }
        }
        if filteredCount > 0 { lines.append("Left out \(counted(filteredCount, "command")) by --only-db/--only-keys.") }
        if failureCount > 0 {
            lines.append("The engine refused \(counted(failureCount, "command")); the state differs from the logged one from the first:")
            for failure in failures {
                lines.append("  " + ReportLine.placeColumns(failure.place) + failure.commandText + "   -> \(failure.error)")
            }
            if failureCount > failures.count { lines.append("  … and \(failureCount - failures.count) more") }
        }
        if let range = unappliedTransaction {
            lines.append("Stopped before the transaction #\(range.lowerBound)-#\(range.upperBound): the stopping point falls inside it, and a transaction is applied whole or not at all.")
        }
        if checkedCheckpointCount > 0 || checkpointMismatch != nil {
            lines.append(checkpointMismatch == nil ? "Checked \(counted(checkedCheckpointCount, "checkpoint")): every digest matches."
                : "Checked \(counted(checkedCheckpointCount, "checkpoint")): the digest differs from checkpoint #\(checkpointMismatch!.place.sequence) on.")
        }
        if checkedReplyCount > 0 || replyMismatch != nil {
            lines.append(replyMismatch == nil ? "Checked \(counted(checkedReplyCount, "reply hash", "reply hashes")): every reply matches."
                : "Checked \(counted(checkedReplyCount, "reply hash", "reply hashes")): the reply to #\(replyMismatch!.place.sequence) differs.")
        }
        let perDatabase = keysPerDatabase.keys.sorted().map { "db \($0): \(keysPerDatabase[$0]!)" }.joined(separator: ", ")
        lines.append("Keys: \(keyCount)" + (perDatabase.isEmpty ? "" : " (\(perDatabase))"))
        if peakResidentBytes > 0 { lines.append("Peak memory: \(EntryFormatting.byteCountText(peakResidentBytes))") }
        lines.append("Digest: \(digest)")
        let point = lastSequence == 0 ? "nothing"
            : "#\(lastSequence) (\(EntryFormatting.isoTime(milliseconds: lastTimestampMilliseconds)))"
        lines.append("Replayed \(counted(appliedCommandCount, "command")) up to \(point) in \(Self.seconds(seconds)) s (\(Int(commandsPerSecond.rounded())) commands/s): \(counted(keyCount, "key", "keys")), digest \(digest)")
        return lines.joined(separator: "\n")
    }

    /// One JSON object: `entries`, `keys`, `digest`, `seconds` and the details (docs/CLI.md).
    public func json() -> String {
        var object = JSONObject()
        object.add("entries", appliedCommandCount)
        object.add("read_entries", readEntryCount)
        object.add("last_seq", lastSequence)
        object.add("last_time", EntryFormatting.isoTime(milliseconds: lastTimestampMilliseconds))
        if let logLastSequence { object.add("log_last_seq", logLastSequence) } else { object.addNull("log_last_seq") }
        object.add("keys", keyCount)
        var perDatabase = JSONObject()
        for db in keysPerDatabase.keys.sorted() { perDatabase.add(String(db), keysPerDatabase[db]!) }
        object.add("keys_per_db", object: perDatabase)
        object.add("digest", digest)
        object.add("seconds", seconds)
        object.add("commands_per_second", commandsPerSecond.rounded())
        object.add("peak_rss_bytes", peakResidentBytes)
        object.add("rss_after_replay_bytes", residentBytesAfterReplay)
        object.add("skipped", objects: skipped.map { entry in
            var item = ReportLine.placeJSON(entry.place)
            item.add("reason", entry.reason.rawValue)
            item.add("command", entry.commandText)
            return item
        })
        object.add("filtered", filteredCount)
        object.add("failure_count", failureCount)
        object.add("failures", objects: failures.map { failure in
            var item = ReportLine.placeJSON(failure.place)
            item.add("command", failure.commandText)
            item.add("error", failure.error)
            return item
        })
        if let range = unappliedTransaction {
            object.add("unapplied_transaction", integers: [Int(range.lowerBound), Int(range.upperBound)])
        } else {
            object.addNull("unapplied_transaction")
        }
        object.add("damages", strings: damages.map(\.description))
        object.add("checked_checkpoints", checkedCheckpointCount)
        if let mismatch = checkpointMismatch { object.add("checkpoint_mismatch_seq", mismatch.place.sequence) } else { object.addNull("checkpoint_mismatch_seq") }
        object.add("checked_replies", checkedReplyCount)
        if let mismatch = replyMismatch { object.add("reply_mismatch_seq", mismatch.place.sequence) } else { object.addNull("reply_mismatch_seq") }
        return object.text
    }

    static func seconds(_ value: Double) -> String {
        let milliseconds = Int((value * 1000).rounded())
        let fraction = milliseconds % 1000
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - String(fraction).count) + String(fraction)
    }
}
