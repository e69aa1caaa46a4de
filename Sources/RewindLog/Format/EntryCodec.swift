// The entry encoding inside a record payload. See docs/FORMAT.md, "Entries".
//
// entry  := flags:u8 [db:varint] timestampDelta:svarint argumentCount:varint argument* [replyHash:u64le]
// flags  := bits 0-1 kind, bit 2 reply hash present, bit 3 db follows (differs from the previous
//           entry of the record, which starts at db 0); bits 4-7 zero
// first argument := varint v; v odd: well-known token number v>>1; v even: v>>1 bytes follow
// other argument := varint length, then the bytes

/// Encodes and decodes the entries of one record payload.
enum EntryCodec {
    static let kindMask: UInt8 = 0b0000_0011
    static let replyHashFlag: UInt8 = 0b0000_0100
    static let dbFlag: UInt8 = 0b0000_1000
    static let reservedFlags: UInt8 = 0b1111_0000

    /// Running state of the delta encoding inside one record.
    struct DeltaState {
        var previousTimestampMilliseconds: Int64
        var previousDb: UInt32 = 0

        init(baseTimestampMilliseconds: Int64) {
            previousTimestampMilliseconds = baseTimestampMilliseconds
        }
    }

    /// Appends one entry. The caller has checked it against `LogLimits` (see `validate`).
    static func encode(_ entry: LogEntry, into buffer: inout [UInt8], state: inout DeltaState) {
        encodeHeader(kind: entry.kind, hasReplyHash: entry.replyHash != nil, db: entry.db,
                     timestampMilliseconds: entry.timestampMilliseconds, into: &buffer, state: &state)
        encodeBody(arguments: entry.arguments, replyHash: entry.replyHash, into: &buffer)
    }

    /// Appends an entry's argument count, arguments and reply hash: everything after its header,
    /// which does not depend on the entries before it.
    @inline(__always)
    static func encodeBody(arguments: [[UInt8]], replyHash: UInt64?, into buffer: inout [UInt8]) {
        buffer.appendVarint(UInt64(arguments.count))
        // Through buffer pointers: indexing the arrays retains and releases each argument.
        arguments.withUnsafeBufferPointer { arguments in
            for index in arguments.indices {
                arguments[index].withUnsafeBytes { appendArgument($0, isFirst: index == 0, into: &buffer) }
            }
        }
        if let hash = replyHash { buffer.appendLittleEndian(hash) }
    }

    /// ``encodeBody(arguments:replyHash:into:)`` for arguments back to back in `bytes`
    /// (argument `i` is `bytes[ends[i - 1] ..< ends[i]]`, the first from 0).
    @inline(__always)
    static func encodeBody(packedBytes bytes: UnsafeRawBufferPointer, ends: UnsafeBufferPointer<Int>, replyHash: UInt64?,
                           into buffer: inout [UInt8]) {
        buffer.appendVarint(UInt64(ends.count))
        var start = 0
        for index in ends.indices {
            appendArgument(UnsafeRawBufferPointer(rebasing: bytes[start..<ends[index]]), isFirst: index == 0, into: &buffer)
            start = ends[index]
        }
        if let hash = replyHash { buffer.appendLittleEndian(hash) }
    }

    @inline(__always)
    private static func appendArgument(_ argument: UnsafeRawBufferPointer, isFirst: Bool, into buffer: inout [UInt8]) {
        if isFirst, let token = WellKnownTokens.number(of: argument) {
            buffer.appendVarint(UInt64(token) << 1 | 1)
            return
        }
        buffer.appendVarint(UInt64(argument.count) << (isFirst ? 1 : 0))
        buffer.append(contentsOf: argument)
    }

    /// Appends an entry's flags, database (when it changes) and timestamp delta: everything
    /// before its argument count, the only part that depends on the entry before it.
    @inline(__always)
    static func encodeHeader(kind: LogEntry.Kind, hasReplyHash: Bool, db: UInt32, timestampMilliseconds: Int64,
                             into buffer: inout [UInt8], state: inout DeltaState) {
        var flags = kind.rawValue
        if hasReplyHash { flags |= replyHashFlag }
        if db != state.previousDb { flags |= dbFlag }
        buffer.append(flags)
        if db != state.previousDb {
            buffer.appendVarint(UInt64(db))
            state.previousDb = db
        }
        // Wrapping subtraction: the delta of any two Int64 timestamps round-trips through zigzag.
        buffer.appendSignedVarint(timestampMilliseconds &- state.previousTimestampMilliseconds)
        state.previousTimestampMilliseconds = timestampMilliseconds
    }

    /// Why an entry cannot be written, or nil when it can.
    static func validate(_ entry: LogEntry) -> String? {
        validate(kind: entry.kind, arguments: entry.arguments)
    }

    @inline(__always)
    static func validate(kind: LogEntry.Kind, arguments: [[UInt8]]) -> String? {
        var longest = 0
        arguments.withUnsafeBufferPointer { arguments in
            for index in arguments.indices { longest = max(longest, arguments[index].count) }
        }
        return validate(kind: kind, argumentCount: arguments.count, longestArgumentByteCount: longest)
    }

    /// ``validate(kind:arguments:)`` for arguments back to back, ending at `ends`.
    @inline(__always)
    static func validate(kind: LogEntry.Kind, packedEnds ends: UnsafeBufferPointer<Int>) -> String? {
        var longest = 0
        var start = 0
        for end in ends {
            longest = max(longest, end - start)
            start = end
        }
        return validate(kind: kind, argumentCount: ends.count, longestArgumentByteCount: longest)
    }

