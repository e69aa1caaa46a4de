// Clear-box hooks for tests. Not API: reachable only through `@_spi(Testing) import RewindEngine`.

/// A comparable picture of a keyspace's whole state: every key of every database with its type,
/// contents and expiry time.
@_spi(Testing)
public struct KeyspaceSnapshot: Equatable, CustomStringConvertible {
    public struct Entry: Equatable {
        public var key: [UInt8]
        public var type: String
        /// Strings: one element; lists: in order; hashes: field, value, ... sorted by field;
        /// sets: members sorted (unless the snapshot keeps slot order).
        public var contents: [[UInt8]]
        public var expiresAtMilliseconds: Int64?
    }

    /// One array of entries per database.
    public var databases: [[Entry]]

    public var description: String {
        databases.enumerated().filter { !$0.element.isEmpty }.map { db, entries in
            "db\(db): " + entries.map { entry in
                String(decoding: entry.key, as: UTF8.self) + "(\(entry.type), \(entry.contents.count), ttl \(entry.expiresAtMilliseconds.map(String.init) ?? "-"))"
            }.joined(separator: " ")
        }.joined(separator: "\n")
    }
}

extension Keyspace {
    /// The whole state. With `inSlotOrder`, keys, fields and members keep the engine's internal
    /// order, so two snapshots are equal only if every observable order (KEYS, SCAN, SMEMBERS)
    /// would be too; otherwise everything is sorted, which is what "the same data" means.
    @_spi(Testing)
    public func snapshot(inSlotOrder: Bool = false) -> KeyspaceSnapshot {
        func lexicographic(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }
        var result: [[KeyspaceSnapshot.Entry]] = []
        for db in databases.indices {
            var entries: [KeyspaceSnapshot.Entry] = []
            for slot in databases[db].entries.occupied {
                var contents: [[UInt8]]
                switch slot.value {
                case .integer, .bytes: contents = [slot.value.stringBytes ?? []]
                case .list(let list): contents = Array(list.items)
                case .hash(let hash):
                    var pairs = hash.fields.occupied.map { ($0.key, $0.value) }
                    if !inSlotOrder { pairs.sort { lexicographic($0.0, $1.0) } }
                    contents = pairs.flatMap { [$0.0, $0.1] }
                case .set(let set):
                    contents = set.elements
                    if !inSlotOrder { contents.sort(by: lexicographic) }
                case .sortedSet(let sortedSet):
                    contents = sortedSet.elements.elements.flatMap { [$0.member, formatScore($0.score)] }
                }
                entries.append(KeyspaceSnapshot.Entry(key: slot.key, type: slot.value.typeName, contents: contents,
                                                      expiresAtMilliseconds: expireTime(db: db, slot.key)))
            }
            if !inSlotOrder { entries.sort { lexicographic($0.key, $1.key) } }
            result.append(entries)
        }
        return KeyspaceSnapshot(databases: result)
    }
}
