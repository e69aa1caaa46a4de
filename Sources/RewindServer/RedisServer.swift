// The listening server: startup, the channel pipeline, timers and shutdown. See swift-nio
// Sources/NIOEchoServer/main.swift for the bootstrap, and docs/SERVER.md.

import Logging
import NIOCore
import NIOPosix
import RewindEngine
import RewindLog
import RewindRESP

/// A Redis-compatible server over a Rewind log: `rewind serve`.
///
/// Everything runs on one event loop, as Redis runs on one thread: the keyspace is not
/// thread-safe and needs no locks that way. The log's flusher thread (compression, write,
/// fdatasync) uses another core; the ``DurabilityCommitter`` hands it each iteration's entries.
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.port = 0
/// let server = try RedisServer.start(configuration)
/// print(server.port)
/// try server.waitUntilStopped()   // returns after SHUTDOWN or stop(); the log is closed
/// ```
public final class RedisServer: @unchecked Sendable {
    /// The port the server listens on (useful when the configuration asked for port 0).
    public let port: Int
    /// What startup replayed and repaired.
    public let startupReport: StartupReport

    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let core: ServerCore
    private let committer: DurabilityCommitter?
    private var cron: RepeatedTask?

    private init(group: MultiThreadedEventLoopGroup, channel: Channel, core: ServerCore, committer: DurabilityCommitter?,
                 startupReport: StartupReport) {
        self.group = group
        self.channel = channel
        self.core = core
        self.committer = committer
        self.startupReport = startupReport
        port = channel.localAddress?.port ?? 0
    }

    /// Replays the log and starts listening.
    ///
    /// - Throws: ``ServerStartupError`` when the log is damaged in a way the recovery mode
    ///   refuses (the message names the place and the command to run), or when binding fails.
    public static func start(_ configuration: ServerConfiguration,
                             logger: Logger = Logger(label: "rewind.serve")) throws -> RedisServer {
        let keyspace = Keyspace(randomSeed: configuration.randomSeed, databaseCount: configuration.databaseCount)
        let (writer, report) = try LogRecovery.open(configuration, into: keyspace) { damage in
            logger.warning("recovered from damage: \(damage)")
        }
        if let cut = report.pointInTimeCut {
            logger.warning("point-in-time recovery: \(cut); serving the state after entry #\(cut.lastKeptSequence), new writes continue at #\(cut.lastKeptSequence + 1)")
        }
        logger.info("replayed \(report.entriesReplayed) entries from \(configuration.directory) in \(report.replayMilliseconds) ms")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let eventLoop = group.next()
        let core = ServerCore(configuration: configuration, keyspace: keyspace, writer: writer, eventLoop: eventLoop,
                              logger: logger, startupReport: report)
        let committer = DurabilityCommitter(
            writer: writer, durable: configuration.durability == .always, eventLoop: eventLoop,
            startSequence: writer.nextSequenceNumber - 1,
            acknowledged: { core.acknowledge(upTo: $0) },
            failed: { core.logFailed($0) })
        core.committer = committer
        committer.start()
        let server: RedisServer
        do {
            server = try listen(core: core, committer: committer, group: group, configuration: configuration, startupReport: report)
        } catch {
            committer.stop(after: 0)
            try? writer.close()
            throw error
        }
        logger.info("listening on \(configuration.bindAddress):\(server.port), appendfsync \(configuration.durability)")
        return server
    }

    /// Serves `keyspace` read-only, with no log: `rewind replay --serve`, and the server
    /// `rewind bisect --run` points its check at.
    ///
    /// Reads, SCAN, TYPE, TTL, DEBUG DIGEST and DIGEST-VALUE, INFO, PING, SELECT, CLIENT,
    /// COMMAND, QUIT, MULTI/EXEC of reads and pub/sub work as on a live server. Every command the
    /// command table flags `write` (FLUSHALL, blocking pops included) gets Redis's replica error,
    /// `-READONLY You can't write against a read only replica.`, and inside MULTI makes EXEC fail
    /// with `-EXECABORT`, as on a read-only replica.
    ///
    /// The clock is frozen at `clockMilliseconds` (normally the time of the last entry replayed):
    /// every command runs at that time, TTL and PTTL count from it, TIME answers it, and no key
    /// expires while a person inspects the past. There is no active expiry. A read of a key whose
    /// TTL had already passed at the frozen time finds it gone, as a client of the original server
    /// would have (the engine deletes it from the served keyspace on that read; nothing else ever
    /// changes the keyspace).
    ///
    /// The server owns `keyspace` until ``waitUntilStopped()`` returns: do not touch it from
    /// another thread meanwhile. `configuration` supplies the address (`port` 0 picks a free one;
    /// read it back from ``port``; the default is 6379), the password and the protocol limits; its
    /// `databaseCount` (the keyspace's own is used), log directory, durability and reply/checkpoint
    /// recording are ignored.
    ///
    /// ```swift
    /// let keyspace = Keyspace(randomSeed: 0)
    /// let summary = try Replayer(log: "orders.rwlog").replay(into: keyspace, options: ReplayOptions(untilSequence: 100))
    /// var configuration = ServerConfiguration()
    /// configuration.port = 0
    /// let server = try RedisServer.startReadOnly(keyspace: keyspace, clockMilliseconds: summary.lastTimestampMilliseconds,
    ///                                            configuration: configuration)
    /// // ... point a client at 127.0.0.1:\(server.port) ...
    /// server.stop()
    /// try server.waitUntilStopped()
    /// ```
    ///
    /// - Throws: ``ServerStartupError`` when binding fails.
    public static func startReadOnly(keyspace: Keyspace, clockMilliseconds: Int64,
                                     configuration: ServerConfiguration = ServerConfiguration(),
                                     logger: Logger = Logger(label: "rewind.replay.serve")) throws -> RedisServer {
        var configuration = configuration
        configuration.databaseCount = keyspace.databaseCount
        configuration.recordsReplies = false
        configuration.checkpointEntryCount = 0
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let core = ServerCore(configuration: configuration, keyspace: keyspace, writer: nil, eventLoop: group.next(),
                              logger: logger, startupReport: StartupReport(), frozenClockMilliseconds: clockMilliseconds)
        let server = try listen(core: core, committer: nil, group: group, configuration: configuration, startupReport: StartupReport())
        logger.info("serving read-only on \(configuration.bindAddress):\(server.port), clock frozen at \(clockMilliseconds) ms")
        return server
    }

