// Score, lex and rank ranges of SortedSet, following Redis 7.0's src/t_zset.c (zslParseRange,
// zslParseLexRange, zsl/zzlFirstInRange, zsl/zzlLastInRange, genericZrangeby*Command,
// zsetCount, zremrangeGenericCommand) step for step.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A score interval such as `(1.5 +inf` (Redis `zrangespec`).
public struct SortedSetScoreRange: Sendable, Equatable {
    public var min: Double
    public var minIsExclusive: Bool
    public var max: Double
    public var maxIsExclusive: Bool

    public init(min: Double, minIsExclusive: Bool = false, max: Double, maxIsExclusive: Bool = false) {
        self.min = min
        self.minIsExclusive = minIsExclusive
        self.max = max
        self.maxIsExclusive = maxIsExclusive
    }

    /// Parses two command arguments as Redis's `zslParseRange` does.
    ///
    /// A leading `(` makes a bound exclusive. The rest goes through C `strtod`, so `inf`,
    /// `-inf`, `+inf`, leading spaces, hex floats and an empty string (0) are accepted exactly
    /// where Redis accepts them, and text after an embedded NUL byte is ignored as C ignores it.
    ///
    /// - Returns: nil for Redis's error "min or max is not a float".
    public static func parse(min: [UInt8], max: [UInt8]) -> SortedSetScoreRange? {
        guard let (minimum, minExclusive) = parseBound(min), let (maximum, maxExclusive) = parseBound(max) else {
            return nil
        }
        return SortedSetScoreRange(min: minimum, minIsExclusive: minExclusive, max: maximum, maxIsExclusive: maxExclusive)
    }

    private static func parseBound(_ bytes: [UInt8]) -> (Double, Bool)? {
        let isExclusive = bytes.first == UInt8(ascii: "(")
        var text = isExclusive ? Array(bytes.dropFirst()) : bytes
        text.append(0)
        return text.withUnsafeBufferPointer { buffer -> (Double, Bool)? in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { start in
                var end: UnsafeMutablePointer<CChar>? = nil
                let value = strtod(start, &end)
                guard let end, end.pointee == 0, !value.isNaN else { return nil }
                return (value, isExclusive)
            }
        }
    }

    /// True when nothing can match: min above max, or equal with an exclusive side.
    public var isEmpty: Bool { min > max || (min == max && (minIsExclusive || maxIsExclusive)) }

    /// Redis `zslValueGteMin`.
    public func satisfiesMin(_ score: Double) -> Bool { minIsExclusive ? score > min : score >= min }
    /// Redis `zslValueLteMax`.
    public func satisfiesMax(_ score: Double) -> Bool { maxIsExclusive ? score < max : score <= max }
}

/// A member interval such as `[a (c` or `- +` (Redis `zlexrangespec`).
///
/// Lex ranges are meaningful when all scores are equal; otherwise Redis's answer depends on its
/// algorithm, which this type reproduces for the compact encoding (linear scans) and follows for
/// the skiplist (descents).
public struct SortedSetLexRange: Sendable, Equatable {
    public enum Bound: Sendable, Equatable {
        /// `-`: below every member.
        case minusInfinity
        /// `+`: above every member.
        case plusInfinity
        /// `[x`
        case inclusive([UInt8])
        /// `(x`
        case exclusive([UInt8])
    }

    public var min: Bound
    public var max: Bound

    public init(min: Bound, max: Bound) {
        self.min = min
        self.max = max
    }

    /// Parses two command arguments as Redis's `zslParseLexRange` does.
    ///
    /// - Returns: nil for Redis's error "min or max not valid string range item".
    public static func parse(min: [UInt8], max: [UInt8]) -> SortedSetLexRange? {
        guard let minimum = parseBound(min), let maximum = parseBound(max) else { return nil }
        return SortedSetLexRange(min: minimum, max: maximum)
    }

