// O(n) structural checks for SortedSet, compiled in only with REWIND_INTERNAL_CHECKS (see
// Package.swift), after swift-collections' OrderedSet+Invariants.swift.

extension SortedSet {
    /// Verifies every structural invariant, trapping on the first violation.
    ///
    /// With `REWIND_INTERNAL_CHECKS` defined this walks the whole structure: order, no NaN,
    /// compact limits and the `-0` rule, and in the skiplist every span, backward link, the tail,
    /// the level count, the member index, the storage's
    /// accounting and the append path. Without it, it does nothing, so tests may call
    /// it freely.
    ///
    /// - Complexity: O(n log n) with checks compiled in; O(1) otherwise.
    public func _checkInvariants() {
        #if REWIND_INTERNAL_CHECKS
        if let skipList {
            precondition(compactElements.isEmpty, "a skiplist set keeps no compact elements")
            skipList._checkInvariants()
        } else {
            precondition(compactElements.count <= compactEntryCountMax, "compact set over its entry limit")
            for (index, element) in compactElements.enumerated() {
                precondition(!element.score.isNaN, "NaN score")
                precondition(element.member.count <= compactMemberByteCountMax, "compact member over its byte limit")
                precondition(element.score != 0 || element.score.sign == .plus, "compact set stores -0")
                if index > 0 {
                    precondition(SortedSet.precedes(compactElements[index - 1], element), "compact order broken at \(index)")
                }
            }
        }
        #endif
    }
}

extension SortedSet.SkipList {
    func _checkInvariants() {
        #if REWIND_INTERNAL_CHECKS
        precondition(level >= 1 && level <= Self.levelMax, "level out of bounds")
        precondition(storage.indexedCount == count, "index and list disagree on count")
        let pool = self.pool
        precondition(pool.levelCount(0) == Self.levelMax && pool.memberByteCount(0) == 0, "header damaged")
        // Level 0: order, backward links, tail, count, the index.
        var levelZero: [UInt32] = []
        var current = pool.forward(0, 0)
        var previous: UInt32 = 0
        var linkedWordCount = Self.firstNodeOffset
        while current != 0 {
            precondition(Int(current) >= Self.firstNodeOffset && Int(current) + pool.wordCount(current) <= storage.wordCount,
                         "node outside the storage")
            precondition(!pool.score(current).isNaN, "NaN score")
            precondition(pool.backward(current) == previous, "backward link broken")
            precondition(pool.levelCount(current) >= 1 && pool.levelCount(current) <= Self.levelMax, "node level out of bounds")
            precondition(node(of: pool.member(current), hash: pool.hash(current)) == current, "index points elsewhere")
            if previous != 0 {
                precondition(SortedSet.compareMembers(pool.member(previous), pool.member(current)) != 0
                             && (pool.score(previous) < pool.score(current)
                                 || (pool.score(previous) == pool.score(current)
                                     && SortedSet.compareMembers(pool.member(previous), pool.member(current)) < 0)),
                             "order broken")
            }
            linkedWordCount += pool.wordCount(current)
            levelZero.append(current)
            previous = current
            current = pool.forward(current, 0)
        }
        precondition(levelZero.count == count && tail == previous, "count or tail wrong")
        precondition(linkedWordCount + garbageWordCount == storage.wordCount, "storage words unaccounted for")
        var rankOfNode: [UInt32: Int] = [0: 0]
        for (index, node) in levelZero.enumerated() { rankOfNode[node] = index + 1 }
        // Every level: links go forward in rank, spans equal rank differences, and the last link
        // of a level spans to the end.
        for levelIndex in 0..<Self.levelMax {
            var node: UInt32 = 0
            while true {
                let forward = pool.forward(node, levelIndex)
                if forward == 0 {
                    if levelIndex < level { precondition(pool.span(node, levelIndex) == count - rankOfNode[node]!, "end span wrong at level \(levelIndex)") }
                    break
                }
                precondition(levelIndex < level, "link above the current level")
                precondition(pool.levelCount(forward) > levelIndex, "link to a node without that level")
                let fromRank = rankOfNode[node] ?? -1
                let toRank = rankOfNode[forward] ?? -1
                precondition(toRank > fromRank && pool.span(node, levelIndex) == toRank - fromRank, "span wrong at level \(levelIndex)")
                precondition(pool.forwardScore(node, levelIndex).bitPattern == pool.score(forward).bitPattern,
                             "stale score copy at level \(levelIndex)")
                node = forward
            }
            // The append path: the last node of each level in use, with its rank.
            if appendPathIsValid && levelIndex < level {
                let (pathNode, pathRank) = pool.appendPath(levelIndex)
                precondition(pathNode == node && pathRank == rankOfNode[node]!, "append path stale at level \(levelIndex)")
            }
        }
        precondition(level == 1 || pool.forward(0, level - 1) != 0, "level not trimmed")
        #endif
    }
}
