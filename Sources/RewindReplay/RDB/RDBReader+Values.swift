// Reading one key's value, for every type and encoding Redis 7.0 (and earlier versions) write.

import RewindRESP

extension RDBReader {
    /// Reads the key and value after a type byte; nil when the value was skipped (a stream with
    /// `skipsStreams`).
    static func readKey(_ cursor: inout RDBCursor, type: UInt8, typeOffset: Int, options: Options,
                        summary: inout RDBFileSummary) throws -> ([UInt8], StateValue)? {
        if !isKnownType(type) {
            throw cursor.error(.malformed, at: typeOffset, "expected a record opcode or a value type, found the unknown byte 0x\(String(type, radix: 16))")
        }
        let key = try cursor.string("a key")
        cursor.key = key
        let valueOffset = cursor.offset
        let T = RDBFormat.self
        switch type {
        case T.typeString:
            return (key, .string(try cursor.string("a string value")))
        case T.typeList:
            return (key, .list(try plainStrings(&cursor, "list")))
        case T.typeSet:
            return (key, .set(try plainStrings(&cursor, "set")))
        case T.typeHash:
            let count = try cursor.count("the hash field count", bytesEach: 2)
            var pairs: [([UInt8], [UInt8])] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count { pairs.append((try cursor.string("a hash field"), try cursor.string("a hash value"))) }
            return (key, .hash(pairs))
        case T.typeSortedSet, T.typeSortedSet2:
            let count = try cursor.count("the sorted set member count", bytesEach: 2)
            var pairs: [([UInt8], Double)] = []
            pairs.reserveCapacity(count)
            for _ in 0..<count {
                let member = try cursor.string("a sorted set member")
                let scoreOffset = cursor.offset
                let score = type == T.typeSortedSet ? try cursor.textDouble("a score") : try cursor.binaryDouble("a binary double score")
                guard !score.isNaN else { throw cursor.error(.malformed, at: scoreOffset, "a NaN score, which Redis refuses to load") }
                pairs.append((member, score))
            }
            return (key, .sortedSet(sortedByScore(pairs)))
        case T.typeListQuicklist, T.typeListQuicklist2:
            return (key, .list(try quicklist(&cursor, version2: type == T.typeListQuicklist2)))
        case T.typeListZiplist:
            return (key, .list(try blob(&cursor, "ziplist", Ziplist.elements)))
        case T.typeSetIntset:
            return (key, .set(try blob(&cursor, "intset", Intset.elements)))
        case T.typeSetListpack:
            return (key, .set(try blob(&cursor, "listpack", Listpack.elements)))
        case T.typeHashZipmap, T.typeHashZiplist, T.typeHashListpack:
            let kind = type == T.typeHashZipmap ? "zipmap" : type == T.typeHashZiplist ? "ziplist" : "listpack"
            let decode = type == T.typeHashZipmap ? Zipmap.elements : type == T.typeHashZiplist ? Ziplist.elements : Listpack.elements
            let flat = try blob(&cursor, kind, decode)
            guard flat.count % 2 == 0 else { throw cursor.error(.malformed, at: valueOffset, "a hash \(kind) with an odd number (\(flat.count)) of fields and values") }
            return (key, .hash(stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }))
        case T.typeSortedSetZiplist, T.typeSortedSetListpack:
            let kind = type == T.typeSortedSetZiplist ? "ziplist" : "listpack"
            let flat = try blob(&cursor, kind, type == T.typeSortedSetZiplist ? Ziplist.elements : Listpack.elements)
            guard flat.count % 2 == 0 else { throw cursor.error(.malformed, at: valueOffset, "a sorted set \(kind) with an odd number (\(flat.count)) of members and scores") }
            var pairs: [([UInt8], Double)] = []
            pairs.reserveCapacity(flat.count / 2)
            for index in stride(from: 0, to: flat.count, by: 2) {
                guard let score = Double(String(decoding: flat[index + 1], as: UTF8.self)), !score.isNaN else {
                    throw cursor.error(.malformed, at: valueOffset, "the \(kind) holds the score \(ByteQuoting.quoted(flat[index + 1])), which is not a number")
                }
                pairs.append((flat[index], score))
            }
            return (key, .sortedSet(pairs))
        case T.typeStreamListpacks, T.typeStreamListpacks2, T.typeStreamListpacks3:
            guard options.skipsStreams else {
                throw cursor.error(.unsupported, at: typeOffset, "a stream, which Rewind does not import yet (pass --skip-streams to import the other keys)")
            }
            try skipStream(&cursor, type: type)
            summary.skipped.append(RDBSkippedRecord(byteOffset: typeOffset, what: "stream \(ByteQuoting.quoted(key.prefix(200)))"))
            return nil
        default:
            throw cursor.error(.unsupported, at: typeOffset, "a \(RDBFormat.typeName(type)), whose contents only its module can read")
        }
    }

    static func isKnownType(_ type: UInt8) -> Bool {
        type <= RDBFormat.typeStreamListpacks3 && type != 8
    }

    /// Elements of a plain list or set: a count, then that many strings.
    private static func plainStrings(_ cursor: inout RDBCursor, _ kind: String) throws -> [[UInt8]] {
        let count = try cursor.count("the \(kind) element count", bytesEach: 1)
        var elements: [[UInt8]] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try cursor.string("a \(kind) element")) }
        return elements
    }

    /// Reads a string holding a packed blob and decodes it; damage inside is reported at the
    /// blob's offset with the place inside it.
    private static func blob(_ cursor: inout RDBCursor, _ kind: String,
                             _ decode: (UnsafeBufferPointer<UInt8>) throws -> [[UInt8]]) throws -> [[UInt8]] {
        let start = cursor.offset
        let bytes = try cursor.string("a \(kind) blob")
        do {
            return try bytes.withUnsafeBufferPointer { try decode($0) }
        } catch let failure as PackedBlobFailure {
            throw cursor.error(.malformed, at: start, "in the \(bytes.count)-byte \(kind) starting here, at byte \(failure.blobOffset): \(failure.message)")
        }
    }

    /// A quicklist: a node count, then per node a ziplist (version 1), or a container kind and
    /// either one plain element or a listpack (version 2).
    private static func quicklist(_ cursor: inout RDBCursor, version2: Bool) throws -> [[UInt8]] {
        let nodeCount = try cursor.count("the quicklist node count", bytesEach: version2 ? 2 : 1)
        var elements: [[UInt8]] = []
        for _ in 0..<nodeCount {
            if version2 {
                let containerOffset = cursor.offset
                let container = try cursor.length("a quicklist node container")
                switch container {
                case RDBFormat.quicklistNodePlain:
                    cursor.plainNodeCount += 1
                    elements.append(try cursor.string("a plain quicklist node"))
                    continue
                case RDBFormat.quicklistNodePacked:
                    break
                default:
                    throw cursor.error(.malformed, at: containerOffset, "unknown quicklist node container \(container) (expected 1 plain or 2 packed)")
                }
            }
            // An empty node adds nothing; it is accepted (Redis refuses it only when sanitizing).
            let node = try blob(&cursor, version2 ? "listpack" : "ziplist", version2 ? Listpack.elements : Ziplist.elements)
            elements.append(contentsOf: node)
        }
        return elements
    }

    /// Pairs in score order, then member order, as a sorted set holds them (plain ZSET records are
    /// written from the skiplist's dict in hash order).
    static func sortedByScore(_ pairs: [([UInt8], Double)]) -> [([UInt8], Double)] {
        pairs.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0.lexicographicallyPrecedes($1.0) }
    }

    /// Reads past a stream value, checking its structure (rdb.c, RDB_TYPE_STREAM_LISTPACKS*).
    private static func skipStream(_ cursor: inout RDBCursor, type: UInt8) throws {
        let version = type == RDBFormat.typeStreamListpacks ? 1 : type == RDBFormat.typeStreamListpacks2 ? 2 : 3
        let nodeCount = try cursor.count("the stream listpack count", bytesEach: 2)
        for _ in 0..<nodeCount {
            try cursor.skipString("a stream node key")
            try cursor.skipString("a stream listpack")
        }
        _ = try cursor.length("the stream length")
        _ = try cursor.length("the last id's milliseconds")
        _ = try cursor.length("the last id's sequence")
        if version >= 2 {
            for what in ["first id ms", "first id seq", "max deleted id ms", "max deleted id seq", "entries added"] {
                _ = try cursor.length("the stream's \(what)")
            }
        }
        let groupCount = try cursor.count("the consumer group count", bytesEach: 3)
        for _ in 0..<groupCount {
            try cursor.skipString("a consumer group name")
            _ = try cursor.length("the group's last id ms")
            _ = try cursor.length("the group's last id seq")
            if version >= 2 { _ = try cursor.length("the group's entries read") }
            let pending = try cursor.count("the group's pending entry count", bytesEach: 24)
            for _ in 0..<pending {
                try cursor.skip(24, "a pending entry's id and delivery time")
                _ = try cursor.length("a pending entry's delivery count")
            }
            let consumers = try cursor.count("the consumer count", bytesEach: 10)
            for _ in 0..<consumers {
                try cursor.skipString("a consumer name")
                try cursor.skip(version >= 3 ? 16 : 8, "a consumer's seen time")
                let owned = try cursor.count("a consumer's pending count", bytesEach: 16)
                try cursor.skip(owned * 16, "a consumer's pending ids")
            }
        }
    }
}
