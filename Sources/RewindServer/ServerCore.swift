// The keyspace, the log and every connection, confined to one event loop as Redis confines them
// to its main thread. See docs/SERVER.md.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import RewindEngine
import RewindLog
import RewindRESP

/// The server's state: the keyspace, the log writer, the clients and the statistics.
///
/// Not thread-safe: everything here runs on ``eventLoop``. Writes are appended to the log as
/// they execute (which never blocks: the log's own thread compresses, writes and syncs), and
/// their replies are released by the ``DurabilityCommitter`` once the policy is met.
final class ServerCore: @unchecked Sendable {
    // The mutable stored properties here and in ConnectionHandler are `@exclusivity(unchecked)`:
    // both are used on their event loop only, and Swift's dynamic exclusivity checks on each
    // access were about 9% of `rewind serve`'s instructions under redis-benchmark (callgrind).
    let keyspace: Keyspace
    /// The log every write goes to; nil for a read-only server, which logs nothing.
    let writer: LogWriter?
    /// Set for a read-only server (``RedisServer/startReadOnly(keyspace:clockMilliseconds:configuration:logger:)``):
    /// the frozen time every command runs at. Writes are refused and nothing expires actively.
    let frozenClockMilliseconds: Int64?
    let eventLoop: EventLoop
    let logger: Logger
    @exclusivity(unchecked) var configuration: ServerConfiguration
    @exclusivity(unchecked) var config: ConfigParameters
    @exclusivity(unchecked) var committer: DurabilityCommitter?

    /// The last sequence number taken: by an entry in the log writer, or in ``staged``.
    @exclusivity(unchecked) private(set) var appendedSequence: UInt64
    /// Entries logged during this event-loop iteration, appended to the writer together at its
    /// end (``commitStaged()``): one lock acquisition and one flusher request per iteration. The
    /// server is the writer's only appender, so the sequence numbers they will get are known now.
    @exclusivity(unchecked) private var staged = LogWriter.Batch()
    /// Every entry up to this one meets the durability policy; replies waiting for it may go.
    @exclusivity(unchecked) private(set) var acknowledgedSequence: UInt64
    @exclusivity(unchecked) private var commitRequestScheduled = false
    /// Commands logged since the last checkpoint entry (``ServerConfiguration/checkpointEntryCount``).
    @exclusivity(unchecked) private var entriesSinceCheckpoint = 0
    /// Connections whose replies wait for the log, in the order they started waiting; each at
    /// most once (its `waitsForAcknowledgement` flag), and closed ones (flag cleared) until the
    /// next acknowledgement. An array: at `-P 1` every request joins and leaves it, and a
    /// dictionary's hashing was 1% of the event loop.
    @exclusivity(unchecked) private var waitingConnections: [ConnectionHandler] = []
    /// The array ``acknowledge(upTo:)`` walks while new waiters join `waitingConnections`
    /// (kept for its capacity).
    @exclusivity(unchecked) private var releasingConnections: [ConnectionHandler] = []
    /// Set once the log failed: writes are refused from then on, as Redis refuses them (MISCONF).
    @exclusivity(unchecked) private(set) var logFailure: Error?

    @exclusivity(unchecked) var clients: [Int64: ConnectionHandler] = [:]
    @exclusivity(unchecked) private var nextClientID: Int64 = 1
    @exclusivity(unchecked) var statistics = ServerStatistics()
    /// DEBUG SET-ACTIVE-EXPIRE 0 turns the cron's active expiry off (lazy expiry still runs).
    @exclusivity(unchecked) var activeExpireEnabled = true
    /// Connections that sent SYNC: each gets every logged entry as Redis's replication stream.
    @exclusivity(unchecked) var replicaStreams: [Int64: ConnectionHandler] = [:]
    /// Set while logging what a read propagated (lazy-expiry DELs): the replication stream sends
    /// those one by one, never wrapped in MULTI/EXEC (Redis 7.0 propagates them at once).
    @exclusivity(unchecked) var replicaFeedSplitsTransactions = false
    @exclusivity(unchecked) var blocking = BlockingQueues()
    @exclusivity(unchecked) var pubsub = PubSubRegistry()
    /// BGREWRITEAOF and the automatic trigger (ServerCore+Rewrite.swift).
    @exclusivity(unchecked) var rewrite = RewriteState()
    let rewriteHandoff = RewriteHandoff()
    /// Set by ``RedisServer`` to stop the server (SHUTDOWN).
    @exclusivity(unchecked) var shutdownRequested: (() -> Void)?
    let startMilliseconds: Int64
    let startupReport: StartupReport

