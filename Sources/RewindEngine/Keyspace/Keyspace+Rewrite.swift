// The commands that rebuild a keyspace, read straight from storage: what a compaction base (or
// Redis's AOF rewrite, rewriteAppendOnlyFileRio in src/aof.c) holds. Reading through a snapshot
// copied the whole state first (every element into an array, then into a plain value, then into
// command arguments); here each element is copied once, into the command that carries it.

extension Keyspace {
    /// Calls `body` with the commands that rebuild every key, database by database, keys in slot
    /// order: `SET key value` (with `PXAT when` when the key expires), or `RPUSH`, `SADD`,
    /// `HSET`, `ZADD` in chunks of at most `chunkElementCountMax` elements and, past the first
    /// element, about `chunkByteCountMax` bytes, followed by `PEXPIREAT key when` for a TTL.
    /// Lists go head to tail, sets and hashes in slot order, sorted sets in score order with
    /// scores as `%.17g` prints them. Returns the number of keys.
    ///
    /// Only reads: safe on a ``fork()`` read by one thread while the original keeps writing.
    @discardableResult
    public func forEachRebuildCommand(chunkElementCountMax: Int, chunkByteCountMax: Int,
                                      _ body: (_ db: Int, _ arguments: [[UInt8]]) throws -> Void) rethrows -> Int {
        var keyCount = 0
        for db in databases.indices {
            let expires = databases[db].expires
            for slot in databases[db].entries.occupied {
                keyCount += 1
                let key = slot.key
                let expiresAt = expires.isEmpty ? nil : expires[key]
                var chunk = RebuildChunk(key: key, elementCountMax: chunkElementCountMax, byteCountMax: chunkByteCountMax)
                switch slot.value {
                case .integer, .bytes:
                    let value = slot.value.stringBytes ?? []
                    if let expiresAt {
                        try body(db, [RebuildName.set, key, value, RebuildName.pxat, Array(String(expiresAt).utf8)])
                    } else {
                        try body(db, [RebuildName.set, key, value])
                    }
                    continue
                case .list(let list):
                    for item in list.items { try chunk.add(RebuildName.rpush, [item], db, body) }
                case .set(let set):
                    for member in set.members.occupied { try chunk.add(RebuildName.sadd, [member.key], db, body) }
                case .hash(let hash):
                    for field in hash.fields.occupied { try chunk.add(RebuildName.hset, [field.key, field.value], db, body) }
                case .sortedSet(let sortedSet):
                    for element in sortedSet.elements.elements {
                        try chunk.add(RebuildName.zadd, [formatScore(element.score), element.member], db, body)
                    }
                }
                try chunk.flush(db, body)
                if let expiresAt { try body(db, [RebuildName.pexpireat, key, Array(String(expiresAt).utf8)]) }
            }
        }
        return keyCount
    }
}

/// One command being filled with a key's elements.
private struct RebuildChunk {
    let key: [UInt8]
    let elementCountMax: Int
    let byteCountMax: Int
    var command: [[UInt8]] = []
    var elements = 0
    var bytes = 0

    init(key: [UInt8], elementCountMax: Int, byteCountMax: Int) {
        self.key = key
        self.elementCountMax = max(1, elementCountMax)
        self.byteCountMax = max(1, byteCountMax)
    }

    mutating func add(_ name: [UInt8], _ group: [[UInt8]], _ db: Int, _ body: (Int, [[UInt8]]) throws -> Void) rethrows {
        let size = group.reduce(0) { $0 + $1.count }
        if elements > 0 && (elements >= elementCountMax || bytes + size > byteCountMax) { try flush(db, body) }
        if elements == 0 {
            command = [name, key]
            command.reserveCapacity(2 + min(elementCountMax, 1024) * group.count)
        }
        command += group
        elements += 1
        bytes += size
    }

    mutating func flush(_ db: Int, _ body: (Int, [[UInt8]]) throws -> Void) rethrows {
        guard elements > 0 else { return }
        try body(db, command)
        command = []
        elements = 0
        bytes = 0
    }
}

private enum RebuildName {
    static let set = Array("SET".utf8), pxat = Array("PXAT".utf8), rpush = Array("RPUSH".utf8), sadd = Array("SADD".utf8)
    static let hset = Array("HSET".utf8), zadd = Array("ZADD".utf8), pexpireat = Array("PEXPIREAT".utf8)
}
