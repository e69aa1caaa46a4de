// `rewind replay --target`: pipeline a log's entries into a running Redis-compatible server or a
// Redis Cluster. See docs/COMPACTION.md ("Live targets") and docs/CLI.md.

import Foundation
import RewindEngine
import RewindLog
import RewindRESP

/// How a live replay runs.
public struct LiveReplayOptions: Sendable {
    public var target: LiveTarget
    /// Route each entry to the master that owns its keys' slot, following MOVED and ASK.
    public var cluster = false
    /// The first sequence number to send (resume after a stop).
    public var fromSequence: UInt64 = 1
    public var recovery: RecoveryMode = .tolerateTail
    /// At most this many replies outstanding per connection (pipelining depth).
    public var windowReplyCount = 16_384
    /// Compare the target's DEBUG DIGEST with the log's own at the end.
    public var compares = true
    /// Tests only: start with every slot on the seed node, so the cluster must redirect (MOVED).
    public var startsWithSeedOwningEverySlot = false

    public init(target: LiveTarget, cluster: Bool = false, fromSequence: UInt64 = 1, recovery: RecoveryMode = .tolerateTail) {
        self.target = target
        self.cluster = cluster
        self.fromSequence = fromSequence
        self.recovery = recovery
    }
}

/// Progress of a live replay, now and then.
public struct LiveReplayProgress: Sendable {
    public var sentEntryCount: Int
    public var lastSequence: UInt64
    public var seconds: Double
}

/// What a live replay did.
public struct LiveReplayReport: Sendable {
    /// Why the replay stopped before the end of the log, and where to resume.
    public struct Stop: Sendable {
        public var sequence: UInt64
        /// The entry as `rewind inspect` shows it, when the stop concerns one entry.
        public var commandText: String
        public var reason: String
        /// Pass this to `--from` to go on.
        public var resumeFrom: UInt64
        /// Entries after the stop that the target had already applied (they were in flight).
        public var appliedAfterStopCount: Int
        /// True when the target went away: entries sent without a reply may have been applied.
        public var targetWentAway: Bool
    }

    public enum Comparison: Sendable {
        case equal(digest: String)
        case different(logDigest: String, targetDigest: String)
        /// The digest could not be compared; what was compared instead, in words.
        case note(String)
        case skipped
    }

    public var target = ""
    public var nodeCount = 1
    public var firstSequence: UInt64 = 0
    /// The last entry the target acknowledged.
    public var lastSequence: UInt64 = 0
    public var sentEntryCount = 0
    public var acknowledgedEntryCount = 0
    public var movedCount = 0
    public var askCount = 0
    public var seconds = 0.0
    public var stop: Stop?
    public var comparison: Comparison = .skipped
    public var comparisonSeconds = 0.0
    public var entriesPerSecond: Double { seconds > 0 ? Double(acknowledgedEntryCount) / seconds : 0 }
}

/// Pipelines a log into a live server or cluster.
///
/// Entries go in log order, many in flight per connection; a transaction goes as MULTI ... EXEC.
/// In cluster mode each command or transaction goes to the master that owns its slot; a
/// transaction or command whose keys span slots is refused (the replay stops there), FLUSHALL and
/// FLUSHDB go to every master once everything before them is acknowledged, and MOVED and ASK
/// replies are followed (after a redirection nothing new is sent until every reply in flight is
/// back, so the commands of one slot keep their order).
public enum LiveReplayer {
    public static func replay(log: String, options: LiveReplayOptions,
                              progress: ((LiveReplayProgress) -> Void)? = nil) throws -> LiveReplayReport {
        var run = try LiveRun(options: options)
        defer { run.closeAll() }
        var report = try run.send(log: log, progress: progress)
        if report.stop == nil && options.compares {
            let start = DispatchTime.now().uptimeNanoseconds
            report.comparison = try run.compare(log: log)
            report.comparisonSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return report
    }
}

/// The state of one live replay.
struct LiveRun {
    /// One request group in flight on a connection.
    struct InFlight {
        enum Kind { case unit, select, asking, broadcast }
        var kind: Kind
        var first: UInt64
        var last: UInt64
        var entryCount: Int
        var replyCount: Int
        var slot: Int
        /// The encoded requests, kept in cluster mode to resend after a redirection.
        var encoded: [UInt8]?
        var replies: [RESPValue] = []
    }