    var requirePassword: String? { configuration.requirePassword }
    /// Replies to writes need no committer round trip (``ServerConfiguration/repliesBeforeWrite``).
    private var acknowledgesOnAppend: Bool { configuration.repliesBeforeWrite && configuration.durability != .always }

    init(configuration: ServerConfiguration, keyspace: Keyspace, writer: LogWriter?, eventLoop: EventLoop,
         logger: Logger, startupReport: StartupReport, frozenClockMilliseconds: Int64? = nil) {
        self.configuration = configuration
        config = ConfigParameters(configuration)
        self.keyspace = keyspace
        self.writer = writer
        self.frozenClockMilliseconds = frozenClockMilliseconds
        self.eventLoop = eventLoop
        self.logger = logger
        self.startupReport = startupReport
        appendedSequence = writer.map { $0.nextSequenceNumber - 1 } ?? 0
        acknowledgedSequence = appendedSequence
        startMilliseconds = Clock.nowMilliseconds()
        rewrite.baseByteCount = writer?.byteCount ?? 0
    }

    /// True when the server serves a state read-only, without a log.
    var isReadOnly: Bool { frozenClockMilliseconds != nil }

    /// The time a command runs at: the wall clock, or the frozen time of a read-only server.
    func currentMilliseconds() -> Int64 {
        frozenClockMilliseconds ?? Clock.nowMilliseconds()
    }

    // MARK: - Clients

    /// Adds a connection; false when `maxclients` is reached.
    func register(_ connection: ConnectionHandler) -> Bool {
        statistics.connectionsReceived += 1
        guard clients.count < configuration.limits.clientCountMax else {
            statistics.rejectedConnections += 1
            return false
        }
        clients[connection.id] = connection
        return true
    }

    func makeClientID() -> Int64 {
        defer { nextClientID += 1 }
        return nextClientID
    }

    func unregister(_ connection: ConnectionHandler) {
        guard clients.removeValue(forKey: connection.id) != nil else { return }
        keyspace.endSession(&connection.session)
        connection.queuedServerCommands = []
        blocking.remove(connection)
        pubsub.removeAll(for: connection)
        // Left in `waitingConnections` with its flag cleared: the next ``acknowledge(upTo:)``
        // drops it (a search here was linear per disconnect, quadratic for thousands at once).
        // Its replies waited for an entry not yet acknowledged, so a commit is on its way (or a
        // log failure, which empties the list: ``logFailed(_:)``).
        connection.waitsForAcknowledgement = false
        replicaStreams[connection.id] = nil
    }

    // MARK: - Commands

    /// Runs one request from `connection`: the state machine's checks, then a server command or
    /// the engine.
    func handle(_ arguments: [[UInt8]], from connection: ConnectionHandler) {
        guard let first = arguments.first else { return }
        let now = currentMilliseconds()
        countCommand(from: connection, now: now)
        let serverCommand = ServerCommand(name: first)
        if logFailure != nil, connection.machine.state != .authenticationPending,
           connection.machine.state != .closing {
            if configuration.durability == .always {
                // Stopping (``logFailed(_:)``): nothing more is answered.
                connection.closeDroppingHeldReplies()
                return
            }
            // Before the pub/sub context's check, as Redis orders them (`processCommand`).
            if refusedAfterLogFailure(arguments, connection: connection, now: now) { return }
        }
        switch connection.machine.state {
        case .normal, .transaction:
            break
        default:
            let name = serverCommand?.rawValue ?? Clock.lowercased(first)
            switch connection.machine.commandReceived(name) {
            case .execute: break
            case .ignore: return
            case .reject(let error):
                statistics.errorReplies += 1
                connection.send(error, after: 0)
                return
            }
        }
        if connection.machine.state == .subscribed, arguments.count <= 2, Clock.lowercased(first) == "ping" {
            // Redis answers PING in a RESP2 subscribed context as a pub/sub message.
            connection.send(.array([.bulk("pong"), .bulkString(arguments.count == 2 ? arguments[1] : [])]), after: 0)
            return
        }
        if let serverCommand, serverCommand.runsInsideTransaction || !connection.session.isInTransaction {
            connection.lastCommandName = serverCommand.rawValue
            runServerCommand(serverCommand, arguments, connection: connection, now: now)
            return
        }
        if let serverCommand {
            // Inside MULTI: Redis's queue-time checks (arity, subcommand, commands refused in a
            // transaction), whose error also dooms EXEC; otherwise the command is queued here,
            // beside the engine's queue, and runs in its place at EXEC.
            if let error = serverCommand.rejection(of: arguments, inTransaction: true) {
                connection.session.flagTransactionError()
                reply(connection, .error(error))
                return
            }
            connection.queuedServerCommands.append((connection.session.queuedCommandCount, arguments))
            connection.send(.simpleString("QUEUED"), after: 0)
            return
        }
        guard !connection.queuedServerCommands.isEmpty, arguments.count == 1 else {
            execute(arguments, connection: connection, now: now)
            return
        }
        switch Clock.lowercased(first) {
        case "exec": executeWithServerCommands(connection: connection, now: now)
        case "discard":
            connection.queuedServerCommands = []
            execute(arguments, connection: connection, now: now)
        default: execute(arguments, connection: connection, now: now)
        }
    }

