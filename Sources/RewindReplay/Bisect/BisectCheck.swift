// What `rewind bisect` asks of a state: good, bad or skip (git bisect run's three answers).

import RewindEngine
import RewindRESP

/// A check's answer at one point of the log.
public enum Verdict: String, Sendable, Hashable {
    case good, bad, skip
}

/// What a check said at one point: its verdict and what it saw, for the report.
public struct CheckAnswer: Sendable, Hashable {
    public var verdict: Verdict
    /// One line per probe (`HGET "user:42" "name" -> "alice"`), or the external command's result.
    public var lines: [String]

    public init(verdict: Verdict, lines: [String]) {
        self.verdict = verdict
        self.lines = lines
    }
}

/// An error of `rewind bisect` itself: a check that cannot be judged, bounds that do not hold.
public struct BisectError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The check is bad at the good end (the start, or `--last-good`).
        public static let badAtStart = Code("bad at start")
        /// The check is good at the bad end (the end of the log, or `--first-bad`).
        public static let goodAtEnd = Code("good at end")
        /// The check cannot be run: a probe that is not a read command, a command that cannot
        /// start or that exited beyond 127, a reference server that cannot be reached or went away.
        public static let checkFailed = Code("check failed")
        /// The bounds are outside the log or in the wrong order.
        public static let badBounds = Code("bad bounds")
        /// A probe or expectation is malformed.
        public static let badProbe = Code("bad probe")
        /// A saved session cannot be read.
        public static let badSession = Code("bad session")
        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// What a probe's reply must be.
public enum Expectation: Sendable, Hashable {
    /// The reply as redis-cli prints it (`"alice"`, `(integer) 3`, `1) "a"` ...).
    case notation(String)
    /// The reply as JSON (see ``ReplyNotation/jsonObject(_:)``).
    case json(String)
    /// An error reply, containing this text when one is given.
    case error(String?)
    /// A null reply.
    case null

    /// Whether `reply` meets the expectation.
    public func matches(_ reply: RESPValue) -> Bool {
        switch self {
        case .notation(let text):
            return ReplyNotation.normalized(ReplyNotation.format(reply)) == ReplyNotation.normalized(text)
        case .json(let text):
            guard let expected = ReplyNotation.parseJSON(text) else { return false }
            return ReplyNotation.jsonEqual(ReplyNotation.jsonObject(reply), expected)
        case .error(let text):
            guard case .error(let message) = reply else { return false }
            guard let text, !text.isEmpty else { return true }
            return message.contains(text)
        case .null:
            switch ReplyNotation.resp2(reply) {
            case .null, .nullArray: return true
            default: return false
            }
        }
    }

    /// `== "alice"`, `is an error containing "WRONGTYPE"`, `is (nil)`.
    public var description: String {
        switch self {
        case .notation(let text): return "== " + ReplyNotation.normalized(text).replacingOccurrences(of: "\n", with: " ")
        case .json(let text): return "== JSON " + text
        case .error(let text): return text.map { "is an error containing \"\($0)\"" } ?? "is an error"
        case .null: return "is (nil)"
        }
    }
}

/// A read command and the reply it must give: the check holds (good) while it does.
public struct Probe: Sendable, Hashable {
    public var arguments: [[UInt8]]
    public var db: Int
    public var expectation: Expectation

    /// Parses `command` as redis-cli splits a line (`HGET user:42 name`, quotes allowed).
    ///
    /// - Throws: ``BisectError`` with `.badProbe` when the command is empty, unknown, has the wrong
    ///   number of arguments, or is not a read command (a probe must not change the state).
    public init(command: String, db: Int = 0, expectation: Expectation) throws {
        guard let arguments = try? ByteQuoting.splitArguments(Array(command.utf8)), let name = arguments.first else {
            throw BisectError(.badProbe, "--probe '\(command)': not a command (write it as redis-cli takes it, such as --probe 'HGET user:42 name')")
        }
        try self.init(arguments: arguments, db: db, expectation: expectation, name: String(decoding: name, as: UTF8.self))
    }

    public init(arguments: [[UInt8]], db: Int = 0, expectation: Expectation) throws {
        try self.init(arguments: arguments, db: db, expectation: expectation,
                      name: String(decoding: arguments.first ?? [], as: UTF8.self))
    }