    private static func parseBound(_ bytes: [UInt8]) -> Bound? {
        guard let first = bytes.first else { return nil }
        // Redis tests the byte after `+`/`-` against the C terminator, so "+\0..." is `+`.
        let isSingle = bytes.count == 1 || bytes[1] == 0
        switch first {
        case UInt8(ascii: "+"): return isSingle ? .plusInfinity : nil
        case UInt8(ascii: "-"): return isSingle ? .minusInfinity : nil
        case UInt8(ascii: "("): return .exclusive(Array(bytes.dropFirst()))
        case UInt8(ascii: "["): return .inclusive(Array(bytes.dropFirst()))
        default: return nil
        }
    }

    /// Redis `sdscmplex`: `-` below everything, `+` above, a bound equal only to itself.
    private static func compare(_ value: UnsafeRawBufferPointer, _ bound: Bound) -> Int {
        switch bound {
        case .minusInfinity: return 1
        case .plusInfinity: return -1
        case .inclusive(let bytes), .exclusive(let bytes):
            return bytes.withUnsafeBytes { SortedSet.compareMembers(value, $0) }
        }
    }

    private static func isExclusive(_ bound: Bound) -> Bool {
        if case .inclusive = bound { return false }
        return true
    }

    /// True when nothing can match (Redis's check at the top of `zslIsInLexRange`).
    public var isEmpty: Bool {
        let comparison: Int
        switch (min, max) {
        case (.minusInfinity, .minusInfinity), (.plusInfinity, .plusInfinity): comparison = 0
        case (.minusInfinity, _), (_, .plusInfinity): comparison = -1
        case (.plusInfinity, _), (_, .minusInfinity): comparison = 1
        case (.inclusive(let low), .inclusive(let high)), (.inclusive(let low), .exclusive(let high)),
             (.exclusive(let low), .inclusive(let high)), (.exclusive(let low), .exclusive(let high)):
            comparison = SortedSet.compareMembers(low, high)
        }
        return comparison > 0 || (comparison == 0 && (Self.isExclusive(min) || Self.isExclusive(max)))
    }

    /// Redis `zslLexValueGteMin`.
    public func satisfiesMin(_ member: [UInt8]) -> Bool {
        member.withUnsafeBytes { satisfiesMin(bytes: $0) }
    }

    func satisfiesMin(bytes member: UnsafeRawBufferPointer) -> Bool {
        let comparison = Self.compare(member, min)
        return Self.isExclusive(min) ? comparison > 0 : comparison >= 0
    }

    /// Redis `zslLexValueLteMax`.
    public func satisfiesMax(_ member: [UInt8]) -> Bool {
        member.withUnsafeBytes { satisfiesMax(bytes: $0) }
    }

    func satisfiesMax(bytes member: UnsafeRawBufferPointer) -> Bool {
        let comparison = Self.compare(member, max)
        return Self.isExclusive(max) ? comparison < 0 : comparison <= 0
    }
}

extension SortedSet {
    /// The two tests every range is made of, on (score, member).
    struct RangeTest {
        var isEmpty: Bool
        var satisfiesMin: (Double, UnsafeRawBufferPointer) -> Bool
        var satisfiesMax: (Double, UnsafeRawBufferPointer) -> Bool

        init(_ range: SortedSetScoreRange) {
            isEmpty = range.isEmpty
            satisfiesMin = { score, _ in range.satisfiesMin(score) }
            satisfiesMax = { score, _ in range.satisfiesMax(score) }
        }

        init(_ range: SortedSetLexRange) {
            isEmpty = range.isEmpty
            satisfiesMin = { _, member in range.satisfiesMin(bytes: member) }
            satisfiesMax = { _, member in range.satisfiesMax(bytes: member) }
        }
    }

    // MARK: - Navigation shared by both encodings

    private func minOK(_ test: RangeTest, _ element: Element) -> Bool {
        element.member.withUnsafeBytes { test.satisfiesMin(element.score, $0) }
    }
    private func maxOK(_ test: RangeTest, _ element: Element) -> Bool {
        element.member.withUnsafeBytes { test.satisfiesMax(element.score, $0) }
    }

