// An insertion-stable hash map whose iteration order never depends on a hash seed.

import CFutex

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A map from byte-string keys to values that keeps each entry at a stable slot index.
///
/// Why not `Dictionary`: Swift seeds its hashes per process, so iterating a dictionary gives a
/// different order on every run, and KEYS, SCAN, SPOP or active expiry would then differ between a
/// run and its replay. Here every observable order (iteration, SCAN cursors, random picks) is the
/// slot order, which depends only on the sequence of inserts and removals; the hash index below
/// is only ever probed, never iterated, so its seed changes nothing anyone can see.
///
/// A removed entry leaves a hole that the next insert reuses (last freed, first reused). An entry
/// never moves while it stays in the map, so a SCAN that walks slots upwards returns every entry
/// present for the whole scan (Redis's SCAN guarantee). When holes outnumber entries three to one,
/// the slots are compacted and ``generation`` changes; a cursor from an older generation restarts
/// the scan at 0, which may repeat entries (Redis allows that) but never skips one.
///
/// Layout, chosen for memory and speed (measured in docs/ENGINE.md):
/// - each key is stored once, in its slot;
/// - a map of at most ``linearLimit`` slots has no index at all: a lookup compares the few keys
///   (most hashes and sets in real data sets are this small, as Redis's listpack encodings assume);
/// - a bigger map has an open-addressing index of 8-byte buckets (linear probing, backward-shift
///   deletion, load at most 3/4). A bucket holds the key's 32-bit hash and its slot index + 1
///   (0 = empty), so probing compares hashes first and growing never rehashes a key;
struct SlotMap<Value> {
    /// A key and its value, as iteration hands them out (the key copied out of the arena).
    struct Slot {
        var key: [UInt8]
        var value: Value
    }

    /// One slot: where its key is in ``arena``, and its value (nil for a hole).
    private struct Entry {
        var keyOffset: Int
        var keyLength: UInt32
        var value: Value?
    }

    private var entries: [Entry] = []
    private var arena: [UInt8] = []
    /// Bytes of ``arena`` that belong to removed keys.
    private var garbageByteCount = 0
    /// Empty while the map is linear; otherwise a power-of-two count of buckets.
    private var buckets: [UInt64] = []
    private var freeSlotIndexes: [Int32] = []
    private var liveCount: Int32 = 0
    /// Counts compactions, so stale SCAN cursors can be recognised.
    private(set) var generation: UInt32 = 0

    /// Maps with at most this many slots are searched linearly and carry no index.
    static var linearLimit: Int { 8 }

    var count: Int { Int(liveCount) }
    var isEmpty: Bool { liveCount == 0 }
    /// One past the highest slot index in use.
    var slotCount: Int { entries.count }

    // MARK: - Lookup

    func slotIndex(of key: [UInt8]) -> Int? {
        key.withUnsafeBytes { slotIndex(ofBytes: $0) }
    }

    /// The slot of the key whose bytes are `wanted`, or nil.
    func slotIndex(ofBytes wanted: UnsafeRawBufferPointer) -> Int? {
        slotIndex(ofBytes: wanted, hash: nil)
    }

    /// ``slotIndex(ofBytes:)`` with the key's ``ByteStringHash`` when the caller has it already.
    func slotIndex(ofBytes wanted: UnsafeRawBufferPointer, hash knownHash: UInt32?) -> Int? {
        arena.withUnsafeBytes { arenaBytes in
                entries.withUnsafeBufferPointer { entries in
                    if buckets.isEmpty {
                        for index in entries.indices where entries[index].value != nil {
                            if Self.keyEquals(entries[index], wanted, arenaBytes) { return index }
                        }
                        return nil
                    }
                    let hash = knownHash ?? ByteStringHash.hash(wanted)
                    return buckets.withUnsafeBufferPointer { buckets in
                        let mask = buckets.count - 1
                        var position = Int(hash) & mask
                        while true {
                            let bucket = buckets[position]
                            if bucket == 0 { return nil }
                            if UInt32(truncatingIfNeeded: bucket >> 32) == hash {
                                let index = Int(UInt32(truncatingIfNeeded: bucket)) - 1
                                if Self.keyEquals(entries[index], wanted, arenaBytes) { return index }
                            }
                            position = (position + 1) & mask
                        }
                    }
                }
            }
    }

