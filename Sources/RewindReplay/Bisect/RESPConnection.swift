// A small blocking RESP2 client over TCP, for `rewind bisect --against`: pipelined requests,
// replies read with RewindRESP's parser. Every failure is a BisectError naming the server.

import Foundation
import RewindRESP
#if canImport(Glibc)
import Glibc
#endif

final class RESPConnection {
    let name: String
    private var descriptor: Int32 = -1
    private var parser = RESPParser()
    private var outgoing: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    /// Connects to `host:port` (a name or a numeric address).
    init(host: String, port: Int) throws {
        name = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw BisectError(.checkFailed, "cannot reach the reference server \(name): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let info = current {
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
            if fd >= 0 {
                if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                    descriptor = fd
                    var yes: Int32 = 1
                    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
                    var timeout = timeval(tv_sec: 30, tv_usec: 0)
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    return
                }
                lastError = String(cString: strerror(errno))
                close(fd)
            }
            current = info.pointee.ai_next
        }
        throw BisectError(.checkFailed, "cannot reach the reference server \(name): \(lastError)")
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Queues a command; ``flush()`` sends everything queued.
    func queue(_ arguments: [[UInt8]]) {
        RESPEncoder.encodeCommand(arguments, into: &outgoing)
    }

    func flush() throws {
        var written = 0
        while written < outgoing.count {
            let sent = outgoing[written...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { throw wentAway(String(cString: strerror(errno))) }
            written += sent
        }
        outgoing.removeAll(keepingCapacity: true)
    }

    /// Reads the next reply.
    func reply() throws -> RESPValue {
        while true {
            do {
                if let value = try parser.nextValue() { return value }
            } catch {
                throw BisectError(.checkFailed, "the reference server \(name) sent bytes that are not RESP: \(error)")
            }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { throw wentAway("it closed the connection") }
            if count < 0 { throw wentAway(String(cString: strerror(errno))) }
            parser.append(buffer[0..<count])
        }
    }

    /// Sends one command and reads its reply.
    func call(_ arguments: [String]) throws -> RESPValue {
        queue(arguments.map { Array($0.utf8) })
        try flush()
        return try reply()
    }

    private func wentAway(_ reason: String) -> BisectError {
        BisectError(.checkFailed, "the reference server \(name) went away: \(reason)")
    }
}
