// Keyspace.fork(): an O(1) copy-on-write snapshot that never sees the original's later writes,
// nor the original the fork's.

import Foundation
@_spi(Testing) import RewindEngine
import RewindRESP
import Testing

@Suite("Keyspace.fork is a copy-on-write snapshot")
struct ForkTests {
    private static let now: Int64 = 1_700_000_000_000

    /// Runs `operations` random commands of every family (the differential generator's).
    private static func drive(_ keyspace: Keyspace, seed: UInt64, operations: Int) {
        var session = ClientSession()
        var generator = CommandGenerator(seed: seed)
        for _ in 0..<operations {
            _ = keyspace.execute(generator.next().arguments, session: &session, nowMilliseconds: now)
        }
        keyspace.endSession(&session)
    }

    @Test("Writes after a fork, on either side, never show on the other", arguments: [21 as UInt64, 22, 23])
    func independence(seed: UInt64) {
        let original = Keyspace(randomSeed: seed)
        Self.drive(original, seed: seed, operations: 3_000)
        let atFork = original.snapshot()
        let digestAtFork = original.digest()

        let fork = original.fork()
        #expect(fork.digest() == digestAtFork)
        #expect(fork.snapshot() == atFork)

        // The original moves on; the fork must stay exactly as it was.
        Self.drive(original, seed: seed &+ 100, operations: 3_000)
        #expect(fork.digest() == digestAtFork)
        #expect(fork.snapshot() == atFork)

        // The fork moves on with the same commands a twin of the fork point gets: they must agree,
        // and the original must not see any of it.
        let originalNow = original.digest()
        let twin = Keyspace(randomSeed: seed)
        Self.drive(twin, seed: seed, operations: 3_000)
        #expect(twin.digest() == digestAtFork)
        Self.drive(fork, seed: seed &+ 200, operations: 3_000)
        Self.drive(twin, seed: seed &+ 200, operations: 3_000)
        #expect(fork.digest() == twin.digest())
        #expect(fork.snapshot() == twin.snapshot())
        #expect(original.digest() == originalNow)
    }

    @Test("A SET written over a string in place leaves a fork's copy of it alone")
    func setInPlaceAfterFork() {
        let keyspace = Keyspace(randomSeed: 1)
        var session = ClientSession()
        func set(_ key: String, _ value: String) {
            // The packed path, which writes over a string it owns.
            #expect(keyspace.executeUsualWrite([Array("SET".utf8), Array(key.utf8), Array(value.utf8)], db: 0)?.reply == .ok)
        }
        func get(_ space: Keyspace, _ key: String) -> RESPValue {
            var readSession = ClientSession()
            return space.execute([Array("GET".utf8), Array(key.utf8)], session: &readSession, nowMilliseconds: Self.now).reply
        }
        _ = keyspace.execute([Array("SET".utf8), Array("k".utf8), Array("first-value".utf8)], session: &session, nowMilliseconds: Self.now)
        let fork = keyspace.fork()
        set("k", "other-value")  // same length: written in place, unless shared
        #expect(get(keyspace, "k") == .bulkString(Array("other-value".utf8)))
        #expect(get(fork, "k") == .bulkString(Array("first-value".utf8)))
        set("k", "third-value")  // now owned: in place
        set("k", "x")  // much shorter: a new array
        set("k", String(repeating: "y", count: 100))  // longer than the room: a new array
        #expect(get(keyspace, "k") == .bulkString(Array(String(repeating: "y", count: 100).utf8)))
        #expect(get(fork, "k") == .bulkString(Array("first-value".utf8)))
        set("k", "12345")  // an integer-looking value is stored as an integer
        #expect(get(keyspace, "k") == .bulkString(Array("12345".utf8)))
    }

    @Test("Every aggregate type is copied on its first write after a fork")
    func everyType() {
        let original = Keyspace(randomSeed: 1)
        var session = ClientSession()
        func run(_ keyspace: Keyspace, _ line: String) {
            _ = keyspace.execute(line.split(separator: " ").map { Array($0.utf8) }, session: &session, nowMilliseconds: Self.now)
        }
        for line in ["RPUSH l a b c", "HSET h f v g w", "SADD s x y z", "ZADD z 1 a 2 b", "SET str hello", "PFADD hll a b c",
                     "PEXPIRE l 100000"] {
            run(original, line)
        }
        let before = original.snapshot()
        let fork = original.fork()
        for line in ["RPUSH l d", "LSET l 0 A", "HSET h f changed", "HDEL h g", "SADD s w", "SREM s x", "ZADD z 5 a",
                     "ZREM z b", "APPEND str !", "PFADD hll d e f", "PERSIST l", "RENAME s s2", "DEL h"] {
            run(original, line)
        }
        #expect(fork.snapshot() == before)
        // And the other way round: a fork of the changed original, written to, leaves it alone.
        let changed = original.snapshot()
        let second = original.fork()
        for line in ["LPOP l", "SADD s2 new", "ZINCRBY z 1 a", "FLUSHALL"] { run(second, line) }
        #expect(original.snapshot() == changed)
    }

    @Test("A fork can be read on another thread while the original keeps writing")
    func concurrentReader() async {
        let original = Keyspace(randomSeed: 9)
        Self.drive(original, seed: 9, operations: 20_000)
        let expected = original.digest()
        let fork = original.fork()
        let reader = Task.detached { fork.digest() }
        Self.drive(original, seed: 10, operations: 20_000)
        #expect(await reader.value == expected)
        #expect(original.digest() != expected)
    }

    @Test("restore(from:) makes a keyspace equal to a snapshot and leaves the snapshot intact")
    func restore() {
        let source = Keyspace(randomSeed: 4)
        Self.drive(source, seed: 4, operations: 2_000)
        let snapshot = source.fork()
        let expected = snapshot.snapshot()
        let target = Keyspace(randomSeed: 0)
        Self.drive(target, seed: 99, operations: 500)
        target.restore(from: snapshot)
        #expect(target.snapshot() == expected)
        Self.drive(target, seed: 5, operations: 2_000)
        #expect(snapshot.snapshot() == expected)
        // Restoring twice from the same snapshot gives the same state each time.
        let again = Keyspace(randomSeed: 0)
        again.restore(from: snapshot)
        #expect(again.snapshot() == expected)
    }
}
