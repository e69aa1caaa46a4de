// Keyspace.applyPacked (replay without an array per argument) against Keyspace.apply: the same
// replies and the same state, in every order the engine keeps, for random logs that mix the
// commands it takes straight from the bytes with every other command and every edge it must
// hand back to the dispatcher (other types, options, bad numbers, overflow, forks).

import Foundation
@_spi(Testing) import RewindEngine
import RewindRESP
import RewindTestSupport
import Testing

@Suite("Keyspace.applyPacked replays exactly as apply does")
struct PackedApplyTests {
    private static let now: Int64 = 1_700_000_000_000

    /// Packs `arguments` as a replay batch holds them, the name either shared or in the buffer.
    static func withPacked<Result>(_ arguments: [[UInt8]], sharedName: Bool, _ body: (PackedCommand) -> Result) -> Result {
        var bytes: [UInt8] = Array("junk before".utf8)
        let firstStart = bytes.count
        var ends: [Int] = []
        for (index, argument) in arguments.enumerated() {
            if !(index == 0 && sharedName) { bytes += argument }
            ends.append(bytes.count)
        }
        bytes += Array("junk after".utf8)
        // With a shared name, also resolve the name and hash the key ahead, as a replay's
        // reading thread does; without, the engine does both itself.
        let commandID = sharedName ? arguments[0].withUnsafeBytes { Keyspace.commandID(forName: $0) } : nil
        let keyHash = sharedName && arguments.count > 1 ? arguments[1].withUnsafeBytes { Keyspace.keyHash($0) } : nil
        let name = arguments[0]
        return bytes.withUnsafeBytes { buffer in
            ends.withUnsafeBufferPointer { ends in
                withUnsafePointer(to: name) { namePointer in
                    body(PackedCommand(sharedName: sharedName ? namePointer : nil, bytes: buffer, ends: ends, firstStart: firstStart,
                                       commandID: commandID, keyHash: keyHash))
                }
            }
        }
    }

