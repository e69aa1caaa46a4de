// `rewind bisect`: the first entry after which a check fails (DESIGN §6). In-process probes are
// judged in one forward pass; expensive checks by binary search over materialised states.

import Foundation
import RewindEngine
import RewindLog

/// Where and how to search.
public struct BisectOptions: Sendable {
    /// A point known to be good (0: the empty state before the first entry).
    public var lastGood: UInt64 = 0
    /// A point known to be bad (nil: the end of the log).
    public var firstBad: UInt64?
    /// A point is bad only when the check fails this many times out of this many.
    public var retries = 1
    /// The words for good and bad in the report (`--terms old,new`).
    public var goodTerm = "good"
    public var badTerm = "bad"
    public var recovery: RecoveryMode = .tolerateTail
    /// Verdicts already known (from a saved session): these points are not judged again.
    public var knownVerdicts: [UInt64: Verdict] = [:]

    public init() {}
}

/// One judged point, in the order the search judged it: the session `rewind bisect log` prints.
public struct BisectStep: Sendable, Hashable {
    public var sequence: UInt64
    public var verdict: Verdict
    /// True when the verdict came from a saved session rather than a run of the check.
    public var replayed: Bool
}

/// What a bisection found.
public struct BisectResult: Sendable {
    /// The first bad point; nil when only skipped points were left (see ``candidates``).
    public var firstBad: UInt64?
    /// The last good point before it (0: the empty state).
    public var lastGood: UInt64
    /// When skips left the answer open: every point that may be the first bad one.
    public var candidates: [UInt64] = []
    /// The entries of the decisive unit (one command, or a whole transaction).
    public var decisive: LogUnit?
    /// The check's answers at ``lastGood`` and ``firstBad``.
    public var before: CheckAnswer?
    public var after: CheckAnswer?
    /// A later point where the check was good again (the check is not monotonic), when seen.
    public var goodAgainAt: UInt64?
    /// Check runs (with `--retries`, every try counts).
    public var checkRunCount = 0
    /// Points judged.
    public var steps: [BisectStep] = []
    /// Wall-clock seconds of the whole search, and of the check runs alone.
    public var seconds = 0.0
    public var checkSeconds = 0.0
    /// Entries applied to materialise the states probed, rollbacks to savepoints, and keys
    /// rebuilt by those rollbacks (binary search only).
    public var replayedEntryCount = 0
    public var rollbackCount = 0
    public var rebuiltKeyCount = 0
    /// Seconds of the binary search spent recording old values, undoing, and reading the log's
    /// unit boundaries.
    public var journalSeconds = 0.0
    public var undoSeconds = 0.0
    public var scanSeconds = 0.0
    /// Checkpoints of the binary search: seconds taking and restoring them, restores.
    public var checkpointSeconds = 0.0
    public var restoreCount = 0
    /// The last sequence number of the log.
    public var logLastSequence: UInt64 = 0
    /// How the search ran: `one pass` or `binary search`.
    public var method = ""
}

public enum Bisector {
    // MARK: - One forward pass (in-process probes)