    /// EXEC of a transaction that queued server commands: every queued command runs in queue
    /// order (``Keyspace/executeTransaction(session:nowMilliseconds:callerCommandPositions:runCallerCommand:)``),
    /// the engine's writes are logged as one transaction, and EXEC's array holds every reply.
    private func executeWithServerCommands(connection: ConnectionHandler, now: Int64) {
        let queued = connection.queuedServerCommands
        connection.queuedServerCommands = []
        connection.session.protocolVersion = connection.machine.protocolVersion
        var serverReplyIndexes = Set<Int>()
        var session = connection.session
        let result = keyspace.executeTransaction(
            session: &session, nowMilliseconds: now, callerCommandPositions: queued.map(\.position)
        ) { index, current in
            // Engine replies before this one: its position plus the server replies so far.
            let first = queued[index].position + serverReplyIndexes.count
            connection.session = current
            connection.capturedReplies = []
            connection.capturedPropagation = []
            let arguments = queued[index].arguments
            if let command = ServerCommand(name: arguments[0]) {
                runServerCommand(command, arguments, connection: connection, now: now)
            }
            let replies = connection.capturedReplies ?? []
            let propagated = connection.capturedPropagation ?? []
            connection.capturedReplies = nil
            connection.capturedPropagation = nil
            for offset in replies.indices { serverReplyIndexes.insert(first + offset) }
            return (replies, propagated)
        }
        connection.session = session
        var engineReply = result.reply
        if case .array(let replies) = result.reply, !serverReplyIndexes.isEmpty {
            engineReply = .array(replies.enumerated().filter { !serverReplyIndexes.contains($0.offset) }.map(\.element))
        }
        finish(result, arguments: [Array("EXEC".utf8)], hashedReply: engineReply, wasInTransaction: true,
               connection: connection, now: now)
    }

    /// Runs a command in the engine, logs what it propagated and queues its reply.
    func execute(_ arguments: [[UInt8]], connection: ConnectionHandler, now: Int64) {
        if isReadOnly, isWrite(arguments) {
            // Redis's answer on a read-only replica; inside MULTI it also dooms EXEC.
            statistics.errorReplies += 1
            connection.session.flagTransactionError()
            connection.send(.error(Self.readOnlyError), after: 0)
            return
        }
        let wasInTransaction = connection.session.isInTransaction
        if !wasInTransaction && !connection.queuedForReplyHashes.isEmpty { connection.queuedForReplyHashes = [] }
        connection.session.protocolVersion = connection.machine.protocolVersion
        let result = keyspace.execute(arguments, session: &connection.session, nowMilliseconds: now)
        finish(result, arguments: arguments, hashedReply: result.reply, wasInTransaction: wasInTransaction,
               connection: connection, now: now)
    }

