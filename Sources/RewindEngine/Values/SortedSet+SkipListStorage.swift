// Memory of the skiplist encoding of SortedSet: one buffer of 64-bit words holding every node
// with its levels and member bytes inline, and an open-addressing member index. See
// SortedSet+SkipList.swift for the algorithms and docs/ENGINE.md for the measurements.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension SortedSet.SkipList {
    /// The buffers of a skiplist, copied as a whole when a shared one is about to change
    /// (``SortedSet/SkipList/makeStorageUnique()``), so the skiplist stays a value.
    ///
    /// **Nodes** live in `words`, each at a word offset (its 32-bit "node" number), laid out as:
    ///
    /// | word | bits 0-31 | bits 32-63 |
    /// | --- | --- | --- |
    /// | 0 | score (the whole word, a `Double`) | |
    /// | 1 | backward node (0: none) | the member's ``ByteStringHash`` |
    /// | 2 | level count (bits 0-7) | member byte count |
    /// | 3 + 2i | forward node of level i (0: none) | span of level i |
    /// | 4 + 2i | the forward node's score (the whole word) | |
    /// | then | member bytes, padded to a word | |
    ///
    /// A descent decides each step from the link alone (the target's score is copied into it) and
    /// loads only the nodes it steps to, whose levels are inline, as Redis's `zskiplistNode` keeps
    /// them; the member is compared in place when scores tie. Offset 0 is the header (32 levels,
    /// no member), so 0 can mean "none" for both links; words 67 ..< 99 keep the append path
    /// (``SortedSet/SkipList/appendPathIsValid``).
    ///
    /// **The member index** is open addressing with linear probing over `buckets`, one word per
    /// bucket: the member's 32-bit hash above the node number, 0 for empty. A lookup compares
    /// hashes before it reads a node, and growing never rehashes a member. It is only probed,
    /// never walked, so its seeded layout is never observable.
    final class Storage: @unchecked Sendable {
        @exclusivity(unchecked) var words: UnsafeMutablePointer<UInt64>
        @exclusivity(unchecked) var wordCapacity: Int
        @exclusivity(unchecked) var wordCount: Int
        @exclusivity(unchecked) var buckets: UnsafeMutablePointer<UInt64>
        /// A power of two.
        @exclusivity(unchecked) var bucketCount: Int
        @exclusivity(unchecked) var indexedCount = 0

        init(wordCapacity: Int, bucketCount: Int) {
            self.wordCapacity = Swift.max(wordCapacity, SortedSet.SkipList.firstNodeOffset)
            words = .allocate(capacity: self.wordCapacity)
            words.initialize(repeating: 0, count: SortedSet.SkipList.firstNodeOffset)
            wordCount = SortedSet.SkipList.firstNodeOffset
            self.bucketCount = bucketCount
            buckets = .allocate(capacity: bucketCount)
            buckets.initialize(repeating: 0, count: bucketCount)
            // The header: every level, no member.
            words[2] = UInt64(SortedSet.SkipList.levelMax)
        }

        private init(copying other: Storage) {
            wordCapacity = other.wordCapacity
            wordCount = other.wordCount
            words = .allocate(capacity: wordCapacity)
            words.initialize(from: other.words, count: wordCount)
            bucketCount = other.bucketCount
            indexedCount = other.indexedCount
            buckets = .allocate(capacity: bucketCount)
            buckets.initialize(from: other.buckets, count: bucketCount)
        }

        func copy() -> Storage { Storage(copying: self) }

        deinit {
            words.deallocate()
            buckets.deallocate()
        }

        /// Appends `count` words (uninitialized: the caller writes them all) and returns the
        /// offset of the first. Grows by half, as SlotMap does.
        func appendWords(_ count: Int) -> UInt32 {
            let offset = wordCount
            let needed = offset + count
            precondition(needed <= Int(UInt32.max), "sorted set storage over 32 GiB")
            if needed > wordCapacity {
                let capacity = Swift.max(needed, wordCapacity + wordCapacity / 2, 256)
                let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
                grown.moveInitialize(from: words, count: wordCount)
                words.deallocate()
                words = grown
                wordCapacity = capacity
            }
            wordCount = needed
            return UInt32(offset)
        }

        // MARK: - Member index

        /// The node whose member is `member` (hashed to `hash`), or 0.
        @inline(__always)
        func find(_ member: UnsafeRawBufferPointer, hash: UInt32) -> UInt32 {
            let mask = bucketCount - 1
            var position = Int(hash) & mask
            let pool = Pool(words)
            while true {
                let entry = buckets[position]
                if entry == 0 { return 0 }
                if UInt32(truncatingIfNeeded: entry >> 32) == hash {
                    let node = UInt32(truncatingIfNeeded: entry)
                    if SortedSet.membersEqual(pool.member(node), member) { return node }
                }
                position = (position + 1) & mask
            }
        }

        /// Indexes a node whose member is not indexed yet.
        func insertIntoIndex(hash: UInt32, node: UInt32) {
            if (indexedCount + 1) * 4 > bucketCount * 3 { resizeIndex(bucketCount: bucketCount * 2) }
            placeInIndex(UInt64(hash) << 32 | UInt64(node))
            indexedCount += 1
        }

        private func placeInIndex(_ entry: UInt64) {
            let mask = bucketCount - 1
            var position = Int(truncatingIfNeeded: entry >> 32) & mask
            while buckets[position] != 0 { position = (position + 1) & mask }
            buckets[position] = entry
        }

        /// Removes the entry of `node` (which must be indexed), shifting the entries after it back
        /// so that no probe sequence breaks (no tombstones).
        func removeFromIndex(hash: UInt32, node: UInt32) {
            let mask = bucketCount - 1
            let entry = UInt64(hash) << 32 | UInt64(node)
            var hole = Int(hash) & mask
            while buckets[hole] != entry {
                precondition(buckets[hole] != 0, "sorted set index lost a member")
                hole = (hole + 1) & mask
            }
            var next = (hole + 1) & mask
            while buckets[next] != 0 {
                let home = Int(truncatingIfNeeded: buckets[next] >> 32) & mask
                // The entry may move into the hole when the hole lies on its probe path.
                if (next &- home) & mask >= (next &- hole) & mask {
                    buckets[hole] = buckets[next]
                    hole = next
                }
                next = (next + 1) & mask
            }
            buckets[hole] = 0
            indexedCount -= 1
        }

        /// Rebuilds the index with `bucketCount` buckets (a power of two) from its own entries.
        func resizeIndex(bucketCount newCount: Int) {
            let old = buckets
            let oldCount = bucketCount
            buckets = .allocate(capacity: newCount)
            buckets.initialize(repeating: 0, count: newCount)
            bucketCount = newCount
            for position in 0..<oldCount where old[position] != 0 { placeInIndex(old[position]) }
            old.deallocate()
        }
    }

    /// The smallest power-of-two bucket count that holds `count` members at most 3/4 full.
    static func bucketCount(for count: Int) -> Int {
        var buckets = 16
        while count * 4 > buckets * 3 { buckets *= 2 }
        return buckets
    }

    /// Typed access to the node words (no bounds checks: node numbers come from the structure
    /// itself, never from input).
    struct Pool {
        let words: UnsafeMutablePointer<UInt64>

        @inline(__always) init(_ words: UnsafeMutablePointer<UInt64>) { self.words = words }

        @inline(__always) func score(_ node: UInt32) -> Double { Double(bitPattern: words[Int(node)]) }
        @inline(__always) func setScore(_ node: UInt32, _ score: Double) { words[Int(node)] = score.bitPattern }

        @inline(__always) func backward(_ node: UInt32) -> UInt32 { UInt32(truncatingIfNeeded: words[Int(node) + 1]) }
        @inline(__always) func setBackward(_ node: UInt32, _ backward: UInt32) {
            words[Int(node) + 1] = (words[Int(node) + 1] & 0xFFFF_FFFF_0000_0000) | UInt64(backward)
        }
        @inline(__always) func hash(_ node: UInt32) -> UInt32 { UInt32(truncatingIfNeeded: words[Int(node) + 1] >> 32) }

        @inline(__always) func levelCount(_ node: UInt32) -> Int { Int(truncatingIfNeeded: words[Int(node) + 2] & 0xFF) }
        @inline(__always) func memberByteCount(_ node: UInt32) -> Int { Int(truncatingIfNeeded: words[Int(node) + 2] >> 32) }

        @inline(__always) func forward(_ node: UInt32, _ level: Int) -> UInt32 {
            UInt32(truncatingIfNeeded: words[Int(node) + 3 + 2 * level])
        }
        @inline(__always) func span(_ node: UInt32, _ level: Int) -> Int {
            Int(truncatingIfNeeded: words[Int(node) + 3 + 2 * level] >> 32)
        }
        /// The score of `forward(node, level)`, kept in the link: a descent decides whether to
        /// step without loading the node it may step to (meaningless when the link is 0).
        @inline(__always) func forwardScore(_ node: UInt32, _ level: Int) -> Double {
            Double(bitPattern: words[Int(node) + 4 + 2 * level])
        }
        @inline(__always) func setForwardScore(_ node: UInt32, _ level: Int, _ score: Double) {
            words[Int(node) + 4 + 2 * level] = score.bitPattern
        }
        @inline(__always) func setLink(_ node: UInt32, _ level: Int, forward: UInt32, span: Int, forwardScore: Double) {
            words[Int(node) + 3 + 2 * level] = UInt64(truncatingIfNeeded: span) << 32 | UInt64(forward)
            words[Int(node) + 4 + 2 * level] = forwardScore.bitPattern
        }
        /// Changes the link's target, keeping its span and its copy of the target's score.
        @inline(__always) func setForwardOnly(_ node: UInt32, _ level: Int, _ forward: UInt32) {
            let index = Int(node) + 3 + 2 * level
            words[index] = (words[index] & 0xFFFF_FFFF_0000_0000) | UInt64(forward)
        }
        @inline(__always) func setSpan(_ node: UInt32, _ level: Int, _ span: Int) {
            let index = Int(node) + 3 + 2 * level
            words[index] = UInt64(truncatingIfNeeded: span) << 32 | (words[index] & 0xFFFF_FFFF)
        }

        @inline(__always) func member(_ node: UInt32) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: words + Int(node) + 3 + 2 * levelCount(node), count: memberByteCount(node))
        }

        /// Words a node with `levelCount` levels and a `memberByteCount`-byte member takes.
        @inline(__always) static func wordCount(levelCount: Int, memberByteCount: Int) -> Int {
            3 + 2 * levelCount + (memberByteCount + 7) / 8
        }

        @inline(__always) func wordCount(_ node: UInt32) -> Int {
            Pool.wordCount(levelCount: levelCount(node), memberByteCount: memberByteCount(node))
        }

        /// Writes a node's fixed words and member; its levels are written when it is linked.
        func initializeNode(_ node: UInt32, score: Double, hash: UInt32, levelCount: Int, member: UnsafeRawBufferPointer) {
            // The length takes 32 bits of a word (arguments are at most 512 MiB; this is the check).
            precondition(member.count <= Int(UInt32.max), "a sorted-set member is shorter than 4 GiB")
            let base = Int(node)
            words[base] = score.bitPattern
            words[base + 1] = UInt64(hash) << 32
            words[base + 2] = UInt64(member.count) << 32 | UInt64(levelCount)
            let memberWords = (member.count + 7) / 8
            if memberWords > 0 {
                let start = words + base + 3 + 2 * levelCount
                start[memberWords - 1] = 0  // the padding
                if let source = member.baseAddress {
                    UnsafeMutableRawPointer(start).copyMemory(from: source, byteCount: member.count)
                }
            }
        }

        /// The append path of level `level`: the last node with that level, and its rank.
        @inline(__always) func appendPath(_ level: Int) -> (node: UInt32, rank: Int) {
            let word = words[SortedSet.SkipList.appendPathOffset + level]
            return (UInt32(truncatingIfNeeded: word), Int(truncatingIfNeeded: word >> 32))
        }
        @inline(__always) func setAppendPath(_ level: Int, node: UInt32, rank: Int) {
            words[SortedSet.SkipList.appendPathOffset + level] = UInt64(truncatingIfNeeded: rank) << 32 | UInt64(node)
        }
    }
}

extension SortedSet {
    /// Member bytes equal (length, then `memcmp`).
    ///
    /// Members of 8 to 32 bytes (most real ones) are compared a word at a time (the last word
    /// overlapping), without a call to `memcmp` (3% of redis-benchmark's ZADD on `rewind serve`).
    @inline(__always)
    static func membersEqual(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        let count = left.count
        guard count == right.count else { return false }
        guard count > 0 else { return true }
        if count >= 8 && count <= 32 {
            var offset = 0
            while offset + 8 < count {
                guard left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                    == right.loadUnaligned(fromByteOffset: offset, as: UInt64.self) else { return false }
                offset += 8
            }
            return left.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                == right.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        return memcmp(left.baseAddress!, right.baseAddress!, count) == 0
    }

    /// Compares member bytes as `memcmp` then length, Redis's `sdscmp`.
    @inline(__always)
    static func compareMembers(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Int {
        let common = Swift.min(left.count, right.count)
        let result = common == 0 ? 0 : memcmp(left.baseAddress!, right.baseAddress!, common)
        if result != 0 { return result < 0 ? -1 : 1 }
        return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
    }
}
