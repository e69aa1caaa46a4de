// Entries encoded by the caller into a record payload, outside the writer's lock, then handed to
// `LogWriter.append(_:)` whole. The bytes are exactly those `EntryCodec.encode` writes; see
// docs/FORMAT.md, "Entries".

/// Command entries encoded straight from argument bytes, for bulk writers (imports) that would
/// otherwise build a `[[UInt8]]` per entry.
///
/// The batch becomes one record (or the start of one) when it is handed to
/// ``LogWriter/append(_:)``, which takes its bytes and leaves it empty for reuse. Arguments are
/// copied from the buffers passed in, so those need to live only for the call. A batch is a
/// value used by one thread at a time; encoding takes no lock.
///
/// ```swift
/// var batch = LogEntryBatch()
/// batch.beginCommand(timestampMilliseconds: now, db: 0)
/// try batch.appendArgument("SET")
/// try key.withUnsafeBytes { try batch.appendArgument($0) }
/// try value.withUnsafeBytes { try batch.appendArgument($0) }
/// try batch.endCommand()
/// if batch.byteCount >= 128 * 1024 { try writer.append(&batch) }
/// ```
public struct LogEntryBatch {
    var bytes: [UInt8] = []
    /// The end offset of each entry in `bytes`, for the writer's dictionary samples.
    var entryEnds: [Int] = []
    /// Entries completed.
    public private(set) var entryCount = 0
    /// The timestamp of the first entry: the record's base timestamp.
    private(set) var baseTimestampMilliseconds: Int64 = 0
    /// The delta state after the last entry, so the writer can go on encoding after the batch.
    private(set) var state = EntryCodec.DeltaState(baseTimestampMilliseconds: 0)
    /// The first entry's database and the size of its header (flags, database, timestamp
    /// delta), which the writer encodes again when the batch joins pending entries.
    private(set) var firstEntryDb: UInt32 = 0
    private(set) var firstEntryHeaderByteCount = 0
    /// Where the open entry starts, or -1 when none is open.
    private var entryStart = -1
    /// Where the open entry's one-byte argument count placeholder is.
    private var countOffset = 0
    private var argumentCount = 0
    /// The delta state before the open entry's header: what an abandoned entry goes back to.
    private var stateBeforeEntry = EntryCodec.DeltaState(baseTimestampMilliseconds: 0)

    public init(reservingByteCount byteCount: Int = 0) {
        bytes.reserveCapacity(byteCount)
    }

    /// Bytes encoded so far (the record payload's uncompressed size).
    public var byteCount: Int { bytes.count }
    public var isEmpty: Bool { entryCount == 0 && entryStart < 0 }
    /// Whether `beginCommand` was called without its `endCommand` yet.
    public var hasOpenEntry: Bool { entryStart >= 0 }
    /// Arguments of the open entry so far.
    public var openEntryArgumentCount: Int { argumentCount }

    /// Starts a command entry; its arguments follow, then ``endCommand()``.
    public mutating func beginCommand(timestampMilliseconds: Int64, db: UInt32) {
        precondition(entryStart < 0, "beginCommand while an entry is open")
        if entryCount == 0 {
            baseTimestampMilliseconds = timestampMilliseconds
            state = EntryCodec.DeltaState(baseTimestampMilliseconds: timestampMilliseconds)
        }
        entryStart = bytes.count
        argumentCount = 0
        stateBeforeEntry = state
        EntryCodec.encodeHeader(kind: .command, hasReplyHash: false, db: db, timestampMilliseconds: timestampMilliseconds,
                                into: &bytes, state: &state)
        if entryCount == 0 {
            firstEntryDb = db
            firstEntryHeaderByteCount = bytes.count - entryStart
        }
        countOffset = bytes.count
        bytes.append(0)
    }

    /// Appends one argument of the open entry, copying its bytes.
    ///
    /// - Throws: `LogError` `.entryTooLarge` when the argument or the count breaks `LogLimits`.
    @inline(__always)
    public mutating func appendArgument(_ argument: UnsafeRawBufferPointer) throws {
        precondition(entryStart >= 0, "appendArgument without beginCommand")
        guard argument.count <= LogLimits.argumentByteCountMax else {
            abandonOpenEntry()
            throw LogError(.entryTooLarge, path: "entry batch", "argument of \(argument.count) bytes exceeds the limit of \(LogLimits.argumentByteCountMax)")
        }
        guard argumentCount < LogLimits.argumentCountMax else {
            abandonOpenEntry()
            throw LogError(.entryTooLarge, path: "entry batch", "entry has more than \(LogLimits.argumentCountMax) arguments")
        }
        if argumentCount == 0 {
            if let token = WellKnownTokens.number(of: argument) {
                bytes.appendVarint(UInt64(token) << 1 | 1)
            } else {
                bytes.appendVarint(UInt64(argument.count) << 1)
                bytes.append(contentsOf: argument)
            }
        } else {
            bytes.appendVarint(UInt64(argument.count))
            bytes.append(contentsOf: argument)
        }
        argumentCount += 1
    }

    /// Appends one argument given as text (a command name).
    public mutating func appendArgument(_ text: StaticString) throws {
        try appendArgument(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Closes the open entry.
    ///
    /// - Throws: `LogError` `.entryTooLarge` when the entry has no argument or does not fit in
    ///   one record.
    public mutating func endCommand() throws {
        precondition(entryStart >= 0, "endCommand without beginCommand")
        guard argumentCount > 0 else {
            abandonOpenEntry()
            throw LogError(.entryTooLarge, path: "entry batch", "a command entry needs at least one argument")
        }
        if argumentCount < 0x80 {
            bytes[countOffset] = UInt8(argumentCount)
        } else {
            var count: [UInt8] = []
            count.appendVarint(UInt64(argumentCount))
            bytes.replaceSubrange(countOffset..<(countOffset + 1), with: count)
        }
        // As `LogWriter.append` allows: one entry with an argument of the largest size must fit.
        guard bytes.count - entryStart <= LogLimits.recordUncompressedByteCountMax - 4096 else {
            let size = bytes.count - entryStart
            abandonOpenEntry()
            throw LogError(.entryTooLarge, path: "entry batch", "\(size) bytes do not fit in one record")
        }
        entryStart = -1
        entryCount += 1
        entryEnds.append(bytes.count)
    }

    /// Takes the open entry back out after a refused argument or end, so that the batch stays
    /// usable: its bytes, and the delta state its header moved.
    private mutating func abandonOpenEntry() {
        bytes.removeSubrange(entryStart...)
        state = stateBeforeEntry
        entryStart = -1
        argumentCount = 0
    }

    /// Drops everything, keeping the storage.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entryEnds.removeAll(keepingCapacity: true)
        entryCount = 0
        entryStart = -1
        argumentCount = 0
    }
}