    /// Redis `zslIsInRange`: the range is not empty, the last element reaches the minimum and the
    /// first element is within the maximum.
    private func overlaps(_ test: RangeTest) -> Bool {
        guard !test.isEmpty, let first = element(atRank: 0), let last = element(atRank: count - 1) else { return false }
        return minOK(test, last) && maxOK(test, first)
    }

    /// The index of the first element passing the minimum: a descent in the skiplist, a scan
    /// from the head when compact (as Redis scans a listpack).
    private func leadingIndex(_ test: RangeTest) -> Int {
        if let skipList { return skipList.countLeading(while: { !test.satisfiesMin($0, $1) }) }
        return compactElements.firstIndex(where: { minOK(test, $0) }) ?? compactElements.count
    }

    /// The index of the last element within the maximum: a descent, or a scan from the tail.
    private func trailingIndex(_ test: RangeTest) -> Int {
        if let skipList { return skipList.countLeading(while: { test.satisfiesMax($0, $1) }) - 1 }
        return compactElements.lastIndex(where: { maxOK(test, $0) }) ?? -1
    }

    /// Redis `zslFirstInRange` / `zzlFirstInRange`, as an index.
    private func firstIndex(in test: RangeTest) -> Int? {
        guard overlaps(test) else { return nil }
        let index = leadingIndex(test)
        guard let element = element(atRank: index), maxOK(test, element) else { return nil }
        return index
    }

    /// Redis `zslLastInRange` / `zzlLastInRange`, as an index.
    private func lastIndex(in test: RangeTest) -> Int? {
        guard overlaps(test) else { return nil }
        let index = trailingIndex(test)
        guard let element = element(atRank: index), minOK(test, element) else { return nil }
        return index
    }

    /// Visits elements from an index, forward or backward, while `body` returns true.
    func forEach(fromIndex index: Int, reverse: Bool, _ body: (Element) -> Bool) {
        if let skipList {
            skipList.forEach(fromIndex: index, reverse: reverse, body)
            return
        }
        var position = index
        while position >= 0 && position < compactElements.count {
            guard body(compactElements[position]) else { return }
            position += reverse ? -1 : 1
        }
    }

    private func elements(in test: RangeTest, reverse: Bool, offset: Int, limit: Int?) -> [Element] {
        guard offset >= 0, limit != 0 else { return [] }  // a negative offset skips everything
        guard offset < count else { return [] }  // Redis's early return; also keeps `start + offset` in range
        guard let start = reverse ? lastIndex(in: test) : firstIndex(in: test) else { return [] }
        let from = reverse ? start - offset : start + offset
        guard from >= 0 && from < count else { return [] }
        var result: [Element] = []
        forEach(fromIndex: from, reverse: reverse) { element in
            guard reverse ? minOK(test, element) : maxOK(test, element) else { return false }
            result.append(element)
            if let limit, limit >= 0, result.count >= limit { return false }
            return true
        }
        return result
    }

    private func count(in test: RangeTest) -> Int {
        guard let first = firstIndex(in: test) else { return 0 }
        if skipList != nil {
            guard let last = lastIndex(in: test) else { return count - first }
            return last - first + 1
        }
        var matched = 0
        forEach(fromIndex: first, reverse: false) { element in
            guard maxOK(test, element) else { return false }
            matched += 1
            return true
        }
        return matched
    }

    private mutating func removeElements(in test: RangeTest) -> [Element] {
        if skipList == nil && !overlaps(test) { return [] }
        let start = leadingIndex(test)
        var removed: [Element] = []
        forEach(fromIndex: start, reverse: false) { element in
            guard maxOK(test, element) else { return false }
            removed.append(element)
            return true
        }
        remove(removed)
        return removed
    }

    private mutating func remove(_ elements: [Element]) {
        if skipList != nil {
            for element in elements { remove(element.member) }
        } else if let first = elements.first, let start = compactElements.firstIndex(where: { $0.member == first.member }) {
            compactElements.removeSubrange(start..<(start + elements.count))
        }
    }

    // MARK: - Public ranges

