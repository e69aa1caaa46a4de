import Foundation
import RewindEngine
import RewindLog
import RewindRESP
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("Bisect against recorded replies and a reference server")
struct ComparisonTests {
    /// Runs `commands` in a keyspace as a server would and writes what it propagated, each entry
    /// with the hash of the reply the client got (`forgedReplies` replaces some of those replies),
    /// and a checkpoint after every `checkpointEvery` commands (`forgedCheckpoint`: that one's digest is wrong).
    static func writeRecordedLog(at path: String, _ commands: [[String]], forgedReplies: [Int: RESPValue] = [:],
                                 checkpointEvery: Int? = nil, forgedCheckpoint: Int? = nil) throws {
        let writer = try LogWriter.open(directory: path, options: .init(durability: .no, trainsDictionary: false))
        let keyspace = Keyspace(randomSeed: 0)
        var session = ClientSession()
        let time: Int64 = 1_700_000_000_000
        for (index, command) in commands.enumerated() {
            let result = keyspace.execute(command.map { Array($0.utf8) }, session: &session, nowMilliseconds: time)
            let reply = forgedReplies[index] ?? result.reply
            for case .command(let logged) in result.propagated {
                try writer.append(LogEntry(timestampMilliseconds: time, db: UInt32(logged.db), arguments: logged.arguments, replyHash: ReplyHash.of(reply)))
            }
            if let every = checkpointEvery, (index + 1) % every == 0 {
                var digest = keyspace.datasetDigest().bytes
                if forgedCheckpoint == (index + 1) / every { digest[0] ^= 1 }
                try writer.append(LogEntry(timestampMilliseconds: time, kind: .checkpoint, arguments: [digest]))
            }
        }
        try writer.sync()
        try writer.close()
    }

    static let commands: [[String]] = (0..<60).map { ["INCR", "counter:\($0 % 7)"] }

    @Test("--recorded: the first entry whose recorded reply hash differs from the replayed reply")
    func recordedReplies() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-recorded")
        try Self.writeRecordedLog(at: directory.appending("forged"), Self.commands, forgedReplies: [41: .integer(99)])
        let result = try RecordedComparison.run(log: directory.appending("forged"), options: BisectOptions(), replyHash: ReplyHash.of)
        #expect(result.firstBad == 42)
        #expect(result.lastGood == 41)
        #expect(result.after?.lines.first?.contains("INCR \"counter:6\"") == true)

