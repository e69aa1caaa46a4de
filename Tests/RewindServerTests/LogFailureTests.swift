import Foundation
import RewindRESP
import RewindTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The log failing under a running server: a write past `ulimit -f` fails with EFBIG, as a write
/// to a full disk fails with ENOSPC. Redis's behaviour is the reference: under `always` it exits
/// ("Can't recover from AOF write error when the AOF fsync policy is 'always'"); under `everysec`
/// it refuses writes and PING with `-MISCONF Errors writing to the AOF file: <strerror>` and
/// serves reads. In both, nothing acknowledged may be lost, and no client may be told of a write
/// the log did not take.
@Suite("rewind serve when its log fails", .serialized, .enabled(if: RewindBinary.path != nil))
struct LogFailureTests {
    /// Incompressible values, so the log grows by about their size per SET.
    private static func value(_ index: Int) -> String {
        var generator = SeededGenerator(seed: UInt64(index) &+ 0x5EED)
        return String((0..<16_384).map { _ in Character(UnicodeScalar(UInt8(33 + generator.next() % 90))) })
    }

    /// SETs `key-0`, `key-1`, ... on one connection until the log fails, and returns the keys
    /// acknowledged with OK. The write the log could not take must never be answered: the server
    /// closes its connection. Nil (with the issue recorded) when that write got a reply.
    private static func writeUntilTheLogFails(port: Int) throws -> [Int]? {
        let client = try RESPClient(port: port)
        var acknowledged: [Int] = []
        for index in 0..<2_000 {
            switch Result(catching: { try client.command(["SET", "key-\(index)", value(index)]) }) {
            case .success(.ok):
                acknowledged.append(index)
            case .success(let reply):
                Issue.record("the write the log could not take was answered: \(reply)")
                return nil
            case .failure:
                #expect(client.closedByServer(), "the connection of the failed write was left open, unanswered")
                #expect(acknowledged.count > 10, "the limit left room for \(acknowledged.count) writes")
                return acknowledged
            }
        }
        throw TestFailure("2,000 SETs of 16 KiB fit under the file size limit: the log never failed")
    }

    /// Restarts on the same directory without the limit: every acknowledged key holds its value,
    /// and any other key is the one write that was under way when the log failed.
    private static func checkRecovered(directory: String, arguments: [String], acknowledged: [Int]) throws {
        let server = try ServerProcess(directory: directory, arguments: arguments)
        let client = try RESPClient(port: server.port)
        for index in acknowledged {
            #expect(try client.command(["GET", "key-\(index)"]) == .bulkString(Array(value(index).utf8)), "key-\(index)")
        }
        let count = try client.command(["DBSIZE"])
        #expect(count == .integer(Int64(acknowledged.count)) || count == .integer(Int64(acknowledged.count + 1)), "\(count)")
        #expect(server.terminate() == 0)
    }

    /// `rewind serve` on a fresh log under a 2 MiB file size limit: a little over a hundred of the SETs below fit.
    private static func serveUnderFileSizeLimit(policy: String) throws -> (TemporaryDirectory, String, ServerProcess) {
        let directory = try TemporaryDirectory(prefix: "rewind-logfail")
        let log = directory.appending("log")
        return (directory, log, try ServerProcess(directory: log, arguments: ["--appendfsync", policy], fileSizeLimitBytes: 2 << 20))
    }

    @Test("appendfsync always: the server stops with exit 1 and a message; every acknowledged write survives")
    func always() throws {
        let (directory, log, server) = try Self.serveUnderFileSizeLimit(policy: "always")
        defer { withExtendedLifetime(directory) {} }
        let bystander = try RESPClient(port: server.port)
        #expect(try bystander.command(["PING"]) == .simpleString("PONG"))
        guard let acknowledged = try Self.writeUntilTheLogFails(port: server.port) else { return }
        // The failed SET ran in the keyspace; no other client may see it, even before the exit.
        let failed = acknowledged.count
        let seen = try? bystander.command(["GET", "key-\(failed)"])
        #expect(seen != .bulkString(Array(Self.value(failed).utf8)), "a client read the write the log did not take")
        #expect(bystander.closedByServer())
        let status = server.waitForExit(timeout: 30)
        #expect(status == 1, "\(server.standardError)")
        #expect(server.standardError.contains("the log failed"), "\(server.standardError)")
        #expect(server.standardError.contains("File too large"), "\(server.standardError)")
        #expect(server.standardError.contains("start again on the same --dir"), "\(server.standardError)")
        try Self.checkRecovered(directory: log, arguments: ["--appendfsync", "always"], acknowledged: acknowledged)
    }

