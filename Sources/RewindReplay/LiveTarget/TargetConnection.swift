// One pipelined RESP2 connection to a target server, on plain POSIX sockets (RewindReplay does
// not use NIO): requests are appended to an output buffer, written as the socket takes them, and
// replies are parsed as they arrive, oldest first.

import Foundation
import RewindRESP
#if canImport(Glibc)
import Glibc
#endif

/// A pipelined connection: `queue` requests, `pump` until enough replies are back.
final class TargetConnection {
    let host: String
    let port: Int
    private var descriptor: Int32 = -1
    /// Encoded requests not yet written.
    var output: [UInt8] = []
    private var outputOffset = 0
    private var parser = RESPParser()
    private var readBuffer = [UInt8](repeating: 0, count: 256 * 1024)
    /// Replies parsed and not yet taken by the caller.
    private(set) var replies: [RESPValue] = []
    private var replyHead = 0
    /// Requests written or queued whose replies have not arrived.
    private(set) var outstandingReplyCount = 0

    var address: String { "\(host):\(port)" }

    init(host: String, port: Int) throws {
        self.host = host
        self.port = port
        try connect()
    }

    deinit { close() }

    private func connect() throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw LiveReplayError(.unreachable, "cannot resolve \(address)")
        }
        defer { freeaddrinfo(list) }
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        var lastError = "no address"
        while let info = candidate {
            let socketDescriptor = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            if socketDescriptor >= 0 {
                if Glibc.connect(socketDescriptor, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                    var one: Int32 = 1
                    setsockopt(socketDescriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                    _ = fcntl(socketDescriptor, F_SETFL, fcntl(socketDescriptor, F_GETFL) | O_NONBLOCK)
                    descriptor = socketDescriptor
                    return
                }
                lastError = String(cString: strerror(errno))
                Glibc.close(socketDescriptor)
            }
            candidate = info.pointee.ai_next
        }
        throw LiveReplayError(.unreachable, "cannot connect to \(address): \(lastError)")
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    /// Queues one command; its reply will come back in order.
    func queue(_ arguments: [[UInt8]]) {
        RESPEncoder.encodeCommand(arguments, into: &output)
        outstandingReplyCount += 1
    }

    /// Queues bytes already encoded as `replyCount` requests (a resent unit).
    func queue(encoded: [UInt8], replyCount: Int) {
        output.append(contentsOf: encoded)
        outstandingReplyCount += replyCount
    }

    static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        if value < 10 { buffer.append(UInt8(48 + value)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            while rest > 0 {
                raw[count] = UInt8(48 + rest % 10)
                rest /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { buffer.append(raw[index]) }
        }
    }

    /// The next reply, in request order, when one has arrived.
    func nextReply() -> RESPValue? {
        guard replyHead < replies.count else { return nil }
        let reply = replies[replyHead]
        replyHead += 1
        if replyHead == replies.count {
            replies.removeAll(keepingCapacity: true)
            replyHead = 0
        }
        return reply
    }

    var hasUnwrittenOutput: Bool { outputOffset < output.count }

    /// Writes what the socket takes and parses what has arrived, waiting at most `timeoutMilliseconds`
    /// for either. Returns false when nothing could be done in that time.
    ///
    /// - Throws: ``LiveReplayError`` `.unreachable` when the connection closed or failed.
    @discardableResult
    func pump(timeoutMilliseconds: Int32) throws -> Bool {
        var events = Int16(POLLIN)
        if hasUnwrittenOutput { events |= Int16(POLLOUT) }
        var poller = pollfd(fd: descriptor, events: events, revents: 0)
        let ready = poll(&poller, 1, timeoutMilliseconds)
        if ready < 0 && errno == EINTR { return true }
        guard ready > 0 else { return false }
        if poller.revents & Int16(POLLOUT) != 0 && hasUnwrittenOutput {
            let written = output.withUnsafeBytes { buffer in
                send(descriptor, buffer.baseAddress! + outputOffset, buffer.count - outputOffset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 && errno != EAGAIN && errno != EINTR {
                throw LiveReplayError(.unreachable, "\(address) went away: \(String(cString: strerror(errno)))")
            }
            if written > 0 {
                outputOffset += written
                if outputOffset == output.count {
                    output.removeAll(keepingCapacity: true)
                    outputOffset = 0
                } else if outputOffset > 1 << 20 {
                    output.removeSubrange(0..<outputOffset)
                    outputOffset = 0
                }
            }
        }
        if poller.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
            let received = readBuffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if received == 0 || (received < 0 && errno != EAGAIN && errno != EINTR) {
                throw LiveReplayError(.unreachable, "\(address) closed the connection")
            }
            if received > 0 {
                readBuffer.withUnsafeBytes { parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<received])) }
                do {
                    while let value = try parser.nextValue() {
                        replies.append(value)
                        outstandingReplyCount -= 1
                    }
                } catch {
                    throw LiveReplayError(.unreachable, "\(address) sent a malformed reply: \(error)")
                }
            }
        }
        return true
    }

    /// Sends one command and waits for its reply (for set-up and final checks).
    func call(_ arguments: [String], timeoutMilliseconds: Int = 30_000) throws -> RESPValue {
        queue(arguments.map { Array($0.utf8) })
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMilliseconds) * 1_000_000
        while true {
            if let reply = nextReply() { return reply }
            guard DispatchTime.now().uptimeNanoseconds < deadline else {
                throw LiveReplayError(.unreachable, "\(address) did not answer \(arguments.first ?? "") in time")
            }
            try pump(timeoutMilliseconds: 100)
        }
    }
}

