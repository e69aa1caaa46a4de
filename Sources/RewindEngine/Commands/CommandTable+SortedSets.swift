// The command-table rows of sorted sets and OBJECT, kept apart from
// CommandTable.swift so the families can grow without touching one another's rows; the main
// table joins them in name order. Arity, flags and key positions match `COMMAND INFO` of
// redis-server 7.0.15 (checked by DifferentialTests against a live server).
//
// ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE name a destination and then numkeys sources
// (`KeySpec.destinationThenKeyNum`). OBJECT is a container whose row has no categories but @slow;
// it sits in the server group because the table derives @keyspace from the generic group.

extension CommandTable {
    /// Sorted-set commands and OBJECT, sorted by name.
    static let sortedSetRows: [CommandSpec] = [
        CommandSpec("bzmpop", arity: -5, flags: [.write, .blocking, .movableKeys], keys: .keyNum(index: 2, first: 3, step: 1), group: .sortedSet, run: Keyspace.bzmpopCommand),
        CommandSpec("bzpopmax", arity: -3, flags: [.write, .noscript, .blocking, .fast], keys: .range(first: 1, last: -2, step: 1), group: .sortedSet, run: Keyspace.bzpopmaxCommand),
        CommandSpec("bzpopmin", arity: -3, flags: [.write, .noscript, .blocking, .fast], keys: .range(first: 1, last: -2, step: 1), group: .sortedSet, run: Keyspace.bzpopminCommand),
        CommandSpec("object", arity: -2, flags: [], keys: .none, group: .server, run: Keyspace.objectCommand),
        CommandSpec("zadd", arity: -4, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zaddCommand),
        CommandSpec("zcard", arity: 2, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zcardCommand),
        CommandSpec("zcount", arity: 4, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zcountCommand),
        CommandSpec("zdiff", arity: -3, flags: [.readonly, .movableKeys], keys: .keyNum(index: 1, first: 2, step: 1), group: .sortedSet, run: Keyspace.zdiffCommand),
        CommandSpec("zdiffstore", arity: -4, flags: [.write, .denyOOM, .movableKeys], keys: .destinationThenKeyNum(index: 2, first: 3, step: 1), group: .sortedSet, run: Keyspace.zdiffstoreCommand),
        CommandSpec("zincrby", arity: 4, flags: [.write, .denyOOM, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zincrbyCommand),
        CommandSpec("zinter", arity: -3, flags: [.readonly, .movableKeys], keys: .keyNum(index: 1, first: 2, step: 1), group: .sortedSet, run: Keyspace.zinterCommand),
        CommandSpec("zintercard", arity: -3, flags: [.readonly, .movableKeys], keys: .keyNum(index: 1, first: 2, step: 1), group: .sortedSet, run: Keyspace.zintercardCommand),
        CommandSpec("zinterstore", arity: -4, flags: [.write, .denyOOM, .movableKeys], keys: .destinationThenKeyNum(index: 2, first: 3, step: 1), group: .sortedSet, run: Keyspace.zinterstoreCommand),
        CommandSpec("zlexcount", arity: 4, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zlexcountCommand),
        CommandSpec("zmpop", arity: -4, flags: [.write, .movableKeys], keys: .keyNum(index: 1, first: 2, step: 1), group: .sortedSet, run: Keyspace.zmpopCommand),
        CommandSpec("zmscore", arity: -3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zmscoreCommand),
        CommandSpec("zpopmax", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zpopmaxCommand),
        CommandSpec("zpopmin", arity: -2, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zpopminCommand),
        CommandSpec("zrandmember", arity: -2, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zrandmemberCommand),
        CommandSpec("zrange", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zrangeCommand),
        CommandSpec("zrangebylex", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zrangebylexCommand),
        CommandSpec("zrangebyscore", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zrangebyscoreCommand),
        CommandSpec("zrangestore", arity: -5, flags: [.write, .denyOOM], keys: .range(first: 1, last: 2, step: 1), group: .sortedSet, run: Keyspace.zrangestoreCommand),
        CommandSpec("zrank", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zrankCommand),
        CommandSpec("zrem", arity: -3, flags: [.write, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zremCommand),
        CommandSpec("zremrangebylex", arity: 4, flags: [.write], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zremrangebylexCommand),
        CommandSpec("zremrangebyrank", arity: 4, flags: [.write], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zremrangebyrankCommand),
        CommandSpec("zremrangebyscore", arity: 4, flags: [.write], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zremrangebyscoreCommand),
        CommandSpec("zrevrange", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zrevrangeCommand),
        CommandSpec("zrevrangebylex", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zrevrangebylexCommand),
        CommandSpec("zrevrangebyscore", arity: -4, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zrevrangebyscoreCommand),
        CommandSpec("zrevrank", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zrevrankCommand),
        CommandSpec("zscan", arity: -3, flags: [.readonly], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zscanCommand),
        CommandSpec("zscore", arity: 3, flags: [.readonly, .fast], keys: .range(first: 1, last: 1, step: 1), group: .sortedSet, run: Keyspace.zscoreCommand),
        CommandSpec("zunion", arity: -3, flags: [.readonly, .movableKeys], keys: .keyNum(index: 1, first: 2, step: 1), group: .sortedSet, run: Keyspace.zunionCommand),
        CommandSpec("zunionstore", arity: -4, flags: [.write, .denyOOM, .movableKeys], keys: .destinationThenKeyNum(index: 2, first: 3, step: 1), group: .sortedSet, run: Keyspace.zunionstoreCommand),
    ]
}