    private init(arguments: [[UInt8]], db: Int, expectation: Expectation, name: String) throws {
        guard let spec = Keyspace.commandSpec(named: name) else {
            throw BisectError(.badProbe, "--probe: unknown command '\(name)'")
        }
        guard !spec.flags.contains(.write), spec.flags.contains(.readonly) || Self.keylessReads.contains(name.uppercased()) else {
            throw BisectError(.badProbe, "--probe: \(name.uppercased()) is not a read command; a probe must not change the state it checks")
        }
        if case .json(let text) = expectation, ReplyNotation.parseJSON(text) == nil {
            throw BisectError(.badProbe, "--expect-json '\(text)': not JSON")
        }
        guard (0..<16).contains(db) else { throw BisectError(.badProbe, "--db \(db) is out of range (0 to 15)") }
        self.arguments = arguments
        self.db = db
        self.expectation = expectation
    }

    /// Read commands without the readonly flag in the table that a probe may still use.
    static let keylessReads: Set<String> = ["PING", "ECHO", "DEBUG"]

    /// `HGET "user:42" "name"`.
    public var commandText: String { ReplayRun.text(arguments) }

    /// `HGET "user:42" "name" == "alice"`.
    public var description: String { commandText + " " + expectation.description + (db == 0 ? "" : " (db \(db))") }

    /// Runs the probe on `keyspace` in a replaying session (no lazy expiry, so the state is not
    /// changed), at `nowMilliseconds`.
    public func reply(on keyspace: Keyspace, nowMilliseconds: Int64) -> RESPValue {
        var session = ClientSession(databaseIndex: db)
        session.isReplaying = true
        return keyspace.execute(arguments, session: &session, nowMilliseconds: nowMilliseconds).reply
    }

    /// The probe's keys, nil when it has none or depends on time.
    var probeKeys: Set<[UInt8]>? {
        let name = String(decoding: arguments[0], as: UTF8.self).uppercased()
        if name == "TTL" || name == "PTTL" { return nil }
        guard let indexes = Keyspace.keyIndexes(of: arguments), !indexes.isEmpty else { return nil }
        return Set(indexes.map { arguments[$0] })
    }
}

/// Judges the state a keyspace holds at a point of the log.
public protocol StateCheck: AnyObject {
    /// The check in words, for the report (`HGET "user:42" "name" == "alice"`).
    var summary: String { get }
    /// Judges `keyspace`, the state after entry `sequence` (0: before the first), whose last
    /// entry ran at `timestampMilliseconds`.
    func judge(_ keyspace: Keyspace, after sequence: UInt64, timestampMilliseconds: Int64) throws -> CheckAnswer
}

/// Probes evaluated in process: good when every probe's reply meets its expectation.
public final class ProbeCheck: StateCheck {
    public let probes: [Probe]
    /// Runs of the probes (each run evaluates every probe once).
    public private(set) var runCount = 0

    /// The keys whose change may change an answer; nil when every entry may (a probe without
    /// keys, or one whose reply depends on the time).
    private let watchedKeyList: [[UInt8]]?

    public init(probes: [Probe]) {
        precondition(!probes.isEmpty, "a probe check needs probes")
        self.probes = probes
        var keys: Set<[UInt8]>? = []
        for probe in probes {
            guard let probeKeys = probe.probeKeys else { keys = nil; break }
            keys!.formUnion(probeKeys)
        }
        watchedKeyList = keys.map { Array($0) }
    }

    public var summary: String { probes.map(\.description).joined(separator: " and ") }

    public func judge(_ keyspace: Keyspace, after sequence: UInt64, timestampMilliseconds: Int64) -> CheckAnswer {
        runCount += 1
        var good = true
        var lines: [String] = []
        for probe in probes {
            let reply = probe.reply(on: keyspace, nowMilliseconds: timestampMilliseconds)
            if !probe.expectation.matches(reply) { good = false }
            lines.append(probe.commandText + " -> " + ReplyNotation.format(reply).replacingOccurrences(of: "\n", with: " "))
        }
        return CheckAnswer(verdict: good ? .good : .bad, lines: lines)
    }

    /// Whether an entry with these arguments may change any probe's reply: one of its arguments
    /// is a watched key (a superset of its keys, in any database: MOVE and COPY cross them), or
    /// it is a write without keys (FLUSHALL, FLUSHDB, SWAPDB). Byte comparisons only: this runs
    /// once per entry of the pass.
    func mayChange(after arguments: [[UInt8]]) -> Bool {
        guard let watchedKeyList else { return true }
        for argument in arguments.dropFirst() {
            for key in watchedKeyList where key.count == argument.count && key == argument { return true }
        }
        guard let name = arguments.first, name.count == 6 || name.count == 7 || name.count == 8 else { return false }
        let upper = name.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }
        return Self.keylessWrites.contains(upper)
    }

    private static let keylessWrites: Set<[UInt8]> = [Array("FLUSHALL".utf8), Array("FLUSHDB".utf8), Array("SWAPDB".utf8)]
}
