import DequeModule
import Testing

@testable import RewindEngine

/// PackedList against a Deque of arrays, through every operation the list commands use, with
/// elements from empty to longer than a chunk (multi-byte length prefixes) so chunks fill, split,
/// empty and keep a dead prefix.
@Suite struct PackedListTests {
    private static func element(_ random: inout SplitMix64) -> [UInt8] {
        let length: Int
        switch random.next(below: 20) {
        case 0: length = 0
        case 1: length = 127 + Int(random.next(below: 3))  // the one-to-two byte length boundary
        case 2: length = 5_000 + Int(random.next(below: 3_000))  // bigger than a chunk
        default: length = Int(random.next(below: 24))
        }
        return (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next(below: 4)) }
    }

    @Test("Appending many elements at once makes exactly the chunks one-at-a-time appends make", arguments: [21 as UInt64, 22, 23, 24])
    func bulkAppendMatchesSingleAppends(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var bulk = PackedList()
        var single = PackedList()
        for step in 0..<400 {
            // Start from every kind of last chunk: absent, partly filled, with a dead prefix or
            // head room (pops and prepends), full by count or by bytes.
            switch random.next(below: 6) {
            case 0:
                let element = Self.element(&random)
                bulk.prepend(element)
                single.prepend(element)
            case 1:
                _ = bulk.popFirst()
                _ = single.popFirst()
            default:
                let count = Int(random.next(below: 5) == 0 ? random.next(below: 700) : random.next(below: 40))
                let elements = (0..<count).map { _ in Self.element(&random) }
                // The elements back to back in one buffer, as a replay batch holds them.
                let flat = elements.flatMap { $0 }
                var ends: [Int] = []
                for element in elements { ends.append((ends.last ?? 0) + element.count) }
                flat.withUnsafeBytes { buffer in
                    bulk.append(contentsOf: ends.indices.lazy.map { index in
                        UnsafeRawBufferPointer(rebasing: buffer[(index == 0 ? 0 : ends[index - 1])..<ends[index]])
                    })
                }
                for element in elements { single.append(element) }
            }
            // Compared as booleans: a failure would otherwise print megabytes of chunk bytes.
            let sameCount = bulk.count == single.count
            let sameChunks = bulk.chunks.map(\.count) == single.chunks.map(\.count)
            let sameBytes = bulk.chunks.map { Array($0.bytes[$0.start...]) } == single.chunks.map { Array($0.bytes[$0.start...]) }
            let sameElements = Array(bulk) == Array(single)
            #expect(sameCount, "step \(step): \(bulk.count) elements, one at a time \(single.count)")
            #expect(sameChunks, "step \(step): chunk element counts differ")
            #expect(sameBytes, "step \(step): chunk bytes differ")
            #expect(sameElements, "step \(step): elements differ")
            if !(sameCount && sameChunks && sameBytes && sameElements) { return }
        }
    }

    @Test(arguments: [11 as UInt64, 12, 13])
    func randomOperationsMatchADeque(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var list = PackedList()
        var model: Deque<[UInt8]> = []
        for step in 0..<6_000 {
            switch random.next(below: 14) {
            case 0, 1, 2:
                let element = Self.element(&random)
                list.append(element)
                model.append(element)
            case 3, 4, 5:
                let element = Self.element(&random)
                list.prepend(element)
                model.prepend(element)
            case 6:
                #expect(list.popFirst() == model.popFirst())
            case 7:
                #expect(list.popLast() == model.popLast())
            case 8 where !model.isEmpty:
                let index = Int(random.next(below: UInt64(model.count)))
                #expect(list[index] == model[index])
                let element = Self.element(&random)
                list[index] = element
                model[index] = element
            case 9:
                let index = Int(random.next(below: UInt64(model.count + 1)))
                let element = Self.element(&random)
                list.insert(element, at: index)
                model.insert(element, at: index)
            case 10 where !model.isEmpty:
                let lower = Int(random.next(below: UInt64(model.count)))
                let upper = lower + Int(random.next(below: UInt64(model.count - lower)))
                #expect(list[lower...upper] == Array(model[lower...upper]))
            case 11 where !model.isEmpty:
                let wanted = model[Int(random.next(below: UInt64(model.count)))]
                #expect(list.firstIndex(of: wanted) == model.firstIndex(of: wanted))
            case 12 where model.count > 10 && random.next(below: 4) == 0:
                let head = Int(random.next(below: UInt64(model.count / 3)))
                let tail = Int(random.next(below: UInt64(model.count / 3)))
                list.removeFirst(head)
                list.removeLast(tail)
                model.removeFirst(head)
                model.removeLast(tail)
            default:
                #expect(list.firstIndex(of: [9, 9, 9]) == nil)
            }
            #expect(list.count == model.count)
            if step % 250 == 0 {
                #expect(Array(list) == Array(model))
                #expect(Array(list.reversedElements()) == Array(model.reversed()))
            }
        }
        #expect(Array(list) == Array(model))
        list.removeAll()
        #expect(list.isEmpty && Array(list).isEmpty && list.popFirst() == nil && list.popLast() == nil)
    }

    @Test func chunksStayBounded() {
        var list = PackedList()
        for number in 0..<10_000 { list.prepend(Array("job:\(number)".utf8)) }
        #expect(list.count == 10_000)
        #expect(list.chunks.allSatisfy { $0.count <= PackedList.chunkElementLimit && $0.liveByteCount <= PackedList.chunkByteLimit })
        #expect(list[0] == Array("job:9999".utf8) && list[9_999] == Array("job:0".utf8))
        // Ten thousand short elements take a few bytes each, not an array each.
        let stored = list.chunks.reduce(0) { $0 + $1.bytes.count }
        #expect(stored < 10_000 * 16)
    }
}
