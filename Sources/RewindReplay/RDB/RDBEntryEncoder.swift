// The RDB import's fast path: keys go from the mapped RDB straight into the log's entry encoding,
// without a `[UInt8]` per element. It writes exactly the entries `RebuildCommands` builds (a test
// compares them); see docs/RDB.md, "What an import writes" and "What it costs".

import RewindLog
import RewindRESP

/// Reads each key's value from the RDB and encodes the commands that rebuild it into a
/// `LogEntryBatch`, handing each full batch to `emit` (the import's destination).
///
/// Elements are slices of the mapped file, or of a scratch buffer when the file stores them
/// LZF-compressed or as integers; each is copied once, into the batch. Values whose entries need
/// the whole value first (sorted sets stored as skiplists, sorted by score) and the rare cases
/// (old encodings' neighbours: streams, modules, keys skipped as expired, databases out of range)
/// go through `RDBReader.readKey` and `RebuildCommands`'s order instead.
struct RDBEntryEncoder {
    /// Takes a full batch (and leaves it empty).
    let emit: (inout LogEntryBatch) throws -> Void
    let chunkElementCountMax: Int
    let chunkByteCountMax: Int
    /// A batch goes to the writer once it holds this many bytes: about one record.
    let batchByteCountTarget: Int
    /// Every entry's time: the RDB's `ctime` in milliseconds (0 when unknown).
    var timestamp: Int64 = 0
    private var batch: LogEntryBatch
    private let keyScratch = RDBScratch(), valueScratch = RDBScratch()
    private let elementScratch = RDBScratch(), memberScratch = RDBScratch()

    // The entry being filled: `command key` then elements, cut into chunks.
    private var command: StaticString = "SET"
    private var key = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    private var db: UInt32 = 0
    private var chunkOpen = false
    private var chunkArgumentCountMax = 0
    private var chunkArgumentCount = 0
    private var chunkByteCount = 0
    private var emitted = false

    init(chunkElementCountMax: Int, chunkByteCountMax: Int, batchByteCountTarget: Int,
         emit: @escaping (inout LogEntryBatch) throws -> Void) {
        self.emit = emit
        self.chunkElementCountMax = chunkElementCountMax
        self.chunkByteCountMax = chunkByteCountMax
        self.batchByteCountTarget = batchByteCountTarget
        batch = LogEntryBatch(reservingByteCount: batchByteCountTarget + 64 * 1024)
    }

    /// Hands what is encoded to `emit`; call once the RDB is read.
    mutating func flush() throws {
        precondition(!chunkOpen)
        if !batch.isEmpty { try emit(&batch) }
    }

    /// Whether `encode` reads this type itself; the others go through `RDBReader.readKey`.
    static func streams(type: UInt8) -> Bool {
        let T = RDBFormat.self
        switch type {
        case T.typeString, T.typeList, T.typeSet, T.typeHash, T.typeListZiplist, T.typeListQuicklist, T.typeListQuicklist2,
             T.typeSetIntset, T.typeSetListpack, T.typeHashZipmap, T.typeHashZiplist, T.typeHashListpack,
             T.typeSortedSetZiplist, T.typeSortedSetListpack:
            return true
        default:
            return false
        }
    }

