import ArgumentParser
import Dispatch
import Foundation
import Logging
import RewindLog
import RewindReplay
import RewindServer

extension DurabilityPolicy: ExpressibleByArgument {}

extension Rewind {
    /// `rewind serve`: a Redis-compatible server that logs every write and recovers at start.
    public struct Serve: RewindCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Serve the Redis protocol on a port, logging every write to a Rewind log.",
            discussion: """
                Replays the log at start (cutting a torn tail under the default recovery mode and refusing any \
                other damage with its place and the command to run), then serves RESP2 and RESP3 clients such as \
                redis-cli and redis-benchmark. BGREWRITEAOF (and the automatic trigger below) compacts the log while \
                clients keep writing. SHUTDOWN, SIGTERM and SIGINT sync and close the log. Exits 0 after \
                a clean shutdown and 1 when the log cannot be recovered, the port cannot be bound, or the log \
                fails while serving (a write or fdatasync error: under appendfsync always the server then stops \
                at once; under everysec and no it refuses writes with MISCONF and serves reads until stopped).
                """)

        @Option(help: "Keep the log in this directory; it is created when missing.")
        var dir: String = "./rewind-data"

        @Option(help: "Listen on this address; loopback only by default.")
        var bind: String = "127.0.0.1"

        @Option(help: "Listen on this TCP port.")
        var port: Int = 6379

        @Option(help: "Reply to a write once its entry is fsynced (always), or once it is written to the OS and fsynced every second (everysec) or whenever the OS does (no).")
        var appendfsync: DurabilityPolicy = .everysec

        @Flag(help: "Under everysec and no, reply once a write is queued in the log, not once it is written to the OS; a process crash may then lose the last few milliseconds of acknowledged writes.")
        var replyBeforeWrite = false

        @Option(help: "Require clients to authenticate with this password.")
        var requirepass: String?

        @Option(help: "Treat damage found at start as this recovery mode does.")
        var recovery: RecoveryMode = .tolerateTail

        @Option(help: "Offer this many databases to SELECT.")
        var databases: Int = 16

        @Option(help: "Refuse requests with a bulk string longer than this many bytes (proto-max-bulk-len).")
        var protoMaxBulkLen: Int = 512 * 1024 * 1024

        @Option(help: "Refuse connections past this many clients (maxclients).")
        var maxclients: Int = 10_000

        @Flag(help: "Store with each logged write a 64-bit hash of the reply the client got, for rewind replay --check.")
        var recordReplies = false

        @Option(help: ArgumentHelp("After every N logged entries, log a checkpoint holding the state digest, for rewind replay --check (0: none).", valueName: "n"))
        var checkpointEvery: Int = 0

        @Option(help: ArgumentHelp("Compact the log in the background (as BGREWRITEAOF) once it grew this many percent over its size after the last compaction, as Redis's auto-aof-rewrite-percentage (0: never).", valueName: "p"))
        var autoCompactPercentage: Int = 100

        @Option(help: ArgumentHelp("Compact automatically only once the log is larger than this size, such as 64mb or 1gb, as Redis's auto-aof-rewrite-min-size.", valueName: "size"))
        var autoCompactMinSize: String = "64mb"

        public init() {}

        public func validate() throws {
            guard (0...65535).contains(port) else { throw ValidationError("Choose a --port from 0 to 65535.") }
            guard databases >= 1 else { throw ValidationError("Choose at least 1 for --databases.") }
            guard checkpointEvery >= 0 else { throw ValidationError("Choose 0 (no checkpoints) or more for --checkpoint-every.") }
            guard maxclients >= 1 else { throw ValidationError("Choose at least 1 for --maxclients.") }
            guard protoMaxBulkLen >= 1024 * 1024 else { throw ValidationError("Choose at least 1048576 for --proto-max-bulk-len, as Redis does.") }
            guard (0...Int(Int32.max)).contains(autoCompactPercentage) else {
                throw ValidationError("Choose --auto-compact-percentage from 0 (never) to 2147483647.")
            }
            guard ServerConfiguration.memoryByteCount(autoCompactMinSize) != nil else {
                throw ValidationError("Pass --auto-compact-min-size as bytes, optionally with a unit (k, kb, m, mb, g, gb), such as 64mb.")
            }
        }

        public func execute(_ output: CommandOutput) throws -> ExitCode {
            let signals = StopSignals(command: "rewind serve")
            // A file size limit (ulimit -f) makes a write fail with EFBIG, reported like a full
            // disk, instead of killing the server with SIGXFSZ.
            signal(SIGXFSZ, SIG_IGN)
            var configuration = ServerConfiguration()
            configuration.directory = dir
            configuration.bindAddress = bind
            configuration.port = port
            configuration.durability = appendfsync
            configuration.requirePassword = requirepass
            configuration.repliesBeforeWrite = replyBeforeWrite
            configuration.recovery = recovery
            configuration.databaseCount = databases
            configuration.limits.bulkByteCountMax = protoMaxBulkLen
            configuration.limits.clientCountMax = maxclients
            configuration.recordsReplies = recordReplies
            configuration.checkpointEntryCount = checkpointEvery
            configuration.autoCompactPercentage = autoCompactPercentage
            configuration.autoCompactMinByteCount = ServerConfiguration.memoryByteCount(autoCompactMinSize) ?? configuration.autoCompactMinByteCount
            // Crash tests: kill the process at this step of an online compaction (see `rewind compact`).
            configuration.compactionCrashStep = ProcessInfo.processInfo.environment[Compact.crashVariable]
            var logger = Logger(label: "rewind.serve")
            logger.logLevel = .info
            let server: RedisServer
            do {
                server = try RedisServer.start(configuration, logger: logger)
            } catch let error as ServerStartupError {
                output.error("rewind serve: \(error.description)")
                return ExitCode(1)
            }
            if let cut = server.startupReport.pointInTimeCut {
                output.error("rewind serve: point-in-time recovery: \(cut); new writes continue at #\(cut.lastKeptSequence + 1)")
            }
            output.error("rewind serve: ready on \(bind):\(server.port) (\(counted(server.startupReport.entriesReplayed, "entry")) replayed, appendfsync \(appendfsync))")
            signals.serving { server.stop() }
            do {
                try server.waitUntilStopped()
            } catch let failure as ServerLogFailure {
                signals.cancel()
                output.error("""
                    rewind serve: the log failed: \(failure.description); stopped. Every write acknowledged \
                    (through entry #\(failure.lastAcknowledgedSequence)) is in the log, and nothing after it was \
                    acknowledged. Fix the cause (free space, check the disk), then start again on the same --dir \
                    to recover from the log.
                    """)
                return ExitCode(1)
            }
            signals.cancel()
            output.error("rewind serve: log synced and closed")
            return .success
        }
    }
}
