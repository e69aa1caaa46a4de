// Drives a live redis-server and a Keyspace with the same random commands and compares them.

import Foundation
import RewindEngine
import RewindRESP

/// Runs seeded random command sequences against redis-server and the engine side by side.
///
/// The engine gets the wall-clock time on every call so its expiry decisions track Redis's.
/// SPOP's choice is random on both sides, so the runner sends Redis the engine's logged effect
/// (SREM / DEL) instead, which also checks that the logged form is valid Redis.
final class DifferentialRunner {
    let client: RESPTestClient
    let keyspace: Keyspace
    var session = ClientSession()
    var generator: CommandGenerator
    let seed: UInt64
    private(set) var operationCount = 0
    private(set) var divergenceCount = 0
    private(set) var divergences: [String] = []
    private var queuedComparisons: [ReplyComparison]?
    /// Set REWIND_CHECK_DBSIZE to compare DBSIZE after every step (finds where keys diverge).
    static let checksDatabaseSizeEveryStep = ProcessInfo.processInfo.environment["REWIND_CHECK_DBSIZE"] != nil
    /// Set REWIND_TRACE_SEED to print every command of that seed with both replies.
    static let traceSeed: UInt64? = ProcessInfo.processInfo.environment["REWIND_TRACE_SEED"].flatMap { UInt64($0) }

    init(client: RESPTestClient, seed: UInt64) throws {
        self.client = client
        self.seed = seed
        keyspace = Keyspace(randomSeed: seed)
        generator = CommandGenerator(seed: seed)
        // The connection is shared between seeds: drop the previous seed's WATCHes first, or
        // this FLUSHALL would mark them dirty and fail this seed's first EXEC.
        _ = try client.send(["UNWATCH"])
        // Redis's own active expiry would delete logically expired keys behind the engine's back
        // (DBSIZE, DEBUG DIGEST count them); the engine's active expiry is tested on its own.
        _ = try client.send(["DEBUG", "SET-ACTIVE-EXPIRE", "0"])
        _ = try client.send(["FLUSHALL"])
        _ = try client.send(["SELECT", "0"])
    }

    func record(_ message: String) {
        divergenceCount += 1
        if divergences.count < 30 { divergences.append("seed \(seed) op \(operationCount): " + message) }
    }

    private func engine(_ arguments: [[UInt8]]) -> CommandResult {
        keyspace.execute(arguments, session: &session, nowMilliseconds: wallClockMilliseconds())
    }

    /// Sends one command to both and compares the replies.
    @discardableResult
    func both(_ arguments: [[UInt8]], _ comparison: ReplyComparison) throws -> (RESPValue, RESPValue) {
        let redisReply = try client.send(arguments)
        let engineReply = engine(arguments).reply.asRESP2
        if Self.traceSeed == seed {
            print("#\(operationCount) " + arguments.map { RESPValue.bulkString($0).rendered }.joined(separator: " ")
                  + " -> " + redisReply.rendered + " | " + engineReply.rendered)
        }
        if !Self.matches(redisReply, engineReply, comparison) {
            let line = arguments.map { RESPValue.bulkString($0).rendered }.joined(separator: " ")
            record("\(line)\n    redis:  \(redisReply.rendered)\n    engine: \(engineReply.rendered)")
        }
        return (redisReply, engineReply)
    }

    func run(operations: Int) throws {
        for _ in 0..<operations {
            operationCount += 1
            generator.nowMilliseconds = wallClockMilliseconds()
            try step()
            if Self.checksDatabaseSizeEveryStep && queuedComparisons == nil {
                try both([Array("DBSIZE".utf8)], .exact)
            }
        }
        if queuedComparisons != nil { try finishTransaction(exec: true) }
        try compareState()
    }

    private func step() throws {
        if queuedComparisons == nil && generator.chance(3) {
            try both([Array("MULTI".utf8)], .exact)
            queuedComparisons = []
            return
        }
        if queuedComparisons != nil && generator.chance(12) {
            try finishTransaction(exec: !generator.chance(15))
            return
        }
        if queuedComparisons == nil && generator.chance(2) {
            try both([Array("WATCH".utf8)] + generator.keys(2), .exact)
            return
        }
        if queuedComparisons == nil && generator.chance(1) {
            try compareScans()
            return
        }
        if queuedComparisons != nil && generator.chance(10) {
            let (arguments, comparison) = blockingCommand()
            let (redisReply, _) = try both(arguments, .exact)
            if redisReply == .simpleString("QUEUED") { queuedComparisons?.append(comparison) }
            return
        }
        let (arguments, comparison) = generator.next()
        let name = String(decoding: arguments[0], as: UTF8.self).uppercased()
        // SPOP's choice, and the expired keys RANDOMKEY happens to delete, are random on both
        // sides: Redis receives the engine's logged effect instead.
        if name == "SPOP" || name == "RANDOMKEY" {
            if queuedComparisons == nil { try spop(arguments) }
            return
        }
        let (redisReply, _) = try both(arguments, queuedComparisons == nil ? comparison : .exact)
        if queuedComparisons != nil && redisReply == .simpleString("QUEUED") { queuedComparisons?.append(comparison) }
    }

