// The sorted-set value of Redis 7.0 (src/t_zset.c: zsl* skiplist, zzl* listpack, zsetAdd),
// rebuilt as a Swift value type. Ranges live in SortedSet+Ranges.swift, the skiplist in
// SortedSet+SkipList.swift, invariants in SortedSet+Invariants.swift.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A Redis sorted set: unique byte-string members ordered by score, then by member bytes.
///
/// The order is Redis's exactly: ascending score, and for equal scores the member bytes compared
/// as `memcmp` does, a shorter member first when it is a prefix of a longer one. Scores are
/// doubles and never NaN; `-0` and `0` compare equal and tie-break by member.
///
/// **Two encodings behind one API**, as in Redis, because both are observable there: `OBJECT
/// ENCODING` names them, and they store `-0` differently.
/// - ``Encoding-swift.enum/compact`` (Redis's listpack): a sorted array, used while the set has
///   at most ``compactEntryCountMax`` members of at most ``compactMemberByteCountMax`` bytes.
///   Redis's listpack stores an integral score as integer text, so a `-0` score reads back as `0`;
///   this encoding normalizes `-0` to `0` for the same reason.
/// - ``Encoding-swift.enum/skiplist``: a skiplist with spans (O(log n) rank and range) plus a
///   member index (O(1) score lookup), both in one copy-on-write storage. It keeps `-0`. A set converts to it when it
///   outgrows the compact limits, and never converts back on its own (Redis does not either);
///   ``convertToCompactIfFits()`` is the explicit way back, for ZRANGESTORE-style commands.
///
/// **Value semantics.** The set is a struct whose storage is an array or the skiplist's storage
/// class, so copies share storage until one is mutated (copy-on-write).
///
/// **Determinism.** Skiplist levels come from a per-instance generator with a fixed seed, never
/// from global randomness; the member index is used only for lookups, never iterated for
/// anything observable, so nothing depends on the per-process hash seed.
///
/// - Complexity: O(log n) insert, remove, score update, rank, and element at rank in the skiplist
///   encoding; O(n) with n ≤ 128 in the compact encoding. O(1) score lookup in the skiplist.
public struct SortedSet: Sendable {
    /// One member and its score.
    public struct Element: Hashable, Sendable {
        public var member: [UInt8]
        public var score: Double

        public init(member: [UInt8], score: Double) {
            self.member = member
            self.score = score
        }
    }

    /// How the set is stored; mirrors Redis's `OBJECT ENCODING` answers.
    public enum Encoding: String, Sendable {
        case compact = "listpack"
        case skiplist = "skiplist"
    }

    /// Redis's default `zset-max-listpack-entries`.
    public static let compactEntryCountMaxDefault = 128
    /// Redis's default `zset-max-listpack-value`.
    public static let compactMemberByteCountMaxDefault = 64

    /// The most members the compact encoding holds before converting.
    public let compactEntryCountMax: Int
    /// The longest member, in bytes, the compact encoding holds before converting.
    public let compactMemberByteCountMax: Int

    /// Sorted elements while compact; empty in the skiplist encoding.
    var compactElements: [Element] = []
    /// The skiplist, present only in the skiplist encoding.
    var skipList: SkipList? = nil

    /// Creates an empty set.
    ///
    /// - Parameters:
    ///   - encoding: the starting encoding. Redis's ZADD on a missing key starts compact unless
    ///     the limit is 0 or the first member is too long; see ``preferredEncoding(firstMemberByteCount:compactEntryCountMax:compactMemberByteCountMax:)``.
    ///   - compactEntryCountMax: Redis's `zset-max-listpack-entries`.
    ///   - compactMemberByteCountMax: Redis's `zset-max-listpack-value`.
    public init(encoding: Encoding = .compact,
                compactEntryCountMax: Int = compactEntryCountMaxDefault,
                compactMemberByteCountMax: Int = compactMemberByteCountMaxDefault) {
        self.compactEntryCountMax = compactEntryCountMax
        self.compactMemberByteCountMax = compactMemberByteCountMax
        if encoding == .skiplist { skipList = SkipList() }
    }

    /// The encoding Redis's ZADD gives a new key, judged by the first member only.
    public static func preferredEncoding(firstMemberByteCount: Int,
                                         compactEntryCountMax: Int = compactEntryCountMaxDefault,
                                         compactMemberByteCountMax: Int = compactMemberByteCountMaxDefault) -> Encoding {
        compactEntryCountMax == 0 || firstMemberByteCount > compactMemberByteCountMax ? .skiplist : .compact
    }

    /// The current encoding.
    public var encoding: Encoding { skipList == nil ? .compact : .skiplist }

    /// The number of members (ZCARD).
    public var count: Int { skipList?.count ?? compactElements.count }

    public var isEmpty: Bool { count == 0 }