    // MARK: - Reading in place
    //
    // Called on a class's stored property (`database.entries`, a set's `members`), a non-mutating
    // method first copies the whole map: four array references retained and released, about 100
    // instructions a lookup (callgrind: the most frequent copy in replay). A mutating method
    // borrows the property in place instead, and changes nothing here (no write, so no
    // copy-on-write either). The hot paths call these.

    @inline(__always)
    mutating func findSlot(of key: [UInt8]) -> Int? { slotIndex(of: key) }

    @inline(__always)
    mutating func findSlot(ofBytes key: UnsafeRawBufferPointer) -> Int? { slotIndex(ofBytes: key) }

    @inline(__always)
    mutating func valueInPlace(at slotIndex: Int) -> Value? { value(at: slotIndex) }

    @inline(__always)
    mutating func valueInPlace(forKey key: [UInt8]) -> Value? {
        guard let index = slotIndex(of: key) else { return nil }
        return value(at: index)
    }

    @inline(__always)
    mutating func findSlot(ofBytes key: UnsafeRawBufferPointer, hash: UInt32?) -> Int? { slotIndex(ofBytes: key, hash: hash) }

    /// Whether the index is big enough for the lookahead below to do anything.
    var isLargeEnoughToPrefetch: Bool { buckets.count >= 4096 }

    /// Starts loading the index bucket of a key whose ``ByteStringHash`` is `hash` (the first
    /// stage of replay's lookahead). No effect on a small map.
    @inline(__always)
    mutating func prefetchBucket(hash: UInt32) {
        guard buckets.count >= 4096 else { return }
        buckets.withUnsafeBufferPointer { buckets in
            rewind_prefetch(buckets.baseAddress! + (Int(hash) & (buckets.count - 1)))
        }
    }

    /// The second stage: reads the bucket (loaded by ``prefetchBucket(hash:)`` a few entries
    /// earlier) and starts loading the slot it points at and that slot's key bytes. A hash
    /// collision only prefetches a wrong line.
    @inline(__always)
    mutating func prefetchSlot(hash: UInt32) {
        guard let index = likelySlot(hash: hash) else { return }
        entries.withUnsafeBufferPointer { entries in
            guard index < entries.count else { return }
            rewind_prefetch(entries.baseAddress! + index)
        }
    }

    /// For the lookahead: the slot of the first of the first four buckets probed for `hash` whose
    /// stored hash matches (no key compare: a collision only prefetches a wrong line), or nil
    /// (none, or a small map, whose index is not worth it).
    @inline(__always)
    fileprivate mutating func likelySlot(hash: UInt32) -> Int? {
        guard buckets.count >= 4096 else { return nil }
        return buckets.withUnsafeBufferPointer { buckets in
            let mask = buckets.count - 1
            var position = Int(hash) & mask
            for _ in 0..<4 {
                let bucket = buckets[position]
                if bucket == 0 { return nil }
                if UInt32(truncatingIfNeeded: bucket >> 32) == hash { return Int(UInt32(truncatingIfNeeded: bucket)) - 1 }
                position = (position + 1) & mask
            }
            return nil
        }
    }

    @inline(__always)
    private static func keyEquals(_ entry: Entry, _ wanted: UnsafeRawBufferPointer, _ arena: UnsafeRawBufferPointer) -> Bool {
        let length = Int(entry.keyLength)
        guard length == wanted.count else { return false }
        if length == 0 { return true }
        return memcmp(arena.baseAddress! + entry.keyOffset, wanted.baseAddress!, length) == 0
    }

    /// Whether a slot holds an entry.
    func isOccupied(_ slotIndex: Int) -> Bool { entries[slotIndex].value != nil }

    func value(at slotIndex: Int) -> Value? { entries[slotIndex].value }

    func key(at slotIndex: Int) -> [UInt8]? {
        let entry = entries[slotIndex]
        guard entry.value != nil else { return nil }
        return keyBytes(entry)
    }

    func slot(at slotIndex: Int) -> Slot? {
        let entry = entries[slotIndex]
        guard let value = entry.value else { return nil }
        return Slot(key: keyBytes(entry), value: value)
    }

