// The value types a key can hold. See redis src/object.c (encodings) and src/server.h (OBJ_*).

/// The value of one key.
///
/// Strings that are canonical 64-bit integers are kept as `Int64` (Redis's `OBJ_ENCODING_INT`):
/// 8 bytes instead of a heap buffer, and INCR needs no parsing. The conversion is lossless because
/// ``parseInt64(_:)`` accepts only the exact form ``formatInt64(_:)`` prints.
///
/// Aggregates live in final classes so a command mutates them in place without copying the whole
/// collection out of the keyspace and back (Swift's copy-on-write would otherwise copy on every
/// LPUSH). COPY uses ``deepCopy()``.
enum StoredValue {
    case integer(Int64)
    case bytes([UInt8])
    case list(ListValue)
    case hash(HashValue)
    case set(SetValue)
    case sortedSet(SortedSetValue)

    /// A string value in its most compact form.
    static func string(_ bytes: [UInt8]) -> StoredValue {
        if bytes.count <= 20, let integer = parseInt64(bytes) { return .integer(integer) }
        return .bytes(bytes)
    }

    /// The name TYPE replies with.
    var typeName: String {
        switch self {
        case .integer, .bytes: return "string"
        case .list: return "list"
        case .hash: return "hash"
        case .set: return "set"
        case .sortedSet: return "zset"
        }
    }

    /// The string's bytes, or nil when the value is not a string.
    var stringBytes: [UInt8]? {
        switch self {
        case .integer(let value): return formatInt64(value)
        case .bytes(let bytes): return bytes
        default: return nil
        }
    }

    var isString: Bool {
        switch self {
        case .integer, .bytes: return true
        default: return false
        }
    }

    /// The creation stamp of an aggregate's box; nil for strings, which are values.
    var boxStamp: UInt64? {
        switch self {
        case .integer, .bytes: return nil
        case .list(let list): return list.stamp
        case .hash(let hash): return hash.stamp
        case .set(let set): return set.stamp
        case .sortedSet(let sortedSet): return sortedSet.stamp
        }
    }

    /// An independent copy: aggregates get new boxes (COPY, and replay comparisons).
    func deepCopy() -> StoredValue {
        switch self {
        case .integer, .bytes: return self
        case .list(let list): return .list(ListValue(list.items))
        case .hash(let hash): return .hash(HashValue(hash.fields))
        case .set(let set): return .set(SetValue(set.members))
        case .sortedSet(let sortedSet): return .sortedSet(SortedSetValue(sortedSet.elements))
        }
    }
}

/// A list: elements packed into chunks (``PackedList``), O(1) at both ends.
final class ListValue {
    @exclusivity(unchecked) var items: PackedList
    /// When this box was made, for copy-on-write after ``Keyspace/fork()``.
    let stamp = OwnershipStamp.next()
    init(_ items: PackedList = PackedList()) { self.items = items }
}

/// A hash: fields in a ``SlotMap`` so HGETALL, HSCAN and HRANDFIELD never depend on Swift's seed.
final class HashValue {
    @exclusivity(unchecked) var fields: SlotMap<[UInt8]>
    /// When this box was made, for copy-on-write after ``Keyspace/fork()``.
    let stamp = OwnershipStamp.next()
    init(_ fields: SlotMap<[UInt8]> = SlotMap()) { self.fields = fields }
}

/// A set: members in a ``SlotMap`` so SMEMBERS, SSCAN, SPOP and SRANDMEMBER never depend on
/// Swift's seed.
final class SetValue {
    @exclusivity(unchecked) var members: SlotMap<Void>
    /// When this box was made, for copy-on-write after ``Keyspace/fork()``.
    let stamp = OwnershipStamp.next()
    init(_ members: SlotMap<Void> = SlotMap()) { self.members = members }

    func contains(_ member: [UInt8]) -> Bool { members.findSlot(of: member) != nil }

    /// Adds a member; returns whether it was new.
    @discardableResult
    func insert(_ member: [UInt8]) -> Bool {
        guard members.findSlot(of: member) == nil else { return false }
        _ = members.insertNew(key: member, value: ())
        return true
    }

    /// The members in slot order.
    var elements: [[UInt8]] { members.occupied.map(\.key) }
}

/// A sorted set: the skiplist/compact ``SortedSet`` of Values/, boxed so commands mutate it in place.
final class SortedSetValue {
    @exclusivity(unchecked) var elements: SortedSet
    /// When this box was made, for copy-on-write after ``Keyspace/fork()``.
    let stamp = OwnershipStamp.next()
    init(_ elements: SortedSet) { self.elements = elements }
}

/// One database: its keys and, separately, the expiry times of the keys that have one
/// (Redis's `db->dict` and `db->expires`). Keeping expiry apart costs nothing for the many keys
/// without a TTL and lets active expiry sample only keys that can expire.
///
/// A class, not a struct: reading `databases[db].entries[key]` through a struct element made Swift
/// copy the whole `Database` (ten array references retained and released) on every lookup, which
/// was 40% of a GET/SET profile.
final class Database {
    @exclusivity(unchecked) var entries = SlotMap<StoredValue>()
    /// Unix time in milliseconds at which each key expires.
    @exclusivity(unchecked) var expires = SlotMap<Int64>()
}
