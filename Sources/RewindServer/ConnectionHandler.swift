// One client connection on the keyspace's event loop. See swift-nio
// Sources/NIOCore/ChannelHandler.swift (handlers run on their channel's event loop) and
// docs/SERVER.md, "Replies and durability".

import NIOCore
import RewindEngine
import RewindRESP

/// Runs a client's commands and sends its replies in order, each only once the log entries it
/// depends on are acknowledged.
///
/// Called from within the event loop only. Protocol decisions are made by
/// ``ConnectionStateMachine``; commands run in ``ServerCore``; this handler only moves bytes.
///
/// Replies are held in segments, each tagged with the highest sequence number any reply in it
/// waits for. All replies produced while handling one read join one segment, so a pipeline of
/// writes waits for one fdatasync, as Redis writes a whole event-loop iteration's replies after one
/// `fsync`. A segment is released once ``ServerCore/acknowledgedSequence`` reaches its number;
/// segments go out in order, so a read never overtakes an earlier write's reply.
final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Replies waiting for the log.
    private struct HeldReplies {
        var sequence: UInt64
        var bytes: ByteBuffer
        var closesAfter: Bool
    }

    let core: ServerCore
    let id: Int64
    @exclusivity(unchecked) var machine: ConnectionStateMachine
    @exclusivity(unchecked) var session = ClientSession()
    @exclusivity(unchecked) var name: [UInt8] = []
    @exclusivity(unchecked) var remoteAddress = ""
    @exclusivity(unchecked) var localAddress = ""
    let createdMilliseconds: Int64
    @exclusivity(unchecked) var lastCommandMilliseconds: Int64
    @exclusivity(unchecked) var lastCommandName = "NULL"
    /// Server commands queued inside MULTI, each with how many engine commands were queued before it.
    @exclusivity(unchecked) var queuedServerCommands: [(position: Int, arguments: [[UInt8]])] = []
    /// While set, replies are collected here instead of sent (server commands run by EXEC).
    @exclusivity(unchecked) var capturedReplies: [RESPValue]?
    /// While a server command runs inside EXEC: the commands it wrote, which join the
    /// transaction's record instead of being logged on their own.
    @exclusivity(unchecked) var capturedPropagation: [LoggedCommand]?
    /// With reply recording: the engine commands queued since MULTI, to pair EXEC's replies with
    /// the logged commands of the transaction.
    @exclusivity(unchecked) var queuedForReplyHashes: [[[UInt8]]] = []
    /// Requests that arrived while a blocking command waits; run once it is served.
    @exclusivity(unchecked) var deferredRequests: [[[UInt8]]] = []
    @exclusivity(unchecked) var isBlocked = false
    /// Set while ``ServerCore`` lists this connection among those whose replies wait for the log.
    @exclusivity(unchecked) var waitsForAcknowledgement = false

    @exclusivity(unchecked) private var context: ChannelHandlerContext?
    /// Pulls every whole request out of each read, packed (``RESPFrameDecoder/nextPackedRequest()``).
    @exclusivity(unchecked) private var decoder: RESPFrameDecoder
    /// Segments of replies closed (their read was handled), oldest first.
    @exclusivity(unchecked) private var held = CircularBuffer<HeldReplies>()
    /// The segment still collecting the replies of the read being handled; it goes to `held`
    /// when the read ends (``closeTail()``). Kept apart so each reply is encoded into it in place.
    @exclusivity(unchecked) private var openTail: HeldReplies?
    @exclusivity(unchecked) private var scratch: [UInt8] = []
    @exclusivity(unchecked) private var keyHashes: [UInt32] = []
    @exclusivity(unchecked) private var closed = false
    /// Reply bytes held for the log, and bytes handed to the channel that the socket has not
    /// taken yet (the client has not read them): together, Redis's output buffer.
    @exclusivity(unchecked) private var heldByteCount = 0
    @exclusivity(unchecked) private var unsentByteCount = 0
    /// When the output buffer was first seen at or above the soft limit (Unix seconds), 0 when
    /// it is below (Redis `obuf_soft_limit_reached_time`).
    @exclusivity(unchecked) private var softLimitReachedSeconds: Int64 = 0
    /// Set once the client passed its output buffer limit: it is being dropped.
    @exclusivity(unchecked) private(set) var passedOutputBufferLimit = false

    init(core: ServerCore, id: Int64, nowMilliseconds: Int64) {
        self.core = core
        self.id = id
        machine = ConnectionStateMachine(requiresPassword: core.requirePassword != nil)
        createdMilliseconds = nowMilliseconds
        lastCommandMilliseconds = nowMilliseconds
        decoder = RESPFrameDecoder(limits: core.configuration.limits)
        // Redis's tighter request bounds apply until the client authenticates (AUTH or HELLO
        // AUTH; RESET may bring them back). Set once `self` can be captured: the decoder is not
        // optional, so reaching it on every request copies nothing. unowned(unsafe): asked once
        // per request, and the decoder lives in this handler, so the closure never outlives it.
        decoder.requiresAuthentication = { [unowned(unsafe) self] in !self.machine.isAuthenticated }
    }

    var protocolVersion: RESPVersion { machine.protocolVersion }

    /// CLIENT REPLY: whether this connection's replies are sent (pub/sub messages always are).
    enum ReplyMode { case on, off, skipNext, skipCurrent }
    @exclusivity(unchecked) var replyMode = ReplyMode.on
    @exclusivity(unchecked) private var sendingPubSub = false

    /// Sends a pub/sub message or notification, which CLIENT REPLY OFF/SKIP do not hold back
    /// (Redis's CLIENT_PUSHING).
    func sendPubSub(_ value: RESPValue, after sequence: UInt64) {
        sendingPubSub = true
        defer { sendingPubSub = false }
        send(value, after: sequence)
    }

    func pushPubSub(_ value: RESPValue, after sequence: UInt64) {
        sendingPubSub = true
        defer { sendingPubSub = false }
        push(value, after: sequence)
    }

    /// Runs one request, applying CLIENT REPLY SKIP to it when the previous request asked.
    private func handleRequest(_ arguments: [[UInt8]]) {
        if replyMode == .skipNext { replyMode = .skipCurrent }
        core.handle(arguments, from: self)
        if replyMode == .skipCurrent { replyMode = .on }
    }

    /// For a connection that sent SYNC: the database its stream last selected (nil: none yet).
    @exclusivity(unchecked) var replicaDatabaseIndex: Int?

    /// Sends bytes that are not one RESP value (SYNC's payload header), after the replies owed.
    func sendRaw(_ bytes: [UInt8]) {
        guard let context, !closed else { return }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        append(buffer, sequence: 0)
        closeTail()
        flushReleased()
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        remoteAddress = context.channel.remoteAddress.map(Self.format) ?? ""
        localAddress = context.channel.localAddress.map(Self.format) ?? ""
    }

    func channelActive(context: ChannelHandlerContext) {
        if !core.register(self) {
            // Redis's answer to a client past maxclients, then the close.
            send(.error("ERR max number of clients reached"), after: 0)
            closeAfterReplies()
            flushReleased()
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Closing (its close waits for replies already handed to the socket): what it sends is
        // not run, and not kept either.
        guard !closed else { return }
        decoder.feed(unwrapInboundIn(data))
        do {
            // Requests after the current one whose keys are being loaded (``prefetchKeys()``).
            // A read of one request (`-P 1`) has nothing after it, and is not scanned.
            var covered = 0
            // A request can close the connection (CLIENT KILL of itself, a log failure): the
            // rest of the read is not run.
            while !closed {
                guard try decoder.nextPackedRequest() else { break }
                if covered > 0 { covered -= 1 }
                if covered == 0 && decoder.hasBufferedBytes { covered = prefetchKeys() }
                if isBlocked {
                    deferredRequests.append(decoder.packedArguments())
                } else if replyMode == .on, decoder.withPackedRequest({ core.handleUsualWrite($0, ends: $1, from: self) }) {
                    // Done on the packed path: no array per argument.
                } else {
                    handleRequest(decoder.packedArguments())
                }
            }
        } catch {
            protocolError(error)
        }
    }

    /// How many requests of a pipelined read have their keys loaded at once.
    static let prefetchWindow = 32

    /// Starts loading the keys of the requests buffered after the current one, up to
    /// ``prefetchWindow``, all at once, so their cache misses overlap with each other and with the
    /// current request's work instead of coming one command at a time (a key lookup in a big
    /// keyspace is a few misses in a row: about a fifth of a pipelined SET's time). Returns how
    /// many requests it covered (0 when none is whole yet).
    private func prefetchKeys() -> Int {
        guard core.keyspace.benefitsFromPrefetching(db: session.databaseIndex) else { return Self.prefetchWindow }
        keyHashes.removeAll(keepingCapacity: true)
        let covered = decoder.scanBufferedRequests(limit: Self.prefetchWindow) { keyHashes.append(Keyspace.keyHash($0)) }
        if !keyHashes.isEmpty { core.keyspace.prefetchKeys(hashes: keyHashes, db: session.databaseIndex) }
        return covered
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        finishBatch()
        core.appendStagedIfLarge()
        core.requestCommitIfNeeded()
        context.fireChannelReadComplete()
    }

    /// Closed, or closing: nothing it sent is run any more.
    var isClosed: Bool { closed }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        machine.closeRequested()
        core.unregister(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A socket error (connection reset): nothing more can be sent.
        closeNow()
    }

    /// The request stream is broken: Redis's error after the replies owed, then the close.
    private func protocolError(_ error: Error) {
        guard let context else { return }
        switch machine.protocolErrorReceived(error) {
        case .replyAndClose(let bytes):
            var buffer = context.channel.allocator.buffer(capacity: bytes.count)
            buffer.writeBytes(bytes)
            append(buffer, sequence: 0)
            closeAfterReplies()
            flushReleased()
        case .close:
            closeNow()
        }
    }

    // MARK: - Replies

    /// Queues `value`, to be sent once every entry up to `sequence` is acknowledged (0: none).
    func send(_ value: RESPValue, after sequence: UInt64) {
        if replyMode != .on && !sendingPubSub && capturedReplies == nil { return }
        if capturedReplies != nil {
            capturedReplies!.append(value)
            return
        }
        guard let context, !closed, !passedOutputBufferLimit else { return }
        if openTail != nil {
            // The common case, many replies in one read: no buffer per reply, and the reply is
            // encoded straight into the segment's buffer, in place.
            let byteCount = openTail!.bytes.writeRESPReply(value, version: machine.protocolVersion, scratch: &scratch)
            if sequence > openTail!.sequence { openTail!.sequence = sequence }
            heldByteCount += byteCount
            if sequence > core.acknowledgedSequence { core.waitForAcknowledgement(self) }
            if heldByteCount + unsentByteCount > Self.fixedReplyBufferByteCount || softLimitReachedSeconds != 0 { checkOutputBufferLimit() }
            return
        }
        var buffer = takeReplyBuffer(context)
        buffer.writeRESPReply(value, version: machine.protocolVersion, scratch: &scratch)
        append(buffer, sequence: sequence)
        checkOutputBufferLimit()
    }

    /// The buffer of the last segment written, kept to take the next read's replies: by then the
    /// socket has usually taken its bytes and the channel let it go, and clearing it reuses its
    /// memory (at `-P 1`, one allocation and free fewer per request). When the channel still
    /// holds it, clearing gives a fresh buffer instead: ByteBuffer copies on write.
    @exclusivity(unchecked) private var spareReplyBuffer: ByteBuffer?

    static let spareReplyBufferByteCountMax = 1024

    private func takeReplyBuffer(_ context: ChannelHandlerContext) -> ByteBuffer {
        guard var buffer = spareReplyBuffer else { return context.channel.allocator.buffer(capacity: 256) }
        spareReplyBuffer = nil
        buffer.clear()
        return buffer
    }

    // MARK: - Output buffer limits

    /// Redis's client output buffer: replies queued and not yet taken by the socket, beyond the
    /// first 16 KiB (Redis keeps those in a fixed per-client buffer it does not count).
    var outputBufferByteCount: Int { max(0, heldByteCount + unsentByteCount - Self.fixedReplyBufferByteCount) }

    /// Redis's `PROTO_REPLY_CHUNK_BYTES`: the per-client reply buffer the limits do not count.
    static let fixedReplyBufferByteCount = 16 * 1024

    /// Redis `checkClientOutputBufferLimits`, run as each reply is queued and for every client
    /// from the cron (as Redis 7.0's `clientsCron`): past the hard limit, or at or above the soft
    /// limit for more than its seconds, the client is dropped.
    func checkOutputBufferLimit() {
        guard !passedOutputBufferLimit, !closed else { return }
        let used = outputBufferByteCount
        guard used > 0 || softLimitReachedSeconds != 0 else { return }
        let limit = core.outputBufferLimit(for: self)
        guard !limit.isUnlimited else { return }
        let hardReached = limit.hardByteCount != 0 && UInt64(used) >= limit.hardByteCount
        var softReached = limit.softByteCount != 0 && UInt64(used) >= limit.softByteCount
        if softReached {
            let now = Clock.nowMilliseconds() / 1000
            if softLimitReachedSeconds == 0 {
                softLimitReachedSeconds = now
                softReached = false
            } else if now - softLimitReachedSeconds <= Int64(limit.softSeconds) {
                softReached = false
            }
        } else {
            softLimitReachedSeconds = 0
        }
        guard hardReached || softReached else { return }
        passedOutputBufferLimit = true
        core.outputBufferLimitPassed(by: self)
        // As Redis's freeClientAsync: nothing more is queued, what is queued is dropped, and the
        // connection closes from the event loop, outside the command that produced the reply.
        machine.closeRequested()
        held.removeAll()
        openTail = nil
        heldByteCount = 0
        context?.eventLoop.execute { self.closeNow() }
    }

    /// Sends `value` now if nothing is held, outside a read (blocked-client wake-ups, pub/sub).
    func push(_ value: RESPValue, after sequence: UInt64) {
        send(value, after: sequence)
        closeTail()
        flushReleased()
    }

    private func append(_ bytes: ByteBuffer, sequence: UInt64) {
        heldByteCount += bytes.readableBytes
        if openTail != nil {
            var bytes = bytes
            openTail!.bytes.writeBuffer(&bytes)
            openTail!.sequence = max(openTail!.sequence, sequence)
        } else {
            openTail = HeldReplies(sequence: sequence, bytes: bytes, closesAfter: false)
        }
        if sequence > core.acknowledgedSequence { core.waitForAcknowledgement(self) }
    }

    /// Marks the replies queued so far as the last: the connection closes once they are sent.
    func closeAfterReplies() {
        machine.closeRequested()
        closeTail()
        if var tail = held.popLast() {
            tail.closesAfter = true
            held.append(tail)
        } else {
            closeOnceWritten()
        }
    }

    /// Sends every segment whose entries are acknowledged. Returns true when nothing is held.
    @discardableResult
    func flushReleased() -> Bool {
        guard let context, !closed else {
            held.removeAll()
            openTail = nil
            heldByteCount = 0
            return true
        }
        let acknowledged = core.acknowledgedSequence
        var last: ByteBuffer?
        var writtenByteCount = 0
        var closes = false
        while let first = held.first, first.sequence <= acknowledged {
            let segment = held.removeFirst()
            heldByteCount -= segment.bytes.readableBytes
            writtenByteCount += segment.bytes.readableBytes
            if let previous = last { context.write(wrapOutboundOut(previous), promise: nil) }
            last = segment.bytes
            if segment.closesAfter {
                closes = true
                held.removeAll()
                openTail = nil
                heldByteCount = 0
                break
            }
        }
        if let last {
            if core.outputBufferIsLimited(for: self) {
                // Writes complete in order: once the last one is taken by the socket (or fails at
                // the close), every byte of this flush has left the output buffer.
                unsentByteCount += writtenByteCount
                let promise = context.eventLoop.makePromise(of: Void.self)
                promise.futureResult.whenComplete { _ in self.unsentByteCount -= writtenByteCount }
                context.writeAndFlush(wrapOutboundOut(last), promise: promise)
            } else {
                // No limit applies (normal clients by default): no promise per flush.
                context.writeAndFlush(wrapOutboundOut(last), promise: nil)
            }
            // Small buffers only (`-P 1` replies): 10,000 idle connections keep 10 MB at most.
            if last.capacity <= Self.spareReplyBufferByteCountMax { spareReplyBuffer = last }
        }
        if closes { closeOnceWritten() }
        return held.isEmpty && openTail == nil
    }

    /// Ends the batch of replies of one read (or of the requests run after a blocking command):
    /// later replies start a new segment, and what is released goes out.
    func finishBatch() {
        closeTail()
        flushReleased()
    }

    /// Moves the open segment, if any, behind the closed ones.
    private func closeTail() {
        guard let tail = openTail else { return }
        openTail = nil
        held.append(tail)
    }

    /// Whether replies are waiting for the log.
    var holdsReplies: Bool { !held.isEmpty || openTail != nil }

    func closeNow() {
        guard let context, !closed else { return }
        closed = true
        machine.closeRequested()
        context.close(promise: nil)
    }

    /// After a log failure: drops the replies still held (they wait for entries the log did not
    /// take) and closes once the replies already handed to the socket are written, so a slow
    /// reader still gets every acknowledged reply (``closeOnceWritten()``).
    func closeDroppingHeldReplies() {
        guard !closed else { return }
        held.removeAll()
        openTail = nil
        heldByteCount = 0
        closeOnceWritten()
    }

    /// How long a closing connection's written replies may take to leave before it closes anyway
    /// (``closeOnceWritten()``; the shutdown waits as long for them, ``RedisServer/waitUntilStopped()``).
    static let closeDrainTimeLimit = TimeAmount.seconds(5)

    /// Closes once what was handed to the socket is written (NIO's close drops writes it still
    /// holds, so a slow reader would lose its last replies: QUIT's +OK, a limit's error), or
    /// after ``closeDrainTimeLimit`` whatever is left. Nothing more is run or sent meanwhile.
    private func closeOnceWritten() {
        guard let context, !closed else { return }
        closed = true
        machine.closeRequested()
        let promise = context.eventLoop.makePromise(of: Void.self)
        let deadline = context.eventLoop.scheduleTask(in: Self.closeDrainTimeLimit) { context.close(promise: nil) }
        promise.futureResult.whenComplete { _ in
            deadline.cancel()
            context.close(promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise)
    }

    private static func format(_ address: SocketAddress) -> String {
        "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    }
}