    /// Runs a request the connection's parser packed (argument `i` is `bytes[ends[i - 1] ..<
    /// ends[i]]`, the name from 0) when it is a usual write the engine's packed path takes
    /// (``Keyspace/executeUsualWrite(packedBytes:ends:db:)``: SET, INCR, LPUSH, RPUSH, SADD, HSET,
    /// HMSET and ZADD in their simple forms, on keys without a TTL), in a connection with nothing
    /// else to apply (not in MULTI, subscribed or waiting for AUTH) and when nothing else has to
    /// see the command (``takesUsualWrites(from:)``), exactly as ``handle(_:from:)`` would run it
    /// through the engine's dispatcher, without an array per argument. Returns false, having done
    /// nothing, for every other request: the caller then hands it to ``handle(_:from:)``. (Requests
    /// that reach `handle` another way, under CLIENT REPLY OFF/SKIP or queued behind a blocking
    /// command, take the dispatcher: same replies, same log.)
    func handleUsualWrite(_ bytes: UnsafeRawBufferPointer, ends: UnsafeBufferPointer<Int>, from connection: ConnectionHandler) -> Bool {
        guard connection.machine.state == .normal, takesUsualWrites(from: connection) else { return false }
        let now = currentMilliseconds()
        let db = connection.session.databaseIndex
        guard let result = keyspace.executeUsualWrite(packedBytes: bytes, ends: ends, db: db) else { return false }
        countCommand(from: connection, now: now)
        if !connection.queuedForReplyHashes.isEmpty { connection.queuedForReplyHashes = [] }
        guard result.changed else {
            connection.send(result.reply, after: sequenceSeenByReads)
            return true
        }
        // A writable server with no log failure (``takesUsualWrites(from:)``).
        var sequence: UInt64 = 0
        if writer != nil {
            let sequenceCountBefore = staged.sequenceCount
            staged.appendCommand(timestampMilliseconds: now, db: UInt32(db), packedBytes: bytes, ends: ends)
            sequence = finishLogging(commandCount: 1, loggedEntryCount: 1, sequenceCountBefore: sequenceCountBefore, at: now, entries: [])
        }
        connection.send(result.reply, after: sequence)
        return true
    }

    /// What every command counts before it runs: CLIENT LIST's idle time (wall-clock time, frozen
    /// clock or not) and INFO's total.
    @inline(__always)
    private func countCommand(from connection: ConnectionHandler, now: Int64) {
        connection.lastCommandMilliseconds = frozenClockMilliseconds == nil ? now : Clock.nowMilliseconds()
        statistics.commandsProcessed += 1
    }

    /// Whether a command from `connection` may take the usual-writes path: outside MULTI, with
    /// no client blocked on a key, no replica stream, no reply hashes to record, a writable log.
    private func takesUsualWrites(from connection: ConnectionHandler) -> Bool {
        !isReadOnly && logFailure == nil && !connection.session.isInTransaction && blocking.isEmpty && replicaStreams.isEmpty
            && !configuration.recordsReplies
    }

    /// Logs what an engine command propagated and queues its reply. `hashedReply` is the reply
    /// whose elements pair with the engine commands queued (EXEC's array without the replies of
    /// server commands run in it).
    private func finish(_ result: CommandResult, arguments: [[UInt8]], hashedReply: RESPValue, wasInTransaction: Bool,
                        connection: ConnectionHandler, now: Int64) {
        connection.machine.transactionStateChanged(isInTransaction: connection.session.isInTransaction)
        if case .error = result.reply { statistics.errorReplies += 1 }
        var replyHashes: [UInt64?] = []
        if configuration.recordsReplies {
            if !result.propagated.isEmpty {
                replyHashes = Self.replyHashes(of: result.propagated, arguments: arguments, reply: hashedReply,
                                               queued: connection.queuedForReplyHashes)
            }
            if wasInTransaction && connection.session.isInTransaction && result.reply == .simpleString("QUEUED") {
                connection.queuedForReplyHashes.append(arguments)
            }
        }
        guard !result.propagated.isEmpty else {
            if !connection.session.isInTransaction, blocking.isBlockingCommand(arguments[0]),
               result.reply == .nullArray || result.reply == .null {
                if blockClient(connection, arguments: arguments, timeoutReply: result.reply, now: now) { return }
            }
            // A read may see writes of other clients that are not acknowledged yet; its reply
            // waits for them, so no client learns of a write a crash could still undo (Redis
            // sends every reply of an event-loop iteration after that iteration's fsync).
            connection.send(result.reply, after: sequenceSeenByReads)
            return
        }
        if !replicaStreams.isEmpty, !wasInTransaction, !isWrite(arguments), Clock.lowercased(arguments[0]) != "exec" {
            replicaFeedSplitsTransactions = true
        }
        let sequence = log(result.propagated, at: now, replyHashes: replyHashes)
        replicaFeedSplitsTransactions = false
        if sequence == 0, logFailure != nil {
            // A read's lazy-expiry DEL finds the log failed: the read still gets its reply (the
            // key's TTL is in the log, so a restart expires it again), as in Redis.
            // (An EXEC here queued no write: ``refusedAfterLogFailure`` refused those.)
            let reads = !isWrite(arguments)
            connection.send(reads ? result.reply : .error(misconfError), after: reads ? sequenceSeenByReads : 0)
        } else {
            connection.send(result.reply, after: sequence)
        }
        if !blocking.isEmpty { serveBlockedClients(touchedBy: result.propagated, now: now) }
    }

