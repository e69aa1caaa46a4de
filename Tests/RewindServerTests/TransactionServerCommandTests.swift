import Foundation
import RewindLog
import RewindRESP
import RewindTestSupport
import Testing

/// Server-level commands (CONFIG, CLIENT, OBJECT, PUBLISH, ...) inside MULTI: Redis's queue-time
/// errors and their places at EXEC, byte for byte against redis-server 7.0.15.
@Suite("Server commands inside MULTI", .serialized,
       .enabled(if: RewindBinary.path != nil && RedisReference.isAvailable))
struct TransactionServerCommandTests {
    static let sequences: [[[String]]] = [
        // Wrong argument counts, unknown subcommands and commands refused in MULTI: each gets its
        // error at queue time and EXEC answers EXECABORT; nothing ran.
        [["MULTI"], ["SET", "a", "1"], ["CONFIG"], ["OBJECT"], ["PUBLISH", "x"], ["TIME", "1"], ["CLIENT", "ID", "1"],
         ["CONFIG", "GET"], ["CONFIG", "FOO"], ["SAVE"], ["SHUTDOWN"], ["CLIENT"], ["CLIENT", "NOPE"],
         ["OBJECT", "ENCODING"], ["PUBSUB", "NUMPAT", "x"], ["FUNCTION", "FLUSH", "a", "b"], ["INFO", "a", "b"],
         ["LASTSAVE", "x"], ["WAIT", "1"], ["BGSAVE", "x", "y"], ["MEMORY"], ["MEMORY", "USAGE"], ["MEMORY", "NOPE"],
         ["SYNC"], ["SORT"], ["EXEC"], ["GET", "a"]],
        [["MULTI"], ["SET", "a", "1"], ["DEBUG"], ["SUBSCRIBE"], ["EXEC"], ["EXISTS", "a"]],
        [["MULTI"], ["CONFIG", "SET", "hz"], ["PUBSUB", "CHANNELS", "a", "b"], ["OBJECT", "help", "x"], ["DISCARD"]],
        // One error is enough, wherever it is.
        [["MULTI"], ["SET", "b", "1"], ["CLIENT", "GETNAME", "extra"], ["INCR", "b"], ["EXEC"], ["GET", "b"]],
        // Every queued command runs in its place: the server's see the engine's writes queued before them.
        [["MULTI"], ["SET", "k", "1"], ["OBJECT", "ENCODING", "k"], ["SET", "k", "abc"], ["OBJECT", "ENCODING", "k"],
         ["CLIENT", "SETNAME", "n1"], ["CLIENT", "GETNAME"], ["PUBLISH", "ch", "m"], ["DEL", "k"],
         ["OBJECT", "ENCODING", "k"], ["CONFIG", "SET", "maxmemory-samples", "7"], ["CONFIG", "GET", "maxmemory-samples"],
         ["SET", "k", "12345678901234567890123"], ["OBJECT", "ENCODING", "k"], ["EXEC"], ["CLIENT", "GETNAME"]],
        // A SELECT queued before a server command changes the database it looks at.
        [["SET", "d", "v"], ["MULTI"], ["SELECT", "1"], ["SET", "d", "5"], ["OBJECT", "ENCODING", "d"], ["SELECT", "0"],
         ["OBJECT", "ENCODING", "d"], ["PUBSUB", "NUMSUB", "ch"], ["EXEC"], ["OBJECT", "ENCODING", "d"]],
        // A failed WATCH runs nothing, the server's commands included.
        [["WATCH", "w"], ["SET", "w", "1"], ["MULTI"], ["CLIENT", "SETNAME", "never"], ["INCR", "w"], ["EXEC"],
         ["CLIENT", "GETNAME"], ["GET", "w"]],
    ]

    @Test("Queue-time errors, EXECABORT and the order of replies at EXEC match redis-server byte for byte")
    func matchesRedis() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-multi")
        let server = try ServerProcess(directory: directory.appending("log"))
        let redis = try RedisReference()
        for (index, sequence) in Self.sequences.enumerated() {
            let expected = String(decoding: try RESPClient(port: redis.port).exchange(sequence), as: UTF8.self)
            let actual = String(decoding: try RESPClient(port: server.port).exchange(sequence), as: UTF8.self)
            #expect(actual == expected, "sequence \(index)")
        }
        #expect(server.terminate() == 0)
        // The transaction with server commands in the middle is one record of the engine's writes.
        var commands: [[String]] = []
        _ = try LogReader(directory: directory.appending("log")).forEachEntry(recovery: .absolute) { entry in
            guard entry.kind == .command else { return }
            commands.append(entry.arguments.map { String(decoding: $0, as: UTF8.self) })
        }
        let transaction = [["SET", "k", "1"], ["SET", "k", "abc"], ["DEL", "k"], ["SET", "k", "12345678901234567890123"]]
        let start = try #require(commands.firstIndex(of: transaction[0]))
        #expect(Array(commands[start..<min(commands.count, start + 4)]) == transaction)
        #expect(!commands.contains(["SET", "a", "1"]) && !commands.contains(["INCR", "b"]), "aborted transactions logged nothing")
    }

    @Test("SORT ... STORE queued in MULTI writes inside EXEC's transaction record, in its place")
    func sortStoreInsideTransaction() throws {
        let directory = try TemporaryDirectory(prefix: "rewind-multi-sort")
        let server = try ServerProcess(directory: directory.appending("log"))
        let redis = try RedisReference()
        let sequence = [["SET", "dst", "old"], ["MULTI"], ["RPUSH", "src", "3", "1", "2"], ["SORT", "src", "STORE", "dst"], ["RPUSH", "dst", "9"],
                        ["EXEC"], ["LRANGE", "dst", "0", "-1"]]
        let expected = String(decoding: try RESPClient(port: redis.port).exchange(sequence), as: UTF8.self)
        let actual = String(decoding: try RESPClient(port: server.port).exchange(sequence), as: UTF8.self)
        #expect(actual == expected)
        #expect(server.terminate() == 0)
        var logged: [String] = []
        _ = try LogReader(directory: directory.appending("log")).forEachEntry(recovery: .absolute) { entry in
            switch entry.kind {
            case .transactionBegin: logged.append("BEGIN")
            case .transactionEnd: logged.append("END")
            case .command: logged.append(entry.arguments.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " "))
            default: break
            }
        }
        #expect(logged == ["SET dst old", "BEGIN", "RPUSH src 3 1 2", "DEL dst", "RPUSH dst 1 2 3", "RPUSH dst 9", "END"], "\(logged)")
    }
}
