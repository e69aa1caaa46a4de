import ArgumentParser
import RewindLog
import RewindReplay

extension Rewind {
    /// The formats `rewind export` writes.
    public enum ExportFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
        /// A Redis AOF of RESP commands, which redis-server 7.0 loads.
        case aof
        /// A Redis RDB file (version 10) of the state at the end (or at --until), which redis-server 7.0 loads.
        case rdb
    }

    /// `rewind export --format aof|rdb LOG FILE`.
    public struct Export: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Write a log as a Redis AOF or RDB file that redis-server 7.0 loads to the same data set.",
            discussion: """
                aof: every entry as a command; SELECT is written whenever the database changes and MULTI/EXEC \
                around transactions. rdb: the log is replayed and its state written as an RDB (version 10). The \
                file is written under a temporary name and renamed to FILE at the end.
                """)

        @Option(help: "Write entries in this format.")
        var format: ExportFormat

        @Option(help: "Stop after this sequence number; a transaction it cuts in two is left out whole.")
        var until: UInt64?

        @Flag(help: "Write #TS: annotation lines with the entries' times, as Redis does with aof-timestamp-enabled.")
        var timestamps = false

        @OptionGroup var recoveryOptions: RecoveryOptions

        @OptionGroup var location: LogArgument

        @Argument(help: ArgumentHelp("Write the AOF or RDB to this file, replacing it.", valueName: "file"))
        var file: String

        public init() {}

        public func validate() throws {
            if until == 0 { throw ValidationError("Pass an --until of 1 or more: sequence numbers start at 1.") }
            if timestamps && format == .rdb { throw ValidationError("Use --timestamps only with --format aof.") }
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            if format == .rdb {
                let summary = try RDBExporter.export(log: location.log, to: file, until: until, recovery: recoveryOptions.recovery)
                for damage in summary.damages { output.error("rewind: damage: \(damage)") }
                output.write(summary.description)
                return .success
            }
            let summary = try AOFExporter.export(
                log: location.log, to: file,
                options: .init(until: until, writesTimestamps: timestamps, recovery: recoveryOptions.recovery))
            for damage in summary.damages { output.error("rewind: damage: \(damage)") }
            output.write(summary.description)
            return .success
        }
    }
}