    /// Judges `check` after every unit that may change its answer, in one forward pass.
    public static func forwardPass(log: String, check: ProbeCheck, options: BisectOptions,
                                   progress: ((String) -> Void)? = nil) throws -> BisectResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var result = BisectResult(lastGood: options.lastGood)
        result.method = "one pass"
        let keyspace = Keyspace(randomSeed: 0)
        var previous: (sequence: UInt64, answer: CheckAnswer)?
        var current: CheckAnswer?
        var checkNanoseconds: UInt64 = 0
        var lastSequence: UInt64 = 0
        func judge(_ sequence: UInt64, _ time: Int64) -> CheckAnswer {
            let begin = DispatchTime.now().uptimeNanoseconds
            let answer = check.judge(keyspace, after: sequence, timestampMilliseconds: time)
            checkNanoseconds += DispatchTime.now().uptimeNanoseconds - begin
            result.checkRunCount += 1
            return answer
        }
        var judgedStart = false
        var endReached = false
        try LogUnits.forEachCompact(log: log, recovery: options.recovery) { unit in
            if !judgedStart && options.lastGood == 0 {
                judgedStart = true
                let answer = judge(0, unit.firstTimestampMilliseconds)
                try requireGood(answer, at: 0, options: options)
                previous = (0, answer)
                current = answer
                result.steps.append(BisectStep(sequence: 0, verdict: .good, replayed: false))
            }
            let sequence = unit.endSequence
            if let firstBad = options.firstBad, sequence > firstBad { endReached = true; return false }
            if let progress, sequence & 0xFFFF < lastSequence & 0xFFFF {
                progress("bisect: at #\(sequence), \(result.firstBad.map { "first bad #\($0)" } ?? "all good so far"), \(Int(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)) s")
            }
            lastSequence = sequence
            if unit.isCheckpoint { return true }
            var mayChange = options.firstBad == sequence
            for command in unit.commands {
                keyspace.apply(command.command, nowMilliseconds: command.timestampMilliseconds)
                if !mayChange && check.mayChange(after: command.command.arguments) { mayChange = true }
            }
            if sequence <= options.lastGood {
                if sequence == options.lastGood {
                    let answer = judge(sequence, unit.endTimestampMilliseconds)
                    try requireGood(answer, at: sequence, options: options)
                    previous = (sequence, answer)
                    current = answer
                    judgedStart = true
                    result.steps.append(BisectStep(sequence: sequence, verdict: .good, replayed: false))
                }
                return true
            }
            guard judgedStart else {
                throw BisectError(.badBounds, "--last-good #\(options.lastGood) is inside a transaction or not an entry of the log; pass the sequence number of a command or of a transaction's EXEC")
            }
            let answer = mayChange ? judge(sequence, unit.endTimestampMilliseconds) : current!
            current = answer
            if result.firstBad == nil {
                if answer.verdict == .bad {
                    result.firstBad = sequence
                    result.lastGood = previous!.sequence
                    result.before = previous!.answer
                    result.after = answer
                    result.steps.append(BisectStep(sequence: sequence, verdict: .bad, replayed: false))
                } else {
                    previous = (sequence, answer)
                }
            } else if answer.verdict == .good && result.goodAgainAt == nil {
                result.goodAgainAt = sequence
            }
            return true
        }
        if !judgedStart {
            if options.lastGood == 0 {
                throw BisectError(.badBounds, "the log has no entries to bisect")
            }
            throw BisectError(.badBounds, "--last-good #\(options.lastGood) is beyond the end of the log (it ends at #\(lastSequence))")
        }
        if let firstBad = options.firstBad, !endReached, firstBad > lastSequence {
            throw BisectError(.badBounds, "--first-bad #\(firstBad) is beyond the end of the log (it ends at #\(lastSequence))")
        }
        result.logLastSequence = lastSequence
        if current?.verdict != .bad {
            let whereText = options.firstBad.map { "at --first-bad #\($0)" } ?? "at the end of the log (#\(lastSequence))"
            throw BisectError(.goodAtEnd, "the check is \(options.goodTerm) \(whereText), so there is no \(options.badTerm) entry to find: \(check.summary); it answered: \((current?.lines ?? []).joined(separator: "; "))")
        }
        if let firstBad = result.firstBad {
            result.decisive = try LogUnits.units(log: log, in: (result.lastGood + 1)...firstBad, recovery: options.recovery).last
        }
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        result.checkSeconds = Double(checkNanoseconds) / 1e9
        return result
    }

    static func requireGood(_ answer: CheckAnswer, at sequence: UInt64, options: BisectOptions) throws {
        guard answer.verdict != .good else { return }
        let place = sequence == 0 ? "at the start (the empty state)" : "at --last-good #\(sequence)"
        let verb = answer.verdict == .skip ? "cannot be judged (skip)" : "is already \(options.badTerm)"
        throw BisectError(.badAtStart, "the check \(verb) \(place), so there is no first \(options.badTerm) entry to find; it answered: \(answer.lines.joined(separator: "; "))")
    }

    // MARK: - Binary search (expensive checks)

