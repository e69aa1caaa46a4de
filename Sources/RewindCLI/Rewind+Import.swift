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
        /// A Redis RDB file (`dump.rdb`), versions 1 to 11 (Redis 7.0 writes 10).
        case rdb
    }

    /// `rewind import --format aof|monitor|rdb SOURCE LOG`.
    public struct Import: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Import a Redis AOF, RDB file or MONITOR capture into a new log.",
            discussion: """
                An AOF is one file or a Redis 7 appenddir (base and incr files, through its manifest); #TS: \
                annotations become entry timestamps; an RDB base file or RDB preamble is read as an RDB. An RDB \
                becomes the commands that rebuild each key, at the RDB's ctime. A MONITOR capture keeps write \
                commands only. The log is created under a temporary name and appears at LOG only when the \
                import succeeds.
                """)

        @Option(help: "Read the source in this format.")
        var format: ImportFormat

        @Flag(help: "Import what precedes a truncated final command instead of failing (AOF only).")
        var allowTruncated = false

        @Flag(help: "Read past stream keys of an RDB (listing each) instead of failing on the first (rdb, aof).")
        var skipStreams = false

        @Argument(help: ArgumentHelp("Read this AOF file, appenddir, RDB file or MONITOR capture.", valueName: "source"))
        var source: String

        @Argument(help: ArgumentHelp("Create the new log in this directory, which must not exist yet.", valueName: "log"))
        var log: String

        public init() {}

        public func validate() throws {
            if allowTruncated && format != .aof { throw ValidationError("Use --allow-truncated only with --format aof.") }
            if skipStreams && format == .monitor { throw ValidationError("Use --skip-streams only with --format rdb or aof.") }
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
                    from: source, to: log, options: .init(allowsTruncatedTail: allowTruncated, skipsStreams: skipStreams), progress: progress)
            case .rdb:
                summary = try RDBImporter.importRDB(from: source, to: log, options: .init(skipsStreams: skipStreams), progress: progress)
            case .monitor:
                summary = try MonitorImporter.importMonitor(from: source, to: log, progress: progress)
            }
            output.endProgress()
            if let truncation = summary.truncation { output.error("rewind: warning: \(truncation)") }
            for note in summary.notes { output.error("rewind: note: \(note)") }
            output.write(summary.description)
            return .success
        }
    }
}