    /// Reads the key and value after the type byte and encodes their entries; returns the value's
    /// type name when it was an empty collection (nothing written), nil otherwise.
    mutating func encode(_ cursor: inout RDBCursor, _ record: RDBReader.KeyRecord) throws -> String? {
        let T = RDBFormat.self
        let type = record.type
        key = try cursor.stringBytes("a key", scratch: keyScratch)
        cursor.keyBytes = key
        db = record.db
        emitted = false
        let valueOffset = cursor.offset
        switch type {
        case T.typeString:
            let value = try cursor.stringBytes("a string value", scratch: valueScratch)
            begin("SET", stride: 1)
            try element(value)
        case T.typeList, T.typeSet:
            let kind = type == T.typeList ? "list" : "set"
            let count = try cursor.count("the \(kind) element count", bytesEach: 1)
            begin(type == T.typeList ? "RPUSH" : "SADD", stride: 1)
            for _ in 0..<count { try element(try cursor.stringBytes("a \(kind) element", scratch: valueScratch)) }
        case T.typeHash:
            let count = try cursor.count("the hash field count", bytesEach: 2)
            begin("HSET", stride: 2)
            for _ in 0..<count {
                try element(try cursor.stringBytes("a hash field", scratch: valueScratch))
                try append(try cursor.stringBytes("a hash value", scratch: valueScratch))
            }
        case T.typeListQuicklist, T.typeListQuicklist2:
            try quicklist(&cursor, version2: type == T.typeListQuicklist2)
        case T.typeListZiplist, T.typeSetIntset, T.typeSetListpack:
            begin(type == T.typeListZiplist ? "RPUSH" : "SADD", stride: 1)
            let kind = type == T.typeListZiplist ? "ziplist" : type == T.typeSetIntset ? "intset" : "listpack"
            try blob(&cursor, kind) { try $0.element($1) }
        case T.typeHashZipmap, T.typeHashZiplist, T.typeHashListpack:
            let kind = type == T.typeHashZipmap ? "zipmap" : type == T.typeHashZiplist ? "ziplist" : "listpack"
            begin("HSET", stride: 2)
            var count = 0
            try blob(&cursor, kind) { encoder, element in
                if count & 1 == 0 { try encoder.element(element) } else { try encoder.append(element) }
                count += 1
            }
            guard count % 2 == 0 else { throw cursor.error(.malformed, at: valueOffset, "a hash \(kind) with an odd number (\(count)) of fields and values") }
        case T.typeSortedSetZiplist, T.typeSortedSetListpack:
            try packedSortedSet(&cursor, kind: type == T.typeSortedSetZiplist ? "ziplist" : "listpack", valueOffset: valueOffset)
        default:
            preconditionFailure("type \(type) is not streamed")
        }
        if chunkOpen { try endChunk() }
        guard emitted else {
            switch type {
            case T.typeList, T.typeListZiplist, T.typeListQuicklist, T.typeListQuicklist2: return "list"
            case T.typeSet, T.typeSetIntset, T.typeSetListpack: return "set"
            case T.typeHash, T.typeHashZipmap, T.typeHashZiplist, T.typeHashListpack: return "hash"
            default: return "zset"
            }
        }
        if let expiresAt = record.expiresAtMilliseconds { try expire(at: expiresAt) }
        return nil
    }

    /// Encodes a key read by `RDBReader.readKey`, in `RebuildCommands`'s order; false when the
    /// collection is empty.
    mutating func encode(key keyArray: [UInt8], value: StateValue, db: UInt32, expiresAt: Int64?) throws -> Bool {
        try keyArray.withUnsafeBufferPointer { keyBytes in
            key = keyBytes
            self.db = db
            emitted = false
            defer { key = UnsafeBufferPointer(start: nil, count: 0) }
            switch value {
            case .string(let bytes):
                begin("SET", stride: 1)
                try bytes.withUnsafeBufferPointer { try element($0) }
            case .list(let elements), .set(let elements):
                begin(value.typeName == "list" ? "RPUSH" : "SADD", stride: 1)
                for element in elements { try element.withUnsafeBufferPointer { try self.element($0) } }
            case .hash(let pairs):
                begin("HSET", stride: 2)
                for (field, fieldValue) in pairs {
                    try field.withUnsafeBufferPointer { try element($0) }
                    try fieldValue.withUnsafeBufferPointer { try append($0) }
                }
            case .sortedSet(let pairs):
                begin("ZADD", stride: 2)
                let scratch = elementScratch
                for (member, score) in pairs {
                    try Self.scoreText(score, scratch: scratch) { try element($0) }
                    try member.withUnsafeBufferPointer { try append($0) }
                }
            }
            if chunkOpen { try endChunk() }
            guard emitted else { return false }
            if let expiresAt { try expire(at: expiresAt) }
            return true
        }
    }

    // MARK: - Values

    private mutating func quicklist(_ cursor: inout RDBCursor, version2: Bool) throws {
        begin("RPUSH", stride: 1)
        let nodeCount = try cursor.count("the quicklist node count", bytesEach: version2 ? 2 : 1)
        for _ in 0..<nodeCount {
            if version2 {
                let containerOffset = cursor.offset
                let container = try cursor.length("a quicklist node container")
                switch container {
                case RDBFormat.quicklistNodePlain:
                    cursor.plainNodeCount += 1
                    try element(try cursor.stringBytes("a plain quicklist node", scratch: valueScratch))
                    continue
                case RDBFormat.quicklistNodePacked:
                    break
                default:
                    throw cursor.error(.malformed, at: containerOffset, "unknown quicklist node container \(container) (expected 1 plain or 2 packed)")
                }
            }
            try blob(&cursor, version2 ? "listpack" : "ziplist") { try $0.element($1) }
        }
    }

