// A list value packed into byte chunks. See redis src/quicklist.c and src/listpack.c.

import DequeModule

/// The elements of a list, packed several to a chunk as Redis packs listpacks into a quicklist.
///
/// A `Deque<[UInt8]>` spent a Swift array (a 32-byte header in a malloc chunk, 64 bytes or more)
/// on every element, which made lists the largest part of a replayed state's memory
/// (docs/ENGINE.md). Here each element costs its bytes plus two length bytes when it is shorter
/// than 128 bytes:
///
///     element := length:uleb128 bytes length:reversed-uleb128
///
/// The length is written on both sides, as a listpack's `backlen`, so the chunk can be walked
/// from either end: pushes and pops at both ends cost O(1) amortized, an index costs a walk over
/// the chunks from the nearer end plus a walk inside one chunk (as quicklist's).
///
/// A chunk holds at most ``chunkElementLimit`` elements and, unless one element alone is bigger,
/// ``chunkByteLimit`` bytes. Popping from the head advances a start offset instead of moving the
/// rest of the chunk; the dead prefix is reused by the next push at the head.
struct PackedList: Sequence {
    struct Chunk {
        /// The encoded elements live in `bytes[start...]`.
        var bytes: [UInt8]
        var start: Int
        var count: Int

        var liveByteCount: Int { bytes.count - start }
    }

    static var chunkByteLimit: Int { 4096 }
    static var chunkElementLimit: Int { 128 }

    private(set) var chunks: Deque<Chunk> = []
    private(set) var count = 0

    init() {}

    init<Elements: Sequence>(_ elements: Elements) where Elements.Element == [UInt8] {
        for element in elements { append(element) }
    }

    var isEmpty: Bool { count == 0 }

    // MARK: - Encoding

    private static func encodedByteCount(_ length: Int) -> Int {
        var size = 1
        var rest = length >> 7
        while rest > 0 { size += 1; rest >>= 7 }
        return 2 * size + length
    }

    private static func encode(_ element: [UInt8]) -> [UInt8] {
        var encoded: [UInt8] = []
        element.withUnsafeBytes { appendEncoded($0, to: &encoded) }
        return encoded
    }

