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
    var machine: ConnectionStateMachine
    var session = ClientSession()
    var name: [UInt8] = []
    var remoteAddress = ""
    var localAddress = ""
    let createdMilliseconds: Int64
    var lastCommandMilliseconds: Int64
    var lastCommandName = "NULL"
    /// Server commands queued inside MULTI, each with how many engine commands were queued before it.
    var queuedServerCommands: [(position: Int, arguments: [[UInt8]])] = []
    /// While set, replies are collected here instead of sent (server commands run by EXEC).
    var capturedReplies: [RESPValue]?
    /// With reply recording: the engine commands queued since MULTI, to pair EXEC's replies with
    /// the logged commands of the transaction.
    var queuedForReplyHashes: [[[UInt8]]] = []
    /// Requests that arrived while a blocking command waits; run once it is served.
    var deferredRequests: [[[UInt8]]] = []
    var isBlocked = false

    private var context: ChannelHandlerContext?
    /// Pulls every whole request out of each read (NIO's processor over ``RESPFrameDecoder``).
    private var decoder: NIOSingleStepByteToMessageProcessor<RESPFrameDecoder>!
    private var held = CircularBuffer<HeldReplies>()
    /// True while the tail segment still collects replies of the read being handled.
    private var tailIsOpen = false
    private var scratch: [UInt8] = []
    private var closed = false

    init(core: ServerCore, id: Int64, nowMilliseconds: Int64) {
        self.core = core
        self.id = id
        machine = ConnectionStateMachine(requiresPassword: core.requirePassword != nil)
        createdMilliseconds = nowMilliseconds
        lastCommandMilliseconds = nowMilliseconds
        // Redis's tighter request bounds apply until the client authenticates (AUTH or HELLO
        // AUTH; RESET may bring them back).
        decoder = NIOSingleStepByteToMessageProcessor(
            RESPFrameDecoder(limits: core.configuration.limits,
                             requiresAuthentication: { [unowned self] in !self.machine.isAuthenticated }),
            maximumBufferSize: nil)
    }

    var protocolVersion: RESPVersion { machine.protocolVersion }

    /// CLIENT REPLY: whether this connection's replies are sent (pub/sub messages always are).
    enum ReplyMode { case on, off, skipNext, skipCurrent }
    var replyMode = ReplyMode.on
    private var sendingPubSub = false

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
    var replicaDatabaseIndex: Int?

    /// Sends bytes that are not one RESP value (SYNC's payload header), after the replies owed.
    func sendRaw(_ bytes: [UInt8]) {
        guard let context, !closed else { return }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        append(buffer, sequence: 0)
        tailIsOpen = false
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
        let buffer = unwrapInboundIn(data)
        do {
            try decoder.process(buffer: buffer) { request in
                if isBlocked {
                    deferredRequests.append(request.arguments)
                } else {
                    handleRequest(request.arguments)
                }
            }
        } catch {
            protocolError(error)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        finishBatch()
        core.requestCommitIfNeeded()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
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
        guard let context, !closed else { return }
        scratch.removeAll(keepingCapacity: true)
        RESPEncoder.encode(value, version: machine.protocolVersion, into: &scratch)
        if tailIsOpen, var tail = held.popLast() {
            // The common case, many replies in one read: no buffer per reply.
            tail.bytes.writeBytes(scratch)
            tail.sequence = max(tail.sequence, sequence)
            held.append(tail)
            if sequence > core.acknowledgedSequence { core.waitForAcknowledgement(self) }
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: max(scratch.count, 256))
        buffer.writeBytes(scratch)
        append(buffer, sequence: sequence)
    }

    /// Sends `value` now if nothing is held, outside a read (blocked-client wake-ups, pub/sub).
    func push(_ value: RESPValue, after sequence: UInt64) {
        send(value, after: sequence)
        tailIsOpen = false
        flushReleased()
    }

    private func append(_ bytes: ByteBuffer, sequence: UInt64) {
        if tailIsOpen, var tail = held.popLast() {
            var bytes = bytes
            tail.bytes.writeBuffer(&bytes)
            tail.sequence = max(tail.sequence, sequence)
            held.append(tail)
        } else {
            held.append(HeldReplies(sequence: sequence, bytes: bytes, closesAfter: false))
            tailIsOpen = true
        }
        if sequence > core.acknowledgedSequence { core.waitForAcknowledgement(self) }
    }

    /// Marks the replies queued so far as the last: the connection closes once they are sent.
    func closeAfterReplies() {
        machine.closeRequested()
        if var tail = held.popLast() {
            tail.closesAfter = true
            held.append(tail)
            tailIsOpen = false
        } else {
            closeNow()
        }
    }

    /// Sends every segment whose entries are acknowledged. Returns true when nothing is held.
    @discardableResult
    func flushReleased() -> Bool {
        guard let context, !closed else {
            held.removeAll()
            return true
        }
        let acknowledged = core.acknowledgedSequence
        var wrote = false
        var closes = false
        while let first = held.first, first.sequence <= acknowledged, !(tailIsOpen && held.count == 1) {
            let segment = held.removeFirst()
            context.write(wrapOutboundOut(segment.bytes), promise: nil)
            wrote = true
            if segment.closesAfter {
                closes = true
                held.removeAll()
                break
            }
        }
        if wrote { context.flush() }
        if closes { closeNow() }
        return held.isEmpty
    }

    /// Ends the batch of replies of one read (or of the requests run after a blocking command):
    /// later replies start a new segment, and what is released goes out.
    func finishBatch() {
        tailIsOpen = false
        flushReleased()
    }

    /// Whether replies are waiting for the log.
    var holdsReplies: Bool { !held.isEmpty }

    func closeNow() {
        guard let context, !closed else { return }
        closed = true
        context.close(promise: nil)
    }

    private static func format(_ address: SocketAddress) -> String {
        "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    }
}
