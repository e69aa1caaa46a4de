// The skiplist encoding of SortedSet: Redis 7.0's zskiplist (src/t_zset.c, zsl*), with spans so
// that rank and element-at-rank are O(log n), stored in arrays with integer links instead of
// pointers so that the whole structure is a copy-on-write value.

extension SortedSet {
    /// A skiplist with spans over (score, member), plus a member-to-node dictionary.
    ///
    /// Node 0 is the header, which has ``levelMax`` levels and no element. Links are node
    /// indexes, `-1` meaning none; freed nodes are reused through `freeNodeIndexes`. A level's
    /// `span` is the number of level-0 steps its forward link jumps, which is what makes ranks
    /// computable while descending.
    struct SkipList: Sendable {
        /// Redis's `ZSKIPLIST_MAXLEVEL`: enough for 2^64 elements at p = 1/4.
        static let levelMax = 32

        /// One level of a node: where it links and how many level-0 steps that skips. Stored as
        /// 32-bit numbers (a sorted set holds fewer than 2^31 members: each costs far more than
        /// 2^31 bytes' worth of memory before that), read and written as `Int`.
        struct Level: Sendable {
            var storedForward: Int32 = -1
            var storedSpan: Int32 = 0

            init() {}

            var forward: Int {
                get { Int(storedForward) }
                set { storedForward = Int32(newValue) }
            }
            var span: Int {
                get { Int(storedSpan) }
                set { storedSpan = Int32(newValue) }
            }
        }

        /// A node's levels: the first two inside the node, the rest (a node has more than two
        /// with probability 1/16) in an array. With every level in a separate array, each step
        /// of a descent was two cache misses (the node for its score, then its levels); with the
        /// usual levels inline a `Node` is 56 bytes and a step is one (Redis's `zskiplistNode`
        /// keeps its levels inline for the same reason).
        struct Levels: Sendable {
            private var first = Level()
            private var second = Level()
            private var rest: [Level] = []
            private(set) var count: Int

            init(count: Int) {
                self.count = count
                if count > 2 { rest = Array(repeating: Level(), count: count - 2) }
            }

            subscript(index: Int) -> Level {
                get {
                    precondition(index >= 0 && index < count, "skiplist level out of range")
                    switch index {
                    case 0: return first
                    case 1: return second
                    default: return rest[index - 2]
                    }
                }
                set {
                    precondition(index >= 0 && index < count, "skiplist level out of range")
                    switch index {
                    case 0: first = newValue
                    case 1: second = newValue
                    default: rest[index - 2] = newValue
                    }
                }
            }
        }

        struct Node: Sendable {
            var member: [UInt8]
            var score: Double
            var backward: Int = -1
            var levels: Levels
        }

        var nodes: [Node] = [Node(member: [], score: 0, levels: Levels(count: levelMax))]
        var freeNodeIndexes: [Int] = []
        /// Member to node; hashed a word at a time (``ByteKey``), never iterated.
        var nodeIndexByMember: [ByteKey: Int] = [:]
        var tail = -1
        var count = 0
        /// Levels in use, at least 1.
        var level = 1
        /// State of the per-instance level generator (SplitMix64). Fixed seed: levels only
        /// affect speed, and a fixed seed keeps even that reproducible.
        var randomState: UInt64 = 0x5EED_2E71_0D5E_7000

        func score(of member: [UInt8]) -> Double? {
            nodeIndexByMember[ByteKey(member)].map { nodes[$0].score }
        }

        /// A level from 1 to 32 with P(level > k) = 4^-k (Redis `zslRandomLevel`, p = 0.25).
        mutating func randomLevel() -> Int {
            randomState &+= 0x9E37_79B9_7F4A_7C15
            var z = randomState
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            // Each pair of bits is 0 with probability 1/4: count leading zero pairs.
            return Swift.min(SkipList.levelMax, 1 + z.trailingZeroBitCount / 2)
        }