    /// The blocking commands, sent only inside MULTI, where Redis never blocks.
    private func blockingCommand() -> ([[UInt8]], ReplyComparison) {
        func words(_ text: String) -> [[UInt8]] { text.split(separator: " ").map { Array($0.utf8) } }
        let timeout = Array(generator.pick(["0", "0.5", "1", "-1", "x"]).utf8)
        switch generator.random.next(below: 8) {
        case 5: return (words("BZPOPMIN zset") + [generator.key(), timeout], .exact)
        case 6: return (words("BZPOPMAX") + generator.keys(2) + [timeout], .exact)
        case 7: return ([Array("BZMPOP".utf8), timeout] + words("2 zset a") + words(generator.pick(["MIN", "MAX COUNT 2"])), .exact)
        case 0: return (words("BLPOP") + generator.keys(2) + [timeout], .exact)
        case 1: return (words("BRPOP") + [Array("list".utf8)] + [timeout], .exact)
        case 2: return (words("BLMOVE list") + [generator.key()] + words("LEFT RIGHT") + [timeout], .exact)
        case 3: return (words("BRPOPLPUSH list") + [generator.key(), timeout], .exact)
        default: return ([Array("BLMPOP".utf8), timeout] + words("2 list a") + words(generator.pick(["LEFT", "RIGHT COUNT 2"])), .exact)
        }
    }

    private func finishTransaction(exec: Bool) throws {
        let comparisons = queuedComparisons ?? []
        queuedComparisons = nil
        let command = [Array((exec ? "EXEC" : "DISCARD").utf8)]
        let redisReply = try client.send(command)
        let engineReply = engine(command).reply.asRESP2
        if case .array(let redisItems) = redisReply, case .array(let engineItems) = engineReply,
           redisItems.count == engineItems.count, redisItems.count == comparisons.count {
            for index in redisItems.indices where !Self.matches(redisItems[index], engineItems[index], comparisons[index]) {
                record("EXEC item \(index)\n    redis:  \(redisItems[index].rendered)\n    engine: \(engineItems[index].rendered)")
            }
        } else if redisReply != engineReply {
            record("\(exec ? "EXEC" : "DISCARD")\n    redis:  \(redisReply.rendered)\n    engine: \(engineReply.rendered)")
        }
    }

    /// SPOP: the engine chooses; Redis receives the engine's logged effect.
    private func spop(_ arguments: [[UInt8]]) throws {
        let result = engine(arguments)
        if Self.traceSeed == seed {
            print("#\(operationCount) SPOP " + arguments.map { RESPValue.bulkString($0).rendered }.joined(separator: " ")
                  + " -> engine " + result.reply.rendered + " logged \(result.propagated)")
        }
        if case .error = result.reply {
            let redisReply = try client.send(arguments)
            if redisReply != result.reply { record("SPOP error\n    redis:  \(redisReply.rendered)\n    engine: \(result.reply.rendered)") }
            return
        }
        for entry in result.propagated {
            for command in entry.commands { _ = try client.send(command.arguments) }
        }
    }

    /// Full SCAN / HSCAN / SSCAN iterations on both sides must return the same elements.
    private func compareScans() throws {
        func words(_ text: String) -> [[UInt8]] { text.split(separator: " ").map { Array($0.utf8) } }
        let options: [[UInt8]] = generator.pick([[], words("COUNT 2"), words("MATCH *e*"), words("TYPE string"),
                                                 words("MATCH [a-c] COUNT 1"), words("TYPE list COUNT 3")])
        try compareScan(prefix: words("SCAN"), suffix: options)
        try compareScan(prefix: words("HSCAN hash"), suffix: generator.pick([[], words("COUNT 1"), words("MATCH f*")]))
        try compareScan(prefix: words("SSCAN set"), suffix: generator.pick([[], words("COUNT 1"), words("MATCH *1*")]))
        try compareScan(prefix: words("ZSCAN zset"), suffix: generator.pick([[], words("COUNT 1"), words("MATCH f*")]))
    }

