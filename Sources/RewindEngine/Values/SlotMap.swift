// An insertion-stable hash map whose iteration order never depends on Swift's hash seed.

/// A map from byte-string keys to values that keeps each entry at a stable slot index.
///
/// Why not `Dictionary` alone: Swift seeds its hashes per process, so iterating a dictionary gives
/// a different order on every run, and KEYS, SCAN, SPOP or active expiry would then differ between
/// a run and its replay. Here the dictionary only maps a key to its slot; every observable order
/// (iteration, SCAN cursors, random picks) is the slot order, which depends only on the sequence of
/// inserts and removals.
///
/// A removed entry leaves a hole that the next insert reuses (last freed, first reused). An entry
/// never moves while it stays in the map, so a SCAN that walks slots upwards returns every entry
/// present for the whole scan (Redis's SCAN guarantee). When holes outnumber entries three to one,
/// the slots are compacted and ``generation`` changes; a cursor from an older generation restarts
/// the scan at 0, which may repeat entries (Redis allows that) but never skips one.
struct SlotMap<Value> {
    struct Slot {
        var key: [UInt8]
        var value: Value
    }

    private(set) var positions: [[UInt8]: Int32] = [:]
    private(set) var slots: [Slot?] = []
    private var freeSlotIndexes: [Int32] = []
    /// Counts compactions, so stale SCAN cursors can be recognised.
    private(set) var generation: UInt64 = 0

    var count: Int { positions.count }
    var isEmpty: Bool { positions.isEmpty }
    /// One past the highest slot index in use.
    var slotCount: Int { slots.count }

    func slotIndex(of key: [UInt8]) -> Int? {
        positions[key].map(Int.init)
    }

    func value(at slotIndex: Int) -> Value? { slots[slotIndex]?.value }
    func key(at slotIndex: Int) -> [UInt8]? { slots[slotIndex]?.key }
    func slot(at slotIndex: Int) -> Slot? { slots[slotIndex] }

    subscript(key: [UInt8]) -> Value? {
        guard let index = positions[key] else { return nil }
        return slots[Int(index)]?.value
    }

    /// Replaces the value of an occupied slot.
    mutating func setValue(_ value: Value, at slotIndex: Int) {
        precondition(slots[slotIndex] != nil, "setValue on an empty slot")
        slots[slotIndex]!.value = value
    }

    /// Inserts or replaces; returns the slot index and whether the key was new.
    @discardableResult
    mutating func set(_ value: Value, forKey key: [UInt8]) -> (slotIndex: Int, inserted: Bool) {
        if let index = positions[key] {
            slots[Int(index)]!.value = value
            return (Int(index), false)
        }
        return (insertNew(key: key, value: value), true)
    }

    /// Inserts a key known to be absent.
    mutating func insertNew(key: [UInt8], value: Value) -> Int {
        while let free = freeSlotIndexes.last, Int(free) >= slots.count || slots[Int(free)] != nil {
            freeSlotIndexes.removeLast()
        }
        let index: Int
        if let free = freeSlotIndexes.popLast() {
            index = Int(free)
            slots[index] = Slot(key: key, value: value)
        } else {
            index = slots.count
            slots.append(Slot(key: key, value: value))
        }
        positions[key] = Int32(truncatingIfNeeded: index)
        return index
    }

    @discardableResult
    mutating func removeValue(forKey key: [UInt8]) -> Value? {
        guard let index = positions[key] else { return nil }
        return remove(at: Int(index))
    }

    /// Empties a slot and returns its value.
    @discardableResult
    mutating func remove(at slotIndex: Int) -> Value? {
        guard let slot = slots[slotIndex] else { return nil }
        positions[slot.key] = nil
        slots[slotIndex] = nil
        if slotIndex == slots.count - 1 {
            while let last = slots.last, last == nil { slots.removeLast() }
        } else {
            freeSlotIndexes.append(Int32(truncatingIfNeeded: slotIndex))
        }
        if slots.count > 64 && positions.count * 4 < slots.count { compact() }
        return slot.value
    }

    mutating func removeAll() {
        positions = [:]
        slots = []
        freeSlotIndexes = []
        generation &+= 1
    }

    /// Moves every entry down to a dense prefix, in slot order, and starts a new generation.
    private mutating func compact() {
        var dense: [Slot?] = []
        dense.reserveCapacity(positions.count)
        for case let slot? in slots {
            positions[slot.key] = Int32(truncatingIfNeeded: dense.count)
            dense.append(slot)
        }
        slots = dense
        freeSlotIndexes = []
        generation &+= 1
    }

    /// The occupied slots in slot order.
    var occupied: some Sequence<Slot> { slots.lazy.compactMap { $0 } }

    /// A uniformly drawn slot index when the slots are dense; the first occupied slot after a
    /// random start otherwise. Nil when empty.
    func randomSlotIndex(using random: inout SplitMix64) -> Int? {
        guard !positions.isEmpty else { return nil }
        for _ in 0..<32 {
            let index = Int(random.next(below: UInt64(slots.count)))
            if slots[index] != nil { return index }
        }
        let start = Int(random.next(below: UInt64(slots.count)))
        for offset in 0..<slots.count {
            let index = (start + offset) % slots.count
            if slots[index] != nil { return index }
        }
        return nil
    }

    // MARK: - SCAN cursors

    private static var generationShift: UInt64 { 40 }
    private static var slotMask: UInt64 { (1 << 40) - 1 }

    /// The slot index a SCAN cursor resumes at; 0 for cursor 0 or a cursor of an older generation.
    func scanStart(cursor: UInt64) -> Int {
        guard cursor != 0 else { return 0 }
        guard cursor >> Self.generationShift == generation & 0xFFFF else { return 0 }
        return Int(cursor & Self.slotMask)
    }

    /// The cursor to return after visiting slots below `nextSlotIndex`; 0 once all were visited.
    func scanCursor(nextSlotIndex: Int) -> UInt64 {
        guard nextSlotIndex < slots.count else { return 0 }
        return (generation & 0xFFFF) << Self.generationShift | UInt64(nextSlotIndex)
    }
}
