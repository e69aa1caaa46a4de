import ArgumentParser
import Foundation
import RewindLog
import RewindReplay

extension Rewind {
    /// `rewind tail LOG [--follow]`: the last entries of a log, then each new one.
    public struct Tail: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Print the last entries of a log and, with --follow, each new one as it is appended.",
            discussion: """
                Lines are those of inspect (or JSON lines with --json). With --follow, the log is read again every \
                --interval-ms milliseconds from the entry after the last one printed, until interrupted; a record \
                still being written is read whole at a later pass. Exit codes: 0 done; 1 the log is missing or \
                damaged (other than a record being written), or a filter pattern is malformed; 2 usage errors.
                """)

        @OptionGroup var location: LogArgument

        @Option(name: [.customShort("n"), .long], help: "Print this many entries from the end first.")
        var lines: Int = 10

        @Flag(help: "Keep printing entries as they are appended, until interrupted.")
        var follow = false

        @Option(help: ArgumentHelp("With --follow, read the log again this often.", valueName: "ms"))
        var intervalMs: Int = 200

        @OptionGroup var filters: FilterOptions

        @Flag(help: "Print long arguments in full instead of shortening them.")
        var full = false

        @OptionGroup var format: JSONOption

        public init() {}

        public func validate() throws {
            if lines < 0 { throw ValidationError("Pass --lines 0 or more.") }
            if intervalMs < 1 { throw ValidationError("Pass an --interval-ms of 1 or more.") }
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let tailer = LogTailer(log: location.log, filter: try filters.filter())
            let render: (EntryView) -> String = { format.json ? EntryFormatting.jsonLine($0) : EntryFormatting.textLine($0, full: full) }
            if !follow || FileManager.default.fileExists(atPath: location.log + "/MANIFEST") {
                _ = try LogReader(directory: location.log)  // a missing log is an error unless following
                for line in try tailer.last(lines, render) { output.write(line) }
            }
            guard follow else { return .success }
            output.flush()
            while true {
                for line in try tailer.poll(render) { output.write(line) }
                output.flush()
                usleep(useconds_t(intervalMs * 1000))
            }
        }
    }
}