    @Test("appendfsync everysec: writes, PING and EXEC of a write get MISCONF; reads are served; exit 1 at SIGTERM")
    func everysec() throws {
        let (directory, log, server) = try Self.serveUnderFileSizeLimit(policy: "everysec")
        defer { withExtendedLifetime(directory) {} }
        // A transaction queued before the failure, executed after it.
        let transaction = try RESPClient(port: server.port)
        #expect(try transaction.command(["MULTI"]) == .ok)
        #expect(try transaction.command(["SET", "queued", "1"]) == .simpleString("QUEUED"))
        // A key that expires after the failure: its lazy expiry cannot be logged.
        let setup = try RESPClient(port: server.port)
        #expect(try setup.command(["DEBUG", "SET-ACTIVE-EXPIRE", "0"]) == .ok)
        #expect(try setup.command(["SET", "short-lived", "1", "PX", "300"]) == .ok)
        guard let acknowledged = try Self.writeUntilTheLogFails(port: server.port) else { return }
        let misconf = "MISCONF Errors writing to the AOF file: File too large"
        let client = try RESPClient(port: server.port)
        #expect(try client.command(["SET", "after", "1"]) == .error(misconf))
        #expect(try client.command(["INCR", "counter"]) == .error(misconf))
        #expect(try client.command(["PING"]) == .error(misconf))
        // Redis checks the arity before the disk error.
        #expect(try client.command(["SET", "lonely"]) == .error("ERR wrong number of arguments for 'set' command"))
        // A read whose lazy expiry is not logged still gets its reply.
        usleep(350_000)
        #expect(try client.command(["GET", "short-lived"]) == .null)
        let last = try #require(acknowledged.last)
        #expect(try client.command(["GET", "key-\(last)"]) == .bulkString(Array(Self.value(last).utf8)))
        #expect(try client.command(["EXISTS", "after", "counter"]) == .integer(0))
        #expect(try client.command(["ECHO", "still serving"]) == .bulkString(Array("still serving".utf8)))
        let info = try client.command(["INFO", "persistence"])
        guard case .bulkString(let text) = info else {
            Issue.record("INFO answered \(info)")
            return
        }
        #expect(String(decoding: text, as: UTF8.self).contains("aof_last_write_status:err\r\n"))
        // Inside MULTI a refused write dooms EXEC, as in Redis.
        #expect(try client.command(["MULTI"]) == .ok)
        #expect(try client.command(["SET", "in-multi", "1"]) == .error(misconf))
        #expect(try client.command(["GET", "before"]) == .simpleString("QUEUED"))
        #expect(try client.command(["EXEC"]) == .error("EXECABORT Transaction discarded because of previous errors."))
        // EXEC of a write queued before the failure discards the transaction.
        #expect(try transaction.command(["EXEC"]) == .error("EXECABORT Transaction discarded because of: \(misconf)"))
        #expect(try transaction.command(["EXISTS", "queued"]) == .integer(0))
        #expect(try transaction.command(["EXEC"]) == .error("ERR EXEC without MULTI"))
        // The refused EXEC left the connection out of MULTI: SUBSCRIBE takes it to pub/sub.
        #expect(try transaction.command(["SUBSCRIBE", "news"]) == .array([.bulk("subscribe"), .bulk("news"), .integer(1)]))
        guard case .error(let text) = try transaction.command(["GET", "before"]) else {
            Issue.record("GET was answered in a subscribed RESP2 connection")
            return
        }
        #expect(text.hasPrefix("ERR Can't execute 'get'"), "\(text)")
        // Redis checks the disk error before the pub/sub context: a write there gets MISCONF.
        #expect(try transaction.command(["SET", "subscribed", "1"]) == .error(misconf))
        #expect(server.terminate() == 1, "\(server.standardError)")
        #expect(server.standardError.contains("the log failed"), "\(server.standardError)")
        try Self.checkRecovered(directory: log, arguments: ["--appendfsync", "everysec"], acknowledged: acknowledged)
    }
}