    /// Members and scores alternate in the blob; ZADD wants the score first, so each member waits
    /// for its score (a slice of the blob, or an integer).
    private mutating func packedSortedSet(_ cursor: inout RDBCursor, kind: String, valueOffset: Int) throws {
        begin("ZADD", stride: 2)
        var member: PackedElement?
        var count = 0
        let fileName = cursor.fileName
        try blob(&cursor, kind) { encoder, element in
            count += 1
            guard let pending = member else {
                member = element
                return
            }
            member = nil
            let score: Double?
            switch element {
            case .integer(let value): score = Double(value)
            case .bytes(let text): score = Double(String(decoding: text, as: UTF8.self))
            }
            guard let score, !score.isNaN else {
                throw RDBError(.malformed, file: fileName, byteOffset: valueOffset, key: Array(encoder.key),
                               "the \(kind) holds the score \(ByteQuoting.quoted(element.array)), which is not a number")
            }
            let scratch = encoder.elementScratch
            try Self.scoreText(score, scratch: scratch) { try encoder.element($0) }
            try encoder.appendMember(pending)
        }
        guard count % 2 == 0 else {
            throw cursor.error(.malformed, at: valueOffset, "a sorted set \(kind) with an odd number (\(count)) of members and scores")
        }
    }

    /// Reads a string holding a packed blob and calls `body` with each element; damage inside
    /// the blob is reported at the blob's offset with the place inside it, as `RDBReader` does.
    private mutating func blob(
        _ cursor: inout RDBCursor, _ kind: String, _ body: (inout RDBEntryEncoder, PackedElement) throws -> Void
    ) throws {
        let start = cursor.offset
        let bytes = try cursor.stringBytes("a \(kind) blob", scratch: valueScratch)
        do {
            switch kind {
            case "ziplist": try Ziplist.forEach(bytes) { try body(&self, $0) }
            case "listpack": try Listpack.forEach(bytes) { try body(&self, $0) }
            case "intset": try Intset.forEach(bytes) { try body(&self, $0) }
            default: try Zipmap.forEach(bytes) { try body(&self, $0) }
            }
        } catch let failure as PackedBlobFailure {
            throw cursor.error(.malformed, at: start, "in the \(bytes.count)-byte \(kind) starting here, at byte \(failure.blobOffset): \(failure.message)")
        }
    }

    // MARK: - Chunks

    private mutating func begin(_ command: StaticString, stride: Int) {
        self.command = command
        chunkArgumentCountMax = chunkElementCountMax * stride
        chunkOpen = false
    }

    /// Opens an entry, or cuts the open one when it is full: as `RebuildCommands` does, a chunk
    /// ends only when more elements follow.
    @inline(__always)
    private mutating func startElement() throws {
        if chunkOpen {
            guard chunkArgumentCount >= chunkArgumentCountMax || chunkByteCount >= chunkByteCountMax else { return }
            try endChunk()
        }
        batch.beginCommand(timestampMilliseconds: timestamp, db: db)
        try batch.appendArgument(command)
        try batch.appendArgument(UnsafeRawBufferPointer(key))
        chunkOpen = true
        emitted = true
        chunkArgumentCount = 0
        chunkByteCount = 0
    }

    private mutating func endChunk() throws {
        try batch.endCommand()
        chunkOpen = false
        if batch.byteCount >= batchByteCountTarget { try emit(&batch) }
    }

    @inline(__always)
    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        try batch.appendArgument(UnsafeRawBufferPointer(bytes))
        chunkArgumentCount += 1
        chunkByteCount += bytes.count
    }

    @inline(__always)
    private mutating func append(_ element: PackedElement) throws {
        switch element {
        case .bytes(let bytes): try append(bytes)
        case .integer(let value): try append(elementScratch.decimal(value))
        }
    }

    /// A sorted set member held while its score was written (so not in `elementScratch`).
    private mutating func appendMember(_ element: PackedElement) throws {
        switch element {
        case .bytes(let bytes): try append(bytes)
        case .integer(let value): try append(memberScratch.decimal(value))
        }
    }

    /// One element of a list or set, or the first of a pair (a field, a score) whose second
    /// follows with `append`: a new command starts when the chunk is full.
    @inline(__always)
    private mutating func element(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        try startElement()
        try append(bytes)
    }

    @inline(__always)
    private mutating func element(_ element: PackedElement) throws {
        try startElement()
        try append(element)
    }

    private mutating func expire(at milliseconds: Int64) throws {
        batch.beginCommand(timestampMilliseconds: timestamp, db: db)
        try batch.appendArgument("PEXPIREAT")
        try batch.appendArgument(UnsafeRawBufferPointer(key))
        try batch.appendArgument(UnsafeRawBufferPointer(elementScratch.decimal(milliseconds)))
        try batch.endCommand()
        if batch.byteCount >= batchByteCountTarget { try emit(&batch) }
    }

    /// `RebuildCommands.scoreText`'s bytes, without building an array.
    private static func scoreText(_ score: Double, scratch: RDBScratch, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        if score == score.rounded(), abs(score) < 1e15, !(score == 0 && score.sign == .minus) {
            try body(scratch.decimal(Int64(score)))
            return
        }
        var text = score.description
        try text.withUTF8 { try body($0) }
    }
}