    /// Redis's reply to a write on a read-only replica, word for word.
    static let readOnlyError = "READONLY You can't write against a read only replica."

    private func isWrite(_ arguments: [[UInt8]]) -> Bool {
        guard let spec = Keyspace.commandSpec(named: String(decoding: arguments[0], as: UTF8.self)) else { return false }
        return spec.flags.contains(.write)
    }

    // MARK: - The log

    /// Logs `entries`, all stamped `now`, and returns the last sequence number taken, or 0 when
    /// the log failed. `replyHashes`, when given, has one element per command of `entries`, in
    /// order (nil: no hash for that command).
    ///
    /// The entries join this iteration's batch, which ``commitStaged()`` appends to the writer once
    /// the iteration's reads are handled; the numbers returned are the ones they get there.
    @discardableResult
    func log(_ entries: [LoggedEntry], at now: Int64, replyHashes: [UInt64?] = []) -> UInt64 {
        // A read-only server has no log: a lazy expiry's DEL changes only the served copy.
        guard logFailure == nil, writer != nil else { return 0 }
        var commandIndex = 0
        func hash() -> UInt64? {
            defer { commandIndex += 1 }
            return commandIndex < replyHashes.count ? replyHashes[commandIndex] : nil
        }
        let sequenceCountBefore = staged.sequenceCount
        var commandCount = 0
        for entry in entries {
            switch entry {
            case .command(let command):
                staged.appendCommand(timestampMilliseconds: now, db: UInt32(command.db), arguments: command.arguments, replyHash: hash())
                commandCount += 1
            case .transaction(let commands):
                var transaction: [LogEntry] = []
                transaction.reserveCapacity(commands.count)
                for command in commands {
                    transaction.append(LogEntry(
                        timestampMilliseconds: now, db: UInt32(command.db), arguments: command.arguments, replyHash: hash()))
                }
                staged.appendTransaction(transaction)
                commandCount += commands.count
            }
        }
        return finishLogging(commandCount: commandCount, loggedEntryCount: entries.count, sequenceCountBefore: sequenceCountBefore, at: now,
                             entries: entries)
    }

    /// What `log` does once it staged `commandCount` commands in `loggedEntryCount` entries
    /// (`entries`, which may be empty when there is no replica stream to feed): the checkpoint,
    /// the numbers, the replicas, the commit request.
    private func finishLogging(commandCount: Int, loggedEntryCount: Int, sequenceCountBefore: UInt64, at now: Int64,
                               entries: [LoggedEntry]) -> UInt64 {
        entriesSinceCheckpoint += commandCount
        if configuration.checkpointEntryCount > 0, entriesSinceCheckpoint >= configuration.checkpointEntryCount {
            entriesSinceCheckpoint = 0
            // The digest of the state after every entry before it: what a replay must reach.
            staged.append(LogEntry(timestampMilliseconds: now, kind: .checkpoint, arguments: [keyspace.datasetDigest().bytes]))
            statistics.checkpointsLogged += 1
        }
        appendedSequence += staged.sequenceCount - sequenceCountBefore
        statistics.entriesLogged += loggedEntryCount
        if !replicaStreams.isEmpty { feedReplicaStreams(entries) }
        if acknowledgesOnAppend { acknowledgedSequence = appendedSequence }
        scheduleCommitRequest()
        return appendedSequence
    }

