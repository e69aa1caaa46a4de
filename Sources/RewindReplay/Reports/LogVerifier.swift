import RewindLog

/// Checks every record of a log and reports every damaged range, for `rewind verify`.
///
/// The log is read in skip-damaged fashion whatever the recovery mode, so every damage is found
/// and reported (bbolt's `Tx.Check` streams every finding rather than stopping at the first).
/// The recovery mode then decides the verdict: which of the damage a reader in that mode would
/// refuse.
public enum LogVerifier {
    /// What verification found.
    public struct Report: Sendable {
        public var directory: String
        public var recovery: RecoveryMode
        public var damages: [LogDamage] = []
        /// Good entries read (markers and checkpoints included).
        public var entryCount = 0
        public var recordCount = 0
        public var segmentCount = 0
        public var lastSequence: UInt64 = 0
        /// Entries known lost to damage (from the sequence ranges the damage reports name).
        public var lostEntryCount: Int { damages.reduce(0) { $0 + ($1.lostSequences?.count ?? 0) } }

        /// No damage at all.
        public var isClean: Bool { damages.isEmpty }
        /// Damage the recovery mode would refuse: everything under `absolute`, everything but a
        /// torn tail under `tolerate-tail`, nothing under `point-in-time` and `skip-damaged`
        /// (which read what they can and report the rest).
        public var refusedDamages: [LogDamage] {
            switch recovery {
            case .absolute: damages
            case .tolerateTail: damages.filter { $0.kind != .tornTail }
            case .pointInTime, .skipDamaged: []
            }
        }
        public var passes: Bool { refusedDamages.isEmpty }

        /// The last line of `rewind verify`: the verdict and what to do next.
        public var summaryLine: String {
            let counts = "\(counted(entryCount, "entry")) in \(counted(recordCount, "record")), \(counted(segmentCount, "segment"))"
            if isClean { return "OK: \(counts), last #\(lastSequence); no damage." }
            let onlyTail = damages.allSatisfy { $0.kind == .tornTail }
            let what = onlyTail
                ? "a torn tail (\(damages.reduce(0) { $0 + $1.byteCount }) bytes after #\(lastSequence))"
                : counted(damages.count, "damaged range")
                    + (lostEntryCount > 0 ? ", \(counted(lostEntryCount, "entry")) lost" : "")
            let verdict = passes ? "ACCEPTED under --recovery \(recovery)" : "DAMAGED"
            let advice = onlyTail
                ? "run `rewind repair \(directory)` to cut the torn tail"
                : "run `rewind repair --skip-damaged \(directory)` to keep the \(counted(entryCount, "good entry", "good entries"))"
            return "\(verdict): \(what); \(counts) readable; \(advice)."
        }
    }

    /// Reads every record of the log in `directory`; `reporter` hears each damage as it is found.
    ///
    /// - Throws: `LogError` when the directory holds no readable log (missing, foreign, bad
    ///   manifest) or a file cannot be read.
    public static func verify(directory: String, recovery: RecoveryMode = .absolute, reporter: DamageReporter? = nil) throws -> Report {
        let reader = try LogReader(directory: directory)
        var report = Report(directory: directory, recovery: recovery)
        report.segmentCount = reader.manifest.segments.count
        let collector = DamageCollector()
        final class Forwarder: DamageReporter {
            let targets: [DamageReporter]
            init(_ targets: [DamageReporter]) { self.targets = targets }
            func report(_ damage: LogDamage) { for target in targets { target.report(damage) } }
        }
        let summary = try reader.forEachEntry(recovery: .skipDamaged, reporter: Forwarder([collector] + (reporter.map { [$0] } ?? []))) { _ in report.entryCount += 1 }
        report.damages = collector.damages
        report.recordCount = summary.recordCount
        report.lastSequence = summary.lastSequence
        return report
    }
}