    /// Expects OBJECT ENCODING to answer the same in both keyspaces for every key the random
    /// commands use, in databases 0-2.
    static func expectSameEncodings(_ keyspace: Keyspace, _ reference: Keyspace) {
        for db in 0..<3 {
            var session = ClientSession()
            _ = reference.execute([Array("SELECT".utf8), Array(String(db).utf8)], session: &session, nowMilliseconds: now)
            var otherSession = ClientSession()
            _ = keyspace.execute([Array("SELECT".utf8), Array(String(db).utf8)], session: &otherSession, nowMilliseconds: now)
            for key in ["k1", "k2", "k3", "str", "list", "hash", "set", "zset", "n", "big", ""] {
                let command = [Array("OBJECT".utf8), Array("ENCODING".utf8), Array(key.utf8)]
                #expect(keyspace.execute(command, session: &otherSession, nowMilliseconds: now).reply
                        == reference.execute(command, session: &session, nowMilliseconds: now).reply, "encoding of \(key) in db \(db)")
            }
        }
    }

    /// A command of the fast-path families, often in a form the fast path must refuse.
    static func command(_ random: inout SeededRandom) -> [String] {
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
        let key = pick(["k1", "k2", "k3", "str", "list", "hash", "set", "zset", "n", "big", ""])
        let number = pick(["0", "1", "-1", "42", "007", "+5", "-0", "1e3", "3.5", "inf", "-inf", "nan", "abc", " 5", "9223372036854775807",
                           "-9223372036854775808", "9223372036854775808", "999999999999999", "1000000000000000", "0x10", ""])
        let value = pick(["v", "", "12", "-7", "hello world", String(repeating: "x", count: 70), "9223372036854775807", "3.0", "\u{0}bin"])
        func name(_ upper: String) -> String { pick([upper, upper.lowercased(), String(upper.prefix(1)) + upper.dropFirst().lowercased()]) }
        switch random.next() % 18 {
        case 14:
            // The form every expiring SET is logged in, and forms the packed path must refuse.
            return [name("SET"), key, value, pick(["PXAT", "pxat", "PxAt", "PX", "EXAT", "PXA", "NX"]),
                    pick([number, "1800000000000", "1000", "1"])]
        case 15:
            // Many members at once (a new key's set is built at its final size), duplicates included.
            return [name("SADD"), pick([key, "new:\(random.next() % 50)"])]
                + (0..<Int(1 + random.next() % 24)).map { _ in pick(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "", "12", "-3", "m\(random.next() % 40)"]) }
        case 16:
            return [name(pick(["HSET", "HMSET"])), pick([key, "new:\(random.next() % 50)"])]
                + (0..<Int(1 + random.next() % 14)).flatMap { _ in [pick(["f", "g", "h", "i", "j", "k", "l", "m", "n", "f\(random.next() % 30)"]), value] }
        case 17: return [name("PERSIST"), key]
        case 0: return [name("SET"), key, value] + (random.next() % 5 == 0 ? [pick(["NX", "XX", "KEEPTTL", "GET", "EX"])] : [])
        case 1: return [name("SADD"), key] + (0..<Int(random.next() % 4)).map { _ in pick(["a", "b", "c", "", "12"]) }
        case 2: return [name(pick(["HSET", "HMSET"])), key] + (0..<Int(random.next() % 5)).map { _ in pick(["f", "g", "v", "1"]) }
        case 3: return [name(pick(["RPUSH", "LPUSH"])), key] + (0..<Int(random.next() % 4)).map { _ in value }
        case 4: return [name("INCR"), key] + (random.next() % 8 == 0 ? ["extra"] : [])
        case 5: return [name("APPEND"), key, value]
        case 6: return [name(pick(["DEL", "UNLINK"]))] + (0..<Int(random.next() % 4)).map { _ in pick(["k1", "k2", "str", "list", "nokey", "zset"]) }
        case 7: return [name("PEXPIREAT"), key, pick([number, "1800000000000", "1000"])] + (random.next() % 5 == 0 ? [pick(["NX", "XX", "GT"])] : [])
        case 8:
            let pairs = Int(random.next() % 4)
            return [name("ZADD"), key] + (random.next() % 6 == 0 ? [pick(["NX", "CH", "INCR", "GT"])] : [])
                + (0..<pairs).flatMap { _ in [pick([number, "1", "2", "5.5"]), pick(["m", "n", "o", String(repeating: "m", count: 80)])] }
        case 9: return [name("SET"), key, number]
        case 10: return ["INCRBY", key, number]
        case 11: return ["EXPIRE", key, "100"]
        case 12: return ["SELECT", "1"]
        default: return [pick(["LPOP", "SPOP", "HDEL", "ZREM", "PERSIST", "GETDEL", "NOSUCHCOMMAND"]), key, "f"]
        }
    }

    @Test("Random logs: same replies, same state in slot order, same encodings, fork isolation", arguments: [1 as UInt64, 2, 3, 4])
    func randomLogs(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let plain = Keyspace(randomSeed: seed, databaseCount: 4)
        let packed = Keyspace(randomSeed: seed, databaseCount: 4)
        var forks: [(Keyspace, KeyspaceSnapshot)] = []
        for step in 0..<6_000 {
            let arguments = Self.command(&random).map { Array($0.utf8) }
            let db = Int(random.next() % 3)
            let time = Self.now + Int64(step)
            let expected = plain.apply(LoggedCommand(db: db, arguments: arguments), nowMilliseconds: time)
            let shared = random.next() % 2 == 0
            let reply = Self.withPacked(arguments, sharedName: shared) { packed.applyPacked($0, db: db, nowMilliseconds: time) }
            #expect(reply == expected, "step \(step): \(arguments.map { String(decoding: $0, as: UTF8.self) }) in db \(db)")
            if reply != expected { return }
            if step % 25 == 0 {
                #expect(packed.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true), "state after step \(step)")
                if packed.snapshot(inSlotOrder: true) != plain.snapshot(inSlotOrder: true) { return }
            }
            if step % 1_000 == 500 {
                let fork = packed.fork()
                forks.append((fork, fork.snapshot(inSlotOrder: true)))
            }
        }
        #expect(packed.snapshot(inSlotOrder: true) == plain.snapshot(inSlotOrder: true))
        #expect(packed.digest() == plain.digest())
        Self.expectSameEncodings(packed, plain)
        for (fork, atFork) in forks {
            #expect(fork.snapshot(inSlotOrder: true) == atFork, "a fork saw writes made after it")
        }
    }

    @Test("A packed write to a WATCHed key aborts the watcher's EXEC, as a dispatched one does")
    func watchedKeys() {
        for usesPacked in [false, true] {
            let keyspace = Keyspace(randomSeed: 1)
            var session = ClientSession()
            for command in [["SET", "k", "1"], ["WATCH", "k"], ["MULTI"], ["INCR", "k"]] {
                _ = keyspace.execute(command.map { Array($0.utf8) }, session: &session, nowMilliseconds: Self.now)
            }
            let write = [Array("SADD".utf8), Array("other".utf8), Array("m".utf8)]
            _ = usesPacked
                ? Self.withPacked(write, sharedName: false) { keyspace.applyPacked($0, db: 0, nowMilliseconds: Self.now) }
                : keyspace.apply(LoggedCommand(db: 0, arguments: write), nowMilliseconds: Self.now)
            let set = [Array("SET".utf8), Array("k".utf8), Array("2".utf8)]
            _ = usesPacked
                ? Self.withPacked(set, sharedName: true) { keyspace.applyPacked($0, db: 0, nowMilliseconds: Self.now) }
                : keyspace.apply(LoggedCommand(db: 0, arguments: set), nowMilliseconds: Self.now)
            let exec = keyspace.execute([Array("EXEC".utf8)], session: &session, nowMilliseconds: Self.now)
            #expect(exec.reply == .nullArray, "packed: \(usesPacked)")
        }
    }
}
