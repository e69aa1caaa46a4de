// The skiplist encoding of SortedSet: Redis 7.0's zskiplist (src/t_zset.c, zsl*), with spans so
// that rank and element-at-rank are O(log n). Nodes live in one copy-on-write buffer of words
// (SortedSet+SkipListStorage.swift) with their levels and member bytes inline, found by member
// through an open-addressing index in the same storage.

extension SortedSet {
    /// A skiplist with spans over (score, member), plus a member index.
    ///
    /// Node 0 is the header, which has ``levelMax`` levels and no element; node numbers are word
    /// offsets in ``Storage``, and 0 as a link means none. A level's `span` is the number of
    /// level-0 steps its forward link jumps (for the last link of a level, the steps to the end),
    /// which is what makes ranks computable while descending.
    ///
    /// **Appending.** A member that sorts after the tail (the compactor writes big sets in order,
    /// and a conversion from the compact encoding inserts in order) reuses the path of the last
    /// such append, so building n members in order is O(n) instead of O(n log n). The path is
    /// kept in the header's storage and dropped by any other change to the links.
    struct SkipList: Sendable {
        /// Redis's `ZSKIPLIST_MAXLEVEL`: enough for 2^64 elements at p = 1/4.
        static let levelMax = 32
        /// Where the append path is stored: one word per level after the header node.
        static let appendPathOffset = 3 + 2 * levelMax
        /// The first word after the header and the append path.
        static let firstNodeOffset = appendPathOffset + levelMax
        /// Removed nodes of fewer words than this are reused by size; larger ones wait for a compaction.
        static let freeListCount = 64

        var storage: Storage
        var tail: UInt32 = 0
        var count = 0
        /// Levels in use, at least 1.
        var level = 1
        /// State of the per-instance level generator (SplitMix64). Fixed seed: levels only
        /// affect speed, and a fixed seed keeps even that reproducible.
        var randomState: UInt64 = 0x5EED_2E71_0D5E_7000
        /// Words of removed nodes not reused yet; past half the storage, the nodes are copied
        /// into a new buffer in order (``compactStorage()``).
        var garbageWordCount = 0
        /// Removed nodes by word count, reused last-freed-first.
        var freeNodes: [[UInt32]] = []
        /// True when the stored append path is that of the current tail.
        var appendPathIsValid = false

        /// An empty skiplist with room for about `capacity` members.
        init(reservingCapacity capacity: Int = 0) {
            storage = Storage(wordCapacity: SkipList.firstNodeOffset + capacity * 8,
                              bucketCount: SkipList.bucketCount(for: capacity))
        }

        @inline(__always) var pool: Pool { Pool(storage.words) }

        /// Copies the storage when another skiplist value shares it, before a change.
        @inline(__always)
        mutating func makeStorageUnique() {
            if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        }

        /// The node holding `member`, or 0.
        @inline(__always)
        func node(of member: UnsafeRawBufferPointer, hash: UInt32) -> UInt32 { storage.find(member, hash: hash) }

        func score(of member: UnsafeRawBufferPointer) -> Double? {
            let node = storage.find(member, hash: ByteStringHash.hash(member))
            return node == 0 ? nil : pool.score(node)
        }

        /// A level from 1 to 32 with P(level > k) = 4^-k (Redis `zslRandomLevel`, p = 0.25).
        /// With the target's score in each link, p = 1/2 should need fewer node loads a descent
        /// (1.44 ln n against 2.16 ln n steps taken), but `rewind-engine-bench zadd` measured no
        /// difference (1041-1373 against 1055-1501 ns a ZADD, ten alternating runs), and p = 1/4
        /// keeps a node 1.33 levels (10.7 bytes) smaller on average.
        mutating func randomLevel() -> Int {
            randomState &+= 0x9E37_79B9_7F4A_7C15
            var z = randomState
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            // Each pair of bits is 0 with probability 1/4: count trailing zero pairs.
            return Swift.min(SkipList.levelMax, 1 + z.trailingZeroBitCount / 2)
        }

        /// Descends from the header and records, at each level, the last node before
        /// (score, member) in `update` and, with `rank`, that node's rank.
        @inline(__always)
        private func findPredecessors(score: Double, member: UnsafeRawBufferPointer,
                                      update: UnsafeMutablePointer<UInt32>, rank: UnsafeMutablePointer<Int>?) {
            let pool = self.pool
            var current: UInt32 = 0
            var traversed = 0
            var levelIndex = level - 1
            while levelIndex >= 0 {
                while true {
                    let forward = pool.forward(current, levelIndex)
                    guard forward != 0 else { break }
                    let forwardScore = pool.forwardScore(current, levelIndex)
                    guard forwardScore < score
                        || (forwardScore == score && SortedSet.compareMembers(pool.member(forward), member) < 0) else { break }
                    traversed += pool.span(current, levelIndex)
                    current = forward
                }
                update[levelIndex] = current
                rank?[levelIndex] = traversed
                levelIndex -= 1
            }
        }