    @inline(__always)
    private static func validate(kind: LogEntry.Kind, argumentCount: Int, longestArgumentByteCount: Int) -> String? {
        if argumentCount > LogLimits.argumentCountMax {
            return "entry has \(argumentCount) arguments; the limit is \(LogLimits.argumentCountMax)"
        }
        if longestArgumentByteCount > LogLimits.argumentByteCountMax {
            return "argument of \(longestArgumentByteCount) bytes exceeds the limit of \(LogLimits.argumentByteCountMax)"
        }
        if kind == .command && argumentCount == 0 { return "a command entry needs at least one argument" }
        return nil
    }

    /// Why a payload failed to decode; the record's checksum was fine, so this is a writer bug or
    /// a deliberately forged record.
    struct DecodeFailure: Error {
        let reason: String
        let entryIndex: Int
    }

    /// One entry parsed but not yet delivered; its arguments are `spans[spanStart ..< spanStart + spanCount]`.
    struct ParsedEntry {
        var kind: LogEntry.Kind
        var db: UInt32
        var timestampMilliseconds: Int64
        var replyHash: UInt64?
        var spanStart: Int
        var spanCount: Int
    }

    /// Reusable scratch storage for `decode`, so that decoding a record does not allocate.
    struct Scratch {
        var spans: [ArgumentSpan] = []
        var entries: [ParsedEntry] = []
    }

    /// Decodes `entryCount` entries, then calls `body` with each; the payload must be consumed exactly.
    ///
    /// The whole payload is parsed and checked before the first entry is delivered, so a record
    /// that turns out to be malformed delivers nothing: a reader never sees half a transaction.
    static func decode(
        payload: UnsafeRawBufferPointer,
        firstSequence: UInt64,
        entryCount: Int,
        baseTimestampMilliseconds: Int64,
        sharesSequence: Bool = false,
        scratch: inout Scratch,
        body: (EntryView) throws -> Void
    ) throws {
        try parse(payload: payload, entryCount: entryCount, baseTimestampMilliseconds: baseTimestampMilliseconds, into: &scratch)
        try scratch.spans.withUnsafeBufferPointer { allSpans in
            for (entryIndex, entry) in scratch.entries.enumerated() {
                try body(
                    EntryView(
                        sequence: sharesSequence ? firstSequence : firstSequence &+ UInt64(entryIndex),
                        timestampMilliseconds: entry.timestampMilliseconds,
                        db: entry.db,
                        kind: entry.kind,
                        replyHash: entry.replyHash,
                        arguments: EntryView.Arguments(
                            spans: UnsafeBufferPointer(rebasing: allSpans[entry.spanStart..<(entry.spanStart + entry.spanCount)]))
                    )
                )
            }
        }
    }

    private static func parse(
        payload: UnsafeRawBufferPointer, entryCount: Int, baseTimestampMilliseconds: Int64, into scratch: inout Scratch
    ) throws {
        scratch.spans.removeAll(keepingCapacity: true)
        scratch.entries.removeAll(keepingCapacity: true)
        var cursor = ByteCursor(payload)
        var state = DeltaState(baseTimestampMilliseconds: baseTimestampMilliseconds)
        let tokenSpans = WellKnownTokens.spans
        assert(tokenSpans.count == WellKnownTokens.count)
        for entryIndex in 0..<entryCount {
            func fail(_ reason: String) -> DecodeFailure { DecodeFailure(reason: reason, entryIndex: entryIndex) }
            guard let flags = cursor.readByte() else { throw fail("payload ends before entry \(entryIndex)") }
            guard flags & reservedFlags == 0, let kind = LogEntry.Kind(rawValue: flags & kindMask) else {
                throw fail("reserved entry flag bits set (0x\(String(flags, radix: 16)))")
            }
            if flags & dbFlag != 0 {
                guard let db = cursor.readVarint(), db <= UInt64(UInt32.max) else { throw fail("bad db index") }
                state.previousDb = UInt32(db)
            }
            guard let delta = cursor.readSignedVarint() else { throw fail("bad timestamp") }
            state.previousTimestampMilliseconds = state.previousTimestampMilliseconds &+ delta
            // Each argument takes at least one byte, so the count is also bounded by the bytes left.
            guard let argumentCount = cursor.readCount(max: min(LogLimits.argumentCountMax, cursor.remaining)) else {
                throw fail("bad argument count")
            }
            let spanStart = scratch.spans.count
            for argumentIndex in 0..<argumentCount {
                guard let raw = cursor.readVarint() else { throw fail("bad argument length") }
                if argumentIndex == 0 && raw & 1 == 1 {
                    guard raw >> 1 < UInt64(tokenSpans.count) else { throw fail("unknown token \(raw >> 1)") }
                    scratch.spans.append(tokenSpans[Int(raw >> 1)])
                    continue
                }
                let length = argumentIndex == 0 ? raw >> 1 : raw
                guard length <= UInt64(LogLimits.argumentByteCountMax), let slice = cursor.readSlice(Int(length)) else {
                    throw fail("argument \(argumentIndex) overruns the payload")
                }
                scratch.spans.append(ArgumentSpan(base: slice.baseAddress, byteCount: slice.count))
            }
            var replyHash: UInt64?
            if flags & replyHashFlag != 0 {
                guard let hash = cursor.readLittleEndian(UInt64.self) else { throw fail("truncated reply hash") }
                replyHash = hash
            }
            if kind == .command && argumentCount == 0 { throw fail("command entry without arguments") }
            scratch.entries.append(
                ParsedEntry(
                    kind: kind, db: state.previousDb, timestampMilliseconds: state.previousTimestampMilliseconds,
                    replyHash: replyHash, spanStart: spanStart, spanCount: argumentCount))
        }
        guard cursor.isAtEnd else {
            throw DecodeFailure(reason: "\(cursor.remaining) bytes left after the last entry", entryIndex: entryCount)
        }
    }
}