    /// Appends the entries staged so far to the writer in one call, without waking its flusher
    /// (``commitStaged()`` asks for the write once per iteration). Called at the iteration's end
    /// and after a read that left 64 KiB or more staged (``appendStagedIfLarge()``). The staged
    /// batch holds encoded bytes, not the requests' arguments, so waiting keeps no allocations
    /// alive (when it held the entries, appending after every read was cheaper: a profile showed
    /// the allocator's malloc_consolidate at 5%); at `-P 1` one call per read was 2.5% of the
    /// event loop.
    func appendStaged() {
        guard let writer, !staged.isEmpty else { return }
        defer { staged.removeAll() }
        guard logFailure == nil else { return }
        let expectedFirst = appendedSequence - staged.sequenceCount + 1
        do {
            let request: LogWriter.ProgressRequest = committer != nil && !acknowledgesOnAppend ? .later : .none
            checkSequences(try writer.append(staged, request: request), expectedFirst: expectedFirst)
        } catch {
            logFailed(error)
        }
    }

    /// After a read: appends what is staged once it is this big, so that a long pipeline's
    /// entries reach the writer (and its flusher) while the iteration goes on; smaller amounts
    /// wait for the iteration's end (``commitStaged()``), one writer call for all the reads.
    func appendStagedIfLarge() {
        if staged.byteCount >= Self.stagedByteCountPerReadMax { appendStaged() }
    }

    static let stagedByteCountPerReadMax = 64 * 1024

    /// Appends what is staged and asks for everything appended to be acknowledged
    /// (``DurabilityCommitter``). Runs once per event-loop iteration, and before anything that
    /// needs the writer to hold every logged entry (an online compaction's cut, the shutdown).
    /// An iteration that appended at most this many entries writes them (under `always`, writes
    /// and fdatasyncs them) on the event loop (``DurabilityCommitter/commitOnCallingThread()``),
    /// as Redis does before it replies; a bigger one hands them to the flusher and goes on
    /// executing while the flusher compresses, writes and syncs. The round trip through the
    /// flusher costs about 50 µs of every commit here, which decides when few clients wait on
    /// each commit (paired runs at `-P 1`: `always` 50-60k -> 67-72k ops/s, `everysec` SET
    /// 87k -> 96-98k); with hundreds of pipelined commands per iteration (`-P 16`, `always`) the
    /// overlap wins instead (SET 651-679k ops/s through the flusher against 564-616k inline).
    /// Limits of 48 to 128 measured the same.
    static let inlineCommitEntryCountMax: UInt64 = 128

    func commitStaged() {
        appendStaged()
        guard logFailure == nil, let committer, !acknowledgesOnAppend, appendedSequence > acknowledgedSequence else { return }
        if appendedSequence - acknowledgedSequence <= Self.inlineCommitEntryCountMax, committer.commitOnCallingThread() { return }
        committer.request(appendedSequence)
    }

    private func checkSequences(_ range: ClosedRange<UInt64>, expectedFirst: UInt64) {
        // The server is the writer's only appender: the numbers replies were tagged with are the
        // numbers the entries got. Anything else would release replies for the wrong entries.
        precondition(range.lowerBound == expectedFirst && range.upperBound == appendedSequence,
                     "the log assigned \(range) to entries numbered \(expectedFirst)...\(appendedSequence)")
    }

    /// The reply hash of each command of `propagated`, in order: the hash of the client's reply
    /// for a command logged exactly as the client sent it; for a transaction's commands, the hash
    /// of EXEC's reply element of the queued command each matches verbatim (in queue order); nil
    /// for a command logged in another form (EXPIRE as PEXPIREAT, SPOP as SREM, ...) or an expiry's
    /// DEL, whose replay would not give the client's reply. See docs/FORMAT.md, "Reply hashes".
    static func replyHashes(of propagated: [LoggedEntry], arguments: [[UInt8]], reply: RESPValue,
                            queued: [[[UInt8]]]) -> [UInt64?] {
        var hashes: [UInt64?] = []
        for entry in propagated {
            switch entry {
            case .command(let command):
                hashes.append(command.arguments == arguments ? ReplyHash.of(Keyspace.resp2Shaped(reply, command: arguments[0])) : nil)
            case .transaction(let commands):
                guard case .array(let replies) = reply else {
                    hashes += Array(repeating: nil, count: commands.count)
                    continue
                }
                var next = 0
                for command in commands {
                    var hash: UInt64?
                    var index = next
                    while index < queued.count && index < replies.count {
                        if queued[index] == command.arguments {
                            hash = ReplyHash.of(Keyspace.resp2Shaped(replies[index], command: command.arguments[0]))
                            next = index + 1
                            break
                        }
                        index += 1
                    }
                    hashes.append(hash)
                }
            }
        }
        return hashes
    }