    final class Node {
        let connection: TargetConnection
        var inFlight: [InFlight] = []
        var head = 0
        var database = 0
        init(_ connection: TargetConnection) { self.connection = connection }
        var pendingCount: Int { inFlight.count - head }
        func popFront() {
            head += 1
            if head == inFlight.count { inFlight.removeAll(keepingCapacity: true); head = 0 }
        }
    }

    let options: LiveReplayOptions
    var nodes: [Node] = []
    var nodeByAddress: [String: Int] = [:]
    /// The node index owning each slot (cluster mode).
    var slotOwner: [Int] = []
    var report = LiveReplayReport()
    var draining = false
    var stopped: LiveReplayReport.Stop?
    var logDatabase: Int?
    private var failures: [String] = []

    init(options: LiveReplayOptions) throws {
        self.options = options
        if options.cluster, let db = options.target.database, db != 0 {
            throw LiveReplayError(.badTarget, "--target \(options.target): a Redis Cluster has only database 0")
        }
        let seed = try node(host: options.target.host, port: options.target.port)
        report.target = options.target.description
        if options.cluster {
            let reply = try nodes[seed].connection.call(["CLUSTER", "SLOTS"])
            guard case .array(let ranges) = reply else {
                throw LiveReplayError(.unreachable, "\(options.target) is not a cluster node (CLUSTER SLOTS: \(Self.text(reply))); leave out --cluster")
            }
            slotOwner = Array(repeating: seed, count: HashSlot.count)
            if !options.startsWithSeedOwningEverySlot {
                for case .array(let range) in ranges where range.count >= 3 {
                    guard case .integer(let low) = range[0], case .integer(let high) = range[1], case .array(let master) = range[2],
                          master.count >= 2, case .integer(let port) = master[1], low >= 0, high < HashSlot.count, low <= high else { continue }
                    var host = options.target.host
                    if case .bulkString(let bytes) = master[0], !bytes.isEmpty { host = String(decoding: bytes, as: UTF8.self) }
                    let index = try node(host: host, port: Int(port))
                    for slot in Int(low)...Int(high) { slotOwner[slot] = index }
                }
            }
            report.nodeCount = Set(slotOwner).count
        }
    }

    mutating func node(host: String, port: Int) throws -> Int {
        let address = "\(host):\(port)"
        if let index = nodeByAddress[address] { return index }
        let connection = try TargetConnection(host: host, port: port)
        if let password = options.target.password {
            let reply = try connection.call(options.target.user.map { ["AUTH", $0, password] } ?? ["AUTH", password])
            if case .error(let message) = reply { throw LiveReplayError(.unreachable, "\(address) refused AUTH: \(message)") }
        }
        nodes.append(Node(connection))
        nodeByAddress[address] = nodes.count - 1
        return nodes.count - 1
    }

    func closeAll() { for node in nodes { node.connection.close() } }

    static func text(_ value: RESPValue) -> String {
        switch value {
        case .error(let message): return message
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .integer(let number): return String(number)
        default: return "\(value)"
        }
    }

    // MARK: - Sending

    /// The unit being built: one command, or a transaction's commands.
    struct Unit {
        var first: UInt64 = 0
        var last: UInt64 = 0
        var db = 0
        var entryCount = 0
        var commandCount = 0
        var encoded: [UInt8] = []
        var slots: Set<Int> = []
        var keyless: [UInt8]?
        var unroutable: String?
        var text = ""
        var isTransaction = false
    }

