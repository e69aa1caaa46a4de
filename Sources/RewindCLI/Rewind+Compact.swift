import ArgumentParser
import Foundation
import RewindLog
import RewindReplay

extension Rewind {
    /// `rewind compact LOG`: replace the history before a cut by a base segment that rebuilds it.
    public struct Compact: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Replace a log's old history by a base segment of the commands that rebuild its state.",
            discussion: """
                Replays the log to a cut at a record boundary, writes one command per key (or per bounded chunk of a \
                big collection, plus PEXPIREAT) as a base segment, keeps every entry after the cut byte for byte with \
                its sequence number, proves that the result replays to the same digest as the original, then swaps the \
                manifest atomically and removes the old segments. Without --keep-history or --keep-entries the whole \
                history is compacted. A log a writer holds open is refused. Exit codes: 0 compacted (or nothing to \
                compact); 1 the log is locked, damaged where compaction would keep or drop entries, a write failed \
                (the log is then unchanged) or the proof failed; 2 usage errors.
                """)

        @OptionGroup var location: LogArgument

        @Option(help: ArgumentHelp("Keep the entries of this last stretch of the log's time, such as 90s, 15m, 2h or 7d.", valueName: "duration"))
        var keepHistory: String?

        @Option(help: ArgumentHelp("Keep at least this many of the last entries.", valueName: "n"))
        var keepEntries: UInt64?

        @Option(help: ArgumentHelp("Write the compacted log to this new directory and leave the log as it is.", valueName: "dir"))
        var out: String?

        @OptionGroup var format: JSONOption
        @OptionGroup var recoveryOptions: RecoveryOptions

        public init() {}

        /// Set to a step name (`writing-base`, `base-written`, `manifest-written`,
        /// `manifest-renamed`, `deleting-old`) to kill the process there with SIGKILL: crash tests.
        static let crashVariable = "REWIND_COMPACT_CRASH_AT"

        public func validate() throws {
            if keepHistory != nil && keepEntries != nil {
                throw ValidationError("Pass either --keep-history or --keep-entries, not both.")
            }
            if let keepHistory, Self.milliseconds(keepHistory) == nil {
                throw ValidationError("Pass --keep-history as a number and a unit (ms, s, m, h or d), such as 90s or 7d.")
            }
        }

        /// `500ms`, `90s`, `15m`, `2h`, `7d` in milliseconds.
        static func milliseconds(_ text: String) -> Int64? {
            let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
            for (unit, factor) in units where text.hasSuffix(unit) {
                guard let number = Int64(text.dropLast(unit.count)), number >= 0 else { return nil }
                let (product, overflow) = number.multipliedReportingOverflow(by: factor)
                return overflow ? nil : product
            }
            return nil
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            _ = try LogReader(directory: location.log)  // a missing or foreign directory gets no LOCK file
            let options = CompactionOptions(
                keepEntryCount: keepEntries, keepHistoryMilliseconds: keepHistory.flatMap(Self.milliseconds),
                outputDirectory: out, recovery: recoveryOptions.recovery)
            let crashStep = ProcessInfo.processInfo.environment[Self.crashVariable]
            let report = try Compactor.compact(log: location.log, options: options, onStep: { step in
                if step.rawValue == crashStep {
                    output.flush()
                    kill(getpid(), SIGKILL)
                }
            }, progress: { output.progress($0) })
            output.endProgress()
            for damage in report.damages {
                let fate = damage.kind == .tornTail ? "left for the writer to cut, as on every open" : "dropped with the compacted history"
                output.error("rewind: damage: \(damage) (\(fate))")
            }
            output.write(format.json ? Self.json(report) : Self.text(report, log: location.log))
            return .success
        }

        static func text(_ report: CompactionReport, log: String) -> String {
            var lines: [String] = []
            if !report.removedStrayFiles.isEmpty {
                lines.append("removed \(counted(report.removedStrayFiles.count, "file")) no manifest named: \(report.removedStrayFiles.joined(separator: ", "))")
            }
            guard report.changed else {
                let why = report.cutSequence == 0 ? "no whole record lies before the kept window" : "the history before #\(report.cutSequence) is already a base"
                lines.append("OK: nothing to compact in \(log) (\(why)); nothing was changed.")
                return lines.joined(separator: "\n")
            }
            let kept = report.keptEntryCount == 0 ? "no entry kept after it"
                : "#\(report.cutSequence + 1)-#\(report.lastSequence) kept byte for byte (\(counted(report.keptEntryCount, "entry")))"
            lines.append("cut after #\(report.cutSequence): \(counted(report.keyCount, "key", "keys")) at the cut; \(kept)")
            lines.append("base: \(counted(report.baseEntryCount, "entry")) in \(counted(report.baseRecordCount, "record")), \(report.baseByteCount) bytes")
            if report.refusedCommandCount > 0 {
                lines.append("note: the engine refused \(counted(report.refusedCommandCount, "command")) of the compacted history; refused commands change nothing, so the base has nothing of them")
            }
            lines.append("proven: the compacted log replays to \(report.digest) at #\(report.lastSequence), as the original does (checkpoint at #\(report.cutSequence): \(report.digestAtCut))")
            let ratio = report.byteCountBefore > 0 ? Double(report.byteCountAfter) / Double(report.byteCountBefore) : 0
            lines.append(String(format: "COMPACTED: %@ %d -> %d bytes (%.2fx) in %.2f s (replay %.2f s, write %.2f s, proof %.2f s, swap %.2f s).",
                                report.directory, report.byteCountBefore, report.byteCountAfter, ratio, report.totalSeconds,
                                report.replaySeconds, report.writeSeconds, report.proofSeconds, report.installSeconds))
            return lines.joined(separator: "\n")
        }

        static func json(_ report: CompactionReport) -> String {
            var object = JSONObject()
            object.add("changed", report.changed)
            object.add("directory", report.directory)
            object.add("cut_seq", report.cutSequence)
            object.add("last_seq", report.lastSequence)
            object.add("kept_entries", report.keptEntryCount)
            object.add("base_entries", report.baseEntryCount)
            object.add("base_records", report.baseRecordCount)
            object.add("base_bytes", report.baseByteCount)
            object.add("keys", report.keyCount)
            object.add("bytes_before", report.byteCountBefore)
            object.add("bytes_after", report.byteCountAfter)
            object.add("digest", report.digest)
            object.add("digest_at_cut", report.digestAtCut)
            object.add("proven", report.changed)
            object.add("damages", strings: report.damages.map(\.description))
            object.add("removed_files", strings: report.removedStrayFiles)
            object.add("seconds", report.totalSeconds)
            object.add("replay_seconds", report.replaySeconds)
            object.add("write_seconds", report.writeSeconds)
            object.add("proof_seconds", report.proofSeconds)
            object.add("swap_seconds", report.installSeconds)
            return object.text
        }
    }
}