    /// The score of `member` (ZSCORE), or nil when absent.
    ///
    /// - Complexity: O(1) in the skiplist encoding, O(n) with n ≤ 128 when compact.
    public func score(of member: [UInt8]) -> Double? {
        member.withUnsafeBytes { score(ofBytes: $0) }
    }

    func score(ofBytes member: UnsafeRawBufferPointer) -> Double? {
        if let skipList { return skipList.score(of: member) }
        return compactIndex(of: member).map { compactElements[$0].score }
    }

    /// The index of `member` in the compact elements (Redis `zzlFind`: a scan).
    func compactIndex(of member: UnsafeRawBufferPointer) -> Int? {
        compactElements.firstIndex { element in
            element.member.withUnsafeBytes { SortedSet.membersEqual($0, member) }
        }
    }

    /// The 0-based rank of `member` in ascending order (ZRANK), or nil when absent.
    public func rank(of member: [UInt8]) -> Int? {
        member.withUnsafeBytes { member in
            if let skipList {
                let node = skipList.node(of: member, hash: ByteStringHash.hash(member))
                return node == 0 ? nil : skipList.rank(ofNode: node) - 1
            }
            return compactIndex(of: member)
        }
    }

    /// The element at a 0-based ascending rank, or nil when out of range.
    public func element(atRank rank: Int) -> Element? {
        guard rank >= 0 && rank < count else { return nil }
        if let skipList { return skipList.element(atIndex: rank) }
        return compactElements[rank]
    }

    // MARK: - Mutation