        /// The insertion path of (score, member), from the stored append path when it goes after
        /// the tail and that path is current, otherwise by descending. True when it goes after the tail.
        @inline(__always)
        private func insertionPath(score: Double, member: UnsafeRawBufferPointer,
                                   update: UnsafeMutablePointer<UInt32>, rank: UnsafeMutablePointer<Int>) -> Bool {
            let pool = self.pool
            let isAppend = tail == 0 || pool.score(tail) < score
                || (pool.score(tail) == score && SortedSet.compareMembers(pool.member(tail), member) < 0)
            if isAppend && appendPathIsValid {
                for levelIndex in 0..<level {
                    let (node, nodeRank) = pool.appendPath(levelIndex)
                    update[levelIndex] = node
                    rank[levelIndex] = nodeRank
                }
                return true
            }
            findPredecessors(score: score, member: member, update: update, rank: rank)
            return isAppend
        }

        /// Inserts a member known to be absent (Redis `zslInsert`); `hash` is its ``ByteStringHash``.
        mutating func insert(_ member: UnsafeRawBufferPointer, score: Double, hash: UInt32) {
            makeStorageUnique()
            // Scratch arrays on the stack: an insert must not allocate beyond the node itself.
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: SkipList.levelMax) { update in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: SkipList.levelMax) { rank in
                    let update = update.baseAddress!, rank = rank.baseAddress!
                    let isAppend = insertionPath(score: score, member: member, update: update, rank: rank)
                    let newLevel = randomLevel()
                    let node = allocateNode(wordCount: Pool.wordCount(levelCount: newLevel, memberByteCount: member.count))
                    pool.initializeNode(node, score: score, hash: hash, levelCount: newLevel, member: member)
                    link(node, levelCount: newLevel, update: update, rank: rank)
                    storage.insertIntoIndex(hash: hash, node: node)
                    finishLink(node, levelCount: newLevel, isAppend: isAppend, update: update, rank: rank)
                }
            }
        }

        /// Links `node` after the path (the second half of Redis `zslInsert`).
        private mutating func link(_ node: UInt32, levelCount newLevel: Int,
                                   update: UnsafeMutablePointer<UInt32>, rank: UnsafeMutablePointer<Int>) {
            let pool = self.pool
            if newLevel > level {
                for levelIndex in level..<newLevel {
                    rank[levelIndex] = 0
                    update[levelIndex] = 0
                    pool.setLink(0, levelIndex, forward: 0, span: count, forwardScore: 0)
                }
                level = newLevel
            }
            let score = pool.score(node)
            for levelIndex in 0..<newLevel {
                let previous = update[levelIndex]
                let previousSpan = pool.span(previous, levelIndex)
                pool.setLink(node, levelIndex, forward: pool.forward(previous, levelIndex),
                             span: previousSpan - (rank[0] - rank[levelIndex]),
                             forwardScore: pool.forwardScore(previous, levelIndex))
                pool.setLink(previous, levelIndex, forward: node, span: rank[0] - rank[levelIndex] + 1, forwardScore: score)
            }
            for levelIndex in newLevel..<level {
                pool.setSpan(update[levelIndex], levelIndex, pool.span(update[levelIndex], levelIndex) + 1)
            }
            pool.setBackward(node, update[0])
            let next = pool.forward(node, 0)
            if next != 0 { pool.setBackward(next, node) } else { tail = node }
            count += 1
        }

        /// Stores the append path after an append, or marks it stale after any other insert.
        @inline(__always)
        private mutating func finishLink(_ node: UInt32, levelCount: Int, isAppend: Bool,
                                         update: UnsafeMutablePointer<UInt32>, rank: UnsafeMutablePointer<Int>) {
            guard isAppend else {
                appendPathIsValid = false
                return
            }
            let pool = self.pool
            let nodeRank = rank[0] + 1
            for levelIndex in 0..<level {
                if levelIndex < levelCount {
                    pool.setAppendPath(levelIndex, node: node, rank: nodeRank)
                } else {
                    pool.setAppendPath(levelIndex, node: update[levelIndex], rank: rank[levelIndex])
                }
            }
            appendPathIsValid = true
        }

        /// Unlinks `node`, whose predecessors are in `update` (Redis `zslDeleteNode`).
        private mutating func unlink(_ node: UInt32, update: UnsafeMutablePointer<UInt32>) {
            let pool = self.pool
            for levelIndex in 0..<level {
                let previous = update[levelIndex]
                if pool.forward(previous, levelIndex) == node {
                    pool.setLink(previous, levelIndex, forward: pool.forward(node, levelIndex),
                                 span: pool.span(previous, levelIndex) + pool.span(node, levelIndex) - 1,
                                 forwardScore: pool.forwardScore(node, levelIndex))
                } else {
                    pool.setSpan(previous, levelIndex, pool.span(previous, levelIndex) - 1)
                }
            }
            let next = pool.forward(node, 0)
            if next != 0 { pool.setBackward(next, pool.backward(node)) } else { tail = pool.backward(node) }
            while level > 1 && pool.forward(0, level - 1) == 0 { level -= 1 }
            count -= 1
            appendPathIsValid = false
        }

        /// Removes a linked node (Redis `zslDelete`) and its index entry.
        mutating func remove(node: UInt32) {
            makeStorageUnique()
            let pool = self.pool
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: SkipList.levelMax) { update in
                let update = update.baseAddress!
                findPredecessors(score: pool.score(node), member: pool.member(node), update: update, rank: nil)
                precondition(pool.forward(update[0], 0) == node, "removing an unlinked sorted set node")
                unlink(node, update: update)
            }
            storage.removeFromIndex(hash: pool.hash(node), node: node)
            if count == 0 {
                // Release the storage too, so an emptied set does not hold its peak memory.
                self = SkipList()
                return
            }
            freeNode(node, wordCount: pool.wordCount(node))
        }

        /// Changes a linked node's score (Redis `zslUpdateScore`): in place when the node keeps
        /// its position (checked first, so that case needs no descent), otherwise one descent to
        /// unlink it and one to link the same node, with the same levels, where it now goes.
        mutating func setScore(node: UInt32, to newScore: Double) {
            makeStorageUnique()
            let pool = self.pool
            let member = pool.member(node)
            let backward = pool.backward(node)
            let forward = pool.forward(node, 0)
            let staysAfterBackward = backward == 0 || pool.score(backward) < newScore
                || (pool.score(backward) == newScore && SortedSet.compareMembers(pool.member(backward), member) < 0)
            let forwardScore = pool.forwardScore(node, 0)
            let staysBeforeForward = forward == 0 || forwardScore > newScore
                || (forwardScore == newScore && SortedSet.compareMembers(pool.member(forward), member) > 0)
            let levelCount = pool.levelCount(node)
            if staysAfterBackward && staysBeforeForward {
                // The links to the node keep copies of its score: its level-0 predecessor is the
                // backward node (or the header); taller nodes need their predecessors found.
                if levelCount == 1 {
                    pool.setForwardScore(backward, 0, newScore)
                } else {
                    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: SkipList.levelMax) { update in
                        let update = update.baseAddress!
                        findPredecessors(score: pool.score(node), member: member, update: update, rank: nil)
                        for levelIndex in 0..<levelCount { pool.setForwardScore(update[levelIndex], levelIndex, newScore) }
                    }
                }
                pool.setScore(node, newScore)
                return
            }
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: SkipList.levelMax) { update in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: SkipList.levelMax) { rank in
                    let update = update.baseAddress!, rank = rank.baseAddress!
                    findPredecessors(score: pool.score(node), member: member, update: update, rank: nil)
                    unlink(node, update: update)
                    pool.setScore(node, newScore)
                    let isAppend = insertionPath(score: newScore, member: member, update: update, rank: rank)
                    link(node, levelCount: levelCount, update: update, rank: rank)
                    finishLink(node, levelCount: levelCount, isAppend: isAppend, update: update, rank: rank)
                }
            }
        }

        // MARK: - Node memory

        private mutating func allocateNode(wordCount: Int) -> UInt32 {
            if wordCount < freeNodes.count, let reused = freeNodes[wordCount].popLast() {
                garbageWordCount -= wordCount
                return reused
            }
            return storage.appendWords(wordCount)
        }

        private mutating func freeNode(_ node: UInt32, wordCount: Int) {
            garbageWordCount += wordCount
            if wordCount < SkipList.freeListCount {
                if freeNodes.isEmpty { freeNodes = Array(repeating: [], count: SkipList.freeListCount) }
                freeNodes[wordCount].append(node)
            }
            if garbageWordCount >= 4096 && garbageWordCount * 2 > storage.wordCount { compactStorage() }
        }

        /// Copies the linked nodes into a new buffer in level-0 order (which also puts neighbours
        /// next to each other) and rebuilds the index; node numbers change.
        mutating func compactStorage() {
            let old = storage
            let fresh = Storage(wordCapacity: old.wordCount - garbageWordCount, bucketCount: SkipList.bucketCount(for: count))
            fresh.words.update(from: old.words, count: SkipList.firstNodeOffset)
            let oldPool = Pool(old.words)
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: SkipList.levelMax) { last in
                last.initialize(repeating: 0)
                var node = oldPool.forward(0, 0)
                var previous: UInt32 = 0
                while node != 0 {
                    let wordCount = oldPool.wordCount(node)
                    let moved = fresh.appendWords(wordCount)
                    (fresh.words + Int(moved)).update(from: old.words + Int(node), count: wordCount)
                    let pool = Pool(fresh.words)
                    pool.setBackward(moved, previous)
                    for levelIndex in 0..<pool.levelCount(moved) {
                        pool.setForwardOnly(last[levelIndex], levelIndex, moved)
                        last[levelIndex] = moved
                    }
                    fresh.insertIntoIndex(hash: pool.hash(moved), node: moved)
                    previous = moved
                    node = oldPool.forward(node, 0)
                }
                let pool = Pool(fresh.words)
                for levelIndex in 0..<SkipList.levelMax { pool.setForwardOnly(last[levelIndex], levelIndex, 0) }
                tail = previous
            }
            storage = fresh
            garbageWordCount = 0
            freeNodes = []
            appendPathIsValid = false
        }

        // MARK: - Reading

        /// The node at a 0-based index (Redis `zslGetElementByRank` with rank = index + 1), or 0.
        func node(atIndex index: Int) -> UInt32 {
            let pool = self.pool
            let targetRank = index + 1
            var traversed = 0
            var current: UInt32 = 0
            for levelIndex in stride(from: level - 1, through: 0, by: -1) {
                while true {
                    let forward = pool.forward(current, levelIndex)
                    guard forward != 0, traversed + pool.span(current, levelIndex) <= targetRank else { break }
                    traversed += pool.span(current, levelIndex)
                    current = forward
                }
                if traversed == targetRank { return current }
            }
            return 0
        }

        @inline(__always)
        func element(atNode node: UInt32) -> Element {
            Element(member: Array(pool.member(node)), score: pool.score(node))
        }

        func element(atIndex index: Int) -> Element? {
            let node = node(atIndex: index)
            return node == 0 ? nil : element(atNode: node)
        }

        /// The 1-based rank of a linked node (Redis `zslGetRank`).
        func rank(ofNode node: UInt32) -> Int {
            let pool = self.pool
            let score = pool.score(node)
            let member = pool.member(node)
            var rank = 0
            var current: UInt32 = 0
            for levelIndex in stride(from: level - 1, through: 0, by: -1) {
                while true {
                    let forward = pool.forward(current, levelIndex)
                    guard forward != 0 else { break }
                    if forward == node { return rank + pool.span(current, levelIndex) }
                    let forwardScore = pool.forwardScore(current, levelIndex)
                    guard forwardScore < score
                        || (forwardScore == score && SortedSet.compareMembers(pool.member(forward), member) < 0) else { break }
                    rank += pool.span(current, levelIndex)
                    current = forward
                }
            }
            preconditionFailure("rank of an unlinked sorted set node")
        }

        /// The number of leading elements for which `isBelow` holds, found by descending as
        /// Redis's `zslFirstInRange` does; with a monotone predicate this is a partition point.
        func countLeading(while isBelow: (Double, UnsafeRawBufferPointer) -> Bool) -> Int {
            let pool = self.pool
            var rank = 0
            var current: UInt32 = 0
            for levelIndex in stride(from: level - 1, through: 0, by: -1) {
                while true {
                    let forward = pool.forward(current, levelIndex)
                    guard forward != 0, isBelow(pool.forwardScore(current, levelIndex), pool.member(forward)) else { break }
                    rank += pool.span(current, levelIndex)
                    current = forward
                }
            }
            return rank
        }

        /// Visits elements from a 0-based index, forward or backward, until `body` returns false.
        func forEach(fromIndex index: Int, reverse: Bool, _ body: (Element) -> Bool) {
            let pool = self.pool
            var current = node(atIndex: index)
            while current != 0 {
                guard body(element(atNode: current)) else { return }
                current = reverse ? pool.backward(current) : pool.forward(current, 0)
            }
        }
    }
}
