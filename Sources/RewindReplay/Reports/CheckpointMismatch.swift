// `rewind replay --check`: the first checkpoint whose logged digest differs from the replayed
// state's, as a report in DESIGN §7's form.

/// The first checkpoint entry whose digest differs from the digest of the replayed state.
public struct CheckpointMismatch: Sendable {
    public var place: EntryPlace
    public var loggedDigest: String
    public var replayedDigest: String
    /// The last checkpoint that matched, where the states were still equal.
    public var lastMatchingCheckpoint: EntryPlace?
    /// The last commands applied before the checkpoint, after the last matching one, oldest first.
    public var recentCommands: [(EntryPlace, String)]

    public static let recentCommandCountMax = 10

    /// The report: headline with the place, the commands since the last good checkpoint (the
    /// suspects), the two digests last.
    public func report() -> Report {
        let since = lastMatchingCheckpoint.map { "since checkpoint #\($0.sequence), which matched" } ?? "since the start (no checkpoint matched before)"
        var footer = ["Check: state digest == digest logged at checkpoint #\(place.sequence)",
                      "  logged:   \(loggedDigest)",
                      "  replayed: \(replayedDigest)"]
        if recentCommands.isEmpty { footer.insert("No command was applied \(since).", at: 0) }
        let lines = recentCommands.enumerated().map { index, item in
            Report.Line(place: item.0, command: item.1, marker: index == recentCommands.count - 1 ? "last before the checkpoint" : nil)
        }
        return Report(kind: "check", headline: "Digest differs at checkpoint \(place)\n"
                      + "Last \(lines.count) commands \(since), oldest first:",
                      lines: lines, footer: footer, fields: [
                        ("checkpoint_seq", .integer(Int64(place.sequence))),
                        ("logged_digest", .string(loggedDigest)),
                        ("replayed_digest", .string(replayedDigest)),
                        ("last_matching_checkpoint_seq", lastMatchingCheckpoint.map { .integer(Int64($0.sequence)) } ?? .null),
                      ])
    }
}
