import Testing

@testable import RewindEngine

/// The skiplist's own machinery, below SortedSet's API: the member index (under forced hash
/// collisions, removals and growth), the append path, storage compaction and copy-on-write.
@Suite("SortedSet skiplist internals")
struct SortedSetSkipListTests {
    private typealias SkipList = SortedSet.SkipList

    private static func member(_ number: Int) -> [UInt8] { Array("member:\(number)".utf8) }

    /// Every element of `list` in level-0 order, read through ranks.
    private static func contents(_ list: SkipList) -> [SortedSet.Element] {
        var elements: [SortedSet.Element] = []
        list.forEach(fromIndex: 0, reverse: false) { elements.append($0); return true }
        return elements
    }

    private static func sorted(_ model: [[UInt8]: Double]) -> [SortedSet.Element] {
        model.map { SortedSet.Element(member: $0.key, score: $0.value) }.sorted { SortedSet.precedes($0, $1) }
    }

    @Test("The member index finds every member when all hashes collide in a few buckets, through removals and growth",
          arguments: [UInt32(0), 3])
    func indexUnderCollisions(hashMask: UInt32) {
        // A weak hash (0 or 2 bits) sends every member into the same few probe chains, so lookups
        // depend on the member comparison and removals on the backward shift.
        func weakHash(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { ByteStringHash.hash($0) } & hashMask }
        var list = SkipList()
        var model: [[UInt8]: Double] = [:]
        var random = TestRandom(seed: 11 + UInt64(hashMask))
        for step in 0..<3000 {
            let number = Int.random(in: 0..<400, using: &random)
            let member = Self.member(number)
            let node = member.withUnsafeBytes { list.node(of: $0, hash: weakHash(member)) }
            #expect((node != 0) == (model[member] != nil), "step \(step)")
            if node != 0 {
                #expect(list.pool.score(node) == model[member])
                if Bool.random(using: &random) {
                    list.remove(node: node)
                    model[member] = nil
                } else {
                    let score = Double(Int.random(in: -50...50, using: &random))
                    list.setScore(node: node, to: score)
                    model[member] = score
                }
            } else {
                let score = Double(Int.random(in: -50...50, using: &random))
                member.withUnsafeBytes { list.insert($0, score: score, hash: weakHash(member)) }
                model[member] = score
            }
            #expect(list.count == model.count)
            #expect(list.storage.indexedCount == model.count)
        }
        list._checkInvariants()
        #expect(Self.contents(list) == Self.sorted(model))
        // Every member still reachable, every absent one absent.
        for number in 0..<400 {
            let member = Self.member(number)
            let node = member.withUnsafeBytes { list.node(of: $0, hash: weakHash(member)) }
            #expect((node != 0) == (model[member] != nil))
            if node != 0 { #expect(list.rank(ofNode: node) - 1 == Self.sorted(model).firstIndex { $0.member == member }) }
        }
    }

    @Test("Appending in order gives the same ranks, ranges and links as inserting in random order")
    func appendPathMatchesOrdinaryInserts() {
        var random = TestRandom(seed: 21)
        // Ties on purpose: equal scores order by member bytes.
        let elements = (0..<2000).map { SortedSet.Element(member: Self.member($0), score: Double($0 / 3)) }
            .sorted { SortedSet.precedes($0, $1) }
        var appended = SortedSet(encoding: .skiplist)
        for element in elements { #expect(appended.add(element.member, score: element.score) == .added(score: element.score)) }
        #expect(appended.skipList!.appendPathIsValid)
        var shuffled = SortedSet(encoding: .skiplist)
        for element in elements.shuffled(using: &random) { _ = shuffled.add(element.member, score: element.score) }
        appended._checkInvariants()
        shuffled._checkInvariants()
        #expect(appended.elements == elements)
        #expect(shuffled.elements == elements)
        for (index, element) in elements.enumerated() where index % 37 == 0 {
            #expect(appended.rank(of: element.member) == index)
            #expect(appended.element(atRank: index) == element)
        }
        let range = SortedSetScoreRange(min: 100, minIsExclusive: true, max: 250)
        #expect(appended.elements(inScoreRange: range) == shuffled.elements(inScoreRange: range))
        #expect(appended.elements(inScoreRange: range, reverse: true, offset: 3, limit: 10)
                == shuffled.elements(inScoreRange: range, reverse: true, offset: 3, limit: 10))
        #expect(appended.count(inScoreRange: range) == elements.filter { $0.score > 100 && $0.score <= 250 }.count)
    }

    @Test("The append path survives and recovers from removals, moves and inserts in the middle")
    func appendPathAfterOtherChanges() {
        var random = TestRandom(seed: 31)
        var set = SortedSet(encoding: .skiplist)
        var model: [[UInt8]: Double] = [:]
        var nextScore = 0.0
        for step in 0..<4000 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0...4:
                // Past the tail: the append path (or a descent that re-establishes it).
                nextScore += Double(Int.random(in: 0...2, using: &random))
                let member = Self.member(step)
                _ = set.add(member, score: nextScore)
                model[member] = nextScore
            case 5:
                // Somewhere in the middle.
                let member = Self.member(100_000 + step)
                let score = Double(Int.random(in: 0...Int(nextScore), using: &random))
                _ = set.add(member, score: score)
                model[member] = score
            case 6, 7:
                guard let victim = model.keys.randomElement(using: &random) else { continue }
                #expect(set.remove(victim) == model[victim])
                model[victim] = nil
            default:
                // Moves, some of them to the very end (a move that appends).
                guard let mover = model.keys.randomElement(using: &random) else { continue }
                let score = Bool.random(using: &random) ? nextScore + 1 : Double(Int.random(in: 0...Int(nextScore), using: &random))
                nextScore = Swift.max(nextScore, score)
                _ = set.add(mover, score: score)
                model[mover] = score
            }
            if step % 101 == 0 {
                set._checkInvariants()
                #expect(set.elements == Self.sorted(model), "step \(step)")
            }
        }
        set._checkInvariants()
        #expect(set.elements == Self.sorted(model))
    }

    @Test("Removing most members compacts the storage and keeps every link, rank and lookup")
    func storageCompaction() {
        var set = SortedSet(encoding: .skiplist)
        var model: [[UInt8]: Double] = [:]
        for number in 0..<6000 {
            let member = Self.member(number)
            _ = set.add(member, score: Double(number % 997))
            model[member] = Double(number % 997)
        }
        let wordsBefore = set.skipList!.storage.wordCount
        for number in stride(from: 0, to: 6000, by: 1) where number % 5 != 0 {
            #expect(set.remove(Self.member(number)) == model[Self.member(number)])
            model[Self.member(number)] = nil
        }
        // 4800 nodes of at least 5 words went: more than half the storage, so it was rewritten.
        #expect(set.skipList!.storage.wordCount < wordsBefore / 2)
        set._checkInvariants()
        let expected = Self.sorted(model)
        #expect(set.elements == expected)
        for (index, element) in expected.enumerated() where index % 17 == 0 {
            #expect(set.rank(of: element.member) == index)
            #expect(set.score(of: element.member) == element.score)
        }
        // And it keeps working afterwards: new members reuse freed nodes or append.
        for number in 6000..<6500 {
            _ = set.add(Self.member(number), score: Double(number % 13))
            model[Self.member(number)] = Double(number % 13)
        }
        set._checkInvariants()
        #expect(set.elements == Self.sorted(model))
    }

    @Test("A copy is independent of the original (copy-on-write of the node storage)")
    func copyOnWrite() {
        var original = SortedSet(encoding: .skiplist)
        for number in 0..<300 { _ = original.add(Self.member(number), score: Double(number)) }
        let snapshot = original.elements
        var copy = original
        _ = copy.add(Self.member(5), score: 1000)
        _ = copy.remove(Self.member(6))
        _ = copy.add(Self.member(999), score: -1)
        #expect(original.elements == snapshot)
        #expect(copy.count == 300)
        #expect(copy.score(of: Self.member(5)) == 1000)
        #expect(original.score(of: Self.member(5)) == 5)
        _ = original.remove(Self.member(0))
        #expect(copy.score(of: Self.member(0)) == 0)
        original._checkInvariants()
        copy._checkInvariants()
    }

    @Test("Member equality (word at a time up to 32 bytes, memcmp beyond) sees a difference at every position")
    func memberEquality() {
        for length in 0...40 {
            let member = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 5) }
            member.withUnsafeBytes { left in
                Array(member).withUnsafeBytes { right in #expect(SortedSet.membersEqual(left, right)) }
            }
            for position in 0..<length {
                var other = member
                other[position] ^= 0x40
                member.withUnsafeBytes { left in
                    other.withUnsafeBytes { right in #expect(!SortedSet.membersEqual(left, right), "length \(length) at \(position)") }
                }
            }
            let longer = member + [0]
            member.withUnsafeBytes { left in longer.withUnsafeBytes { right in #expect(!SortedSet.membersEqual(left, right)) } }
        }
    }

    @Test("Members of every length up to several words, empty included, are stored and compared in place")
    func memberLengths() {
        var set = SortedSet(encoding: .skiplist)
        var expected: [SortedSet.Element] = []
        for length in 0..<40 {
            let member = [UInt8](repeating: UInt8(ascii: "x"), count: length) + (length % 2 == 0 ? [] : [0])
            _ = set.add(member, score: 1)
            expected.append(.init(member: member, score: 1))
        }
        expected.sort { SortedSet.precedes($0, $1) }
        set._checkInvariants()
        #expect(set.elements == expected)
        let lex = SortedSetLexRange(min: .inclusive(Array(repeating: UInt8(ascii: "x"), count: 10)), max: .exclusive(Array(repeating: UInt8(ascii: "x"), count: 20)))
        #expect(set.elements(inLexRange: lex) == expected.filter { lex.satisfiesMin($0.member) && lex.satisfiesMax($0.member) })
    }
}