        /// Descends from the header and records, at each level, the last node before
        /// (score, member) in `update` and, with `rank`, that node's rank. The walk reads the
        /// nodes through an unsafe buffer: copying a `Node` out of `nodes` at each step retained and
        /// released its member and level arrays (in a profile of the 5M-command replay the
        /// skiplist's insert and remove were 15% of the samples, half of it reference counting).
        @inline(__always)
        private func findPredecessors(score: Double, member: [UInt8], update: UnsafeMutableBufferPointer<Int>,
                                      rank: UnsafeMutableBufferPointer<Int>?) {
            let level = level
            nodes.withUnsafeBufferPointer { nodes in
                var current = 0
                for levelIndex in stride(from: level - 1, through: 0, by: -1) {
                    if let rank { rank[levelIndex] = levelIndex == level - 1 ? 0 : rank[levelIndex + 1] }
                    while true {
                        let step = nodes[current].levels[levelIndex]
                        let forward = step.forward
                        guard forward >= 0 else { break }
                        let forwardScore = nodes[forward].score
                        guard forwardScore < score
                            || (forwardScore == score && SortedSet.compareMembers(nodes[forward].member, member) < 0) else { break }
                        if let rank { rank[levelIndex] += step.span }
                        current = forward
                    }
                    update[levelIndex] = current
                }
            }
        }

        /// Inserts a member known to be absent (Redis `zslInsert`).
        mutating func insert(_ member: [UInt8], score: Double) {
            // Scratch arrays on the stack: an insert must not allocate beyond the node itself.
            withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * SkipList.levelMax) { scratch in
                scratch.initialize(repeating: 0)
                insert(member, score: score,
                       update: UnsafeMutableBufferPointer(rebasing: scratch[0..<SkipList.levelMax]),
                       rank: UnsafeMutableBufferPointer(rebasing: scratch[SkipList.levelMax...]))
            }
        }

        private mutating func insert(_ member: [UInt8], score: Double, update: UnsafeMutableBufferPointer<Int>,
                                     rank: UnsafeMutableBufferPointer<Int>) {
            findPredecessors(score: score, member: member, update: update, rank: rank)
            let newLevel = randomLevel()
            if newLevel > level {
                for levelIndex in level..<newLevel {
                    rank[levelIndex] = 0
                    update[levelIndex] = 0
                    nodes[0].levels[levelIndex].span = count
                }
                level = newLevel
            }
            let node = Node(member: member, score: score, levels: Levels(count: newLevel))
            let nodeIndex: Int
            if let reused = freeNodeIndexes.popLast() {
                nodeIndex = reused
                nodes[reused] = node
            } else {
                nodeIndex = nodes.count
                nodes.append(node)
            }
            for levelIndex in 0..<newLevel {
                let previous = update[levelIndex]
                nodes[nodeIndex].levels[levelIndex].forward = nodes[previous].levels[levelIndex].forward
                nodes[previous].levels[levelIndex].forward = nodeIndex
                nodes[nodeIndex].levels[levelIndex].span =
                    nodes[previous].levels[levelIndex].span - (rank[0] - rank[levelIndex])
                nodes[previous].levels[levelIndex].span = rank[0] - rank[levelIndex] + 1
            }
            if newLevel < level {
                for levelIndex in newLevel..<level { nodes[update[levelIndex]].levels[levelIndex].span += 1 }
            }
            nodes[nodeIndex].backward = update[0] == 0 ? -1 : update[0]
            let next = nodes[nodeIndex].levels[0].forward
            if next >= 0 { nodes[next].backward = nodeIndex } else { tail = nodeIndex }
            count += 1
            nodeIndexByMember[ByteKey(member)] = nodeIndex
        }

        /// Removes a present member (Redis `zslDelete` + `zslDeleteNode`). With `keepsIndexEntry`
        /// the member's dictionary entry stays, for an insert that follows at once (a score
        /// change): a Dictionary delete and insert cost more than the skiplist moves themselves.
        mutating func remove(_ member: [UInt8], score: Double, keepsIndexEntry: Bool = false) {
            withUnsafeTemporaryAllocation(of: Int.self, capacity: SkipList.levelMax) { update in
                update.initialize(repeating: 0)
                remove(member, score: score, update: update, keepsIndexEntry: keepsIndexEntry)
            }
        }

