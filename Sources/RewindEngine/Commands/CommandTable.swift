// The command table: one row per command, sorted by name. Arity, flags and key positions match
// `COMMAND INFO` of redis-server 7.0.15 (checked by CommandTableTests against a live server).

/// The declarative table the dispatcher, `COMMAND` and key extraction all read.
enum CommandTable {
    /// Every command, sorted by name.
    static let all: [CommandSpec] = ([
        CommandSpec("append", arity: 3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.appendCommand),
        CommandSpec("bitcount", arity: -2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .bitmap, run: Keyspace.bitcountCommand),
        CommandSpec("bitfield", arity: -2, flags: [.write, .denyOOM], keys: .range(first: 1, last: 1, step: 1), group: .bitmap, run: Keyspace.bitfieldCommand),
        CommandSpec("bitfield_ro", arity: -2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .bitmap, run: Keyspace.bitfieldROCommand),
        CommandSpec("bitop", arity: -4, flags: [.write, .denyOOM], keys: .range(first: 2, last: -1, step: 1), group: .bitmap, run: Keyspace.bitopCommand),
        CommandSpec("bitpos", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .bitmap, run: Keyspace.bitposCommand),
        CommandSpec("blmove", arity: 6, flags: [.write, .denyOOM, .noscript, .blocking], keys: .range(first: 1, last: 2, step: 1), group: .list, run: Keyspace.blmoveCommand),
        CommandSpec("blmpop", arity: -5, flags: [.write, .blocking, .movableKeys], keys: .keyNum(index: 2, first: 3, step: 1), group: .list, run: Keyspace.blmpopCommand),
        CommandSpec("blpop", arity: -3, flags: [.write, .noscript, .blocking], keys: .range(first: 1, last: -2, step: 1), group: .list, run: Keyspace.blpopCommand),
        CommandSpec("brpop", arity: -3, flags: [.write, .noscript, .blocking], keys: .range(first: 1, last: -2, step: 1), group: .list, run: Keyspace.brpopCommand),
        CommandSpec("brpoplpush", arity: 4, flags: [.write, .denyOOM, .noscript, .blocking], keys: .range(first: 1, last: 2, step: 1), group: .list, run: Keyspace.brpoplpushCommand),
        CommandSpec("command", arity: -1, flags: [.loading, .stale], keys: .none, group: .server, extraCategories: [.connection], run: Keyspace.commandCommand),
        CommandSpec("copy", arity: -3, flags: [.write, .denyOOM], keys: .range(first: 1, last: 2, step: 1), group: .generic, run: Keyspace.copyCommand),
        CommandSpec("dbsize", arity: 1, flags: [.readonly, .fast], keys: .none, group: .generic, run: Keyspace.dbsizeCommand),
        CommandSpec("debug", arity: -2, flags: [.admin, .noscript, .loading, .stale], keys: .none, group: .server, extraCategories: [.dangerous], run: Keyspace.debugCommand),
        CommandSpec("decr", arity: 2, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.decrCommand),
        CommandSpec("decrby", arity: 3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.decrbyCommand),
        CommandSpec("del", arity: -2, flags: [.write], keys: .range(first: 1, last: -1, step: 1), group: .generic, run: Keyspace.delCommand),
        CommandSpec("discard", arity: 1, flags: [.noscript, .loading, .stale, .fast, .allowBusy], keys: .none, group: .transactions, run: Keyspace.discardCommand),
        CommandSpec("echo", arity: 2, flags: [.loading, .stale, .fast], keys: .none, group: .connection, run: Keyspace.echoCommand),
        CommandSpec("exec", arity: 1, flags: [.noscript, .loading, .stale, .skipSlowlog], keys: .none, group: .transactions, run: Keyspace.execCommand),
        CommandSpec("exists", arity: -2, flags: [.readonly, .fast], keys: .range(first: 1, last: -1, step: 1), group: .generic, run: Keyspace.existsCommand),
        CommandSpec("expire", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.expireCommand),
        CommandSpec("expireat", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.expireatCommand),
        CommandSpec("expiretime", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.expiretimeCommand),
        CommandSpec("flushall", arity: -1, flags: [.write], keys: .none, group: .generic, extraCategories: [.dangerous], run: Keyspace.flushallCommand),
        CommandSpec("flushdb", arity: -1, flags: [.write], keys: .none, group: .generic, extraCategories: [.dangerous], run: Keyspace.flushdbCommand),
        CommandSpec("get", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.getCommand),
        CommandSpec("getbit", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .bitmap, run: Keyspace.getbitCommand),
        CommandSpec("getdel", arity: 2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.getdelCommand),
        CommandSpec("getex", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.getexCommand),
        CommandSpec("getrange", arity: 4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.getrangeCommand),
        CommandSpec("getset", arity: 3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.getsetCommand),
        CommandSpec("hdel", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hdelCommand),
        CommandSpec("hexists", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hexistsCommand),
        CommandSpec("hget", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hgetCommand),
        CommandSpec("hgetall", arity: 2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hgetallCommand),
        CommandSpec("hincrby", arity: 4, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hincrbyCommand),
        CommandSpec("hincrbyfloat", arity: 4, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hincrbyfloatCommand),
        CommandSpec("hkeys", arity: 2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hkeysCommand),
        CommandSpec("hlen", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hlenCommand),
        CommandSpec("hmget", arity: -3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hmgetCommand),
        CommandSpec("hmset", arity: -4, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hmsetCommand),
        CommandSpec("hrandfield", arity: -2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hrandfieldCommand),
        CommandSpec("hscan", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hscanCommand),
        CommandSpec("hset", arity: -4, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hsetCommand),
        CommandSpec("hsetnx", arity: 4, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hsetnxCommand),
        CommandSpec("hstrlen", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hstrlenCommand),
        CommandSpec("hvals", arity: 2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .hash, run: Keyspace.hvalsCommand),
        CommandSpec("incr", arity: 2, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.incrCommand),
        CommandSpec("incrby", arity: 3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.incrbyCommand),
        CommandSpec("incrbyfloat", arity: 3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.incrbyfloatCommand),
        CommandSpec("keys", arity: 2, flags: [.readonly], keys: .none, group: .generic, extraCategories: [.dangerous], run: Keyspace.keysCommand),
        CommandSpec("lcs", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 2, step: 1), group: .string, run: Keyspace.lcsCommand),
        CommandSpec("lindex", arity: 3, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.lindexCommand),
        CommandSpec("linsert", arity: 5, flags: [.write, .denyOOM], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.linsertCommand),
        CommandSpec("llen", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.llenCommand),
        CommandSpec("lmove", arity: 5, flags: [.write, .denyOOM], keys: .range(first: 1, last: 2, step: 1), group: .list, run: Keyspace.lmoveCommand),
        CommandSpec("lmpop", arity: -4, flags: [.write, .movableKeys], keys: .keyNum(index: 1, first: 2, step: 1), group: .list, run: Keyspace.lmpopCommand),
        CommandSpec("lpop", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.lpopCommand),
        CommandSpec("lpos", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.lposCommand),
        CommandSpec("lpush", arity: -3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.lpushCommand),
        CommandSpec("lpushx", arity: -3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.lpushxCommand),
        CommandSpec("lrange", arity: 4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.lrangeCommand),
        CommandSpec("lrem", arity: 4, flags: [.write], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.lremCommand),
        CommandSpec("lset", arity: 4, flags: [.write, .denyOOM], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.lsetCommand),
        CommandSpec("ltrim", arity: 4, flags: [.write], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.ltrimCommand),
        CommandSpec("mget", arity: -2, flags: [.readonly, .fast], keys: .range(first: 1, last: -1, step: 1), group: .string, run: Keyspace.mgetCommand),
        CommandSpec("move", arity: 3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.moveCommand),
        CommandSpec("mset", arity: -3, flags: [.write, .denyOOM], keys: .range(first: 1, last: -1, step: 2), group: .string, run: Keyspace.msetCommand),
        CommandSpec("msetnx", arity: -3, flags: [.write, .denyOOM], keys: .range(first: 1, last: -1, step: 2), group: .string, run: Keyspace.msetnxCommand),
        CommandSpec("multi", arity: 1, flags: [.noscript, .loading, .stale, .fast, .allowBusy], keys: .none, group: .transactions, run: Keyspace.multiCommand),
        CommandSpec("persist", arity: 2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.persistCommand),
        CommandSpec("pexpire", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.pexpireCommand),
        CommandSpec("pexpireat", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.pexpireatCommand),
        CommandSpec("pexpiretime", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.pexpiretimeCommand),
        CommandSpec("pfadd", arity: -2, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .hyperloglog, run: Keyspace.pfaddCommand),
        CommandSpec("pfcount", arity: -2, flags: [.readonly], keys: .range(first: 1, last: -1, step: 1), group: .hyperloglog, run: Keyspace.pfcountCommand),
        CommandSpec("pfmerge", arity: -2, flags: [.write, .denyOOM], keys: .range(first: 1, last: -1, step: 1), group: .hyperloglog, run: Keyspace.pfmergeCommand),
        CommandSpec("ping", arity: -1, flags: [.fast], keys: .none, group: .connection, run: Keyspace.pingCommand),
        CommandSpec("psetex", arity: 4, flags: [.write, .denyOOM], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.psetexCommand),
        CommandSpec("pttl", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.pttlCommand),
        CommandSpec("randomkey", arity: 1, flags: [.readonly], keys: .none, group: .generic, run: Keyspace.randomkeyCommand),
        CommandSpec("rename", arity: 3, flags: [.write], keys: .range(first: 1, last: 2, step: 1), group: .generic, run: Keyspace.renameCommand),
        CommandSpec("renamenx", arity: 3, flags: [.write, .fast], keys: .range(first: 1, last: 2, step: 1), group: .generic, run: Keyspace.renamenxCommand),
        CommandSpec("rpop", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.rpopCommand),
        CommandSpec("rpoplpush", arity: 3, flags: [.write, .denyOOM], keys: .range(first: 1, last: 2, step: 1), group: .list, run: Keyspace.rpoplpushCommand),
        CommandSpec("rpush", arity: -3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.rpushCommand),
        CommandSpec("rpushx", arity: -3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .list, run: Keyspace.rpushxCommand),
        CommandSpec("sadd", arity: -3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .set, run: Keyspace.saddCommand),
        CommandSpec("scan", arity: -2, flags: [.readonly], keys: .none, group: .generic, run: Keyspace.scanCommand),
        CommandSpec("scard", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .set, run: Keyspace.scardCommand),
        CommandSpec("sdiff", arity: -2, flags: [.readonly], keys: .range(first: 1, last: -1, step: 1), group: .set, run: Keyspace.sdiffCommand),
        CommandSpec("sdiffstore", arity: -3, flags: [.write, .denyOOM], keys: .range(first: 1, last: -1, step: 1), group: .set, run: Keyspace.sdiffstoreCommand),
        CommandSpec("select", arity: 2, flags: [.loading, .stale, .fast], keys: .none, group: .connection, run: Keyspace.selectCommand),
        CommandSpec("set", arity: -3, flags: [.write, .denyOOM], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.setCommand),
        CommandSpec("setbit", arity: 4, flags: [.write, .denyOOM], keys: .range(first: 1, last: 1, step: 1), group: .bitmap, run: Keyspace.setbitCommand),
        CommandSpec("setex", arity: 4, flags: [.write, .denyOOM], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.setexCommand),
        CommandSpec("setnx", arity: 3, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.setnxCommand),
        CommandSpec("setrange", arity: 4, flags: [.write, .denyOOM], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.setrangeCommand),
        CommandSpec("sinter", arity: -2, flags: [.readonly], keys: .range(first: 1, last: -1, step: 1), group: .set, run: Keyspace.sinterCommand),
        CommandSpec("sintercard", arity: -3, flags: [.readonly, .movableKeys], keys: .keyNum(index: 1, first: 2, step: 1), group: .set, run: Keyspace.sintercardCommand),
        CommandSpec("sinterstore", arity: -3, flags: [.write, .denyOOM], keys: .range(first: 1, last: -1, step: 1), group: .set, run: Keyspace.sinterstoreCommand),
        CommandSpec("sismember", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .set, run: Keyspace.sismemberCommand),
        CommandSpec("smembers", arity: 2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .set, run: Keyspace.smembersCommand),
        CommandSpec("smismember", arity: -3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .set, run: Keyspace.smismemberCommand),
        CommandSpec("smove", arity: 4, flags: [.write, .fast], keys: .range(first: 1, last: 2, step: 1), group: .set, run: Keyspace.smoveCommand),
        CommandSpec("spop", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .set, run: Keyspace.spopCommand),
        CommandSpec("srandmember", arity: -2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .set, run: Keyspace.srandmemberCommand),
        CommandSpec("srem", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .set, run: Keyspace.sremCommand),
        CommandSpec("sscan", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .set, run: Keyspace.sscanCommand),
        CommandSpec("strlen", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.strlenCommand),
        CommandSpec("substr", arity: 4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .string, run: Keyspace.substrCommand),
        CommandSpec("sunion", arity: -2, flags: [.readonly], keys: .range(first: 1, last: -1, step: 1), group: .set, run: Keyspace.sunionCommand),
        CommandSpec("sunionstore", arity: -3, flags: [.write, .denyOOM], keys: .range(first: 1, last: -1, step: 1), group: .set, run: Keyspace.sunionstoreCommand),
        CommandSpec("swapdb", arity: 3, flags: [.write, .fast], keys: .none, group: .generic, extraCategories: [.dangerous], run: Keyspace.swapdbCommand),
        CommandSpec("touch", arity: -2, flags: [.readonly, .fast], keys: .range(first: 1, last: -1, step: 1), group: .generic, run: Keyspace.touchCommand),
        CommandSpec("ttl", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.ttlCommand),
        CommandSpec("type", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .generic, run: Keyspace.typeCommand),
        CommandSpec("unlink", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: -1, step: 1), group: .generic, run: Keyspace.unlinkCommand),
        CommandSpec("unwatch", arity: 1, flags: [.noscript, .loading, .stale, .fast, .allowBusy], keys: .none, group: .transactions, run: Keyspace.unwatchCommand),
        CommandSpec("watch", arity: -2, flags: [.noscript, .loading, .stale, .fast, .allowBusy], keys: .range(first: 1, last: -1, step: 1), group: .transactions, run: Keyspace.watchCommand),
    ] + sortedSetRows).sorted { $0.name < $1.name }

    /// Lookup by name in any ASCII case, without folding the name into a new array: an
    /// open-addressing table of 1,024 slots over a hash that ignores case (each byte `| 0x20`),
    /// each slot holding a row index + 1; a hit is confirmed by comparing the case-folded bytes
    /// with the row's lower-case name. This runs once for every command a client sends or a replay
    /// applies: a `SlotMap` lookup of the name was about 370 instructions (callgrind), this is
    /// about 150. The table lives in memory that is never freed (plain pointers: reading it takes
    /// no reference counting).
    private struct NameTable {
        /// `slotCount` slots, each a row index + 1 or 0 for empty.
        let slots: UnsafeMutablePointer<Int16>
        /// The rows' lower-case names back to back; row `i` is `names[starts[i] ..< starts[i + 1]]`.
        let names: UnsafeMutablePointer<UInt8>
        let starts: UnsafeMutablePointer<Int32>
        static let slotCount = 1024

        init(_ rows: [CommandSpec]) {
            let lowerCaseNames = rows.map { Array($0.name.utf8) }
            slots = .allocate(capacity: Self.slotCount)
            slots.initialize(repeating: 0, count: Self.slotCount)
            starts = .allocate(capacity: rows.count + 1)
            names = .allocate(capacity: max(1, lowerCaseNames.reduce(0) { $0 + $1.count }))
            var offset = 0
            for (index, name) in lowerCaseNames.enumerated() {
                starts[index] = Int32(offset)
                for byte in name { names[offset] = byte; offset += 1 }
                var slot = name.withUnsafeBytes { CommandTable.foldedNameHash($0) } & (Self.slotCount - 1)
                while slots[slot] != 0 { slot = (slot + 1) & (Self.slotCount - 1) }
                slots[slot] = Int16(index + 1)
            }
            starts[lowerCaseNames.count] = Int32(offset)
        }
    }

    private static let nameTable = NameTable(all)

    @inline(__always)
    fileprivate static func foldedNameHash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hash: UInt32 = UInt32(truncatingIfNeeded: bytes.count) &* 0x9E37_79B1
        for byte in bytes { hash = (hash ^ UInt32(byte | 0x20)) &* 0x0100_0193 }
        return Int(hash ^ (hash >> 15))
    }

    /// The row index of the command called `name` (any ASCII case), or nil.
    static func index(forName name: [UInt8]) -> Int? {
        name.withUnsafeBytes { index(forNameBytes: $0) }
    }

    /// The row index of the command whose name is `bytes` (any ASCII case), or nil.
    static func index(forNameBytes bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count <= 32 else { return nil }
        let table = nameTable
        var slot = foldedNameHash(bytes) & (NameTable.slotCount - 1)
        while true {
            let entry = Int(table.slots[slot])
            if entry == 0 { return nil }
            let start = Int(table.starts[entry - 1])
            let length = Int(table.starts[entry]) - start
            if length == bytes.count && equalsFolded(bytes, UnsafeRawBufferPointer(start: table.names + start, count: length)) {
                return entry - 1
            }
            slot = (slot + 1) & (NameTable.slotCount - 1)
        }
    }

    /// Whether `bytes` equals the lower-case `lower` once its ASCII upper-case letters are folded.
    @inline(__always)
    private static func equalsFolded(_ bytes: UnsafeRawBufferPointer, _ lower: UnsafeRawBufferPointer) -> Bool {
        for offset in 0..<bytes.count {
            let byte = bytes[offset]
            let folded = byte >= 65 && byte <= 90 ? byte | 0x20 : byte
            if folded != lower[offset] { return false }
        }
        return true
    }

    /// The command called `name`, in any ASCII case.
    static func spec(forName name: [UInt8]) -> CommandSpec? {
        index(forName: name).map { all[$0] }
    }
}
