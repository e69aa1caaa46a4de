import ArgumentParser
import RewindLog
import RewindReplay

extension Rewind {
    /// The formats `rewind export` writes.
    public enum ExportFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
        /// A Redis AOF of RESP commands, which redis-server 7.0 loads.
        case aof
    }

    /// `rewind export --format aof LOG FILE`.
    public struct Export: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Write a log as a Redis AOF that redis-server 7.0 loads to the same data set.",
            discussion: """
                SELECT is written whenever the database changes and MULTI/EXEC around transactions. The file is \
                written under a temporary name and renamed to FILE at the end.
                """)

        @Option(help: "Write entries in this format.")
        var format: ExportFormat

        @Option(help: "Stop after this sequence number; a transaction it cuts in two is left out whole.")
        var until: UInt64?

        @Flag(help: "Write #TS: annotation lines with the entries' times, as Redis does with aof-timestamp-enabled.")
        var timestamps = false

        @OptionGroup var recoveryOptions: RecoveryOptions

        @OptionGroup var location: LogArgument

        @Argument(help: ArgumentHelp("Write the AOF to this file, replacing it.", valueName: "file"))
        var file: String

        public init() {}

        public func validate() throws {
            if until == 0 { throw ValidationError("Pass an --until of 1 or more: sequence numbers start at 1.") }
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let summary = try AOFExporter.export(
                log: location.log, to: file,
                options: .init(until: until, writesTimestamps: timestamps, recovery: recoveryOptions.recovery))
            for damage in summary.damages { output.error("rewind: damage: \(damage)") }
            output.write(summary.description)
            return .success
        }
    }
}