    /// Binds, wires every connection to `core` and starts the cron. Shuts `group` down on failure.
    private static func listen(core: ServerCore, committer: DurabilityCommitter?, group: MultiThreadedEventLoopGroup,
                               configuration: ServerConfiguration, startupReport: StartupReport) throws -> RedisServer {
        let eventLoop = core.eventLoop
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 511)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 * 1024, maximum: 1024 * 1024))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ConnectionHandler(core: core, id: core.makeClientID(), nowMilliseconds: Clock.nowMilliseconds())
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let channel: Channel
        do {
            channel = try bootstrap.bind(host: configuration.bindAddress, port: configuration.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw ServerStartupError("cannot listen on \(configuration.bindAddress):\(configuration.port): \(error)")
        }
        let server = RedisServer(group: group, channel: channel, core: core, committer: committer, startupReport: startupReport)
        try eventLoop.submit {
            core.shutdownRequested = { [weak server] in server?.stop() }
            let interval = TimeAmount.milliseconds(Int64(1000 / max(1, configuration.hz)))
            server.cron = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in core.cron() }
        }.wait()
        return server
    }

    /// Stops accepting connections; ``waitUntilStopped()`` then finishes the shutdown. Safe to
    /// call from any thread (a signal handler's queue, a test) and more than once.
    public func stop() {
        channel.close(promise: nil)
    }

    /// Blocks until the server stops, then acknowledges every write, closes the clients and
    /// syncs and closes the log.
    public func waitUntilStopped() throws {
        try? channel.closeFuture.wait()
        let eventLoop = core.eventLoop
        // Acknowledge everything appended, so held replies go out before the clients close.
        let last = try eventLoop.submit { () -> UInt64 in
            self.cron?.cancel()
            self.core.commitStaged()
            return self.core.appendedSequence
        }.wait()
        let stopFailure = committer?.stop(after: last)
        try eventLoop.submit { self.core.closeAllClients() }.wait()
        // Connections close once their replies are written, a slow reader's within
        // ``ConnectionHandler/closeDrainTimeLimit``: wait as long for them.
        let drainDeadline = NIODeadline.now() + ConnectionHandler.closeDrainTimeLimit
        while NIODeadline.now() < drainDeadline,
              let open = try? eventLoop.submit({ self.core.clients.count }).wait(), open > 0 {
            try? eventLoop.scheduleTask(in: .milliseconds(50)) {}.futureResult.wait()
        }
        // A compaction still running fails at its swap (the writer is closed) and removes its base;
        // its end is no longer reported to the event loop, which is about to stop.
        core.rewriteHandoff.close()
        let closeError: Error? = {
            do {
                try core.writer?.close()
                return nil
            } catch {
                return error
            }
        }()
        try? group.syncShutdownGracefully()
        if let failure = core.logFailure ?? stopFailure ?? closeError {
            // The event loop has stopped: its state can be read here. (A failure in the final
            // flush reaches only `stop`, one in the final sync only the close.) What was
            // acknowledged, never past what the writer took.
            let reached = min(core.acknowledgedSequence, committer?.reachedSequence() ?? core.acknowledgedSequence)
            throw ServerLogFailure(description: "\(failure)", lastAcknowledgedSequence: reached)
        }
        core.logger.info(core.writer == nil ? "server stopped" : "log synced and closed; server stopped")
    }
}

/// The log failed while the server ran (a write or fdatasync error: a full disk, an I/O error,
/// a file size limit); thrown by ``RedisServer/waitUntilStopped()``. Under `always` the server
/// stops by itself when it happens; under `everysec` and `no` it refuses writes until stopped.
/// Every entry up to `lastAcknowledgedSequence` is in the log; nothing after it was acknowledged.
public struct ServerLogFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public var lastAcknowledgedSequence: UInt64
}