        try Self.writeRecordedLog(at: directory.appending("clean"), Self.commands, checkpointEvery: 10)
        #expect { try RecordedComparison.run(log: directory.appending("clean"), options: BisectOptions(), replyHash: ReplyHash.of) } throws: {
            ($0 as? BisectError)?.code == .goodAtEnd
        }
        try writeTestLog(at: directory.appending("plain"), noise(0..<10))
        #expect { try RecordedComparison.run(log: directory.appending("plain"), options: BisectOptions(), replyHash: ReplyHash.of) } throws: {
            ($0 as? BisectError)?.code == .badBounds
        }
    }

    @Test("--recorded: a checkpoint digest that differs, with the last matching checkpoint as the last good point")
    func recordedCheckpoints() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-recorded")
        try Self.writeRecordedLog(at: directory.path, Self.commands, checkpointEvery: 10, forgedCheckpoint: 4)
        let result = try RecordedComparison.run(log: directory.path, options: BisectOptions(), replyHash: ReplyHash.of)
        // Checkpoints follow commands 10, 20, 30, 40: sequence numbers 11, 22, 33, 44.
        #expect(result.firstBad == 44)
        #expect(result.lastGood == 33)
        #expect(result.decisive?.entries.first?.kind == .checkpoint)
        let text = result.report(check: "recorded", history: nil).rendered(.text)
        #expect(text.contains("CHECKPOINT   <- check is bad from here"))
    }

    @Test("--against: the first entry whose reply differs from redis-server 7.0's; expiry times shifted so nothing expires early",
          .enabled(if: RedisProcess.isAvailable))
    func againstRedis() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-against")
        let start: Int64 = 1_700_000_000_000
        var units: [TestUnit] = [
            .command(["SET", "session", "x", "PXAT", String(start + 1_000)], at: start),
            .command(["APPEND", "session", "y"], at: start + 500),      // alive then; long expired by the wall clock
            .command(["PEXPIREAT", "other", String(start + 2_000)], at: start + 600),
            .transaction([["HSET", "h", "f", "1"], ["HINCRBY", "h", "f", "2"]], at: start + 700),
            .command(["SELECT", "0"], at: start + 701),
        ]
        units.removeLast()
        units += noise(0..<40, at: start + 800)
        try writeTestLog(at: directory.appending("clean"), units)
        var forged = units
        forged.insert(.command(["XADD", "stream", "1-1", "field", "value"], at: start + 900), at: 20)  // no streams in the engine
        try writeTestLog(at: directory.appending("forged"), forged)

        let server = try RedisProcess(directory: directory.path)
        defer { server.stop() }
        let clean = ReferenceComparison(host: "127.0.0.1", port: server.port, digestEveryEntryCount: 7)
        #expect { try clean.run(log: directory.appending("clean"), options: BisectOptions()) } throws: {
            ($0 as? BisectError)?.code == .goodAtEnd
        }
        _ = try server.cli(["FLUSHALL"])
        let comparison = ReferenceComparison(host: "127.0.0.1", port: server.port, digestEveryEntryCount: 7)
        let result = try comparison.run(log: directory.appending("forged"), options: BisectOptions())
        #expect(result.firstBad == 24)  // 4 commands, a transaction of 4 entries, 15 noise, then XADD
        #expect(result.lastGood == 23)
        #expect(result.after?.lines.first?.contains("rewind replied (error) ERR unknown command") == true)
        // The reference now holds data: a second run refuses it.
        #expect { try comparison.run(log: directory.appending("forged"), options: BisectOptions()) } throws: {
            ($0 as? BisectError)?.code == .checkFailed && ($0 as? BisectError)?.message.contains("holds data") == true
        }
        // Active expiry was switched back on.
        #expect(try server.cli(["DEBUG", "SET-ACTIVE-EXPIRE", "1"]) == "OK")

        // --shrink with --against: the smallest log that still parts ways is the XADD alone, and
        // it is 1-minimal by construction; the written log reproduces on its own.
        let shrinking = ReferenceComparison(host: "127.0.0.1", port: server.port, digestEveryEntryCount: 7)
        defer { shrinking.finish() }
        let shrunk = try Shrinker.shrink(log: directory.appending("forged"), upTo: 24, recovery: .tolerateTail,
                                         reproduces: { try shrinking.reproduces($0) })
        #expect(shrunk.units.count == 1)
        #expect(shrunk.units.first?.commands.first?.arguments.first == Array("XADD".utf8))
        #expect(shrunk.originalUnitCount > 20 && shrunk.checkRunCount > 1)
        try shrunk.write(to: directory.appending("shrunk"))
        let written = try LogUnits.units(log: directory.appending("shrunk"), in: 1...UInt64.max, recovery: .tolerateTail)
        #expect(try shrinking.reproduces(written))
        // A clean log does not reproduce, so shrinking it is refused.
        #expect { try Shrinker.shrink(log: directory.appending("clean"), upTo: 20, recovery: .tolerateTail,
                                      reproduces: { try shrinking.reproduces($0) }) } throws: {
            ($0 as? BisectError)?.code == .checkFailed
        }
    }

    @Test("--against a port where nothing listens: a clear error, not a hang")
    func unreachable() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-against")
        try writeTestLog(at: directory.path, noise(0..<5))
        let comparison = ReferenceComparison(host: "127.0.0.1", port: RedisProcess.freePort(), digestEveryEntryCount: 10)
        #expect { try comparison.run(log: directory.path, options: BisectOptions()) } throws: {
            ($0 as? BisectError)?.code == .checkFailed && ($0 as? BisectError)?.message.contains("cannot reach the reference server") == true
        }
    }

    @Test("time shifting moves absolute expiry times only")
    func shifting() {
        func strings(_ arguments: [String]) -> [String] {
            ReferenceComparison.shifted(arguments.map { Array($0.utf8) }, by: 5_000).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(strings(["SET", "k", "v", "PXAT", "1000"]) == ["SET", "k", "v", "PXAT", "6000"])
        #expect(strings(["PEXPIREAT", "k", "1000", "NX"]) == ["PEXPIREAT", "k", "6000", "NX"])
        #expect(strings(["EXPIREAT", "k", "10"]) == ["EXPIREAT", "k", "16"])
        #expect(strings(["SET", "k", "1000"]) == ["SET", "k", "1000"])
        #expect(strings(["PEXPIREAT", "k", String(Int64.max)]) == ["PEXPIREAT", "k", String(Int64.max)])
    }
}

/// A reference "server" that answers the opening DEBUG commands, then closes the connection as
/// soon as the log's commands arrive: a server that goes away in the middle of a run.
final class VanishingServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 4) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        Thread.detachNewThread { [self] in
            let client = accept(listener, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 4096)
            var answered = 0
            // DEBUG DIGEST, then DEBUG SET-ACTIVE-EXPIRE: answer both, then vanish.
            while answered < 2 {
                let count = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                let text = String(decoding: buffer[0..<count], as: UTF8.self)
                let reply = text.contains("DIGEST") ? "+" + String(repeating: "0", count: 40) + "\r\n" : "+OK\r\n"
                _ = reply.utf8CString.withUnsafeBufferPointer { send(client, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
                answered += 1
            }
            close(client)
            done.signal()
        }
    }

    func wait() {
        done.wait()
        close(listener)
    }
}

extension ComparisonTests {
    @Test("--against a server that goes away in the middle: a clear error naming it")
    func serverGoesAway() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-against")
        try writeTestLog(at: directory.path, noise(0..<50))
        let server = try VanishingServer()
        let comparison = ReferenceComparison(host: "127.0.0.1", port: server.port, digestEveryEntryCount: 1000)
        #expect { try comparison.run(log: directory.path, options: BisectOptions()) } throws: {
            guard let error = $0 as? BisectError else { return false }
            return error.code == .checkFailed && error.message.contains("went away")
        }
        server.wait()
    }
}