    /// Options of ZADD that change how one member is added (Redis `ZADD_IN_*`).
    public struct AddOptions: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Add the given score to the current one (INCR).
        public static let increment = AddOptions(rawValue: 1 << 0)
        /// Only add new members (NX).
        public static let onlyNew = AddOptions(rawValue: 1 << 1)
        /// Only update existing members (XX).
        public static let onlyExisting = AddOptions(rawValue: 1 << 2)
        /// Only update when the new score is greater (GT).
        public static let onlyGreater = AddOptions(rawValue: 1 << 3)
        /// Only update when the new score is less (LT).
        public static let onlyLess = AddOptions(rawValue: 1 << 4)
    }

    /// What ``add(_:score:options:)`` did (Redis `ZADD_OUT_*` and `newscore`).
    public enum AddOutcome: Equatable, Sendable {
        /// A new member was added with this score.
        case added(score: Double)
        /// An existing member's score changed to this.
        case updated(score: Double)
        /// An existing member already had this score; nothing changed. Redis still reports
        /// the score to ZADD INCR.
        case unchanged(score: Double)
        /// NX, XX, GT or LT prevented the change (ZADD INCR replies nil).
        case skipped
        /// The score, or the sum for INCR, is NaN (Redis: "resulting score is not a number").
        case notANumber
    }

    /// Adds or updates one member exactly as Redis's `zsetAdd` does.
    ///
    /// The order of checks matters and is Redis's: NaN input; for an existing member NX, then
    /// INCR (which may produce NaN, e.g. `inf + -inf`), then GT/LT against the current score, and
    /// the update happens only when the score differs (`!=`, so `0` over `-0` is unchanged and
    /// keeps `-0`); for a new member XX. A compact set converts to a skiplist *before* inserting
    /// a member that would pass the limits, as Redis does.
    ///
    /// - Complexity: O(log n) in the skiplist encoding.
    public mutating func add(_ member: [UInt8], score: Double, options: AddOptions = []) -> AddOutcome {
        member.withUnsafeBytes { add(bytes: $0, array: member, score: score, options: options) }
    }

    /// ``add(_:score:options:)`` for a member given as bytes (a replayed command's argument): a
    /// skiplist copies them straight into the new node, and only the compact encoding makes an array.
    mutating func add(bytes member: UnsafeRawBufferPointer, score: Double, options: AddOptions = []) -> AddOutcome {
        add(bytes: member, array: nil, score: score, options: options)
    }

    /// The checks Redis's `zsetAdd` makes on an existing member, in its order: the new score, or
    /// the outcome when nothing is to change.
    @inline(__always)
    private static func resolveExisting(current: Double, score: Double, options: AddOptions) -> (Double?, AddOutcome) {
        if options.contains(.onlyNew) { return (nil, .skipped) }
        var newScore = score
        if options.contains(.increment) {
            newScore += current
            if newScore.isNaN { return (nil, .notANumber) }
        }
        if (options.contains(.onlyLess) && newScore >= current)
            || (options.contains(.onlyGreater) && newScore <= current) {
            return (nil, .skipped)
        }
        guard newScore != current else { return (nil, .unchanged(score: newScore)) }
        return (newScore, .updated(score: newScore))
    }

    private mutating func add(bytes member: UnsafeRawBufferPointer, array: [UInt8]?, score: Double,
                              options: AddOptions) -> AddOutcome {
        if score.isNaN { return .notANumber }
        if skipList != nil {
            // One hash and one probe whatever happens next.
            let hash = ByteStringHash.hash(member)
            let node = skipList!.node(of: member, hash: hash)
            if node != 0 {
                let (newScore, outcome) = SortedSet.resolveExisting(current: skipList!.pool.score(node), score: score, options: options)
                if let newScore { skipList!.setScore(node: node, to: newScore) }
                return outcome
            }
            if options.contains(.onlyExisting) { return .skipped }
            skipList!.insert(member, score: score, hash: hash)
            return .added(score: score)
        }
        if let index = compactIndex(of: member) {
            let (newScore, outcome) = SortedSet.resolveExisting(current: compactElements[index].score, score: score, options: options)
            if let newScore {
                let existing = compactElements.remove(at: index)
                insertCompact(Element(member: existing.member, score: newScore))
            }
            return outcome
        }
        if options.contains(.onlyExisting) { return .skipped }
        insertNew(member, array: array, score: score)
        return .added(score: score)
    }

    /// Removes `member` (ZREM).
    ///
    /// - Returns: its score, or nil when it was absent.
    @discardableResult
    public mutating func remove(_ member: [UInt8]) -> Double? {
        member.withUnsafeBytes { remove(bytes: $0) }
    }

    @discardableResult
    mutating func remove(bytes member: UnsafeRawBufferPointer) -> Double? {
        if skipList != nil {
            let node = skipList!.node(of: member, hash: ByteStringHash.hash(member))
            guard node != 0 else { return nil }
            let score = skipList!.pool.score(node)
            skipList!.remove(node: node)
            return score
        }
        guard let index = compactIndex(of: member) else { return nil }
        return compactElements.remove(at: index).score
    }

    /// Inserts a member known to be absent, converting the encoding first if needed (`array`,
    /// when given, holds the same bytes as `member`).
    private mutating func insertNew(_ member: UnsafeRawBufferPointer, array: [UInt8]?, score: Double) {
        if skipList == nil
            && (compactElements.count + 1 > compactEntryCountMax || member.count > compactMemberByteCountMax) {
            convertToSkipList()
        }
        if skipList != nil {
            skipList!.insert(member, score: score, hash: ByteStringHash.hash(member))
            return
        }
        insertCompact(Element(member: array ?? Array(member), score: score))
    }

    /// Inserts into the compact elements in order; after the last one in O(1).
    private mutating func insertCompact(_ element: Element) {
        // Redis's listpack stores an integral score as integer text, which has no -0.
        let stored = Element(member: element.member, score: element.score == 0 ? 0 : element.score)
        if let last = compactElements.last, !SortedSet.precedes(last, stored) {
            let index = compactElements.partitioningIndex { SortedSet.precedes($0, stored) == false }
            compactElements.insert(stored, at: index)
        } else {
            compactElements.append(stored)
        }
    }

    /// Converts to the skiplist encoding (Redis `zsetConvert`); a no-op if already there.
    public mutating func convertToSkipList() {
        guard skipList == nil else { return }
        // The elements are in order, so every insert is an append: O(n) in all.
        var list = SkipList(reservingCapacity: compactElements.count + 1)
        for element in compactElements {
            element.member.withUnsafeBytes { list.insert($0, score: element.score, hash: ByteStringHash.hash($0)) }
        }
        skipList = list
        compactElements = []
    }

    /// Converts to the compact encoding when the set fits its limits (Redis
    /// `zsetConvertToListpackIfNeeded`), normalizing `-0` scores to `0` as a listpack does.
    public mutating func convertToCompactIfFits() {
        guard let skipList, skipList.count <= compactEntryCountMax else { return }
        var elements: [Element] = []
        elements.reserveCapacity(skipList.count)
        var fits = true
        skipList.forEach(fromIndex: 0, reverse: false) { element in
            if element.member.count > compactMemberByteCountMax { fits = false; return false }
            elements.append(Element(member: element.member, score: element.score == 0 ? 0 : element.score))
            return true
        }
        guard fits else { return }
        compactElements = elements
        self.skipList = nil
    }

    // MARK: - Order

    /// Compares member bytes as `memcmp` then length, Redis's `sdscmp`.
    @inline(__always)
    static func compareMembers(_ left: [UInt8], _ right: [UInt8]) -> Int {
        left.withUnsafeBytes { left in right.withUnsafeBytes { right in compareMembers(left, right) } }
    }

    /// True when (score, member) sorts before the other pair.
    @inline(__always)
    static func precedes(score: Double, member: [UInt8], otherScore: Double, otherMember: [UInt8]) -> Bool {
        score < otherScore || (score == otherScore && compareMembers(member, otherMember) < 0)
    }

    static func precedes(_ left: Element, _ right: Element) -> Bool {
        precedes(score: left.score, member: left.member, otherScore: right.score, otherMember: right.member)
    }
}

extension Array where Element == SortedSet.Element {
    /// The first index where `predicate` becomes true, for a predicate false then true.
    fileprivate func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = low + (high - low) / 2
            if predicate(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