    private func compareScan(prefix: [[UInt8]], suffix: [[UInt8]]) throws {
        var redisElements: [RESPValue] = []
        var engineElements: [RESPValue] = []
        var redisCursor: [UInt8] = Array("0".utf8)
        var engineCursor: [UInt8] = Array("0".utf8)
        var redisDone = false, engineDone = false
        for _ in 0..<10_000 where !(redisDone && engineDone) {
            if !redisDone {
                let reply = try client.send(prefix + [redisCursor] + suffix)
                if Self.traceSeed == seed {
                    print("#\(operationCount) " + (prefix + [redisCursor] + suffix).map { RESPValue.bulkString($0).rendered }.joined(separator: " ") + " -> " + reply.rendered)
                }
                guard case .array(let parts) = reply, parts.count == 2, case .bulkString(let next) = parts[0],
                      case .array(let items) = parts[1] else { redisElements = [reply]; redisDone = true; continue }
                redisElements += items
                redisCursor = next
                redisDone = next == Array("0".utf8)
            }
            if !engineDone {
                let reply = engine(prefix + [engineCursor] + suffix).reply.asRESP2
                guard case .array(let parts) = reply, parts.count == 2, case .bulkString(let next) = parts[0],
                      case .array(let items) = parts[1] else { engineElements = [reply]; engineDone = true; continue }
                engineElements += items
                engineCursor = next
                engineDone = next == Array("0".utf8)
            }
        }
        let redisSet = Set(redisElements.map(\.rendered)), engineSet = Set(engineElements.map(\.rendered))
        if redisSet != engineSet {
            let line = (prefix + suffix).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
            record("full \(line)\n    redis:  \(redisSet.sorted())\n    engine: \(engineSet.sorted())")
        }
    }

    /// Compares every key of databases 0-2: type, value and TTL.
    func compareState() throws {
        let restoreDB = session.databaseIndex
        func words(_ text: String) -> [[UInt8]] { text.split(separator: " ").map { Array($0.utf8) } }
        for db in 0..<3 {
            try both(words("SELECT \(db)"), .exact)
            let (redisKeys, _) = try both(words("KEYS *"), .unordered)
            guard case .array(let keys) = redisKeys else { continue }
            for case .bulkString(let key) in keys {
                let (type, _) = try both(words("TYPE") + [key], .exact)
                switch type {
                case .simpleString("string"): try both(words("GET") + [key], .exact)
                case .simpleString("list"): try both(words("LRANGE") + [key] + words("0 -1"), .exact)
                case .simpleString("hash"): try both(words("HGETALL") + [key], .unorderedPairs)
                case .simpleString("set"): try both(words("SMEMBERS") + [key], .unordered)
                case .simpleString("zset"): try both(words("ZRANGE") + [key] + words("0 -1 WITHSCORES"), .exact)
                default: break
                }
                try both(words("PTTL") + [key], .drifting(tolerance: 1000))
            }
        }
        try both(words("SELECT \(restoreDB)"), .exact)
        try both(words("DEBUG DIGEST"), .exact)
    }

    static func matches(_ redis: RESPValue, _ engine: RESPValue, _ comparison: ReplyComparison) -> Bool {
        switch comparison {
        case .exact:
            return redis == engine
        case .unordered:
            guard case .array(let a) = redis, case .array(let b) = engine else { return redis == engine }
            return a.map(\.rendered).sorted() == b.map(\.rendered).sorted()
        case .unorderedPairs:
            guard case .array(let a) = redis, case .array(let b) = engine, a.count % 2 == 0, b.count % 2 == 0 else {
                return redis == engine
            }
            func pairs(_ items: [RESPValue]) -> [String] {
                stride(from: 0, to: items.count, by: 2).map { items[$0].rendered + "=" + items[$0 + 1].rendered }.sorted()
            }
            return pairs(a) == pairs(b)
        case .shapeOnly:
            switch (redis, engine) {
            case (.error(let a), .error(let b)): return a == b
            case (.array(let a), .array(let b)): return a.count == b.count
            case (.bulkString, .bulkString), (.null, .null), (.nullArray, .nullArray): return true
            default: return false
            }
        case .drifting(let tolerance):
            guard case .integer(let a) = redis, case .integer(let b) = engine else { return redis == engine }
            if a < 0 || b < 0 { return a == b }
            return abs(a - b) <= tolerance
        }
    }
}