    /// Calls `body` with the bytes of the key at an occupied slot, without copying them out.
    func withKeyBytes<Result>(at slotIndex: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let entry = entries[slotIndex]
        return arena.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[entry.keyOffset..<entry.keyOffset + Int(entry.keyLength)])) }
    }

    private func keyBytes(_ entry: Entry) -> [UInt8] {
        Array(arena[entry.keyOffset..<entry.keyOffset + Int(entry.keyLength)])
    }

    private func keyHash(_ entry: Entry) -> UInt32 {
        arena.withUnsafeBytes { bytes in
            ByteStringHash.hash(UnsafeRawBufferPointer(rebasing: bytes[entry.keyOffset..<entry.keyOffset + Int(entry.keyLength)]))
        }
    }

    subscript(key: [UInt8]) -> Value? {
        guard let index = slotIndex(of: key) else { return nil }
        return entries[index].value
    }

    // MARK: - Writing

    /// Replaces the value of an occupied slot.
    mutating func setValue(_ value: __owned Value, at slotIndex: Int) {
        precondition(entries[slotIndex].value != nil, "setValue on an empty slot")
        entries[slotIndex].value = value
    }

    /// Inserts or replaces; returns the slot index and whether the key was new.
    @discardableResult
    mutating func set(_ value: Value, forKey key: [UInt8]) -> (slotIndex: Int, inserted: Bool) {
        if let index = slotIndex(of: key) {
            entries[index].value = value
            return (index, false)
        }
        return (insertNew(key: key, value: value), true)
    }

    /// Makes room for `count` more entries whose keys total `keyByteCount` bytes, so that filling
    /// a new map from one command (a replayed SADD or HSET with many members) allocates once.
    /// When the map will be past ``linearLimit`` slots, its index is built now at the size it
    /// will need, so the inserts neither build it at the ninth key nor grow it by doubling
    /// (each growth a new array); duplicates among the keys only leave it roomier.
    mutating func reserveCapacity(adding count: Int, keyByteCount: Int) {
        entries.reserveCapacity(entries.count + count)
        arena.reserveCapacity(arena.count + keyByteCount)
        let final = Int(liveCount) + count
        if final > Self.linearLimit {
            var capacity = max(16, buckets.count)
            while final * 4 > capacity * 3 { capacity *= 2 }
            if capacity > buckets.count {
                buckets = Array(repeating: 0, count: capacity)
                for index in entries.indices where entries[index].value != nil {
                    insertIntoIndex(hash: keyHash(entries[index]), slotIndex: index)
                }
            }
        }
    }

    /// Inserts `value` at `key` unless the key is present: the key is hashed once and the index
    /// probed once for both the lookup and the insert (SADD, HSET).
    /// - Returns: The key's slot, and whether it was inserted (false: present, nothing changed).
    @inline(__always)
    mutating func insertIfAbsent(keyBytes key: UnsafeRawBufferPointer, value: __owned Value) -> (slotIndex: Int, inserted: Bool) {
        if buckets.isEmpty {
            if let index = slotIndex(ofBytes: key, hash: 0) { return (index, false) }
            return (insertNew(keyBytes: key, value: value), true)
        }
        let hash = ByteStringHash.hash(key)
        if let index = slotIndex(ofBytes: key, hash: hash) { return (index, false) }
        return (insertNew(keyBytes: key, value: value, hash: hash), true)
    }

    /// Inserts a key known to be absent.
    mutating func insertNew(key: [UInt8], value: Value) -> Int {
        key.withUnsafeBytes { insertNew(keyBytes: $0, value: value) }
    }

    /// Sets `value` at `key`, inserting the key when it is absent (HSET), with one hash and one
    /// probe; returns whether the key was inserted.
    @inline(__always)
    mutating func insertOrAssign(keyBytes key: UnsafeRawBufferPointer, value: __owned Value) -> Bool {
        let hash = buckets.isEmpty ? 0 : ByteStringHash.hash(key)
        if let index = slotIndex(ofBytes: key, hash: hash) {
            entries[index].value = value
            return false
        }
        _ = insertNew(keyBytes: key, value: value, hash: buckets.isEmpty ? nil : hash)
        return true
    }

    /// Inserts a key, given as raw bytes, known to be absent.
    mutating func insertNew(keyBytes key: UnsafeRawBufferPointer, value: __owned Value) -> Int {
        insertNew(keyBytes: key, value: value, hash: nil)
    }

    /// ``insertNew(keyBytes:value:)`` with the key's ``ByteStringHash`` when the caller has it
    /// already (a replay computes it on the reading thread), so the key is not hashed again.
    ///
    /// The value is taken owned (`__owned`): the replay's packed paths build it for this call
    /// only, and a borrowed one cost a retain to store it and a release after, per key and per
    /// hash field.
    mutating func insertNew(keyBytes key: UnsafeRawBufferPointer, value: __owned Value, hash knownHash: UInt32?) -> Int {
        precondition(key.count < Int(UInt32.max), "a key is shorter than 4 GiB")
        let entry = Entry(keyOffset: arena.count, keyLength: UInt32(key.count), value: value)
        // Big maps grow by half instead of doubling: less slack, and a smaller peak while the old
        // and the new buffer are both alive during the copy.
        if arena.count + key.count > arena.capacity {
            if arena.count >= 4096 {
                arena.reserveCapacity((arena.count + key.count) * 3 / 2)
            } else if entries.count < Self.linearLimit {
                // A small map (most sets and hashes) grows to the size it needs, as a listpack
                // is reallocated to its size: doubling left a third of every small arena unused,
                // and in a heap of small chunks unused capacity is resident memory.
                arena.reserveCapacity(arena.count + key.count)
            }
        }
        arena.append(contentsOf: key)
        while let free = freeSlotIndexes.last, Int(free) >= entries.count || entries[Int(free)].value != nil {
            freeSlotIndexes.removeLast()
        }
        let index: Int
        if let free = freeSlotIndexes.popLast() {
            index = Int(free)
            entries[index] = entry
        } else {
            index = entries.count
            precondition(index < Int(UInt32.max) - 1, "a SlotMap holds fewer than 2^32 - 1 entries")
            if entries.count == entries.capacity {
                if entries.count >= 1024 {
                    entries.reserveCapacity(entries.count + entries.count / 2)
                } else if entries.count < Self.linearLimit {
                    // Small maps grow a slot at a time (see the arena above).
                    entries.reserveCapacity(entries.count + 1)
                }
            }
            entries.append(entry)
        }
        liveCount += 1
        if !buckets.isEmpty {
            if Int(liveCount) * 4 > buckets.count * 3 { growIndex() }
            insertIntoIndex(hash: knownHash ?? ByteStringHash.hash(key), slotIndex: index)
        } else if entries.count > Self.linearLimit {
            rebuildIndex()
        }
        return index
    }

    @discardableResult
    mutating func removeValue(forKey key: [UInt8]) -> Value? {
        guard let index = slotIndex(of: key) else { return nil }
        return remove(at: index)
    }

    @discardableResult
    mutating func removeValue(forKeyBytes key: UnsafeRawBufferPointer) -> Value? {
        guard let index = slotIndex(ofBytes: key) else { return nil }
        return remove(at: index)
    }

    /// Empties a slot and returns its value.
    @discardableResult
    mutating func remove(at slotIndex: Int) -> Value? {
        let entry = entries[slotIndex]
        guard let value = entry.value else { return nil }
        if !buckets.isEmpty { removeFromIndex(hash: keyHash(entry), slotIndex: slotIndex) }
        entries[slotIndex] = Entry(keyOffset: 0, keyLength: 0, value: nil)
        garbageByteCount += Int(entry.keyLength)
        liveCount -= 1
        if slotIndex == entries.count - 1 {
            while let last = entries.last, last.value == nil { entries.removeLast() }
        } else {
            freeSlotIndexes.append(Int32(truncatingIfNeeded: slotIndex))
        }
        if liveCount == 0 {
            removeAllKeepingGeneration()
        } else if entries.count > 64 && Int(liveCount) * 4 < entries.count {
            compact()
        } else if garbageByteCount > 4096 && garbageByteCount * 2 > arena.count {
            compactArena()
        }
        return value
    }

    mutating func removeAll() {
        removeAllKeepingGeneration()
        generation &+= 1
    }

    /// ``removeAll()`` that keeps the arrays' capacity when the map is still linear (no index to
    /// clear): a small map emptied and refilled many times allocates nothing.
    mutating func removeAllKeepingSmallCapacity() {
        guard buckets.isEmpty else { return removeAll() }
        entries.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        garbageByteCount = 0
        freeSlotIndexes.removeAll(keepingCapacity: true)
        liveCount = 0
        generation &+= 1
    }

    private mutating func removeAllKeepingGeneration() {
        entries = []
        arena = []
        garbageByteCount = 0
        buckets = []
        freeSlotIndexes = []
        liveCount = 0
    }

    /// Moves every entry down to a dense prefix, in slot order, and starts a new generation.
    private mutating func compact() {
        var dense: [Entry] = []
        dense.reserveCapacity(Int(liveCount))
        for entry in entries where entry.value != nil { dense.append(entry) }
        entries = dense
        freeSlotIndexes = []
        generation &+= 1
        compactArena()
        if entries.count > Self.linearLimit { rebuildIndex() } else { buckets = [] }
    }

    /// Copies the live keys into a new arena, in slot order; slot indexes do not change.
    private mutating func compactArena() {
        var packed: [UInt8] = []
        packed.reserveCapacity(arena.count - garbageByteCount)
        for index in entries.indices where entries[index].value != nil {
            let entry = entries[index]
            let offset = packed.count
            packed.append(contentsOf: arena[entry.keyOffset..<entry.keyOffset + Int(entry.keyLength)])
            entries[index].keyOffset = offset
        }
        arena = packed
        garbageByteCount = 0
    }

    // MARK: - The index

    /// Builds the index from the slots, at a size that leaves room to grow.
    private mutating func rebuildIndex() {
        var capacity = 16
        while Int(liveCount) * 4 > capacity * 3 { capacity *= 2 }
        buckets = Array(repeating: 0, count: capacity)
        for index in entries.indices where entries[index].value != nil {
            insertIntoIndex(hash: keyHash(entries[index]), slotIndex: index)
        }
    }

    /// Doubles the index; the buckets carry their hashes, so no key is rehashed.
    private mutating func growIndex() {
        let old = buckets
        buckets = Array(repeating: 0, count: old.count * 2)
        let mask = buckets.count - 1
        for bucket in old where bucket != 0 {
            var position = Int(UInt32(truncatingIfNeeded: bucket >> 32)) & mask
            while buckets[position] != 0 { position = (position + 1) & mask }
            buckets[position] = bucket
        }
    }

    private mutating func insertIntoIndex(hash: UInt32, slotIndex: Int) {
        let mask = buckets.count - 1
        var position = Int(hash) & mask
        while buckets[position] != 0 { position = (position + 1) & mask }
        buckets[position] = UInt64(hash) << 32 | UInt64(slotIndex + 1)
    }

    /// Removes the bucket pointing at `slotIndex` and shifts its successors back, so lookups
    /// never need tombstones.
    private mutating func removeFromIndex(hash: UInt32, slotIndex: Int) {
        let mask = buckets.count - 1
        let wanted = UInt64(hash) << 32 | UInt64(slotIndex + 1)
        var hole = Int(hash) & mask
        while buckets[hole] != wanted {
            precondition(buckets[hole] != 0, "SlotMap index lost an entry")
            hole = (hole + 1) & mask
        }
        var next = (hole + 1) & mask
        while true {
            let bucket = buckets[next]
            if bucket == 0 { break }
            let home = Int(UInt32(truncatingIfNeeded: bucket >> 32)) & mask
            // Move `bucket` into the hole when the hole lies on its probe path (home ... next).
            if (next &- home) & mask >= (next &- hole) & mask {
                buckets[hole] = bucket
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = 0
    }

    /// The occupied slots in slot order.
    var occupied: some Sequence<Slot> { entries.indices.lazy.compactMap { slot(at: $0) } }

    /// A uniformly drawn slot index when the slots are dense; the first occupied slot after a
    /// random start otherwise. Nil when empty.
    func randomSlotIndex(using random: inout SplitMix64) -> Int? {
        guard liveCount != 0 else { return nil }
        for _ in 0..<32 {
            let index = Int(random.next(below: UInt64(entries.count)))
            if entries[index].value != nil { return index }
        }
        let start = Int(random.next(below: UInt64(entries.count)))
        for offset in 0..<entries.count {
            let index = (start + offset) % entries.count
            if entries[index].value != nil { return index }
        }
        return nil
    }

    // MARK: - SCAN cursors

    private static var generationShift: UInt64 { 40 }
    private static var slotMask: UInt64 { (1 << 40) - 1 }

    /// The slot index a SCAN cursor resumes at; 0 for cursor 0 or a cursor of an older generation.
    func scanStart(cursor: UInt64) -> Int {
        guard cursor != 0 else { return 0 }
        guard cursor >> Self.generationShift == UInt64(generation & 0xFFFF) else { return 0 }
        return Int(cursor & Self.slotMask)
    }

    /// The cursor to return after visiting slots below `nextSlotIndex`; 0 once all were visited.
    func scanCursor(nextSlotIndex: Int) -> UInt64 {
        guard nextSlotIndex < entries.count else { return 0 }
        return (UInt64(generation & 0xFFFF)) << Self.generationShift | UInt64(nextSlotIndex)
    }
}

extension SlotMap where Value == StoredValue {
    /// Sets the value at `slotIndex` (a live slot) to the string `bytes`. When the value there is
    /// a string nothing else shares (no fork holds it) with room for `bytes` and not much more, it
    /// is written over in place: a SET over a string then allocates and frees nothing (the
    /// allocation and the free, on memory last touched long ago, were a tenth of a pipelined SET).
    mutating func setString(_ bytes: UnsafeRawBufferPointer, at slotIndex: Int) {
        var reusable: [UInt8]?
        if case .bytes(let existing)? = entries[slotIndex].value,
           existing.capacity >= bytes.count, existing.capacity <= 2 * bytes.count + 32 {
            reusable = existing
        }
        guard var string = reusable else {
            setValue(.bytes(Array(bytes)), at: slotIndex)
            return
        }
        // `reusable` and the slot let go of their references, so that `string` holds the only one
        // (unless a fork shares it, in which case the writes below copy it, as they must).
        reusable = nil
        entries[slotIndex].value = .integer(0)
        string.removeAll(keepingCapacity: true)
        string.append(contentsOf: bytes)
        entries[slotIndex].value = .bytes(string)
    }

    /// The third stage of replay's lookahead (a command two entries ahead, whose slot the second
    /// stage loaded): starts loading the key's bytes in the arena, which the lookup compares, and
    /// the value's box when it is a collection.
    @inline(__always)
    mutating func prefetchKeyAndValue(hash: UInt32) {
        guard let index = likelySlot(hash: hash), index < entries.count else { return }
        let keyOffset = entries.withUnsafeBufferPointer { $0[index].keyOffset }
        arena.withUnsafeBytes { arena in
            if keyOffset < arena.count { rewind_prefetch(arena.baseAddress! + keyOffset) }
        }
        entries.withUnsafeBufferPointer { entries in
            switch entries[index].value {
            case .list(let box)?: rewind_prefetch(Unmanaged.passUnretained(box).toOpaque())
            case .hash(let box)?: rewind_prefetch(Unmanaged.passUnretained(box).toOpaque())
            case .set(let box)?: rewind_prefetch(Unmanaged.passUnretained(box).toOpaque())
            case .sortedSet(let box)?: rewind_prefetch(Unmanaged.passUnretained(box).toOpaque())
            case .bytes?:
                // The string a SET replaces, whose release reads its header: the payload's first
                // word is the array's storage object. Read as bits, not bound (binding it would
                // retain it, which waits for the very line being prefetched); a wrong guess
                // only prefetches a wrong line, as prefetches never fault.
                guard let offset = MemoryLayout<Entry>.offset(of: \Entry.value) else { break }
                let word = UnsafeRawPointer(entries.baseAddress! + index).load(fromByteOffset: offset, as: UInt.self)
                if let object = UnsafeRawPointer(bitPattern: word & 0x00FF_FFFF_FFFF_FFF0) { rewind_prefetch(object) }
            default: break
            }
        }
    }
}
