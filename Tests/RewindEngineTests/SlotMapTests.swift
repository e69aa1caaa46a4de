import Testing

@testable import RewindEngine

/// SlotMap against the obvious model (a Dictionary for contents, slot indexes remembered per key),
/// across the linear/indexed boundary, index growth, backward-shift deletion, arena compaction
/// and slot compaction.
@Suite struct SlotMapTests {
    private static func key(_ number: UInt64, length: Int) -> [UInt8] {
        var bytes = Array("k\(number):".utf8)
        while bytes.count < length { bytes.append(UInt8(truncatingIfNeeded: number &* 31 &+ UInt64(bytes.count))) }
        return bytes
    }

    @Test("insertIfAbsent, insertOrAssign and a reserved index leave the same slots as set", arguments: [5 as UInt64, 6, 7])
    func oneProbeInsertsMatchSet(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var reference = SlotMap<Int>()
        var map = SlotMap<Int>()
        let universe = [5, 30, 2_000][Int(seed % 3)]
        for step in 0..<20_000 {
            let number = random.next(below: UInt64(universe))
            let key = Self.key(number, length: Int(number % 41))
            switch random.next(below: 12) {
            case 0:
                // As a replayed SADD/HSET on a new key reserves room (duplicates make it roomier
                // than needed; an index may appear below the linear limit).
                let adding = Int(random.next(below: 40))
                map.reserveCapacity(adding: adding, keyByteCount: adding * 8)
            case 1..<5:
                let inserted = key.withUnsafeBytes { map.insertIfAbsent(keyBytes: $0, value: step) }
                let present = reference.slotIndex(of: key)
                if present == nil { reference.set(step, forKey: key) }
                #expect(inserted.inserted == (present == nil))
                #expect(inserted.slotIndex == reference.slotIndex(of: key))
            case 5..<9:
                let inserted = key.withUnsafeBytes { map.insertOrAssign(keyBytes: $0, value: step) }
                #expect(inserted == reference.set(step, forKey: key).inserted)
            default:
                #expect(map.removeValue(forKey: key) == reference.removeValue(forKey: key))
            }
            if step % 97 == 0 || map.count < 12 {
                let same = Array(map.occupied).map { [$0.key, [UInt8(truncatingIfNeeded: $0.value)]] }
                    == Array(reference.occupied).map { [$0.key, [UInt8(truncatingIfNeeded: $0.value)]] }
                #expect(same, "step \(step): slots differ")
                #expect(map.generation == reference.generation)
                if !same { return }
            }
        }
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4])
    func randomOperationsMatchADictionary(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var map = SlotMap<Int>()
        var model: [[UInt8]: Int] = [:]
        var slotOfKey: [[UInt8]: Int] = [:]
        var generation = map.generation
        // Key universes of different sizes make the map grow past the linear limit, shrink back,
        // and collide; lengths 0...40 cover the hash's word loop and tail.
        let universe = [6, 40, 3_000][Int(seed % 3)]
        for step in 0..<40_000 {
            let number = random.next(below: UInt64(universe))
            let key = Self.key(number, length: Int(number % 41))
            switch random.next(below: 10) {
            case 0..<5:
                let value = step
                let (slot, inserted) = map.set(value, forKey: key)
                #expect(inserted == (model[key] == nil))
                if !inserted { #expect(slot == slotOfKey[key]) }
                model[key] = value
                slotOfKey[key] = slot
            case 5..<9:
                let removed = map.removeValue(forKey: key)
                #expect(removed == model.removeValue(forKey: key))
                slotOfKey[key] = nil
            default:
                #expect(map[key] == model[key])
            }
            if map.generation != generation {
                // A compaction renumbered the slots: relearn them.
                generation = map.generation
                for modelKey in model.keys { slotOfKey[modelKey] = map.slotIndex(of: modelKey) }
            }
            if step % 997 == 0 || map.count < 12 {
                #expect(map.count == model.count)
                for (modelKey, value) in model {
                    // An entry never moves while it stays (the SCAN guarantee) within a generation.
                    #expect(map.slotIndex(of: modelKey) == slotOfKey[modelKey])
                    #expect(map[modelKey] == value)
                }
                let iterated = Array(map.occupied)
                #expect(iterated.count == model.count)
                #expect(Set(iterated.map(\.key)) == Set(model.keys))
            }
        }
    }

    @Test func emptyKeysAndKeysThatDifferOnlyInTheTailAreDistinct() {
        var map = SlotMap<Int>()
        let keys: [[UInt8]] = [[], [0], [0, 0], Array(repeating: 7, count: 8), Array(repeating: 7, count: 9),
                               Array(repeating: 7, count: 8) + [0], Array(repeating: 0, count: 16)]
        for _ in 0..<3 {
            for (index, key) in keys.enumerated() { map.set(index, forKey: key) }
            // Past the linear limit with filler keys, the same answers must come from the index.
            for filler in 0..<20 { map.set(-1, forKey: Array("filler\(filler)".utf8)) }
        }
        for (index, key) in keys.enumerated() { #expect(map[key] == index) }
        #expect(map.count == keys.count + 20)
    }

    @Test func removingEveryKeyEmptiesTheMapAndItStaysUsable() {
        var map = SlotMap<Void>()
        for round in 0..<3 {
            for number in 0..<500 { _ = map.insertNew(key: Array("m\(number)".utf8), value: ()) }
            #expect(map.count == 500, "round \(round)")
            for number in stride(from: 499, through: 0, by: -1) {
                #expect(map.removeValue(forKey: Array("m\(number)".utf8)) != nil)
            }
            #expect(map.isEmpty && map.slotCount == 0)
            #expect(map.slotIndex(of: Array("m1".utf8)) == nil)
        }
    }

    @Test func iterationOrderIsSlotOrderIndependentOfTheHashSeed() {
        // Slot order depends only on the operations: the first insert takes slot 0, a freed slot
        // is reused last-freed-first.
        var map = SlotMap<Int>()
        for number in 0..<20 { map.set(number, forKey: Array("key\(number)".utf8)) }
        map.removeValue(forKey: Array("key3".utf8))
        map.removeValue(forKey: Array("key7".utf8))
        map.set(100, forKey: Array("new-a".utf8))
        map.set(101, forKey: Array("new-b".utf8))
        #expect(map.key(at: 7) == Array("new-a".utf8))
        #expect(map.key(at: 3) == Array("new-b".utf8))
        #expect(Array(map.occupied.map(\.value)) == [0, 1, 2, 101, 4, 5, 6, 100] + Array(8..<20))
    }
}
