import Foundation
import RewindEngine
import RewindLog
import RewindRESP
@testable import RewindReplay
import RewindTestSupport
import Testing

@Suite("ReplayedState: the Swift API for tests")
struct ReplayedStateTests {
    static let t0: Int64 = 1_795_000_000_000

    func log(_ directory: TemporaryDirectory) throws -> String {
        let log = directory.appending("api.rwlog")
        try writeTestLog(at: log, [
            .command(["HSET", "user:42", "name", "alice", "visits", "1"], at: Self.t0),
            .command(["SET", "session:abc", "token", "PXAT", String(Self.t0 + 60_000)], at: Self.t0 + 1),
            .command(["RPUSH", "queue", "j1", "j2"], at: Self.t0 + 2),
            .command(["SADD", "tags", "red", "blue"], at: Self.t0 + 3),
            .command(["HDEL", "user:42", "name"], at: Self.t0 + 4),
        ])
        return log
    }

    @Test("Replay to a sequence number, then read with typed accessors and with commands")
    func replayToPoint() throws {
        let directory = try TemporaryDirectory()
        let state = try ReplayedState(log: try log(directory), until: .sequence(4))
        #expect(state.lastSequence == 4)
        #expect(state.clockMilliseconds == Self.t0 + 3)
        #expect(state.hash("user:42") == ["name": "alice", "visits": "1"])
        #expect(state.string("session:abc") == "token")
        #expect(state.ttlMilliseconds("session:abc") == Int64(60_000 - 3))
        #expect(state.list("queue") == ["j1", "j2"])
        #expect(state.set("tags") == ["red", "blue"])
        #expect(state.execute("HGET", "user:42", "name") == .bulk("alice"))
        #expect(Set(state.keys()) == ["user:42", "session:abc", "queue", "tags"])
    }

    @Test("Replaying further continues from the last entry applied")
    func continueReplay() throws {
        let directory = try TemporaryDirectory()
        let path = try log(directory)
        let state = try ReplayedState(log: path, until: .sequence(2))
        try state.replay(log: path)
        #expect(state.lastSequence == 5)
        #expect(state.hash("user:42") == ["visits": "1"])
        #expect(state.digest == (try ReplayedState(log: path)).digest)
    }

    @Test("Advancing the virtual clock makes keys expire")
    func clock() throws {
        let directory = try TemporaryDirectory()
        let state = try ReplayedState(log: try log(directory))
        state.advanceClock(byMilliseconds: 59_000)
        #expect(state.exists("session:abc"))
        state.advanceClock(byMilliseconds: 1_000)
        #expect(!state.exists("session:abc"))
        #expect(state.keyspace.keyCount(db: 0) == 4)  // accessors never delete
        #expect(state.execute("GET", "session:abc") == .null)
        #expect(state.keyspace.keyCount(db: 0) == 3)  // a command expires it, as Redis does
    }

    @Test("expireKeys deletes every key past its TTL")
    func expireKeys() throws {
        let directory = try TemporaryDirectory()
        let state = try ReplayedState(log: try log(directory))
        state.setClock(toMilliseconds: Self.t0 + 120_000)
        #expect(state.expireKeys() == 1)
        #expect(state.keyspace.keyCount(db: 0) == 3)
    }

    @Test("A fork is independent of its parent, and equal to it at first")
    func fork() throws {
        let directory = try TemporaryDirectory()
        let state = try ReplayedState(log: try log(directory))
        state.execute("SELECT", "2")
        state.execute("SET", "x", "1")
        let fork = try state.fork()
        #expect(fork.digest == state.digest)
        #expect(fork.clockMilliseconds == state.clockMilliseconds)
        fork.execute("DEL", "x")
        fork.execute("SELECT", "0")
        fork.execute("DEL", "user:42")
        #expect(state.exists("user:42"))
        #expect(state.string("x", db: 2) == "1")
        #expect(!fork.exists("user:42"))
        #expect(fork.string("x", db: 2) == nil)
        #expect(fork.digest != state.digest)
    }

    @Test("A point beyond the end of the log is an error")
    func beyondEnd() throws {
        let directory = try TemporaryDirectory()
        let path = try log(directory)
        #expect(throws: ReplayError.self) { try ReplayedState(log: path, until: .sequence(6)) }
    }
}

@Suite("ReplayedState on a log imported from redis-server's own AOF")
struct ReplayedStateFixtureTests {
    @Test("The appenddir fixture, replayed to the end, reads as Redis wrote it")
    func fixture() throws {
        let directory = try TemporaryDirectory()
        let log = directory.appending("redis.rwlog")
        _ = try AOFImporter.importAOF(from: Fixtures.appendDirectory, to: log)
        let state = try ReplayedState(log: log)
        #expect(state.digest == (try Fixtures.recordedDigest("appendonlydir")))
        #expect(state.hash("user:1") == ["visits": "4"])
        #expect(state.list("queue") == ["j1", "j2", "j3"])
        #expect(state.sortedSet("board")?.map(\.member) == ["alice", "carol", "bob"])
        #expect(state.sortedSet("board")?.last?.score == 25)
        #expect(state.string("db3:k", db: 3) == "value with spaces")
        #expect(state.bytes("bin:1") == Array("bin\0ary".utf8) + [0xFF, 0xFE, 0x0D, 0x0A])
        #expect(state.ttlMilliseconds("session") == nil)  // PERSIST in phase B
        #expect(state.string("lua:k") == "v")
        #expect(state.execute("ZSCORE", "board", "bob") == .double(25))
        // The greeting expires in about 100,000,000 seconds: move the clock past it.
        let ttl = try #require(state.ttlMilliseconds("greeting"))
        state.advanceClock(byMilliseconds: ttl + 1)
        #expect(!state.exists("greeting"))
    }
}
