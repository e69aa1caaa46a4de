// A redis-server owned by one test, with its own pipelining RESP2 client (used by the value-type
// tests; the command-level differential tests use RedisTestServer and RESPTestClient).

import Foundation
import RewindTestSupport

#if canImport(Glibc)
import Glibc
#endif

// MARK: - A redis-server for differential tests

/// A private redis-server 7.0 on a free loopback port, with a minimal RESP2 client.
///
/// Each test starts its own server and stops it when done, so tests never share state and the
/// process never outlives the test that started it. Shared by the HyperLogLog and sorted-set tests.
final class OwnedRedisServer {
    enum Reply: Equatable {
        case simple(String)
        case error(String)
        case integer(Int64)
        case bulk([UInt8]?)
        case array([Reply]?)

        var bytes: [UInt8]? { if case .bulk(let value) = self { return value } else { return nil } }
        var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
        var integer: Int64? { if case .integer(let value) = self { return value } else { return nil } }
    }

    struct ClientError: Error, CustomStringConvertible { var description: String }

    static let executablePath = "/usr/bin/redis-server"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: executablePath) }

    let port: UInt16
    private let process: Subprocess
    private var socketDescriptor: Int32 = -1
    private var inbox: [UInt8] = []
    private var inboxOffset = 0

    init(extraArguments: [String] = []) throws {
        port = try Self.freeLoopbackPort()
        process = try Subprocess(Self.executablePath, [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--enable-debug-command", "yes", "--daemonize", "no", "--logfile", "/dev/null",
        ] + extraArguments)
        for _ in 0..<200 {
            if try connectOnce() { return }
            usleep(10_000)
        }
        process.send(SIGKILL)
        throw ClientError(description: "redis-server did not accept connections on port \(port)")
    }

    deinit {
        if socketDescriptor >= 0 { close(socketDescriptor) }
        process.send(SIGKILL)
        process.wait(timeout: 10)
    }

    private static func freeLoopbackPort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else { throw ClientError(description: "no free port") }
        return UInt16(bigEndian: address.sin_port)
    }

    private func connectOnce() throws -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            close(descriptor)
            return false
        }
        // A server that stops answering fails the test after a minute instead of hanging it.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        socketDescriptor = descriptor
        return true
    }

    /// Sends one command and reads its reply.
    @discardableResult
    func command(_ arguments: [UInt8]...) throws -> Reply {
        try command(arguments)
    }

    @discardableResult
    func command(_ arguments: [[UInt8]]) throws -> Reply {
        try send(arguments)
        return try readReply()
    }

    @discardableResult
    func command(_ text: String...) throws -> Reply {
        try command(text.map { Array($0.utf8) })
    }

    /// Sends many commands, then reads all replies: pipelining keeps big streams fast.
    func pipeline(_ commands: [[[UInt8]]]) throws -> [Reply] {
        var encoded: [UInt8] = []
        for arguments in commands { encoded.append(contentsOf: Self.encode(arguments)) }
        try write(encoded)
        return try commands.map { _ in try readReply() }
    }

    private static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var encoded = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            encoded.append(contentsOf: Array("$\(argument.count)\r\n".utf8))
            encoded.append(contentsOf: argument)
            encoded.append(contentsOf: [13, 10])
        }
        return encoded
    }

    private func send(_ arguments: [[UInt8]]) throws {
        try write(Self.encode(arguments))
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socketDescriptor, $0.baseAddress, $0.count, 0) }
            guard written > 0 else { throw ClientError(description: "send failed") }
            offset += written
        }
    }

    private func fill() throws {
        if inboxOffset > 0 && inboxOffset == inbox.count {
            inbox.removeAll(keepingCapacity: true)
            inboxOffset = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let received = chunk.withUnsafeMutableBytes { recv(socketDescriptor, $0.baseAddress, $0.count, 0) }
        guard received > 0 else { throw ClientError(description: "connection closed") }
        inbox.append(contentsOf: chunk[0..<received])
    }

    private func readLine() throws -> [UInt8] {
        while true {
            if let end = inbox[inboxOffset...].firstIndex(of: 10), end > inboxOffset, inbox[end - 1] == 13 {
                let line = Array(inbox[inboxOffset..<(end - 1)])
                inboxOffset = end + 1
                return line
            }
            try fill()
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while inbox.count - inboxOffset < count + 2 { try fill() }
        let bytes = Array(inbox[inboxOffset..<(inboxOffset + count)])
        inboxOffset += count + 2
        return bytes
    }

    private func readReply() throws -> Reply {
        let line = try readLine()
        guard let kind = line.first else { throw ClientError(description: "empty reply line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .simple(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"): return .integer(Int64(rest) ?? 0)
        case UInt8(ascii: "$"):
            guard let length = Int(rest), length >= 0 else { return .bulk(nil) }
            return .bulk(try readBytes(length))
        case UInt8(ascii: "*"):
            guard let count = Int(rest), count >= 0 else { return .array(nil) }
            return .array(try (0..<count).map { _ in try readReply() })
        default:
            throw ClientError(description: "unexpected reply type \(kind)")
        }
    }
}

/// A small deterministic generator for test streams (SplitMix64), independent of Swift's seeds.
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    init(_ text: String) { self = Array(text.utf8) }
}

