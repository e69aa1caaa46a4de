import Foundation
import NIOCore
import NIOEmbedded
import RewindEngine
import RewindLog
import RewindReplay
import RewindRESP
import RewindTestSupport
import Testing
@testable import RewindServer

/// `--record-replies` and `--checkpoint-every`: what the server stores with each logged write.
@Suite("Recorded reply hashes and checkpoint entries")
struct RecordedRepliesTests {
    private func entries(_ connection: EmbeddedConnection) throws -> [LogEntry] {
        try connection.acknowledge()
        return try LogReader(directory: connection.core.configuration.directory).readAll().entries
    }

    private func bulk(_ text: String) -> RESPValue { .bulk(text) }

    @Test("A write logged as sent carries the hash of its reply; a rewritten one (EXPIRE, SPOP) carries none")
    func replyHashes() throws {
        let connection = try EmbeddedConnection { $0.recordsReplies = true }
        try connection.send("SET a 10\r\nINCRBY a 5\r\nRPUSH l x y\r\nEXPIRE a 100\r\nSADD s m\r\nSPOP s\r\nGET a\r\n")
        let logged = try entries(connection)
        #expect(logged.map { String(decoding: $0.arguments[0], as: UTF8.self) } == ["SET", "INCRBY", "RPUSH", "PEXPIREAT", "SADD", "SREM"])
        #expect(logged.map(\.replyHash) == [ReplyHash.of(.ok), ReplyHash.of(.integer(15)), ReplyHash.of(.integer(2)), nil,
                                            ReplyHash.of(.integer(1)), nil])
        #expect(try connection.received() == "+OK\r\n:15\r\n:2\r\n:1\r\n:1\r\n$1\r\nm\r\n$2\r\n15\r\n")
        #expect(try connection.finish())
    }

    @Test("Without --record-replies no entry carries a hash")
    func off() throws {
        let connection = try EmbeddedConnection()
        try connection.send("SET a 10\r\nINCR a\r\n")
        #expect(try entries(connection).allSatisfy { $0.replyHash == nil })
        _ = try connection.received()
        #expect(try connection.finish())
    }

    @Test("A RESP3 client records the same hash as a RESP2 client for the same reply")
    func protocolIndependent() throws {
        let connection = try EmbeddedConnection { $0.recordsReplies = true }
        try connection.send("HSET h f v\r\nHELLO 3\r\nHSET h g w\r\nHINCRBYFLOAT h n 1.5\r\nHELLO 2\r\nHINCRBYFLOAT h m 1.5\r\n")
        let logged = try entries(connection)
        #expect(logged.count == 4)
        #expect(logged[0].replyHash == logged[1].replyHash)
        #expect(logged[0].replyHash == ReplyHash.of(.integer(1)))
        // HINCRBYFLOAT is logged as HSET of the result (no hash); the check is that nothing differs by protocol.
        #expect(logged[2].replyHash == logged[3].replyHash)
        _ = try connection.received()
        #expect(try connection.finish())
    }

    @Test("In MULTI/EXEC each logged command carries the hash of its own element of EXEC's reply")
    func transaction() throws {
        let connection = try EmbeddedConnection { $0.recordsReplies = true }
        try connection.send("SET n 1\r\nMULTI\r\nGET n\r\nINCR n\r\nSET k v NX\r\nSET k w NX\r\nLPUSH q a\r\nEXEC\r\n")
        let logged = try entries(connection)
        #expect(logged.map(\.kind) == [.command, .transactionBegin, .command, .command, .command, .transactionEnd])
        #expect(logged[2].arguments[0] == Array("INCR".utf8))
        #expect(logged[2].replyHash == ReplyHash.of(.integer(2)))
        #expect(logged[3].replyHash == ReplyHash.of(.ok))
        #expect(logged[4].replyHash == ReplyHash.of(.integer(1)))
        #expect(logged[1].replyHash == nil && logged[5].replyHash == nil)
        // A transaction abandoned by RESET leaves nothing behind for the next one.
        try connection.send("MULTI\r\nSET x 1\r\nRESET\r\nMULTI\r\nLPUSH q b c\r\nEXEC\r\n")
        let more = try entries(connection).dropFirst(logged.count)
        #expect(more.map(\.kind) == [.transactionBegin, .command, .transactionEnd])
        #expect(more.dropFirst().first?.replyHash == ReplyHash.of(.integer(3)))
        _ = try connection.received()
        #expect(try connection.finish())
    }

    @Test("--checkpoint-every 3: a checkpoint after every 3 logged commands, never inside a transaction, holding the digest of the state so far")
    func checkpoints() throws {
        let connection = try EmbeddedConnection { $0.checkpointEntryCount = 3 }
        try connection.send("SET a 1\r\nSET b 2\r\nMULTI\r\nINCR a\r\nINCR b\r\nEXEC\r\nDEL a\r\nSET c 3\r\n")
        let logged = try entries(connection)
        #expect(logged.map(\.kind) == [.command, .command, .transactionBegin, .command, .command, .transactionEnd, .checkpoint,
                                       .command, .command])
        // The digest of the state after #1-#6, replayed independently.
        let keyspace = Keyspace(randomSeed: 0)
        for entry in logged.prefix(6) where entry.kind == .command {
            _ = keyspace.apply(LoggedCommand(db: Int(entry.db), arguments: entry.arguments), nowMilliseconds: entry.timestampMilliseconds)
        }
        #expect(logged[6].arguments == [keyspace.datasetDigest().bytes])
        #expect(logged[6].arguments[0].count == 20)
        try connection.send("SET d 4\r\n")
        #expect(try entries(connection).last?.kind == .checkpoint)
        _ = try connection.received()
        #expect(try connection.finish())
    }
}