    mutating func send(log: String, progress: ((LiveReplayProgress) -> Void)?) throws -> LiveReplayReport {
        let reader = try LogReader(directory: log)
        try Self.checkStart(reader, from: options.fromSequence, recovery: options.recovery)
        let start = DispatchTime.now().uptimeNanoseconds
        var unit = Unit()
        var inTransaction = false
        struct Stop: Error {}
        report.firstSequence = options.fromSequence
        do {
            try reader.forEachEntry(from: options.fromSequence, recovery: options.recovery) { entry in
                switch entry.kind {
                case .checkpoint: return
                case .transactionBegin:
                    unit = Unit(first: entry.sequence, last: entry.sequence, db: Int(entry.db), entryCount: 1, isTransaction: true)
                    RESPEncoder.encodeCommand([Array("MULTI".utf8)], into: &unit.encoded)
                    inTransaction = true
                    return
                case .command:
                    if !inTransaction { unit = Unit(first: entry.sequence, db: Int(entry.db)) }
                    unit.last = entry.sequence
                    unit.entryCount += 1
                    unit.commandCount += 1
                    encode(entry.arguments, into: &unit)
                    if inTransaction { return }
                case .transactionEnd:
                    guard inTransaction else { return }
                    inTransaction = false
                    unit.last = entry.sequence
                    unit.entryCount += 1
                    RESPEncoder.encodeCommand([Array("EXEC".utf8)], into: &unit.encoded)
                }
                try dispatch(unit)
                if stopped != nil { throw Stop() }
                if report.sentEntryCount & 0xFFFF < unit.entryCount, let progress {
                    progress(LiveReplayProgress(sentEntryCount: report.sentEntryCount, lastSequence: unit.last,
                                                seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
                }
            }
        } catch is Stop {}
        catch let error as LiveReplayError where error.code == .unreachable {
            wentAway(error)
        }
        do {
            try drainAll()
        } catch let error as LiveReplayError where error.code == .unreachable {
            wentAway(error)
        }
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if var stop = stopped, stop.commandText.isEmpty, !stop.targetWentAway {
            // The entry's text is read back only now, so the fast path never formats commands.
            struct Found: Error {}
            var text = ""
            _ = try? LogReader(directory: log).forEachEntry(from: stop.sequence, recovery: options.recovery) { entry in
                if entry.kind == .transactionBegin { text = "MULTI, " }
                guard entry.kind == .command else { return }
                text += ReplayRun.text(entry.arguments.map { Array($0) })
                throw Found()
            }
            stop.commandText = text
            stopped = stop
        }
        report.stop = stopped
        return report
    }

    /// Refuses a `--from` inside a transaction: its first commands would be left out and the
    /// rest sent without MULTI, which is not what the log says happened.
    static func checkStart(_ reader: LogReader, from: UInt64, recovery: RecoveryMode) throws {
        guard from > 1 else { return }
        struct Done: Error {}
        var recordStart: UInt64?
        var opensTransaction = false
        do {
            try reader.forEachEntry(from: from, recovery: recovery, onRecord: { recordStart = $0.firstSequence }) { _ in throw Done() }
        } catch is Done {}
        guard let start = recordStart, start < from else { return }
        do {
            try LogReader(directory: reader.directory, manifest: reader.manifest).forEachEntry(from: start, recovery: recovery) { entry in
                opensTransaction = entry.kind == .transactionBegin && entry.sequence == start
                throw Done()
            }
        } catch is Done {}
        if opensTransaction {
            throw LiveReplayError(.badTarget, "--from #\(from) lies inside the transaction that starts at #\(start); pass --from \(start) to send it whole")
        }
    }

    private func encode(_ arguments: EntryView.Arguments, into unit: inout Unit) {
        var buffer = unit.encoded
        unit.encoded = []
        buffer.append(UInt8(ascii: "*"))
        TargetConnection.appendDecimal(arguments.count, to: &buffer)
        buffer.append(13); buffer.append(10)
        for argument in arguments {
            buffer.append(UInt8(ascii: "$"))
            TargetConnection.appendDecimal(argument.count, to: &buffer)
            buffer.append(13); buffer.append(10)
            buffer.append(contentsOf: argument)
            buffer.append(13); buffer.append(10)
        }
        unit.encoded = buffer
        if options.cluster { route(arguments.map { Array($0) }, into: &unit) }
    }

    private func route(_ arguments: [[UInt8]], into unit: inout Unit) {
        guard let indexes = Keyspace.keyIndexes(of: arguments) else {
            unit.unroutable = "the keys of \(ReplayRun.text(arguments)) are unknown (not a command of the engine's table)"
            return
        }
        if indexes.isEmpty { unit.keyless = arguments[0]; return }
        for index in indexes { unit.slots.insert(HashSlot.slot(of: arguments[index])) }
    }

    /// The database the unit goes to, or a stop when the log's databases cannot be honoured.
    private mutating func database(for unit: Unit) -> Int? {
        if options.cluster {
            guard unit.db == 0 else {
                stop(unit, "entry in database \(unit.db): a Redis Cluster has only database 0")
                return nil
            }
            return 0
        }
        guard let fixed = options.target.database else { return unit.db }
        if logDatabase == nil { logDatabase = unit.db }
        guard logDatabase == unit.db else {
            stop(unit, "entry in database \(unit.db) after entries in database \(logDatabase!): with /\(fixed) in the target every entry goes to database \(fixed), so the log must use one database")
            return nil
        }
        return fixed
    }

    private mutating func stop(_ unit: Unit, _ reason: String, appliedAfter: Int = 0) {
        guard stopped == nil else { return }
        stopped = LiveReplayReport.Stop(sequence: unit.first, commandText: unit.text, reason: reason, resumeFrom: unit.first,
                                        appliedAfterStopCount: appliedAfter, targetWentAway: false)
    }

    private mutating func dispatch(_ unit: Unit) throws {
        guard let db = database(for: unit) else { return }
        var index = 0
        if options.cluster {
            if let reason = unit.unroutable { return stop(unit, "cannot route: \(reason)") }
            if let name = unit.keyless {
                let upper = String(decoding: name, as: UTF8.self).uppercased()
                guard (upper == "FLUSHALL" || upper == "FLUSHDB") && unit.commandCount == 1 else {
                    return stop(unit, "cannot route \(upper) in a cluster: it names no key")
                }
                try drainAll()
                let masters = Set(slotOwner)
                for master in masters.sorted() {
                    enqueue(InFlight(kind: .broadcast, first: unit.first, last: unit.last, entryCount: unit.entryCount,
                                     replyCount: unit.isTransaction ? 3 : 1, slot: -1, encoded: nil), bytes: unit.encoded, on: master)
                }
                try drainAll()
                report.sentEntryCount += unit.entryCount
                if stopped == nil {
                    report.acknowledgedEntryCount += unit.entryCount
                    report.lastSequence = max(report.lastSequence, unit.last)
                }
                return
            }
            guard unit.slots.count == 1, let slot = unit.slots.first else {
                if unit.slots.isEmpty { return stop(unit, "cannot route: no key") }
                return stop(unit, "cross-slot entry: its keys hash to slots \(unit.slots.sorted().map(String.init).joined(separator: ", ")); a cluster runs a command or transaction on one slot only")
            }
            if draining { try drainAll() }
            index = slotOwner[slot]
            enqueue(InFlight(kind: .unit, first: unit.first, last: unit.last, entryCount: unit.entryCount,
                             replyCount: unit.commandCount + (unit.isTransaction ? 2 : 0), slot: slot, encoded: unit.encoded),
                    bytes: unit.encoded, on: index)
        } else {
            let node = nodes[0]
            if node.database != db {
                var select: [UInt8] = []
                RESPEncoder.encodeCommand([Array("SELECT".utf8), Array(String(db).utf8)], into: &select)
                enqueue(InFlight(kind: .select, first: unit.first, last: unit.first, entryCount: 0, replyCount: 1, slot: -1), bytes: select, on: 0)
                node.database = db
            }
            enqueue(InFlight(kind: .unit, first: unit.first, last: unit.last, entryCount: unit.entryCount,
                             replyCount: unit.commandCount + (unit.isTransaction ? 2 : 0), slot: -1), bytes: unit.encoded, on: 0)
        }
        report.sentEntryCount += unit.entryCount
        let node = nodes[index]
        if node.connection.outstandingReplyCount >= options.windowReplyCount || node.connection.output.count >= 1 << 20 {
            while node.connection.outstandingReplyCount > options.windowReplyCount / 2 || node.connection.output.count >= 1 << 19 {
                try pumpAll(waitMilliseconds: 50)
                if stopped != nil { return }
            }
        }
    }

    private mutating func enqueue(_ item: InFlight, bytes: [UInt8], on index: Int) {
        let node = nodes[index]
        node.connection.queue(encoded: bytes, replyCount: item.replyCount)
        node.inFlight.append(item)
    }

    // MARK: - Replies

    mutating func drainAll() throws {
        while nodes.contains(where: { $0.pendingCount > 0 }) { try pumpAll(waitMilliseconds: 50) }
        draining = false
    }

    private mutating func pumpAll(waitMilliseconds: Int32) throws {
        var progressed = false
        for index in nodes.indices where nodes[index].pendingCount > 0 {
            if try nodes[index].connection.pump(timeoutMilliseconds: 0) { progressed = true }
            try takeReplies(index)
        }
        if !progressed, let busy = nodes.indices.first(where: { nodes[$0].pendingCount > 0 }) {
            var waited = 0
            while try !nodes[busy].connection.pump(timeoutMilliseconds: waitMilliseconds) {
                waited += Int(waitMilliseconds)
                if waited >= 30_000 { throw LiveReplayError(.unreachable, "\(nodes[busy].connection.address) did not answer for 30 s") }
            }
            try takeReplies(busy)
        }
    }

    private mutating func takeReplies(_ index: Int) throws {
        let node = nodes[index]
        while node.pendingCount > 0, let reply = node.connection.nextReply() {
            node.inFlight[node.head].replies.append(reply)
            guard node.inFlight[node.head].replies.count == node.inFlight[node.head].replyCount else { continue }
            let item = node.inFlight[node.head]
            node.popFront()
            try settle(item, on: index)
        }
    }

    private mutating func settle(_ item: InFlight, on index: Int) throws {
        let errors = item.replies.flatMap(Self.errors)
        if let redirect = errors.lazy.compactMap(Self.redirection).first, options.cluster, item.kind == .unit {
            draining = true
            let target = try node(host: redirect.host, port: redirect.port)
            var resent = item
            resent.replies = []
            if redirect.isAsk {
                report.askCount += 1
                var asking: [UInt8] = []
                RESPEncoder.encodeCommand([Array("ASKING".utf8)], into: &asking)
                enqueue(InFlight(kind: .asking, first: item.first, last: item.first, entryCount: 0, replyCount: 1, slot: item.slot), bytes: asking, on: target)
            } else {
                report.movedCount += 1
                slotOwner[redirect.slot] = target
            }
            enqueue(resent, bytes: item.encoded ?? [], on: target)
            return
        }
        if item.kind == .asking { return }
        guard let first = errors.first else {
            if item.kind == .unit {
                report.acknowledgedEntryCount += item.entryCount
                report.lastSequence = max(report.lastSequence, item.last)
                if let stop = stopped, item.first > stop.sequence { stopped!.appliedAfterStopCount += item.entryCount }
            }
            return
        }
        if stopped == nil {
            stopped = LiveReplayReport.Stop(sequence: item.first, commandText: "", reason: "the target refused it: \(first)",
                                            resumeFrom: item.first, appliedAfterStopCount: 0, targetWentAway: false)
        }
    }

    /// Every error in a reply (EXEC's array holds one per failed command).
    static func errors(_ reply: RESPValue) -> [String] {
        switch reply {
        case .error(let message): return [message]
        case .array(let items): return items.flatMap(errors)
        default: return []
        }
    }

    static func redirection(_ message: String) -> (isAsk: Bool, slot: Int, host: String, port: Int)? {
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]),
              let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...]) else { return nil }
        return (parts[0] == "ASK", slot, String(parts[2][..<colon]), port)
    }

    private mutating func wentAway(_ error: LiveReplayError) {
        let unacknowledged = nodes.compactMap { node in node.pendingCount > 0 ? node.inFlight[node.head].first : nil }.min()
        let resume = unacknowledged ?? (report.lastSequence + 1)
        if stopped == nil {
            stopped = LiveReplayReport.Stop(sequence: resume, commandText: "", reason: error.message, resumeFrom: resume,
                                            appliedAfterStopCount: 0, targetWentAway: true)
        } else {
            stopped!.resumeFrom = min(stopped!.resumeFrom, resume)
        }
        for node in nodes { node.connection.close() }
        nodes.forEach { $0.inFlight.removeAll(); $0.head = 0 }
    }

    // MARK: - Comparison

    /// The log's own digest (a local replay) against the target's DEBUG DIGEST; for a cluster,
    /// the masters' digests combined (see docs/COMPACTION.md).
    mutating func compare(log: String) throws -> LiveReplayReport.Comparison {
        let keyspace = Keyspace(randomSeed: 0)
        _ = try Replayer(log: log).replay(into: keyspace, options: ReplayOptions(recovery: options.recovery))
        let local = StateDigest.digest(of: keyspace)
        if let fixed = options.target.database, !options.cluster, let used = logDatabase, used != fixed {
            return .note("the log's database \(used) went to database \(fixed), so digests cannot match; compared nothing")
        }
        let masters = options.cluster ? Array(Set(slotOwner)).sorted() : [0]
        var combined = [UInt8](repeating: 0, count: 20)
        var nonEmpty = 0
        for master in masters {
            let reply = try nodes[master].connection.call(["DEBUG", "DIGEST"])
            guard case .simpleString(let hex) = reply, hex.count == 40 else {
                return try keyCountNote(keyspace: keyspace, refusal: Self.text(reply))
            }
            let bytes = Compactor.hexBytes(hex)
            if bytes.contains(where: { $0 != 0 }) { nonEmpty += 1 }
            for index in 0..<20 { combined[index] ^= bytes[index] }
        }
        if options.cluster && nonEmpty % 2 == 0 && nonEmpty > 0 {
            // Each non-empty master's digest starts from the same database-0 term; an even number
            // of them cancels it out, so it is mixed back in (Redis computeDatasetDigest).
            var term = [UInt8](repeating: 0, count: 20)
            StateDigest.mix(&term, [0, 0, 0, 0])
            for index in 0..<20 { combined[index] ^= term[index] }
        }
        let target = combined.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        return target == local ? .equal(digest: local) : .different(logDigest: local, targetDigest: target)
    }

    private func keyCountNote(keyspace: Keyspace, refusal: String) throws -> LiveReplayReport.Comparison {
        var lines: [String] = []
        for db in 0..<keyspace.databaseCount where keyspace.keyCount(db: db) > 0 {
            var total = 0
            for node in nodes {
                if !options.cluster { _ = try node.connection.call(["SELECT", String(db)]) }
                if case .integer(let count) = try node.connection.call(["DBSIZE"]) { total += Int(count) }
            }
            lines.append("db \(db): \(keyspace.keyCount(db: db)) keys in the log, \(total) on the target")
        }
        return .note("the target refused DEBUG DIGEST (\(refusal)); compared key counts only: " + (lines.isEmpty ? "the log leaves no key" : lines.joined(separator: "; ")))
    }
}
