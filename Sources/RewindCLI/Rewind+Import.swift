import ArgumentParser
import RewindLog
import RewindReplay

extension Rewind {
    /// The formats `rewind import` reads.
    public enum ImportFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
        /// A Redis AOF: one file, or a Redis 7 appenddir with its manifest.
        case aof
        /// The output of `redis-cli monitor`.
        case monitor
    }

    /// `rewind import --format aof|monitor SOURCE LOG`.
    public struct Import: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Import a Redis AOF or a MONITOR capture into a new log.",
            discussion: """
                An AOF is one file or a Redis 7 appenddir (base and incr files, through its manifest); #TS: \
                annotations become entry timestamps. A MONITOR capture keeps write commands only. The log is \
                created under a temporary name and appears at LOG only when the import succeeds.
                """)

        @Option(help: "Read the source in this format.")
        var format: ImportFormat

        @Flag(help: "Import what precedes a truncated final command instead of failing (AOF only).")
        var allowTruncated = false

        @Argument(help: ArgumentHelp("Read this AOF file, appenddir or MONITOR capture.", valueName: "source"))
        var source: String

        @Argument(help: ArgumentHelp("Create the new log in this directory, which must not exist yet.", valueName: "log"))
        var log: String

        public init() {}

        public func validate() throws {
            if allowTruncated && format != .aof { throw ValidationError("Use --allow-truncated only with --format aof.") }
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let progress: (ImportProgress) -> Void = { progress in
                let percent = progress.sourceByteCount == 0 ? 100 : progress.sourceBytesRead * 100 / progress.sourceByteCount
                output.progress("importing: \(percent)% of \(progress.sourceByteCount) bytes, \(progress.entryCount) entries")
            }
            defer { output.endProgress() }
            let summary: ImportSummary
            switch format {
            case .aof:
                summary = try AOFImporter.importAOF(
                    from: source, to: log, options: .init(allowsTruncatedTail: allowTruncated), progress: progress)
            case .monitor:
                summary = try MonitorImporter.importMonitor(from: source, to: log, progress: progress)
            }
            output.endProgress()
            if let truncation = summary.truncation { output.error("rewind: warning: \(truncation)") }
            output.write(summary.description)
            return .success
        }
    }
}