        private mutating func remove(_ member: [UInt8], score: Double, update: UnsafeMutableBufferPointer<Int>,
                                     keepsIndexEntry: Bool) {
            findPredecessors(score: score, member: member, update: update, rank: nil)
            let target = nodes[update[0]].levels[0].forward
            guard target >= 0, nodes[target].member == member else {
                assertionFailure("removing an absent member")
                return
            }
            for levelIndex in 0..<level {
                let previous = update[levelIndex]
                if nodes[previous].levels[levelIndex].forward == target {
                    nodes[previous].levels[levelIndex].span += nodes[target].levels[levelIndex].span - 1
                    nodes[previous].levels[levelIndex].forward = nodes[target].levels[levelIndex].forward
                } else {
                    nodes[previous].levels[levelIndex].span -= 1
                }
            }
            let next = nodes[target].levels[0].forward
            if next >= 0 { nodes[next].backward = nodes[target].backward } else { tail = nodes[target].backward }
            while level > 1 && nodes[0].levels[level - 1].forward < 0 { level -= 1 }
            count -= 1
            if !keepsIndexEntry { nodeIndexByMember[ByteKey(member)] = nil }
            nodes[target] = Node(member: [], score: 0, levels: Levels(count: 0))
            freeNodeIndexes.append(target)
            if count == 0 {
                // Release the free list too, so an emptied set does not hold its peak memory.
                nodes.removeSubrange(1...)
                freeNodeIndexes = []
            }
        }

        /// Changes a present member's score (Redis `zslUpdateScore`): in place when the node keeps
        /// its position, otherwise remove and insert.
        mutating func updateScore(of member: [UInt8], from current: Double, to newScore: Double) {
            guard let nodeIndex = nodeIndexByMember[ByteKey(member)] else { return }
            let backward = nodes[nodeIndex].backward
            let forward = nodes[nodeIndex].levels[0].forward
            let staysAfterBackward = backward < 0 || nodes[backward].score < newScore
                || (nodes[backward].score == newScore
                    && SortedSet.compareMembers(nodes[backward].member, member) < 0)
            let staysBeforeForward = forward < 0 || nodes[forward].score > newScore
                || (nodes[forward].score == newScore
                    && SortedSet.compareMembers(nodes[forward].member, member) > 0)
            if staysAfterBackward && staysBeforeForward {
                nodes[nodeIndex].score = newScore
                return
            }
            // The insert overwrites the entry the remove kept with the new node's index.
            remove(member, score: current, keepsIndexEntry: true)
            insert(member, score: newScore)
        }

        /// The node at a 0-based index (Redis `zslGetElementByRank` with rank = index + 1).
        func nodeIndex(atIndex index: Int) -> Int {
            let targetRank = index + 1
            var traversed = 0
            var current = 0
            for levelIndex in stride(from: level - 1, through: 0, by: -1) {
                while true {
                    let levelValue = nodes[current].levels[levelIndex]
                    guard levelValue.forward >= 0, traversed + levelValue.span <= targetRank else { break }
                    traversed += levelValue.span
                    current = levelValue.forward
                }
                if traversed == targetRank { return current }
            }
            return -1
        }

        func element(atIndex index: Int) -> Element? {
            let nodeIndex = nodeIndex(atIndex: index)
            guard nodeIndex > 0 else { return nil }
            return Element(member: nodes[nodeIndex].member, score: nodes[nodeIndex].score)
        }

        /// The 1-based rank of a present member (Redis `zslGetRank`), or nil.
        func rank(of member: [UInt8], score: Double) -> Int? {
            var rank = 0
            var current = 0
            for levelIndex in stride(from: level - 1, through: 0, by: -1) {
                while true {
                    let levelValue = nodes[current].levels[levelIndex]
                    let forward = levelValue.forward
                    guard forward >= 0 else { break }
                    let node = nodes[forward]
                    guard node.score < score
                        || (node.score == score && SortedSet.compareMembers(node.member, member) <= 0) else { break }
                    rank += levelValue.span
                    current = forward
                }
                if current > 0 && nodes[current].member == member { return rank }
            }
            return nil
        }

        /// The number of leading elements for which `isBelow` holds, found by descending as
        /// Redis's `zslFirstInRange` does; with a monotone predicate this is a partition point.
        func countLeading(while isBelow: (Double, [UInt8]) -> Bool) -> Int {
            var rank = 0
            var current = 0
            for levelIndex in stride(from: level - 1, through: 0, by: -1) {
                while true {
                    let levelValue = nodes[current].levels[levelIndex]
                    let forward = levelValue.forward
                    guard forward >= 0, isBelow(nodes[forward].score, nodes[forward].member) else { break }
                    rank += levelValue.span
                    current = forward
                }
            }
            return rank
        }

        /// Visits elements from a 0-based index, forward or backward, until `body` returns false.
        func forEach(fromIndex index: Int, reverse: Bool, _ body: (Element) -> Bool) {
            var current = nodeIndex(atIndex: index)
            while current > 0 {
                let node = nodes[current]
                guard body(Element(member: node.member, score: node.score)) else { return }
                current = reverse ? node.backward : node.levels[0].forward
            }
        }
    }
}
