// OBJECT ENCODING. See redis src/object.c (objectCommand, strEncoding) and the conversion rules
// of t_string.c, t_list.c, t_hash.c and t_set.c.

import RewindRESP

extension Keyspace {
    /// OBJECT ENCODING key: the encoding Redis 7.0 would report.
    ///
    /// Sorted sets report the encoding ``SortedSet`` really has, which follows Redis's conversions
    /// exactly. The other types are not stored the way Redis stores them, so their answer is
    /// derived from the value with Redis's default thresholds: exact for values built by plain
    /// writes, but Redis's one-way conversions (a hash that once held a long field stays a
    /// hashtable, APPEND makes a string raw) are not remembered. Other subcommands are not
    /// implemented and get Redis's unknown-subcommand reply.
    func objectCommand(_ context: inout CommandContext) throws(CommandError) -> RESPValue {
        let subcommand = context.arguments[1]
        guard argumentEquals(subcommand, "ENCODING") else {
            throw ErrorReply.unknownSubcommand(subcommand, container: "OBJECT")
        }
        guard context.argumentCount == 3 else { throw ErrorReply.wrongArity("object|encoding") }
        // Redis looks the key up with LOOKUP_NOTOUCH, which still expires it (and logs the DEL).
        guard let value = lookup(context.arguments[2], &context) else { return .null }
        return .bulk(Self.encodingName(of: value))
    }

    static func encodingName(of value: StoredValue) -> String {
        switch value {
        case .integer: return "int"
        case .bytes(let bytes):
            // PFADD and PFMERGE create raw strings (`createHLLObject`); SET makes short ones embstr.
            return bytes.count <= 44 && !bytes.starts(with: HyperLogLog.magic) ? "embstr" : "raw"
        case .list:
            // Redis 7.0 encodes every list as a quicklist (listpack lists came in 7.2).
            return "quicklist"
        case .hash(let hash):
            let fits = hash.fields.count <= 128 && hash.fields.occupied.allSatisfy { $0.key.count <= 64 && $0.value.count <= 64 }
            return fits ? "listpack" : "hashtable"
        case .set(let set):
            let integers = set.members.count <= 512 && set.members.occupied.allSatisfy { parseInt64($0.key) != nil }
            return integers ? "intset" : "hashtable"
        case .sortedSet(let sortedSet): return sortedSet.elements.encoding.rawValue
        }
    }
}