    /// Commits what was staged, once per event-loop iteration: the task runs after the
    /// iteration's reads are handled.
    private func scheduleCommitRequest() {
        guard !commitRequestScheduled else { return }
        commitRequestScheduled = true
        eventLoop.execute { [self] in
            commitRequestScheduled = false
            commitStaged()
        }
    }

    func requestCommitIfNeeded() {
        if appendedSequence > acknowledgedSequence && !acknowledgesOnAppend { scheduleCommitRequest() }
    }

    /// Remembers a connection whose replies wait for the log.
    func waitForAcknowledgement(_ connection: ConnectionHandler) {
        guard !connection.waitsForAcknowledgement else { return }
        connection.waitsForAcknowledgement = true
        waitingConnections.append(connection)
    }

    /// The committer reached `sequence`: release every reply that waited for it. Sending can
    /// close a connection (unregistering it) or make another wait: the walk is over a list of
    /// its own, and a connection unregistered meanwhile has its flag cleared.
    func acknowledge(upTo sequence: UInt64) {
        guard sequence > acknowledgedSequence else { return }
        acknowledgedSequence = sequence
        swap(&releasingConnections, &waitingConnections)
        for connection in releasingConnections where connection.waitsForAcknowledgement {
            if connection.flushReleased() || !connection.holdsReplies {
                connection.waitsForAcknowledgement = false
            } else if connection.waitsForAcknowledgement {
                // Still registered (sending can close it, which unregisters it).
                waitingConnections.append(connection)
            }
        }
        releasingConnections.removeAll(keepingCapacity: true)
    }

    /// The log failed (a write or fdatasync error: a full disk, an I/O error, a file size
    /// limit). What the writer reached before is acknowledged; every reply still held waits for
    /// an entry the log did not take and can never be sent, so those connections are closed (their
    /// clients see the connection drop, as when Redis exits on an AOF error): no client is told of
    /// a write that is not in the log. From then on writes, PING and EXEC of a queued write get
    /// Redis's `-MISCONF`. Under `always` the server then stops, as Redis exits ("Can't recover
    /// from AOF write error when the AOF fsync policy is 'always'"): its state holds writes the log
    /// does not, and a read could show them. Under `everysec` and `no` it goes on serving reads,
    /// as Redis does. See docs/SERVER.md, "When the log fails".
    func logFailed(_ error: Error) {
        guard logFailure == nil else { return }
        logFailure = error
        // (Never past what this server appended: the writer has nothing else to reach.)
        if let reached = committer.map({ min($0.reachedSequence(), appendedSequence) }), reached > acknowledgedSequence {
            acknowledge(upTo: reached)
        }
        swap(&releasingConnections, &waitingConnections)
        var closed = 0
        for connection in releasingConnections where connection.waitsForAcknowledgement {
            connection.waitsForAcknowledgement = false
            connection.closeDroppingHeldReplies()
            closed += 1
        }
        releasingConnections.removeAll(keepingCapacity: true)
        let unacknowledged = appendedSequence > acknowledgedSequence ? appendedSequence - acknowledgedSequence : 0
        let lost = "\(unacknowledged) entr\(unacknowledged == 1 ? "y" : "ies") after #\(acknowledgedSequence) not logged, never acknowledged; \(closed) client\(closed == 1 ? "" : "s") waiting for them disconnected"
        if configuration.durability == .always {
            logger.critical("the log failed: \(error); \(lost); appendfsync always cannot go on without its log: stopping")
            // Every client goes now, not at the shutdown: a read in between could show a write
            // the log does not hold. (Redis exits at once.) ``handle(_:from:)`` closes any later one.
            for connection in clients.values { connection.closeDroppingHeldReplies() }
            shutdownRequested?()
        } else {
            logger.critical("the log failed: \(error); \(lost); writes are refused (MISCONF) from now on, reads are served")
        }
    }

    /// Redis's reply to a write once the log has failed, with `errno`'s text as Redis gives it
    /// (`-MISCONF Errors writing to the AOF file: No space left on device`).
    var misconfError: String {
        let reason: String
        if let error = logFailure as? LogError, let number = error.errorNumber {
            reason = String(cString: strerror(number))
        } else {
            reason = logFailure.map { "\($0)" } ?? "unknown error"
        }
        return "MISCONF Errors writing to the AOF file: " + reason
    }

