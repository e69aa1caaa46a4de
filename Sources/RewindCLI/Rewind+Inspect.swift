import ArgumentParser
import RewindLog
import RewindReplay

extension Rewind {
    /// `rewind inspect LOG`: print entries readably or as JSON lines.
    public struct Inspect: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Print the entries of a log, one line each.",
            discussion: """
                Text lines show the sequence number, the time in ISO 8601 with milliseconds, the database and the \
                command quoted as redis-cli quotes it. With --json, each line is one JSON object. With a filter, only \
                commands that pass every filter are shown (no transaction markers or checkpoints).
                """)

        @OptionGroup var location: LogArgument

        @Option(help: "Start at this sequence number.")
        var from: UInt64 = 1

        @Option(help: "Print at most this many entries.")
        var limit: Int?

        @Flag(help: "Print long arguments in full instead of shortening them.")
        var full = false

        @OptionGroup var filters: FilterOptions

        @OptionGroup var format: JSONOption
        @OptionGroup var recoveryOptions: RecoveryOptions

        public init() {}

        public func validate() throws {
            if let limit, limit < 0 { throw ValidationError("Pass a --limit of 0 or more.") }
            if from == 0 { throw ValidationError("Pass a --from of 1 or more: sequence numbers start at 1.") }
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let filter = try filters.filter()
            let reader = try LogReader(directory: location.log)
            struct Enough: Error {}
            var shown = 0
            var last: UInt64 = 0
            var first: UInt64?
            var summary: LogReader.Summary?
            do {
                summary = try reader.forEachEntry(
                    from: from, recovery: recoveryOptions.recovery, reporter: PrintingReporter(output, prefix: "rewind: damage: ", toErrorStream: true)
                ) { entry in
                    guard filter.matches(entry) else { return }
                    if let limit, shown >= limit { throw Enough() }
                    output.write(format.json ? EntryFormatting.jsonLine(entry) : EntryFormatting.textLine(entry, full: full))
                    shown += 1
                    if first == nil { first = entry.sequence }
                    last = entry.sequence
                }
            } catch is Enough {}
            if !format.json {
                let range = first.map { "#\($0)-#\(last)" } ?? "none"
                let total = summary.map { ", log ends at #\($0.lastSequence)" } ?? ""
                output.write("(\(counted(shown, "entry")) shown: \(range)\(total))")
            }
            return .success
        }
    }
}