    /// Elements with scores in `range` (ZRANGE BYSCORE, ZRANGEBYSCORE, ZREVRANGEBYSCORE).
    ///
    /// - Parameters:
    ///   - reverse: walk from the maximum down, as REV does; `range` stays (min, max).
    ///   - offset: elements to skip; negative returns nothing, as in Redis.
    ///   - limit: the most elements to return; nil or negative means all.
    /// - Complexity: O(log n + offset-free walk of the result) in the skiplist encoding.
    public func elements(inScoreRange range: SortedSetScoreRange, reverse: Bool = false,
                         offset: Int = 0, limit: Int? = nil) -> [Element] {
        elements(in: RangeTest(range), reverse: reverse, offset: offset, limit: limit)
    }

    /// Elements with members in `range` (ZRANGE BYLEX, ZRANGEBYLEX, ZREVRANGEBYLEX).
    public func elements(inLexRange range: SortedSetLexRange, reverse: Bool = false,
                         offset: Int = 0, limit: Int? = nil) -> [Element] {
        elements(in: RangeTest(range), reverse: reverse, offset: offset, limit: limit)
    }

    /// ZCOUNT.
    public func count(inScoreRange range: SortedSetScoreRange) -> Int { count(in: RangeTest(range)) }

    /// ZLEXCOUNT.
    public func count(inLexRange range: SortedSetLexRange) -> Int { count(in: RangeTest(range)) }

    /// ZREMRANGEBYSCORE; returns the removed elements in ascending order.
    @discardableResult
    public mutating func removeElements(inScoreRange range: SortedSetScoreRange) -> [Element] {
        removeElements(in: RangeTest(range))
    }

    /// ZREMRANGEBYLEX; returns the removed elements in ascending order.
    @discardableResult
    public mutating func removeElements(inLexRange range: SortedSetLexRange) -> [Element] {
        removeElements(in: RangeTest(range))
    }

    /// Resolves Redis's start/stop rank arguments (negative counts from the end) into 0-based
    /// indexes, or nil when the range is empty (Redis `genericZrangebyrankCommand`).
    public static func normalizedRankRange(start: Int64, stop: Int64, count: Int) -> ClosedRange<Int>? {
        let length = Int64(count)
        var first = start < 0 ? length + start : start
        var last = stop < 0 ? length + stop : stop
        if first < 0 { first = 0 }
        guard first <= last, first < length else { return nil }
        if last >= length { last = length - 1 }
        return Int(first)...Int(last)
    }

    /// Elements with 0-based ranks in `ranks`, ascending, or descending ranks from the top
    /// when `reverse` (ZRANGE, ZREVRANGE with a normalized range).
    public func elements(inRankRange ranks: ClosedRange<Int>, reverse: Bool = false) -> [Element] {
        guard ranks.lowerBound >= 0, ranks.lowerBound < count else { return [] }
        let upper = Swift.min(ranks.upperBound, count - 1)
        var result: [Element] = []
        result.reserveCapacity(upper - ranks.lowerBound + 1)
        let from = reverse ? count - 1 - ranks.lowerBound : ranks.lowerBound
        forEach(fromIndex: from, reverse: reverse) { element in
            result.append(element)
            return result.count < upper - ranks.lowerBound + 1
        }
        return result
    }

    /// Removes elements with 0-based ranks in `ranks` (ZREMRANGEBYRANK, and ZPOPMIN/ZPOPMAX with
    /// the first or last ranks); returns them in ascending order.
    @discardableResult
    public mutating func removeElements(inRankRange ranks: ClosedRange<Int>) -> [Element] {
        let removed = elements(inRankRange: ranks)
        remove(removed)
        return removed
    }

    /// The 0-based rank of `member` counted from the highest score (ZREVRANK), or nil.
    public func reverseRank(of member: [UInt8]) -> Int? {
        rank(of: member).map { count - 1 - $0 }
    }

    /// Every element in ascending order.
    public var elements: [Element] {
        isEmpty ? [] : elements(inRankRange: 0...(count - 1))
    }
}