    /// Redis's `writeCommandsDeniedByDiskError` check, once the log has failed: a write, PING (so
    /// that monitoring notices) and EXEC of a transaction that queued a write are refused with
    /// ``misconfError``. Inside MULTI the refusal dooms EXEC; a refused EXEC discards its
    /// transaction (`-EXECABORT Transaction discarded because of: MISCONF ...`). Returns true when
    /// it replied.
    private func refusedAfterLogFailure(_ arguments: [[UInt8]], connection: ConnectionHandler, now: Int64) -> Bool {
        let name = Clock.lowercased(arguments[0])
        // Redis checks the arity first: `SET a` is still a wrong number of arguments.
        guard let spec = Keyspace.commandSpec(named: name), spec.acceptsArgumentCount(arguments.count) else { return false }
        let isExec = name == "exec" && connection.session.isInTransaction
        let execWrites = isExec && (connection.session.queuedCommands.contains { isWrite($0) }
            || connection.queuedServerCommands.contains { isWrite($0.arguments) })
        guard spec.flags.contains(.write) || name == "ping" || execWrites else { return false }
        statistics.errorReplies += 1
        if isExec {
            connection.queuedServerCommands = []
            _ = keyspace.execute([Array("DISCARD".utf8)], session: &connection.session, nowMilliseconds: now)
            connection.machine.transactionStateChanged(isInTransaction: connection.session.isInTransaction)
            connection.send(.error("EXECABORT Transaction discarded because of: " + misconfError), after: 0)
        } else {
            connection.session.flagTransactionError()
            connection.send(.error(misconfError), after: 0)
        }
        return true
    }

    /// The sequence number a read's reply waits for: every entry appended so far, which the read
    /// may have seen (``acknowledge(upTo:)``). After a log failure, what was acknowledged: the
    /// rest never will be, and a read waiting for it would never be answered.
    var sequenceSeenByReads: UInt64 { logFailure == nil ? appendedSequence : acknowledgedSequence }

    // MARK: - Timers

    /// Redis's `serverCron` share that matters here: active expiry, logged as DELs.
    func cron() {
        let now = currentMilliseconds()
        // A read-only server shows the state as replayed: no active expiry at the frozen time.
        let deletions = isReadOnly || !activeExpireEnabled ? [] : keyspace.activeExpireCycle(nowMilliseconds: now)
        if !deletions.isEmpty {
            statistics.expiredKeys += deletions.reduce(0) { $0 + $1.commands.count }
            log(deletions, at: now)
        }
        expireBlockedClients(now: now)
        // Redis's clientsCron checks output buffer limits too: a client left above its soft limit
        // is dropped once the soft seconds pass, whether or not more replies come.
        for connection in clients.values { connection.checkOutputBufferLimit() }
        if !isReadOnly { startAutomaticRewriteIfDue(now: now) }
    }

    /// Closes every client, after the replies they are owed.
    func closeAllClients() {
        for connection in clients.values { connection.closeAfterReplies() }
    }
}

/// Counters INFO stats reports.
struct ServerStatistics {
    var connectionsReceived = 0
    var rejectedConnections = 0
    var commandsProcessed = 0
    var errorReplies = 0
    var entriesLogged = 0
    /// `entriesLogged` at the last SAVE/BGSAVE: INFO's rdb_changes_since_last_save counts from it.
    var entriesLoggedAtSave = 0
    var checkpointsLogged = 0
    var expiredKeys = 0
    /// Clients dropped for passing their output buffer limit.
    var outputBufferLimitDisconnections = 0
}

/// What startup found and did, for INFO and the startup log line.
public struct StartupReport: Sendable {
    /// Entries applied to the keyspace.
    public var entriesReplayed = 0
    /// The damage cut off or skipped, if any.
    public var damages: [LogDamage] = []
    /// How long replay took.
    public var replayMilliseconds: Int64 = 0
    /// Under `--recovery point-in-time`, the cut made at mid-log damage, if one was made.
    public var pointInTimeCut: LogRepair.PointInTimeCut?
    public init() {}
}

/// The wall clock and byte helpers the server shares.
enum Clock {
    /// Unix time in milliseconds: the time a command runs at, and the time its entry records.
    static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    static func nowMicroseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }

    static func lowercased(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