    /// Binary search over the states after each unit. The state moves forward by applying
    /// entries and back by undoing them from a savepoint at the last good point (see
    /// ``StateMaterializer``), so each probe costs the entries between the last good point and it.
    public static func binarySearch(log: String, check: StateCheck, options: BisectOptions,
                                    progress: ((String) -> Void)? = nil) throws -> BisectResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var result = BisectResult(lastGood: options.lastGood)
        result.method = "binary search"
        let (boundaries, lastSequence) = try LogUnits.boundaries(log: log, recovery: options.recovery)
        result.scanSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        result.logLastSequence = lastSequence
        guard !boundaries.isEmpty else { throw BisectError(.badBounds, "the log has no entries to bisect") }
        // Index -1 is the empty state.
        var low: Int
        if options.lastGood == 0 {
            low = -1
        } else {
            guard let index = boundaries.lastIndex(where: { $0 <= options.lastGood }), boundaries[index] == options.lastGood else {
                throw BisectError(.badBounds, options.lastGood > lastSequence
                    ? "--last-good #\(options.lastGood) is beyond the end of the log (it ends at #\(lastSequence))"
                    : "--last-good #\(options.lastGood) is inside a transaction or not a command; pass a command's or an EXEC's sequence number")
            }
            low = index
        }
        var high = boundaries.count - 1
        if let firstBad = options.firstBad {
            guard firstBad <= lastSequence, let index = boundaries.firstIndex(where: { $0 >= firstBad }) else {
                throw BisectError(.badBounds, "--first-bad #\(firstBad) is beyond the end of the log (it ends at #\(lastSequence))")
            }
            high = index
        }
        guard high > low else {
            throw BisectError(.badBounds, "--first-bad must come after --last-good")
        }
        func sequence(_ index: Int) -> UInt64 { index < 0 ? 0 : boundaries[index] }
        let states = StateMaterializer(log: log, recovery: options.recovery)
        var checkNanoseconds: UInt64 = 0
        var answers: [UInt64: CheckAnswer] = [:]
        func judge(_ index: Int) throws -> Verdict {
            let point = sequence(index)
            if let known = options.knownVerdicts[point] {
                result.steps.append(BisectStep(sequence: point, verdict: known, replayed: true))
                return known
            }
            try states.move(to: point)
            var verdicts: [Verdict] = []
            var answer = CheckAnswer(verdict: .skip, lines: [])
            for _ in 0..<max(1, options.retries) {
                let begin = DispatchTime.now().uptimeNanoseconds
                let keysBefore = states.keyCount
                answer = try check.judge(states.keyspace, after: point, timestampMilliseconds: states.timestampMilliseconds)
                checkNanoseconds += DispatchTime.now().uptimeNanoseconds - begin
                if states.keyCount != keysBefore {
                    // A read expired a key: judge again on a state rebuilt from the log.
                    states.invalidate()
                    try states.move(to: point)
                }
                result.checkRunCount += 1
                verdicts.append(answer.verdict)
                if answer.verdict == .good { break }
            }
            let verdict: Verdict = verdicts.contains(.good) ? .good : verdicts.allSatisfy({ $0 == .bad }) ? .bad : .skip
            answer.verdict = verdict
            answers[point] = answer
            result.steps.append(BisectStep(sequence: point, verdict: verdict, replayed: false))
            progress?("bisect: #\(point) is \(verdict == .good ? options.goodTerm : verdict == .bad ? options.badTerm : "skipped"), \(high - low - 1) points left")
            return verdict
        }
        // The good end first, then the bad end.
        let lowVerdict = try judge(low)
        if lowVerdict != .good {
            try requireGood(answers[sequence(low)] ?? CheckAnswer(verdict: lowVerdict, lines: ["(from the saved session)"]), at: sequence(low), options: options)
        }
        // A savepoint at the good end, and a way back to the first midpoint, so that after
        // judging the bad end the first probes are not replayed from the start.
        try states.move(to: sequence(low))
        states.savepoint(only: true)
        // On the way to the bad end, checkpoints at the points of the first two levels of the
        // search (a quarter, a half, three quarters), whichever the answers turn out to be:
        // restoring one costs a fraction of replaying to it again.
        let firstMid = low + (high - low) / 2
        let quarters = [low + (firstMid - low) / 2, firstMid, firstMid + (high - firstMid) / 2]
        for point in quarters where point > low && point < high {
            try states.move(to: sequence(point))
            if states.keeping() == .checkpoint { states.captureCheckpoint() }
        }
        let highVerdict = try judge(high)
        if highVerdict != .bad {
            let whereText = options.firstBad.map { "at --first-bad #\($0)" } ?? "at the end of the log (#\(lastSequence))"
            let lines = answers[sequence(high)]?.lines.joined(separator: "; ") ?? ""
            let verb = highVerdict == .skip ? "cannot be judged (skip)" : "is \(options.goodTerm)"
            throw BisectError(.goodAtEnd, "the check \(verb) \(whereText), so there is no \(options.badTerm) entry to find: \(check.summary); it answered: \(lines)")
        }
        var skipped = Set<Int>()
        while high - low > 1 {
            guard let mid = pick(low: low, high: high, skipped: skipped) else { break }
            switch try judge(mid) {
            case .good:
                low = mid
                states.keep(states.keeping())
            case .bad:
                high = mid
            case .skip:
                skipped.insert(mid)
            }
            states.forgetCheckpoints(outside: sequence(low), sequence(high))
        }
        result.lastGood = sequence(low)
        if high - low > 1 {
            result.candidates = (low + 1...high).map(sequence)
        } else {
            result.firstBad = sequence(high)
            result.decisive = try LogUnits.units(log: log, in: (sequence(low) + 1)...sequence(high), recovery: options.recovery).last
        }
        result.before = answers[sequence(low)]
        result.after = answers[sequence(high)]
        result.replayedEntryCount = states.replayedEntryCount
        result.rollbackCount = states.rollbackCount
        result.rebuiltKeyCount = states.rebuiltKeyCount
        result.journalSeconds = Double(states.journalNanoseconds) / 1e9
        result.undoSeconds = Double(states.undoNanoseconds) / 1e9
        result.checkpointSeconds = Double(states.checkpointNanoseconds) / 1e9
        result.restoreCount = states.restoreCount
        result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        result.checkSeconds = Double(checkNanoseconds) / 1e9
        return result
    }

    /// The unjudged point nearest the middle of (low, high), as git bisect avoids skipped
    /// commits: the middle, then alternately just above and below it; nil when all are skipped.
    static func pick(low: Int, high: Int, skipped: Set<Int>) -> Int? {
        let mid = low + (high - low) / 2
        if !skipped.contains(mid) { return mid }
        var offset = 1
        while mid + offset < high || mid - offset > low {
            if mid + offset < high && !skipped.contains(mid + offset) { return mid + offset }
            if mid - offset > low && !skipped.contains(mid - offset) { return mid - offset }
            offset += 1
        }
        return nil
    }
}
