import ArgumentParser
import RewindLog
import RewindReplay

extension Rewind {
    /// `rewind repair LOG`: cut a torn tail, or drop damaged records with `--skip-damaged`.
    public struct Repair: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Cut a torn tail off a log, or rewrite it without its damaged records.",
            discussion: """
                A clean log is never touched. Without --skip-damaged only a torn tail is cut; any other damage \
                is an error that changes nothing. Prints every damaged range and exactly what was lost. \
                Exits 0 when the log is clean or was repaired, 1 when it was not.
                """)

        @OptionGroup var location: LogArgument

        @Flag(help: "Drop every damaged record and keep the good ones, rewriting the damaged segments.")
        var skipDamaged = false

        public init() {}

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            // Refuse a missing or foreign directory before LogRepair takes the log's lock, which
            // would create a LOCK file in it.
            _ = try LogReader(directory: location.log)
            let report = try LogRepair.repair(directory: location.log, skipDamaged: skipDamaged)
            output.write(RepairRendering.render(report, directory: location.log))
            return .success
        }
    }
}

/// The text `rewind repair` prints for a repair report.
enum RepairRendering {
    static func render(_ report: LogRepair.Report, directory: String) -> String {
        guard report.changed else {
            return "OK: \(directory) is clean; nothing was changed (\(counted(report.entriesKept, "entry")))."
        }
        var lines = report.damages.map { "dropped " + $0.description }
        let ranges = report.lostSequences.map { $0.count == 1 ? "#\($0.lowerBound)" : "#\($0.lowerBound)-#\($0.upperBound)" }
        let lost = ranges.isEmpty
            ? "no whole entry lost (a torn record was never fully written)"
            : "\(counted(report.entriesLost, "entry")) lost (\(ranges.joined(separator: ", ")))"
        lines.append("REPAIRED: \(report.bytesDropped) bytes dropped, \(lost); \(counted(report.entriesKept, "entry")) kept.")
        return lines.joined(separator: "\n")
    }
}
