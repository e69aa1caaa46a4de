// O(n) structural checks for SortedSet, compiled in only with REWIND_INTERNAL_CHECKS (see
// Package.swift), after swift-collections' OrderedSet+Invariants.swift.

extension SortedSet {
    /// Verifies every structural invariant, trapping on the first violation.
    ///
    /// With `REWIND_INTERNAL_CHECKS` defined this walks the whole structure: order, no NaN,
    /// compact limits and the `-0` rule, and in the skiplist every span, backward link, the tail,
    /// the level count and the member dictionary. Without it, it does nothing, so tests may call
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
        precondition(nodeIndexByMember.count == count, "dictionary and list disagree on count")
        // Level 0: order, backward links, tail, count.
        var levelZero: [Int] = []
        var current = nodes[0].levels[0].forward
        var previous = -1
        while current >= 0 {
            let node = nodes[current]
            precondition(!node.score.isNaN, "NaN score")
            precondition(node.backward == previous, "backward link broken")
            precondition(nodeIndexByMember[ByteKey(node.member)] == current, "dictionary points elsewhere")
            if previous >= 0 {
                precondition(SortedSet.precedes(score: nodes[previous].score, member: nodes[previous].member,
                                                otherScore: node.score, otherMember: node.member), "order broken")
            }
            levelZero.append(current)
            previous = current
            current = node.levels[0].forward
        }
        precondition(levelZero.count == count && tail == previous, "count or tail wrong")
        var rankOfNode: [Int: Int] = [0: 0]
        for (index, nodeIndex) in levelZero.enumerated() { rankOfNode[nodeIndex] = index + 1 }
        // Every level: links go forward in rank, and spans equal rank differences.
        for levelIndex in 0..<Self.levelMax {
            var node = 0
            while true {
                let link = nodes[node].levels[levelIndex]
                if link.forward < 0 { break }
                precondition(levelIndex < level, "link above the current level")
                precondition(nodes[link.forward].levels.count > levelIndex, "link to a node without that level")
                let fromRank = rankOfNode[node] ?? -1
                let toRank = rankOfNode[link.forward] ?? -1
                precondition(toRank > fromRank && link.span == toRank - fromRank, "span wrong at level \(levelIndex)")
                node = link.forward
            }
        }
        precondition(level == 1 || nodes[0].levels[level - 1].forward >= 0, "level not trimmed")
        #endif
    }
}
