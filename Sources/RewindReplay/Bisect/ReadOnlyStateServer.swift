// A minimal loopback RESP server over one keyspace, read-only, for `rewind bisect --run`: the
// external check reads the state at the probed entry with any Redis client. It exists because
// the NIO server's read-only mode was not on main when bisect was written; see docs/BISECT.md.

import Foundation
import RewindEngine
import RewindRESP
#if canImport(Glibc)
import Glibc
#endif

/// Serves a keyspace on 127.0.0.1 at a free port, answering read commands and refusing writes
/// with Redis's READONLY error. Keys are never expired on access (a replaying session), so the
/// state served is exactly the state at the entry. One thread per connection; a lock keeps the
/// keyspace to one of them at a time.
final class ReadOnlyStateServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let keyspace: Keyspace
    private let nowMilliseconds: Int64
    private let lock = NSLock()
    private var clients: Set<Int32> = []
    private let threads = DispatchGroup()
    private var stopped = false

    init(keyspace: Keyspace, nowMilliseconds: Int64) throws {
        self.keyspace = keyspace
        self.nowMilliseconds = nowMilliseconds
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BisectError(.checkFailed, "cannot open a socket to serve the state: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw BisectError(.checkFailed, "cannot listen on 127.0.0.1 to serve the state: \(message)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        threads.enter()
        Thread.detachNewThread { [self] in
            acceptLoop()
            threads.leave()
        }
    }

    /// Closes the listener and every connection, and waits for their threads.
    func stop() {
        lock.lock()
        if stopped { lock.unlock(); return }
        stopped = true
        shutdown(listener, Int32(SHUT_RDWR))
        for client in clients { shutdown(client, Int32(SHUT_RDWR)) }
        lock.unlock()
        threads.wait()
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            lock.lock()
            if stopped {
                lock.unlock()
                close(client)
                return
            }
            clients.insert(client)
            lock.unlock()
            threads.enter()
            Thread.detachNewThread { [self] in
                serve(client)
                lock.lock()
                clients.remove(client)
                lock.unlock()
                close(client)
                threads.leave()
            }
        }
    }

    private func serve(_ client: Int32) {
        var parser = RESPParser()
        var session = ClientSession()
        session.isReplaying = true
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
            if count <= 0 { return }
            parser.append(buffer[0..<count])
            var output: [UInt8] = []
            var quit = false
            do {
                while let request = try parser.nextRequest() {
                    let reply = answer(request.arguments, session: &session, quit: &quit)
                    RESPEncoder.encode(reply, version: .resp2, into: &output)
                    if quit { break }
                }
            } catch {
                RESPEncoder.encode(.error("ERR Protocol error: \(error)"), version: .resp2, into: &output)
                quit = true
            }
            var written = 0
            while written < output.count {
                let sent = output[written...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent <= 0 { return }
                written += sent
            }
            if quit { return }
        }
    }

    private func answer(_ arguments: [[UInt8]], session: inout ClientSession, quit: inout Bool) -> RESPValue {
        guard let first = arguments.first else { return .error("ERR empty command") }
        let name = String(decoding: first, as: UTF8.self).uppercased()
        switch name {
        case "QUIT":
            quit = true
            return .ok
        case "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH":
            return .error("READONLY You can't write against a read only replica.")
        default:
            break
        }
        if let spec = Keyspace.commandSpec(named: name), spec.flags.contains(.write) {
            return .error("READONLY You can't write against a read only replica.")
        }
        lock.lock()
        defer { lock.unlock() }
        return keyspace.execute(arguments, session: &session, nowMilliseconds: nowMilliseconds).reply
    }
}