    /// Appends `element`'s encoding to `bytes`, with no intermediate array.
    @inline(__always)
    private static func appendEncoded(_ element: UnsafeRawBufferPointer, to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: encodedByteCount(element.count)))
        bytes.withUnsafeMutableBytes { _ = writeEncoded(element, to: $0.baseAddress! + start) }
    }

    /// The element starting at `offset`: its bytes' range and the offset after it.
    private static func element<Bytes: RandomAccessCollection>(in bytes: Bytes, at offset: Int) -> (range: Range<Int>, next: Int)
        where Bytes.Element == UInt8, Bytes.Index == Int {
        var length = 0
        var shift = 0
        var position = offset
        while true {
            let byte = bytes[position]
            position += 1
            length |= Int(byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0 { break }
        }
        let headerSize = position - offset
        return (position..<position + length, position + length + headerSize)
    }

    /// The element ending just before `end`: its bytes' range and the offset it starts at.
    private static func element(in bytes: [UInt8], endingAt end: Int) -> (range: Range<Int>, start: Int) {
        var length = 0
        var shift = 0
        var position = end
        while true {
            position -= 1
            let byte = bytes[position]
            length |= Int(byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0 { break }
        }
        let headerSize = end - position
        let bytesStart = position - length
        return (bytesStart..<position, bytesStart - headerSize)
    }

    // MARK: - Both ends

    mutating func append(_ element: [UInt8]) {
        element.withUnsafeBytes { append(bytes: $0) }
    }

    /// Appends an element given as raw bytes (a replayed argument, not copied into an array first).
    mutating func append(bytes element: UnsafeRawBufferPointer) {
        let size = Self.encodedByteCount(element.count)
        // The chunk is reached in place (`&chunks[i]`): a copy of it (`chunks.last`) retains its
        // bytes, and a copy alive during the write would make the write copy the whole chunk.
        if chunks.isEmpty || !Self.appendFitting(element, size: size, to: &chunks[chunks.count - 1]) {
            if !chunks.isEmpty { shrinkToFit(chunks.count - 1) }
            var bytes: [UInt8] = []
            Self.appendEncoded(element, to: &bytes)
            chunks.append(Chunk(bytes: bytes, start: 0, count: 1))
        }
        count += 1
    }

    /// Appends many elements given as raw bytes (a replayed RPUSH's arguments), chunk by chunk:
    /// the same chunks, element for element, as ``append(bytes:)`` one at a time would make (the
    /// last chunk filled first, then new ones by the same limits), but each chunk's encodings are
    /// written in one pass into a buffer of the size they need, with no array append per element
    /// and no shrinking copy afterwards.
    mutating func append<Elements: Collection>(contentsOf elements: Elements) where Elements.Element == UnsafeRawBufferPointer {
        var index = elements.startIndex
        let end = elements.endIndex
        /// How many elements from `index` on fit beside `count` elements and `liveBytes` bytes (at
        /// least one when `first`), and their encoded size.
        func fitting(from index: Elements.Index, count: Int, liveBytes: Int, first: Bool) -> (count: Int, bytes: Int, end: Elements.Index) {
            var taken = 0, bytes = 0, position = index
            while position != end, count + taken < Self.chunkElementLimit {
                let size = Self.encodedByteCount(elements[position].count)
                if !(first && taken == 0) && liveBytes + bytes + size > Self.chunkByteLimit { break }
                bytes += size
                taken += 1
                elements.formIndex(after: &position)
            }
            return (taken, bytes, position)
        }
        if let last = chunks.last {
            let (taken, bytes, next) = fitting(from: index, count: last.count, liveBytes: last.liveByteCount, first: false)
            if taken > 0 {
                let chunkIndex = chunks.count - 1
                let oldCount = chunks[chunkIndex].bytes.count
                chunks[chunkIndex].bytes.append(contentsOf: repeatElement(0, count: bytes))
                chunks[chunkIndex].bytes.withUnsafeMutableBytes { buffer in
                    var offset = oldCount
                    var position = index
                    while position != next {
                        offset += Self.writeEncoded(elements[position], to: buffer.baseAddress! + offset)
                        elements.formIndex(after: &position)
                    }
                }
                chunks[chunkIndex].count += taken
                count += taken
                index = next
            }
        }
        while index != end {
            if !chunks.isEmpty { shrinkToFit(chunks.count - 1) }
            let (taken, bytes, next) = fitting(from: index, count: 0, liveBytes: 0, first: true)
            let encoded = [UInt8](unsafeUninitializedCapacity: bytes) { buffer, initialized in
                var offset = 0
                var position = index
                while position != next {
                    offset += Self.writeEncoded(elements[position], to: UnsafeMutableRawPointer(buffer.baseAddress!) + offset)
                    elements.formIndex(after: &position)
                }
                initialized = offset
            }
            chunks.append(Chunk(bytes: encoded, start: 0, count: taken))
            count += taken
            index = next
        }
    }

    /// Writes `element`'s encoding at `target` (room for ``encodedByteCount(_:)`` bytes): its
    /// length as a little-endian base-128 varint, its bytes, then the varint's bytes in reverse,
    /// so the element can be found from either end. Returns how many bytes it wrote.
    @inline(__always)
    private static func writeEncoded(_ element: UnsafeRawBufferPointer, to target: UnsafeMutableRawPointer) -> Int {
        var prefixCount = 0
        var length = element.count
        repeat {
            let low = UInt8(length & 0x7F)
            length >>= 7
            target.storeBytes(of: length > 0 ? low | 0x80 : low, toByteOffset: prefixCount, as: UInt8.self)
            prefixCount += 1
        } while length > 0
        if element.count > 0 { (target + prefixCount).copyMemory(from: element.baseAddress!, byteCount: element.count) }
        let suffix = target + prefixCount + element.count
        for index in 0..<prefixCount {
            suffix.storeBytes(of: target.load(fromByteOffset: prefixCount - 1 - index, as: UInt8.self), toByteOffset: index, as: UInt8.self)
        }
        return 2 * prefixCount + element.count
    }

    /// Gives back the spare capacity of a chunk that pushes no longer grow (a new chunk was
    /// started beside it): the array's doubling slack, or the head room left for LPUSH. Lists
    /// built by pushes are most of their chunks' bytes in this state, and the slack was 10-25%
    /// of them; the copy costs one chunk (at most 4 KiB) per 128 pushes.
    private mutating func shrinkToFit(_ chunkIndex: Int) {
        let chunk = chunks[chunkIndex]
        guard chunk.start > 0 || chunk.bytes.capacity - chunk.bytes.count > 64 else { return }
        chunks[chunkIndex].bytes = Array(chunk.bytes[chunk.start...])
        chunks[chunkIndex].start = 0
    }

    mutating func prepend(_ element: [UInt8]) {
        element.withUnsafeBytes { prepend(bytes: $0) }
    }

    /// Prepends an element given as raw bytes.
    mutating func prepend(bytes element: UnsafeRawBufferPointer) {
        let size = Self.encodedByteCount(element.count)
        if chunks.isEmpty || !Self.prependFitting(element, size: size, to: &chunks[0]) {
            if !chunks.isEmpty { shrinkToFit(0) }
            var bytes: [UInt8] = []
            Self.appendEncoded(element, to: &bytes)
            chunks.prepend(Chunk(bytes: bytes, start: 0, count: 1))
        }
        count += 1
    }

    /// Adds `element` (encoded in `size` bytes) at the end of `chunk` when the chunk's limits
    /// leave room; false when they do not.
    @inline(__always)
    private static func appendFitting(_ element: UnsafeRawBufferPointer, size: Int, to chunk: inout Chunk) -> Bool {
        guard chunk.count < chunkElementLimit, chunk.liveByteCount + size <= chunkByteLimit else { return false }
        appendEncoded(element, to: &chunk.bytes)
        chunk.count += 1
        return true
    }

    /// Adds `element` (encoded in `size` bytes) before the first element of `chunk` when the
    /// chunk's limits leave room; false when they do not.
    @inline(__always)
    private static func prependFitting(_ element: UnsafeRawBufferPointer, size: Int, to chunk: inout Chunk) -> Bool {
        guard chunk.count < chunkElementLimit, chunk.liveByteCount + size <= chunkByteLimit else { return false }
        if chunk.start < size {
            // Make room at the head for more pushes at once, so a run of LPUSHes does not move
            // the chunk every time: headroom of a quarter of the chunk, at least this element.
            let headroom = Swift.max(size, chunk.liveByteCount / 4)
            var grown = [UInt8](repeating: 0, count: headroom)
            grown.reserveCapacity(headroom + chunk.liveByteCount)
            grown.append(contentsOf: chunk.bytes[chunk.start...])
            chunk.bytes = grown
            chunk.start = headroom
        }
        let start = chunk.start - size
        chunk.bytes.withUnsafeMutableBytes { _ = writeEncoded(element, to: $0.baseAddress! + start) }
        chunk.start = start
        chunk.count += 1
        return true
    }


    mutating func popFirst() -> [UInt8]? {
        guard let first = chunks.first else { return nil }
        let (range, next) = Self.element(in: first.bytes, at: first.start)
        let element = Array(first.bytes[range])
        if first.count == 1 {
            chunks.removeFirst()
        } else {
            chunks[0].start = next
            chunks[0].count -= 1
            // Give the dead prefix back once it is most of the chunk.
            if next > 256 && next * 2 > first.bytes.count {
                chunks[0].bytes.removeFirst(next)
                chunks[0].start = 0
            }
        }
        count -= 1
        return element
    }

    mutating func popLast() -> [UInt8]? {
        guard let last = chunks.last else { return nil }
        let (range, start) = Self.element(in: last.bytes, endingAt: last.bytes.count)
        let element = Array(last.bytes[range])
        if last.count == 1 {
            chunks.removeLast()
        } else {
            chunks[chunks.count - 1].bytes.removeSubrange(start...)
            chunks[chunks.count - 1].count -= 1
        }
        count -= 1
        return element
    }

    mutating func removeFirst(_ removedCount: Int) {
        precondition(removedCount >= 0 && removedCount <= count, "removeFirst beyond the list")
        var left = removedCount
        while left > 0, let first = chunks.first, first.count <= left {
            chunks.removeFirst()
            count -= first.count
            left -= first.count
        }
        while left > 0 {
            _ = popFirst()
            left -= 1
        }
    }

    mutating func removeLast(_ removedCount: Int) {
        precondition(removedCount >= 0 && removedCount <= count, "removeLast beyond the list")
        var left = removedCount
        while left > 0, let last = chunks.last, last.count <= left {
            chunks.removeLast()
            count -= last.count
            left -= last.count
        }
        while left > 0 {
            _ = popLast()
            left -= 1
        }
    }

    mutating func removeAll() {
        chunks = []
        count = 0
    }

    // MARK: - By index

    /// The chunk holding element `index` and the element's position inside it.
    private func locate(_ index: Int) -> (chunk: Int, position: Int) {
        precondition(index >= 0 && index < count, "list index out of range")
        if index < count / 2 {
            var remaining = index
            for chunkIndex in chunks.indices {
                if remaining < chunks[chunkIndex].count { return (chunkIndex, remaining) }
                remaining -= chunks[chunkIndex].count
            }
        } else {
            var remaining = count - 1 - index
            for chunkIndex in chunks.indices.reversed() {
                if remaining < chunks[chunkIndex].count { return (chunkIndex, chunks[chunkIndex].count - 1 - remaining) }
                remaining -= chunks[chunkIndex].count
            }
        }
        preconditionFailure("PackedList counts disagree")
    }

    /// The byte offset where the element at `position` of `chunk` starts.
    private static func offset(of position: Int, in chunk: Chunk) -> Int {
        if position <= chunk.count / 2 {
            var offset = chunk.start
            for _ in 0..<position { offset = element(in: chunk.bytes, at: offset).next }
            return offset
        }
        var end = chunk.bytes.count
        for _ in 0..<(chunk.count - position) { end = element(in: chunk.bytes, endingAt: end).start }
        return end
    }

    subscript(index: Int) -> [UInt8] {
        get {
            let (chunkIndex, position) = locate(index)
            let chunk = chunks[chunkIndex]
            let offset = Self.offset(of: position, in: chunk)
            return Array(chunk.bytes[Self.element(in: chunk.bytes, at: offset).range])
        }
        set {
            let (chunkIndex, position) = locate(index)
            let offset = Self.offset(of: position, in: chunks[chunkIndex])
            let next = Self.element(in: chunks[chunkIndex].bytes, at: offset).next
            chunks[chunkIndex].bytes.replaceSubrange(offset..<next, with: Self.encode(newValue))
            splitIfOversized(chunkIndex)
        }
    }

    /// Inserts `element` so that it ends up at `index` (`index == count` appends).
    mutating func insert(_ element: [UInt8], at index: Int) {
        precondition(index >= 0 && index <= count, "list index out of range")
        if index == 0 { return prepend(element) }
        if index == count { return append(element) }
        let (chunkIndex, position) = locate(index)
        let offset = Self.offset(of: position, in: chunks[chunkIndex])
        chunks[chunkIndex].bytes.insert(contentsOf: Self.encode(element), at: offset)
        chunks[chunkIndex].count += 1
        count += 1
        splitIfOversized(chunkIndex)
    }

    /// Splits a chunk that grew past twice its limits in the middle, so edits stay local.
    private mutating func splitIfOversized(_ chunkIndex: Int) {
        let chunk = chunks[chunkIndex]
        guard chunk.count > 1,
              chunk.count > 2 * Self.chunkElementLimit || chunk.liveByteCount > 2 * Self.chunkByteLimit else { return }
        let half = chunk.count / 2
        let middle = Self.offset(of: half, in: chunk)
        let head = Chunk(bytes: Array(chunk.bytes[chunk.start..<middle]), start: 0, count: half)
        let tail = Chunk(bytes: Array(chunk.bytes[middle...]), start: 0, count: chunk.count - half)
        chunks[chunkIndex] = head
        chunks.insert(tail, at: chunkIndex + 1)
    }

    /// The elements at `range`, in order.
    subscript(range: Range<Int>) -> [[UInt8]] {
        guard !range.isEmpty else { return [] }
        var result: [[UInt8]] = []
        result.reserveCapacity(range.count)
        var (chunkIndex, position) = locate(range.lowerBound)
        var offset = Self.offset(of: position, in: chunks[chunkIndex])
        while result.count < range.count {
            let chunk = chunks[chunkIndex]
            if position == chunk.count {
                chunkIndex += 1
                position = 0
                offset = chunks[chunkIndex].start
                continue
            }
            let (elementRange, next) = Self.element(in: chunk.bytes, at: offset)
            result.append(Array(chunk.bytes[elementRange]))
            offset = next
            position += 1
        }
        return result
    }

    subscript(range: ClosedRange<Int>) -> [[UInt8]] { self[range.lowerBound..<range.upperBound + 1] }

    /// The index of the first element equal to `element`.
    func firstIndex(of element: [UInt8]) -> Int? {
        var index = 0
        for chunk in chunks {
            var offset = chunk.start
            for _ in 0..<chunk.count {
                let (range, next) = Self.element(in: chunk.bytes, at: offset)
                if range.count == element.count && chunk.bytes[range].elementsEqual(element) { return index }
                offset = next
                index += 1
            }
        }
        return nil
    }

    /// Calls `body` with each element's bytes, head to tail, read in place from the chunks (no
    /// array per element: the digest reads lists this way).
    func forEachElementBytes(_ body: (UnsafeRawBufferPointer) -> Void) {
        for chunk in chunks {
            chunk.bytes.withUnsafeBytes { bytes in
                var offset = chunk.start
                for _ in 0..<chunk.count {
                    let (range, next) = Self.element(in: bytes, at: offset)
                    body(UnsafeRawBufferPointer(rebasing: bytes[range]))
                    offset = next
                }
            }
        }
    }

    // MARK: - Iteration

    struct Iterator: IteratorProtocol {
        fileprivate let chunks: Deque<Chunk>
        fileprivate var chunkIndex = 0
        fileprivate var position = 0
        fileprivate var offset = 0

        mutating func next() -> [UInt8]? {
            while chunkIndex < chunks.count && position == chunks[chunkIndex].count {
                chunkIndex += 1
                position = 0
                if chunkIndex < chunks.count { offset = chunks[chunkIndex].start }
            }
            guard chunkIndex < chunks.count else { return nil }
            let bytes = chunks[chunkIndex].bytes
            let (range, next) = PackedList.element(in: bytes, at: offset)
            offset = next
            position += 1
            return Array(bytes[range])
        }
    }

    func makeIterator() -> Iterator {
        Iterator(chunks: chunks, offset: chunks.first?.start ?? 0)
    }

    var underestimatedCount: Int { count }

    /// The elements from the tail to the head, one at a time (LPOS with a negative RANK).
    struct ReversedElements: Sequence, IteratorProtocol {
        fileprivate let chunks: Deque<Chunk>
        fileprivate var chunkIndex: Int
        fileprivate var position: Int
        fileprivate var end: Int

        mutating func next() -> [UInt8]? {
            while chunkIndex >= 0 && position == 0 {
                chunkIndex -= 1
                if chunkIndex >= 0 {
                    position = chunks[chunkIndex].count
                    end = chunks[chunkIndex].bytes.count
                }
            }
            guard chunkIndex >= 0 else { return nil }
            let bytes = chunks[chunkIndex].bytes
            let (range, start) = PackedList.element(in: bytes, endingAt: end)
            end = start
            position -= 1
            return Array(bytes[range])
        }
    }

    func reversedElements() -> ReversedElements {
        ReversedElements(chunks: chunks, chunkIndex: chunks.count - 1, position: chunks.last?.count ?? 0,
                         end: chunks.last?.bytes.count ?? 0)
    }
}
